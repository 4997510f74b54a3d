"""Shared test setup. Server fixtures live in tests/fixtures/ and start real processes."""

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.daphne",
]
