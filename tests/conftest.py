"""Shared test setup. Server fixtures live in tests/fixtures/ and start real processes.

Tests marked `unit` (`make unit`, `pytest -m unit`) need no Java, Redis, Daphne or Chromium. A unit
test that asks for a server fixture stops the run at collection, and one that opens a network
connection or starts a process anyway fails with UnitTestNeedsAServer: drop its `unit` mark.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.daphne",
]

# Every fixture that starts or reaches a real server is one of these or is built on one of them.
SERVER_FIXTURES = frozenset({
    "ignite_cluster", "cluster_factory", "redis_url", "live_settings",  # tests/fixtures/servers.py
    "chat_site", "daphne_factory", "daphne_pair",  # tests/fixtures/daphne.py
    "fault_rig", "web_server_factory", "browser",  # tests/faults, tests/web
})


class UnitTestNeedsAServer(AssertionError):
    """A test marked `unit` tried to reach a server or start a process."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wrong = [
        f"{item.nodeid} uses {sorted(SERVER_FIXTURES.intersection(item.fixturenames))}"
        for item in items
        if item.get_closest_marker("unit") and SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    ]
    if wrong:
        raise pytest.UsageError("tests marked unit ask for server fixtures:\n  " + "\n  ".join(wrong))


@pytest.fixture(autouse=True)
def _unit_tests_reach_no_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a `unit` test, any outgoing connection or new process is an error, not a slow fallback."""
    if request.node.get_closest_marker("unit") is None:
        return
    name = request.node.nodeid

    def refuse_connect(sock: socket.socket, address: object) -> None:
        raise UnitTestNeedsAServer(f"{name} is marked unit but connects to {address!r}")

    def refuse_process(*args: object, **kwargs: object) -> None:
        raise UnitTestNeedsAServer(f"{name} is marked unit but starts a process: {args[1:2]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse_process)
