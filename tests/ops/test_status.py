"""ignite_status against real clusters: healthy, degraded (one of two nodes killed), unreachable."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command

from .helpers import dead_address, store_at


def run_status(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ignite_status", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def wait_for_status(expected: int, *args: str, timeout: float = 90.0) -> tuple[int, str, str]:
    """Rebalancing and failure detection take a few seconds; poll until the verdict settles."""
    deadline = time.monotonic() + timeout
    while True:
        result = run_status(*args)
        if result[0] == expected or time.monotonic() > deadline:
            return result
        time.sleep(1.0)


@pytest.mark.django_db
def test_healthy_then_degraded_when_one_of_two_nodes_dies(cluster_factory):
    cluster = cluster_factory(count=2)
    nodes = cluster.client_addresses()
    with store_at(nodes, backups=1) as store:
        store.ensure_schema()
        store.append("status-room", "ana", "hello", "status-1")

        code, out, err = wait_for_status(0)
        assert code == 0, out + err
        assert "Ignite cluster: HEALTHY" in out
        assert "Baseline: 2/2 online" in out
        assert "Messages: 1 in 1 rooms" in out
        code, out, _ = run_status("--json")
        report = json.loads(out)
        assert code == 0 and report["status"] == "healthy", out
        assert len([n for n in report["nodes"] if not n["is_client"]]) == 2
        messages_group = next(g for g in report["partitions"] if store.messages_cache in g["caches"])
        assert messages_group["without_backup"] == [] and messages_group["lost"] == []
        assert sum(n["primary"] for n in messages_group["nodes"]) == messages_group["partitions"]

        cluster.kill(1)

        code, out, err = wait_for_status(1)
        assert code == 1, out + err
        assert "Ignite cluster: DEGRADED" in out
        assert "partitions without a backup" in out
        assert "degraded" in err
        code, out, _ = run_status("--json")
        report = json.loads(out)
        assert code == 1 and report["status"] == "degraded"
        messages_group = next(g for g in report["partitions"] if store.messages_cache in g["caches"])
        assert len(messages_group["without_backup"]) == messages_group["partitions"]
        assert messages_group["lost"] == []


@pytest.mark.django_db
def test_unreachable_exits_2_with_a_message_on_stderr():
    with store_at([dead_address()], timeout=2.0):
        code, out, err = run_status()
        assert code == 2
        assert out == ""
        assert "Ignite cluster is unreachable" in err
        code, out, err = run_status("--json")
        assert code == 2
        assert json.loads(out)["status"] == "unreachable"
