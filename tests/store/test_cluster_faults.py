"""The store on a real two-node cluster: node loss and full restarts lose nothing acknowledged."""

import asyncio

import pytest

from ignite_store.backends.ignite import IgniteMessageStore
from tests.fixtures.servers import start_schema_cluster

ROOMS = [f"fault-{i}" for i in range(8)]  # several rooms, so both nodes hold primaries


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """A private two-node cluster (backups=1) shared by the tests of this module, in order."""
    cluster = start_schema_cluster(tmp_path_factory.mktemp("two-nodes"))
    store = IgniteMessageStore(cluster.client_addresses(), backups=1, timeout=10.0)
    try:
        yield cluster, store
    finally:
        store.close()
        cluster.stop()


def history(store, room):
    return [(m.seq, m.body, m.client_id) for m in store.after(room, 0, 10_000).messages]


def test_kill_one_of_two_nodes_loses_no_acknowledged_message(two_nodes):
    cluster, store = two_nodes
    acked = {room: [store.append(room, "ana", f"{room} #{i}", f"k{i}").message for i in range(20)] for room in ROOMS}

    cluster.kill(1)  # kill -9, no goodbye

    for room, messages in acked.items():
        assert store.after(room, 0, 1000).messages == messages
    # New appends go on through the surviving node, with contiguous sequences.
    for room in ROOMS:
        result = store.append(room, "ana", "after the crash", "after-1")
        assert result.message.seq == 21

    async def async_append():
        return await store.aappend(ROOMS[0], "bob", "async after crash", "after-2")

    assert asyncio.run(async_append()).message.seq == 22
    cluster.start_node(1)  # rejoin for the next test
    assert cluster.server_count() == 2


def test_full_restart_keeps_the_history(two_nodes):
    cluster, store = two_nodes
    before = {room: history(store, room) for room in ROOMS}
    assert all(before.values())

    cluster.stop()
    cluster.start(2)

    for room in ROOMS:
        assert history(store, room) == before[room]
    next_seq = len(before[ROOMS[0]]) + 1
    assert store.append(ROOMS[0], "ana", "after restart", "restart-1").message.seq == next_seq
