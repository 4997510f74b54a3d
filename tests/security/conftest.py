"""Daphnes for the hostile-input suite: one with limits lifted (fuzzing), one with the real limits."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.daphne import BASE_DIR

SEC_USERS = ["sec_fuzz", "sec_raw", "sec_a", "sec_b", "sec_c", "sec_d", "sec_flood", "sec_cap", "sec_plain"]
NO_LIMITS = {"CHAT_FRAME_RATE_PER_SECOND": 1_000_000, "CHAT_FRAME_BURST": 1_000_000,
             "CHAT_SEND_RATE_PER_SECOND": 1_000_000, "CHAT_SEND_BURST": 1_000_000}
CONNECTION_CAP = 3


@pytest.fixture(scope="session")
def sec_cookies(chat_site) -> dict[str, str]:
    """Cookie header of each security test user."""
    return {name: f"sessionid={key}" for name, key in chat_site.login(*SEC_USERS).items()}


@pytest.fixture(scope="session")
def fuzz_server(daphne_factory):
    """Rate limits lifted, so every fuzzed frame is judged on its content alone."""
    return daphne_factory(**NO_LIMITS)


@pytest.fixture(scope="session")
def limits_server(daphne_factory):
    """The production limits, with a small per-user connection cap."""
    return daphne_factory(CHAT_MAX_CONNECTIONS_PER_USER=CONNECTION_CAP)


def run_django(chat_site, code: str, *args: str) -> str:
    """Run `code` (after django.setup()) against the Daphnes' database; return its stdout."""
    done = subprocess.run([sys.executable, "-c", "import django\ndjango.setup()\n" + code, *args], cwd=BASE_DIR,
                          env=chat_site.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
