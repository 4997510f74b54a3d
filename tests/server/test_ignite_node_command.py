"""`manage.py ignite_node` start/list/stop/kill against a real JVM on free ports."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ignite_store.server.local import find_free_port_base
from tests.fixtures.servers import TEST_MAX_NODES


def _run(*args: str) -> str:
    out = StringIO()
    call_command("ignite_node", *args, stdout=out)
    return out.getvalue()


def test_start_list_kill_stop(settings, tmp_path):
    base = find_free_port_base(3 * TEST_MAX_NODES)
    settings.IGNITE_SERVER = {
        **settings.IGNITE_SERVER,
        "HOME": str(tmp_path / "ignite"),
        "CLIENT_PORT": base,
        "DISCOVERY_PORT": base + TEST_MAX_NODES,
        "COMMUNICATION_PORT": base + 2 * TEST_MAX_NODES,
        "MAX_NODES": TEST_MAX_NODES,
        "HEAP": "512m",
        "DATA_REGION_MB": 256,
        "BASELINE_AUTO_ADJUST_TIMEOUT_MS": 1000,
    }
    assert "No nodes" in _run("list")
    try:
        started = _run("start")
        assert "node 0 started" in started and f"127.0.0.1:{base}" in started

        assert "already running" in _run("start", "--count", "1")

        listing = _run("list", "-v", "2")
        assert "cluster state: ACTIVE" in listing
        assert "baseline: node-0" in listing
        row = listing.splitlines()[1].split()
        assert row[0] == "0" and row[2] == "yes" and row[3] == str(base)

        assert "killed node 0" in _run("kill", "--index", "0")
        with pytest.raises(CommandError, match="not running"):
            _run("kill", "--index", "0")
        assert "cluster state: unreachable" in _run("list")

        # Restart on the persisted data, then a clean stop.
        assert "node 0 started" in _run("start")
        assert "stopped node(s) 0" in _run("stop")
        assert "No running node" in _run("stop")
    finally:
        call_command("ignite_node", "stop", stdout=StringIO())


def test_errors_become_command_errors(settings, tmp_path):
    settings.IGNITE_SERVER = {**settings.IGNITE_SERVER, "HOME": str(tmp_path), "LIB_DIR": str(tmp_path / "none")}
    with pytest.raises(CommandError, match="make jars"):
        _run("start")
    with pytest.raises(CommandError, match="count must be"):
        _run("start", "--count", "0")
