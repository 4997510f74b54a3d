"""LocalCluster against real Ignite JVMs: start, idempotency, multi-node clusters, baseline, failures."""

from __future__ import annotations

import subprocess

import pytest

from ignite_store.server.local import ClusterError, LocalCluster
from tests.fixtures.servers import new_test_cluster


def _listening_ports(pid: int) -> set[int]:
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    ports = set()
    for line in out.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            assert local.startswith("127.0.0.1:"), f"node listens beyond loopback: {line}"
            ports.add(int(local.rsplit(":", 1)[1]))
    return ports


def test_session_node_is_active_in_baseline_and_idempotent(ignite_cluster: LocalCluster):
    assert ignite_cluster.start(1) == []  # already running: nothing launched
    [node] = ignite_cluster.list()
    assert node.alive and node.pid
    assert ignite_cluster.client_addresses() == [("127.0.0.1", node.client_port)]
    assert ignite_cluster.cluster_state() == "ACTIVE"
    assert ignite_cluster.baseline() == [("node-0", True)]


def test_node_listens_on_its_own_loopback_ports_only(ignite_cluster: LocalCluster):
    [node] = ignite_cluster.list()
    # No REST (8080) or binary connector (11211): only thin client, discovery and communication.
    assert _listening_ports(node.pid) == {node.client_port, node.discovery_port, node.communication_port}


def test_two_nodes_form_one_cluster_and_a_third_joins_the_baseline(cluster_factory):
    cluster = cluster_factory(count=2)
    assert cluster.server_count() == 2
    assert sorted(cluster.baseline()) == [("node-0", True), ("node-1", True)]

    assert cluster.start_node(2) is True
    assert cluster.server_count() == 3
    assert ("node-2", True) in cluster.baseline()
    assert cluster.start(3) == []

    cluster.kill(2)
    assert [n.alive for n in cluster.list()] == [True, True, False]
    assert cluster.cluster_state() == "ACTIVE"
    assert cluster.stop() == [0, 1]
    assert not any(n.alive for n in cluster.list())
    assert cluster.client_addresses() == []
    assert cluster.cluster_state() is None


@pytest.mark.unit
def test_missing_jars_are_reported(tmp_path):
    cluster = new_test_cluster(tmp_path, lib_dir=tmp_path / "nowhere")
    with pytest.raises(ClusterError, match="make jars"):
        cluster.start(1)


def test_a_node_that_dies_at_start_fails_with_its_log_tail(tmp_path):
    cluster = new_test_cluster(tmp_path, heap="notaheap")
    with pytest.raises(ClusterError, match=r"(?s)exited during start.*heap size"):
        cluster.start(1)
    assert cluster.client_addresses() == []


@pytest.mark.unit
def test_config_keeps_rest_off_unless_asked(tmp_path):
    off = new_test_cluster(tmp_path / "off").render_config(0).read_text()
    assert '<property name="connectorConfiguration"><null/></property>' in off
    on = new_test_cluster(tmp_path / "on", rest_port=18080).render_config(1).read_text()
    assert '<property name="port" value="18081"/>' in on  # the binary REST connector of node 1
    assert "127.0.0.1" in on and "authenticationEnabled\" value=\"false\"" in on


def test_rest_when_asked_answers_http_on_loopback(cluster_factory):
    import json
    import urllib.request

    from ignite_store.server.jvm import find_free_port_base

    cluster = cluster_factory(count=1, rest_port=find_free_port_base(2 * 4))
    url = f"http://127.0.0.1:{cluster.http_port(0)}/ignite?cmd=version"
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.load(response)
    assert answer["successStatus"] == 0 and answer["response"].startswith("2.17")


@pytest.mark.unit
def test_discovery_only_lists_its_own_port_range(tmp_path):
    cluster = LocalCluster(tmp_path, discovery_port=30000, max_nodes=3)
    assert "<value>127.0.0.1:30000..30002</value>" in cluster.render_config(2).read_text()
    with pytest.raises(ClusterError, match="outside"):
        cluster.ports(3)


def test_live_settings_point_at_the_test_servers(live_settings, ignite_cluster: LocalCluster, redis_url: str):
    import redis

    import ignite_store

    assert live_settings.IGNITE_STORE["default"]["NODES"] == ignite_cluster.client_addresses()
    assert live_settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] == [redis_url]
    assert redis.Redis.from_url(live_settings.REDIS_URL).ping()
    assert ignite_store.get_store().ensure_schema() == []  # created once by the fixture; idempotent
