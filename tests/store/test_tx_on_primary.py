"""Transactions started on their rooms' primary node (partition_aware, pyignite_seam.NodeTransaction).

On a real two-node cluster, the node that coordinates a transaction is read from Ignite itself
(SYS.TRANSACTIONS on each node) and the room's primary from SYS.PARTITION_STATES with Ignite's own
partition function, so the tests do not trust the client's view of the partition map. The fallback
(pyignite_seam's guard refusing) starts transactions on any node and stays correct.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import pyignite
import pytest
from pyignite import Client
from pyignite.transaction import AioTransaction

from ignite_store.backends import pyignite_seam
from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.backends.ignite_batch import PendingAppend
from tests.fixtures.servers import start_schema_cluster

PARTITIONS = 1024  # RendezvousAffinityFunction's default, used by every table of the schema


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """A private two-node cluster (backups=1) with the chat schema."""
    cluster = start_schema_cluster(tmp_path_factory.mktemp("tx-primary"))
    yield cluster
    cluster.stop()


def java_hash(text: str) -> int:
    """java.lang.String.hashCode() (BMP characters)."""
    h = 0
    for char in text:
        h = (31 * h + ord(char)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def partition(room: str) -> int:
    """RendezvousAffinityFunction.calculatePartition for a String key and a power-of-two partition count."""
    h = java_hash(room)
    return (h ^ ((h & 0xFFFFFFFF) >> 16)) & (PARTITIONS - 1)


def sql_on(address, query: str, args: list | None = None) -> list[list]:
    """Rows of a query run on one node (SYS views are node-local)."""
    client = Client(partition_aware=False)
    client.connect([tuple(address)])
    try:
        with client.sql(query, query_args=args or []) as cursor:
            return [list(row) for row in cursor]
    finally:
        client.close()


def node_ids(cluster) -> dict[str, tuple]:
    """Each node's id -> its client address."""
    return {str(sql_on(a, "SELECT NODE_ID FROM SYS.NODES WHERE IS_LOCAL = TRUE")[0][0]): tuple(a)
            for a in cluster.client_addresses()}


def primary_of(cluster, cache: str, room: str) -> str:
    """The id of the node holding `room`'s partition of `cache` as primary, as Ignite says."""
    rows = sql_on(cluster.client_addresses()[0],
                  "SELECT P.NODE_ID FROM SYS.PARTITION_STATES P"
                  " JOIN SYS.CACHES C ON P.CACHE_GROUP_ID = C.CACHE_GROUP_ID"
                  f" WHERE C.CACHE_NAME = ? AND P.PARTITION_ID = {partition(room):d} AND P.IS_PRIMARY = TRUE", [cache])
    assert len(rows) == 1, rows
    return str(rows[0][0])


def rooms_on_each_node(cluster, cache: str) -> dict[str, str]:
    """Node id -> a fresh room whose primary it is."""
    found: dict[str, str] = {}
    tag = uuid.uuid4().hex[:6]
    for i in range(64):
        room = f"p-{tag}-{i}"
        found.setdefault(primary_of(cluster, cache, room), room)
        if len(found) == 2:
            return found
    raise AssertionError(f"no two rooms with different primaries: {found}")


def coordinators(cluster) -> list[str]:
    """The ids of the nodes that hold an open transaction started there (the near, local one)."""
    return [node for node, address in node_ids(cluster).items()
            if sql_on(address, "SELECT COUNT(*) FROM SYS.TRANSACTIONS WHERE NEAR = TRUE AND LOCAL = TRUE")[0][0]]


@pytest.fixture
def aware_store(two_nodes):
    store = IgniteMessageStore(two_nodes.client_addresses(), backups=1, timeout=10.0, partition_aware=True)
    yield store
    store.close()


async def test_a_transaction_starts_on_its_rooms_primary(two_nodes, aware_store):
    session, cache = aware_store._session, aware_store.schema.rooms_cache
    assert session.on_primary
    rooms = rooms_on_each_node(two_nodes, cache)
    for node, room in rooms.items():
        async def probe(client, room=room):
            counters = await client.get_cache(cache)
            async with session.tx(client, at=(cache, room)) as tx:
                assert isinstance(tx, pyignite_seam.NodeTransaction)
                await counters.get(room)
                open_on = await asyncio.to_thread(coordinators, two_nodes)
                await tx.commit()
            return open_on

        assert await session.run(probe, retry=False) == [node], f"{room}'s transaction not started on its primary"


async def test_a_batch_is_split_by_primary_and_each_part_starts_there(two_nodes, aware_store):
    cache = aware_store.schema.rooms_cache
    rooms = rooms_on_each_node(two_nodes, cache)
    groups = await aware_store._session.by_primary(cache, sorted(rooms.values()))
    assert sorted(map(sorted, groups)) == sorted([room] for room in rooms.values())
    sends = [(room, f"c{i}") for i in range(10) for room in rooms.values()]
    results = await asyncio.gather(*(aware_store.aappend(room, "ana", f"hello {cid}", cid) for room, cid in sends))
    assert all(r.created for r in results)
    for room in rooms.values():
        page = await aware_store.aafter(room, 0, 100)
        assert [(m.seq, m.client_id) for m in page.messages] == [(i + 1, f"c{i}") for i in range(10)]


async def test_a_transaction_started_on_the_other_node_stays_correct(two_nodes, aware_store):
    """A batch whose rooms have different primaries, forced into one transaction: slower, not wrong."""
    cache = aware_store.schema.rooms_cache
    rooms = sorted(rooms_on_each_node(two_nodes, cache).values())
    loop = asyncio.get_running_loop()
    batch = [PendingAppend(room, "bo", f"body {i}", f"w{i}", loop.create_future()) for i in range(6)
             for room in rooms]
    writes = aware_store._writes
    first = await aware_store._session.run(lambda client: writes._store_batch(client, rooms, batch), retry=True)
    again = await aware_store._session.run(lambda client: writes._store_batch(client, rooms, batch), retry=True)
    assert all(r.created for r in first) and not any(r.created for r in again)
    assert [r.message.seq for r in again] == [r.message.seq for r in first]
    for room in rooms:
        page = await aware_store.aafter(room, 0, 100)
        assert [(m.seq, m.client_id) for m in page.messages] == [(i + 1, f"w{i}") for i in range(6)]


async def test_without_the_seam_transactions_start_anywhere_and_stay_correct(two_nodes):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pyignite, "__version__", "0.7.0")
        patch.setitem(pyignite_seam._state, "tx_refused", False)
        store = IgniteMessageStore(two_nodes.client_addresses(), backups=1, timeout=10.0, partition_aware=True)
        try:
            session, cache = store._session, store.schema.rooms_cache
            assert not session.on_primary and not store._pool.partition_aware  # as before the seam's part
            rooms = sorted(rooms_on_each_node(two_nodes, cache).values())
            assert await session.by_primary(cache, rooms) == [rooms]

            async def kind(client):
                async with session.tx(client, at=(cache, rooms[0])) as tx:
                    return type(tx)

            assert await session.run(kind, retry=False) is AioTransaction
            sends = [(room, f"f{i}") for i in range(8) for room in rooms]
            await asyncio.gather(*(store.aappend(room, "cy", "hi", cid) for room, cid in sends))
            for room in rooms:
                assert [m.seq for m in (await store.aafter(room, 0, 100)).messages] == list(range(1, 9))
        finally:
            await store.aclose()


@pytest.mark.unit
def test_the_guard_names_what_is_missing():
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(pyignite.AioClient, "get_best_node")
        assert "lacks AioClient.get_best_node" in pyignite_seam._affinity_refusal()
        assert pyignite_seam.aio_client_class(True) is pyignite.AioClient
    assert pyignite_seam._affinity_refusal() is None
    assert pyignite_seam.aio_client_class(True) is pyignite_seam.AffinityAioClient
    assert pyignite_seam.aio_client_class(False) is pyignite.AioClient


async def test_cache_objects_keep_the_partition_map(two_nodes):
    """pyignite 0.6.1 forgot a cache's partition map at each get_cache; AffinityAioClient keeps it."""
    client = pyignite_seam.AffinityAioClient(partition_aware=True)
    async with client.connect([tuple(a) for a in two_nodes.client_addresses()]):
        cache = await client.get_cache("CHAT_ROOMS_CACHE_PROBE")
        client._affinity["partition_mapping"][cache.cache_info.cache_id] = {"known": True}
        await client.get_cache("CHAT_ROOMS_CACHE_PROBE")
        assert client._affinity["partition_mapping"][cache.cache_info.cache_id] == {"known": True}


async def test_requests_without_a_key_stay_on_the_first_node(two_nodes):
    """The partition map and SQL come from one node, as without partition awareness (a cut-off node back
    as an island of its own must not hand the client its map)."""
    client = pyignite_seam.AffinityAioClient(partition_aware=True)
    async with client.connect([tuple(a) for a in two_nodes.client_addresses()]):
        assert all(node.alive for node in client._nodes)
        assert {id(await client.random_node()) for _ in range(20)} == {id(client._nodes[0])}
        await client._nodes[0].close()
        assert await client.random_node() is client._nodes[1]


async def test_a_node_that_does_not_answer_holds_the_connect_half_the_handshake_timeout(two_nodes):
    silent = socket.socket()  # accepts TCP connections (the kernel does) and never answers the handshake
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        client = pyignite_seam.AffinityAioClient(partition_aware=True, handshake_timeout=4.0)
        started = time.monotonic()
        async with client.connect([tuple(two_nodes.client_addresses()[0]), silent.getsockname()]):
            assert time.monotonic() - started < 3.5  # pyignite waits for every node: the full 4 s
            assert [node.alive for node in client._nodes] == [True, False]
            assert await client.random_node() is client._nodes[0]
    finally:
        silent.close()


async def test_a_node_that_is_down_when_connecting_leaves_the_client_usable(two_nodes):
    """Nodes are tried one at a time until one answers (it settles the protocol version), then the rest."""
    down = socket.socket()
    down.bind(("127.0.0.1", 0))
    address = down.getsockname()
    down.close()  # nothing listens there: refused
    client = pyignite_seam.AffinityAioClient(partition_aware=True, handshake_timeout=4.0)
    async with client.connect([address, *(tuple(a) for a in two_nodes.client_addresses())]):
        assert client.protocol_context is not None
        assert [node.alive for node in client._nodes] == [False, True, True]
        assert await client.get_cache_names()
