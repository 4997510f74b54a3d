"""The raw thin-client read path (ignite_wire via pyignite_seam) returns what pyignite's SQL cursor returned."""

import asyncio
import struct

import pytest
from pyignite.exceptions import SQLError

from ignite_store import StoreUnavailable
from ignite_store.backends import ignite_wire, pyignite_seam
from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.errors import StoreError
from ignite_store.types import Message, Page

# ---------------------------------------------------------------- the read path before ignite_wire
# The pages as the store computed them with pyignite's cursor (git history: ignite_reads.py before the
# raw path): the counter from the cache, then the range [low, high] through client.sql.


def _old_range(store, room, low, high):
    rows = store._sql(
        f"SELECT {store.MESSAGE_COLUMNS} FROM {store.messages_table} WHERE ROOM = ? AND SEQ >= ? AND SEQ <= ? "
        "ORDER BY SEQ", [room, low, high])
    return [store._message_from_row(row) for row in rows]


def old_before(store, room, before_seq, limit):
    low, high = max(1, before_seq - limit), before_seq - 1
    if high < low:
        return Page([], has_more=False)
    messages = _old_range(store, room, low, high)
    return Page(messages, has_more=bool(messages) and low > 1)


def old_latest(store, room, limit):
    return old_before(store, room, store.last_seq(room) + 1, limit)


def old_after(store, room, after_seq, limit):
    last = store.last_seq(room)
    high = min(last, after_seq + limit)
    if high <= after_seq:
        return Page([], has_more=False)
    return Page(_old_range(store, room, after_seq + 1, high), has_more=high < last)


BODIES = [
    "plain",
    "héllo wörld — ünïcödé",
    "emoji 😀👍🏽🇫🇷 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "日本語のメッセージ",
    "line one\nline two\ttabbed",
    "x" * 4000,
    "é" * 4000,  # 8,000 bytes of UTF-8
    "😀" * 1000,
]


def fill_varied(store, room):
    """Messages with awkward bodies, a tombstone, and a legacy row with NULL client id and body."""
    for i, body in enumerate(BODIES, start=1):
        store.append(room, f"user-{i % 3}", body, f"c-{i}")
    store.delete(room, 3, by="mod")
    seq = store.last_seq(room) + 1
    store._sql(
        f"MERGE INTO {store.messages_table} (ROOM, SEQ, ID, AUTHOR, BODY, CLIENT_ID, CREATED_AT, DELETED, DELETED_BY) "
        "VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL, NULL)", [room, seq, "legacy-id", "old", 1_600_000_000_000])
    store._sql(f"MERGE INTO {store.rooms_table} (ROOM, LAST_SEQ, LAST_AT) VALUES (?, ?, ?)",
               [room, seq, 1_600_000_000_000])
    for i in range(seq + 1, seq + 8):
        store.append(room, "ana", f"tail {i}", f"t-{i}")
    return store.last_seq(room)


def test_pages_match_the_pyignite_path_at_every_cursor(store, room):
    last = fill_varied(store, room)
    assert last == len(BODIES) + 8
    for limit in (1, 2, 3, 7, 50, 100):
        assert store.latest(room, limit) == old_latest(store, room, limit), limit
        for cursor in range(0, last + 3):
            if cursor >= 1:
                assert store.before(room, cursor, limit) == old_before(store, room, cursor, limit), (cursor, limit)
            assert store.after(room, cursor, limit) == old_after(store, room, cursor, limit), (cursor, limit)
    page = store.after(room, 0, 100)
    assert [m.body for m in page.messages[:len(BODIES)]] == [b if i != 3 else "" for i, b in enumerate(BODIES, 1)]
    assert page.messages[2].deleted is True
    legacy = page.messages[len(BODIES)]
    assert (legacy.client_id, legacy.body, legacy.deleted, legacy.id) == (None, "", False, "legacy-id")


def test_unknown_rooms_and_empty_ranges(store, room):
    for name in (room, room + "-never"):
        assert store.latest(name, 50) == old_latest(store, name, 50) == Page([], has_more=False)
        assert store.after(name, 0, 50) == old_after(store, name, 0, 50) == Page([], has_more=False)
        assert store.before(name, 10, 50) == old_before(store, name, 10, 50) == Page([], has_more=False)


def test_gaps_from_import_and_prune_match(store, room):
    """A counter ahead of the rows (imported seqs with a gap, pruned history) pages as before."""
    base = 1_600_000_000_000
    for seq in (1, 2, 3, 10, 11):
        store.import_message(Message(id=f"i{seq}", room=room, seq=seq, author="ana", body=f"imported {seq}",
                                     client_id=f"imp-{seq}", created_at=base + seq))
    store.append(room, "ana", "new", "new-1")  # seq 12, created now
    for limit in (1, 2, 5, 20):
        assert store.latest(room, limit) == old_latest(store, room, limit)
        for cursor in range(0, 15):
            assert store.after(room, cursor, limit) == old_after(store, room, cursor, limit), (cursor, limit)
            if cursor:
                assert store.before(room, cursor, limit) == old_before(store, room, cursor, limit)
    store._sql(f"DELETE FROM {store.messages_table} WHERE ROOM = ? AND SEQ <= 10", [room])  # pruned
    for limit in (1, 2, 5, 20):
        assert store.latest(room, limit) == old_latest(store, room, limit)
        for cursor in range(0, 15):
            assert store.after(room, cursor, limit) == old_after(store, room, cursor, limit), (cursor, limit)


def test_large_catch_up_pages_match(store, room):
    async def fill():
        await asyncio.gather(*(store.aappend(room, "bob", f"m{i} ✓", f"k{i}") for i in range(1, 1201)))

    asyncio.run(fill())
    expected = old_after(store, room, 0, 10_000)
    assert len(expected.messages) == 1200 and not expected.has_more
    assert store.after(room, 0, 10_000) == expected
    assert store.after(room, 100, 1000) == old_after(store, room, 100, 1000)
    assert asyncio.run(store.aafter(room, 0, 10_000)) == expected
    assert asyncio.run(store.alatest(room, 100)) == old_latest(store, room, 100)


async def test_async_pages_match(store, room):
    last = fill_varied(store, room)
    for limit in (1, 5, 50):
        assert await store.alatest(room, limit) == old_latest(store, room, limit)
        for cursor in (0, 1, 2, last // 2, last - 1, last, last + 1):
            assert await store.aafter(room, cursor, limit) == old_after(store, room, cursor, limit)
            if cursor:
                assert await store.abefore(room, cursor, limit) == old_before(store, room, cursor, limit)
    # Many reads in flight on the loop's one connection: each answer reaches its own caller.
    pages = await asyncio.gather(*(store.aafter(room, c, 3) for c in range(last)))
    assert pages == [old_after(store, room, c, 3) for c in range(last)]


# ---------------------------------------------------------------- the wire module itself


def test_multi_page_cursor_is_read_to_the_end(store, room):
    for i in range(10):
        store.append(room, "ana", f"p{i}", f"p{i}")
    query = f"SELECT SEQ, BODY FROM {store.messages_table} WHERE ROOM = ? ORDER BY SEQ"
    expected = store._sql(query, [room])
    rows = store._sync(store._arun(lambda client: pyignite_seam.asql_rows(client, query, [room], page_size=3),
                                   retry=False))
    assert rows == expected

    async def read():
        return await store._arun(lambda client: pyignite_seam.asql_rows(client, query, [room], page_size=4),
                                 retry=False)

    assert asyncio.run(read()) == expected


def test_value_types_decode_like_pyignite(store):
    query = ("SELECT CAST(7 AS TINYINT), CAST(-300 AS SMALLINT), CAST(70000 AS INT), CAST(-5 AS BIGINT), "
             "CAST(1.5 AS REAL), CAST(2.25 AS DOUBLE), TRUE, FALSE, '', 'ü😀', NULL, ?, ?")
    args = ["arg 😀", 2**62]
    expected = store._sql(query, args)
    got = store._sync(store._arun(lambda client: pyignite_seam.asql_rows(client, query, args), retry=False))
    assert got == expected
    assert got[0][:4] == [7, -300, 70000, -5]


async def _untranslated(store, query):
    """asql_rows on the loop's client, its own exceptions not mapped by the store's runner."""
    return await pyignite_seam.asql_rows(await store._pool.aio_client(), query, [])


def test_unsupported_type_is_reported(store):
    with pytest.raises(ignite_wire.UnsupportedValue):
        store._sync(_untranslated(store, "SELECT RANDOM_UUID()"))


def test_decode_rows_by_hand():
    buf = (b"\x09" + struct.pack("<i", 4) + "ü😀"[:1].encode() + b"ab" + b"\x04" + struct.pack("<q", -2)
           + b"\x65" + b"\x08\x01" + b"\x03" + struct.pack("<i", 9))
    rows, end = ignite_wire.decode_rows(bytearray(buf), 0, 1, 5)
    assert rows == [["üab", -2, None, True, 9]] and end == len(buf)


class _Context:
    def __init__(self, flags_supported):
        self.flags_supported = flags_supported

    def is_status_flags_supported(self):
        return self.flags_supported


class _Client:
    affinity_version = (1, 0)


class _Conn:
    def __init__(self, flags_supported=True):
        self.protocol_context = _Context(flags_supported)
        self.client = _Client()


def _error_response(message: str, *, topology: bool) -> bytearray:
    text = message.encode()
    flags = 1 | (2 if topology else 0)
    body = struct.pack("<qh", 42, flags)
    if topology:
        body += struct.pack("<qi", 5, 1)
    body += struct.pack("<i", 1) + b"\x09" + struct.pack("<i", len(text)) + text
    return bytearray(struct.pack("<i", len(body)) + body)


def test_error_and_topology_flags_are_parsed_like_pyignite():
    with pytest.raises(SQLError, match="Table \"X\" not found"):
        ignite_wire.parse_header(_error_response('Table "X" not found', topology=True), status_flags=True)
    response = bytearray(struct.pack("<iqi", 0, 42, 1) + b"\x09" + struct.pack("<i", 4) + b"oops")
    with pytest.raises(SQLError, match="oops"):
        ignite_wire.parse_header(response, status_flags=False)


def test_topology_change_is_recorded_on_the_client_like_pyignite():
    conn = _Conn()
    ok = bytearray(struct.pack("<iqhqi", 0, 42, 2, 5, 1))
    assert pyignite_seam._payload_start(conn, ok) == len(ok)
    assert conn.client.affinity_version == (5, 1)
    older = bytearray(struct.pack("<iqhqi", 0, 42, 2, 4, 9))
    pyignite_seam._payload_start(conn, older)
    assert conn.client.affinity_version == (5, 1)


def test_request_matches_pyignite_encoding():
    """The bytes of our OP_QUERY_SQL_FIELDS equal pyignite's for the same query (statement type aside)."""
    from pyignite import Client
    from pyignite.connection.protocol_context import ProtocolContext
    from pyignite.datatypes import AnyDataArray, Bool, Int, Long, String
    from pyignite.datatypes.sql import StatementType
    from pyignite.queries import Query, op_codes
    from pyignite.queries.cache_info import CacheInfo
    from pyignite.stream import BinaryStream

    client = Client()
    client.protocol_context = ProtocolContext((1, 7, 0))
    query = Query(op_codes.OP_QUERY_SQL_FIELDS, [
        ("cache_info", CacheInfo), ("schema", String), ("page_size", Int), ("max_rows", Int), ("query_str", String),
        ("query_args", AnyDataArray()), ("statement_type", StatementType), ("distributed_joins", Bool),
        ("local", Bool), ("replicated_only", Bool), ("enforce_join_order", Bool), ("collocated", Bool),
        ("lazy", Bool), ("timeout", Long), ("include_field_names", Bool)], query_id=77)
    args = ["room ü", 5, None]
    with BinaryStream(client) as stream:
        query.from_python(stream, {
            "cache_info": CacheInfo(protocol_context=client.protocol_context), "schema": "PUBLIC", "page_size": 101,
            "max_rows": -1, "query_str": "SELECT ?", "query_args": args, "statement_type": 1,
            "distributed_joins": False, "local": False, "replicated_only": False, "enforce_join_order": False,
            "collocated": False, "lazy": False, "timeout": 0, "include_field_names": False})
        expected = stream.getvalue()
    assert ignite_wire.sql_fields_request(77, "SELECT ?", args, page_size=101, timeout_ms=0) == expected


# ---------------------------------------------------------------- errors map as before


def _raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - what was raised is the point
        return exc
    raise AssertionError("nothing raised")


def test_missing_tables_map_like_the_old_path(live_settings, room):
    from django.conf import settings

    bare = IgniteMessageStore(settings.IGNITE_STORE["default"]["NODES"], table_prefix="NOSUCH", timeout=5.0)
    try:
        old = _raised(lambda: old_before(bare, room, 10, 5))
        assert isinstance(old, StoreError) and not isinstance(old, StoreUnavailable)
        new = _raised(lambda: bare.before(room, 10, 5))
        assert (type(new), str(new)) == (type(old), str(old))
        for call in (lambda: bare.latest(room, 5), lambda: asyncio.run(bare.aafter(room, 0, 5))):
            assert type(_raised(call)) is type(old)
    finally:
        bare.close()


def test_stopped_node_raises_store_unavailable(cluster_factory, room):
    cluster = cluster_factory(count=1)
    store = IgniteMessageStore(cluster.client_addresses(), backups=0, timeout=3.0)

    async def async_reads():
        assert len((await store.alatest(room, 50)).messages) == 5  # the loop's connection is up
        cluster.stop()
        for coro in (store.alatest(room, 50), store.abefore(room, 3, 50), store.aafter(room, 0, 50)):
            with pytest.raises(StoreUnavailable):
                await coro

    try:
        store.ensure_schema()
        for i in range(5):
            store.append(room, "ana", f"m{i}", f"c{i}")
        assert len(store.latest(room, 50).messages) == 5  # this thread's connection is up
        asyncio.run(async_reads())
        for call in (lambda: store.latest(room, 50), lambda: store.before(room, 3, 50),
                     lambda: store.after(room, 0, 50)):
            with pytest.raises(StoreUnavailable):
                call()
    finally:
        store.close()
