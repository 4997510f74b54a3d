"""The pyignite seam (ignite_store/backends/pyignite_seam.py): same bytes, same values, same errors.

Bytes and decoded values are compared with the patches off and on in one process; round trips and
error responses go through a real Ignite node.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pyignite
import pytest
from pyignite import AioClient, Client
from pyignite.datatypes import String
from pyignite.datatypes.cache_config import CacheAtomicityMode
from pyignite.datatypes.complex import BinaryObject, Map
from pyignite.datatypes.internal import AnyDataObject, Struct, infer_from_python, infer_from_python_async
from pyignite.datatypes.prop_codes import PROP_CACHE_ATOMICITY_MODE, PROP_NAME
from pyignite.exceptions import CacheError
from pyignite.queries import Query
from pyignite.queries.op_codes import OP_CACHE_PUT_ALL
from pyignite.stream import READ_BACKWARD, AioBinaryStream, BinaryStream

from ignite_store.backends import pyignite_seam
from ignite_store.backends.ignite_client import (
    ChangeKeyValue,
    IdempotencyKey,
    IdempotencyValue,
    MentionKey,
    MentionValue,
    MessageKey,
    MessageValue,
    Pairs,
    RoomValue,
    VersionKey,
    VersionValue,
)

CLASSES = (MessageKey, MessageValue, IdempotencyKey, IdempotencyValue, RoomValue, ChangeKeyValue, VersionKey,
           VersionValue, MentionKey, MentionValue)


@pytest.fixture
def speedups():
    """Start with the seam off; put pyignite back as it was found (installed or not) afterwards."""
    was_installed = pyignite_seam.installed()
    pyignite_seam.uninstall()
    pyignite_seam._state["refused"] = False
    yield pyignite_seam
    pyignite_seam.uninstall()
    pyignite_seam._state["refused"] = False  # the guard test makes it log its one refusal
    if was_installed:
        pyignite_seam.install()


class StubClient:
    """What a BinaryStream needs from a client when no server is involved."""

    def __init__(self, compact_footer: bool):
        self.compact_footer = compact_footer

    def register_binary_type(self, data_class):
        pass

    def query_binary_type(self, type_id, schema_id=None):
        # ChangeKeyValue is a second schema of ChatIdempotency: the schema id tells them apart, as in pyignite
        found = [cls for cls in CLASSES if cls.type_id == type_id]
        return next((cls for cls in found if schema_id in (None, cls.schema_id)), found[0] if found else None)


class AioStubClient(StubClient):
    async def register_binary_type(self, data_class):
        pass

    async def query_binary_type(self, type_id, schema_id=None):
        return super().query_binary_type(type_id, schema_id)


def text(n: int) -> str:
    """n characters mixing 1-, 2-, 3- and 4-byte UTF-8."""
    return ("aé€🙂" * (n // 4 + 1))[:n]


def sample_objects() -> list:
    objects = []
    for n in [*range(301), 4000]:
        s = text(n)
        objects += [
            MessageKey(ROOM=s, SEQ=n - 150),
            MessageValue(ID=uuid.UUID(int=n).hex, AUTHOR=s[:50], BODY=s, CLIENT_ID=s[:64], CREATED_AT=n * 10**10,
                         DELETED=bool(n % 2), DELETED_BY=None if n % 3 else s[:20]),
            IdempotencyKey(ROOM=s[:100], CLIENT_ID=""),
            IdempotencyValue(SEQ=2**63 - 1 - n),
            RoomValue(LAST_SEQ=None if n % 5 == 0 else n, LAST_AT=-n),
        ]
    objects += [
        MessageValue(),  # every field at its default (None)
        MessageValue(ID="", AUTHOR="", BODY="", CLIENT_ID="", CREATED_AT=0, DELETED=False, DELETED_BY=""),
        MessageValue(BODY="before\x00after", AUTHOR="\x00", CLIENT_ID="x" * 70_000),  # NUL; 4-byte offsets
        MessageValue(ID="x", AUTHOR="ana", BODY="b", CLIENT_ID="c", CREATED_AT=1, DELETED=False, DELETED_BY=None,
                     CHANGE_SEQ=7, EDITED_AT=2, REPLY_TO=3, REACTIONS='[["👍", ["ana"]]]', MENTIONS='{"u": ["bob"]}'),
        RoomValue(LAST_SEQ=4, LAST_AT=5, LAST_CHANGE_SEQ=6),
        ChangeKeyValue(SEQ=1, CHANGE_SEQ=2),
        VersionKey(ROOM="r", SEQ=1, VERSION=2), VersionValue(BODY="old", EDITED_AT=3),
        MentionKey(USERNAME="bøb", ROOM="r", SEQ=1), MentionValue(AT=4),
        IdempotencyValue(SEQ=2**64 + 5),  # wraps as ctypes does
        IdempotencyValue(SEQ=-(2**63)),
    ]
    return objects


def encode_all(objects: list, compact_footer: bool) -> list:
    """Each object written alone (sync and async), with the hash code pyignite records on it."""
    out = []
    for obj in objects:
        obj._hashcode = None
        with BinaryStream(StubClient(compact_footer)) as stream:
            infer_from_python(stream, obj)
            out.append((stream.getvalue(), obj._hashcode))
        obj._hashcode = None

        async def write_async(obj=obj):
            with AioBinaryStream(AioStubClient(compact_footer)) as stream:
                await infer_from_python_async(stream, obj)
                return stream.getvalue(), obj._hashcode

        out.append(asyncio.run(write_async()))
    return out


def put_all_request(pairs, compact_footer: bool) -> bytes:
    """The bytes of a put_all request body as pyignite sends it (fixed query id)."""
    query = Query(OP_CACHE_PUT_ALL, [("data", Map)], query_id=42)
    with BinaryStream(StubClient(compact_footer)) as stream:
        query.from_python(stream, {"data": pairs})
        return stream.getvalue()


def batch_pairs(n: int) -> tuple[Pairs, Pairs]:
    messages, keys = Pairs(), Pairs()
    for i in range(n):
        body = text(i * 13 % 4001)
        messages.append((MessageKey(ROOM=f"room-{i % 7}", SEQ=i),
                         MessageValue(ID=f"{i:032x}", AUTHOR="ann", BODY=body, CLIENT_ID=f"c-{i}", CREATED_AT=i,
                                      DELETED=False, DELETED_BY=None)))
        keys.append((IdempotencyKey(ROOM=f"room-{i % 7}", CLIENT_ID=f"c-{i}"), IdempotencyValue(SEQ=i)))
    return messages, keys


# ---------------------------------------------------------------- bytes


@pytest.mark.parametrize("compact_footer", [True, False])
@pytest.mark.unit
def test_binary_objects_encode_to_identical_bytes(speedups, compact_footer):
    objects = sample_objects()
    plain = encode_all(objects, compact_footer)
    assert speedups.install()
    fast = encode_all(objects, compact_footer)
    assert len(fast) == len(plain) == 2 * len(objects)
    for index, (expected, got) in enumerate(zip(plain, fast, strict=True)):
        assert got == expected, f"object {objects[index // 2]!r} differs"


@pytest.mark.parametrize("compact_footer", [True, False])
@pytest.mark.unit
def test_requests_encode_to_identical_bytes(speedups, compact_footer):
    messages, keys = batch_pairs(64)
    rooms = {f"room-{i}": RoomValue(LAST_SEQ=i, LAST_AT=i * 1000) for i in range(20)}
    plain = [put_all_request(p, compact_footer) for p in (messages, keys, rooms)]
    assert speedups.install()
    messages, keys = batch_pairs(64)  # fresh objects: no cached buffers
    assert [put_all_request(p, compact_footer) for p in (messages, keys, rooms)] == plain


@pytest.mark.unit
def test_strings_encode_to_identical_bytes(speedups):
    values = [text(n) for n in range(301)] + ["", "\x00", "a\x00b\x00", b"raw\x00bytes", b"", text(4000), None]

    def encode():
        out = []
        for value in values:
            with BinaryStream(StubClient(True)) as stream:
                String.from_python(stream, value)
                out.append(stream.getvalue())
        return out

    plain = encode()
    assert speedups.install()
    assert encode() == plain


# ---------------------------------------------------------------- decoding


def decode_all(blobs: list[bytes]) -> list:
    """Parse every blob as pyignite parses a value in a response, sync and async; plain field dicts."""

    def fields(value):
        return None if value is None else (type(value).__name__, {k: getattr(value, k) for k in value.schema})

    out = []
    for blob in blobs:
        client = StubClient(True)
        with BinaryStream(client, blob) as stream:
            c_type = AnyDataObject.parse(stream)
            out.append(fields(AnyDataObject.to_python(stream.read_ctype(c_type, direction=READ_BACKWARD),
                                                      client=client)))

        async def read_async(blob=blob):
            client = AioStubClient(True)
            with AioBinaryStream(client, blob) as stream:
                c_type = await AnyDataObject.parse_async(stream)
                value = stream.read_ctype(c_type, direction=READ_BACKWARD)
                return fields(await AnyDataObject.to_python_async(value, client=client))

        out.append(asyncio.run(read_async()))
    return out


@pytest.mark.unit
def test_binary_objects_decode_to_identical_values(speedups):
    blobs = [blob for blob, _ in encode_all(sample_objects(), True)[::2]]
    plain = decode_all(blobs)
    assert speedups.install()
    assert decode_all(blobs) == plain
    assert plain[2] == plain[3] == ("MessageValue", {  # a sanity check that real values came back
        "ID": uuid.UUID(int=0).hex, "AUTHOR": "", "BODY": "", "CLIENT_ID": "", "CREATED_AT": 0, "DELETED": False,
        "DELETED_BY": "", "CHANGE_SEQ": 0, "EDITED_AT": 0, "REPLY_TO": 0, "REACTIONS": None,
        "MENTIONS": None})


@pytest.mark.unit
def test_maps_decode_to_identical_values(speedups):
    async def decode(blob):
        client = AioStubClient(True)
        with AioBinaryStream(client, blob) as stream:
            c_type = await Map.parse_async(stream)
            mapping = await Map.to_python_async(stream.read_ctype(c_type, direction=READ_BACKWARD), client=client)
        return sorted((k, v.LAST_SEQ, v.LAST_AT) for k, v in mapping.items())

    rooms = {text(i): RoomValue(LAST_SEQ=i, LAST_AT=-i) for i in range(50)}
    blob = put_all_request(rooms, True)[14:]  # after the query header: the map itself
    plain = asyncio.run(decode(blob))
    assert speedups.install()
    assert asyncio.run(decode(blob)) == plain and len(plain) == 50


# ---------------------------------------------------------------- a real node


def new_cache_name() -> str:
    return f"speedups-{uuid.uuid4().hex[:10]}"


def values_of(objects) -> list:
    return [None if o is None else {k: getattr(o, k) for k in o.schema} for o in objects]


async def async_round_trip(nodes, name: str, absent: str) -> dict:
    """Writes and reads through an AioClient: transaction, put_all, get, get_all with binary keys, errors."""
    client = AioClient(partition_aware=False)
    await client.connect(nodes)
    try:
        cache = await client.get_or_create_cache(
            {PROP_NAME: name, PROP_CACHE_ATOMICITY_MODE: CacheAtomicityMode.TRANSACTIONAL})
        messages, keys = batch_pairs(40)
        async with client.tx_start() as tx:
            await cache.put_all(messages)
            await cache.put_all(keys)
            await cache.put("room", RoomValue(LAST_SEQ=40, LAST_AT=7))
            await tx.commit()
        got = [await cache.get(key) for key, _ in messages[:10]]
        found = await cache.get_all([key for key, _ in keys] + [IdempotencyKey(ROOM="none", CLIENT_ID="x")])
        unwrapped = sorted([((await client.unwrap_binary(k)).CLIENT_ID, v.SEQ) for k, v in found.items()])
        result = {"get": values_of(got), "room": values_of([await cache.get("room")]), "get_all": unwrapped,
                  "missing": await cache.get(MessageKey(ROOM="none", SEQ=1))}
        with pytest.raises(CacheError) as error:
            await (await client.get_cache(absent)).get(1)
        result["error"] = str(error.value)
        await cache.destroy()
        return result
    finally:
        await client.close()


def sync_round_trip(nodes, name: str, absent: str) -> dict:
    client = Client(partition_aware=False, timeout=10)
    client.connect(nodes)
    try:
        cache = client.get_or_create_cache(name)
        messages, keys = batch_pairs(20)
        cache.put_all(messages)
        cache.put_all(keys)
        found = cache.get_all([key for key, _ in keys])
        result = {"get": values_of([cache.get(key) for key, _ in messages]),
                  "get_all": sorted((client.unwrap_binary(k).CLIENT_ID, v.SEQ) for k, v in found.items())}
        with pytest.raises(CacheError) as error:
            client.get_cache(absent).get(1)
        result["error"] = str(error.value)
        cache.destroy()
        return result
    finally:
        client.close()


def test_round_trips_through_a_real_node_are_identical(speedups, ignite_cluster):
    nodes, absent = ignite_cluster.client_addresses(), new_cache_name()
    plain_async = asyncio.run(async_round_trip(nodes, new_cache_name(), absent))
    plain_sync = sync_round_trip(nodes, new_cache_name(), absent)
    assert speedups.install()
    fast_async = asyncio.run(async_round_trip(nodes, new_cache_name(), absent))
    fast_sync = sync_round_trip(nodes, new_cache_name(), absent)
    assert fast_async == plain_async
    assert fast_sync == plain_sync
    assert len(fast_async["get_all"]) == 40 and fast_async["missing"] is None
    assert fast_async["get"][3]["BODY"] == text(39)
    assert "Cache does not exist" in fast_async["error"] and fast_sync["error"] == fast_async["error"]


async def test_store_appends_and_reads_both_ways(store, room):
    """Run with the store fixture's two paths: the seam on (fast_codec) and plain pyignite."""
    assert store.fast_codec == pyignite_seam.installed()
    bodies = ["x", "plain", text(300), text(4000), "emoji 🙂🙃 and ünïcödé"]
    results = await asyncio.gather(*(store.aappend(room, "ann", b, f"sp-{i}") for i, b in enumerate(bodies)))
    again = await store.aappend(room, "ann", "ignored", "sp-2")  # an idempotent retry
    sync = store.append(room, "bob", "sync " + text(100), "sp-sync")
    assert [r.created for r in results] == [True] * 5 and not again.created and sync.created
    assert again.message == results[2].message
    page = await store.alatest(room, 10)
    assert [m.seq for m in page.messages] == list(range(1, 7))
    stored = {m.client_id: m for m in page.messages}
    assert {cid: m.body for cid, m in stored.items()} == {
        **{f"sp-{i}": body for i, body in enumerate(bodies)}, "sp-sync": "sync " + text(100)}
    assert [stored[f"sp-{i}"] for i in range(5)] == [r.message for r in results]
    assert (await store.aget(room, results[3].message.seq)).body == text(4000)


# ---------------------------------------------------------------- install / guard


@pytest.mark.unit
def test_install_is_guarded_by_the_pyignite_version(speedups, caplog):
    original = String.build_c_type
    with pytest.MonkeyPatch.context() as patch:  # undone before the fixture puts the seam back
        patch.setattr(pyignite, "__version__", "0.7.0")
        with caplog.at_level(logging.WARNING, logger=speedups.__name__):
            assert speedups.install() is False
        assert not speedups.installed()
        assert String.build_c_type == original
        assert "fast codec off" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=speedups.__name__):
            assert speedups.install() is False
        assert "fast codec off" not in caplog.text  # logged once


@pytest.mark.unit
def test_install_is_guarded_by_the_internals_it_uses(speedups, caplog):
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(BinaryObject, "schema_type")
        with caplog.at_level(logging.WARNING, logger=speedups.__name__):
            assert speedups.install() is False
        assert "lacks BinaryObject.schema_type" in caplog.text and not speedups.installed()


def test_store_falls_back_to_plain_pyignite(speedups, live_settings):
    from django.conf import settings

    from ignite_store.backends.ignite import IgniteMessageStore

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pyignite, "__version__", "0.7.0")
        store = IgniteMessageStore(settings.IGNITE_STORE["default"]["NODES"])
    try:
        assert not store.fast_codec and not speedups.installed()
        assert store.latest("t-fallback-none", 5).messages == []
    finally:
        store.close()


@pytest.mark.unit
def test_uninstall_restores_pyignite(speedups):
    before = {name: vars(BinaryObject)[name] for name in ("to_python_not_null_async", "schema_type")}
    plain_write = MessageValue._from_python
    assert speedups.install() and speedups.install()  # idempotent
    assert vars(BinaryObject)["to_python_not_null_async"] is not before["to_python_not_null_async"]
    assert MessageValue._from_python is plain_write  # the store's classes are not patched: they ask the seam
    speedups.uninstall()
    assert {name: vars(BinaryObject)[name] for name in before} == before
    assert not speedups.installed()


def test_importing_the_store_installs_nothing():
    import subprocess
    import sys

    code = ("import ignite_store.backends.ignite, ignite_store.backends.pyignite_seam as s; "
            "from pyignite.datatypes import String; assert not s.installed(); "
            "assert 'build_c_type' in vars(String) and String.build_c_type.__func__.__module__.startswith('pyignite')")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.unit
def test_cached_classes_are_shared(speedups):
    assert speedups.install()
    assert String.build_c_type(12) is String.build_c_type(12)
    assert String.build_c_type(12) is not String.build_c_type(13)
    fields = [("a", String.build_c_type(3)), ("b", String.build_c_type(4))]
    assert Struct.build_c_type(fields) is Struct.build_c_type(list(fields))
