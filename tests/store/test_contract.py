"""The store contract (ignite_store/backends/base.py), against a real Ignite node."""

import asyncio
import threading
import time

import pytest

from ignite_store import InvalidMessage, StoreUnavailable
from ignite_store.backends.ignite import IgniteMessageStore


def fill(store, room, count, author="ana"):
    return [store.append(room, author, f"message {i}", f"c-{i}").message for i in range(1, count + 1)]


def test_append_returns_the_stored_message(store, room):
    before = time.time() * 1000
    result = store.append(room, "ana", "hello", "c-1")
    assert result.created is True
    message = result.message
    assert (message.room, message.seq, message.author, message.body, message.client_id) == (
        room, 1, "ana", "hello", "c-1",
    )
    assert message.id and not message.deleted
    assert before - 5 <= message.created_at <= time.time() * 1000 + 5
    assert store.get(room, 1) == message
    assert store.last_seq(room) == 1


def test_sequences_are_contiguous_per_room(store, room):
    other = room + "-other"
    seqs = [store.append(room, "ana", "x", f"a{i}").message.seq for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert store.append(other, "ana", "x", "a0").message.seq == 1


def test_same_client_id_stores_once(store, room):
    first = store.append(room, "ana", "hello", "dup")
    again = store.append(room, "ana", "hello (edited retry)", "dup")
    assert again.created is False
    assert again.message == first.message
    assert store.last_seq(room) == 1
    assert store.append(room + "-b", "ana", "hello", "dup").created is True  # ids are per room


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("room", {"room": "Bad Room!"}),
        ("room", {"room": ""}),
        ("room", {"room": 42}),
        ("body", {"body": ""}),
        ("body", {"body": "   "}),
        ("body", {"body": "x" * 4001}),
        ("body", {"body": "bell\x07"}),
        ("body", {"body": "surrogate \ud800"}),
        ("body", {"body": None}),
        ("client_id", {"client_id": ""}),
        ("client_id", {"client_id": "has space"}),
        ("client_id", {"client_id": "x" * 65}),
        ("author", {"author": ""}),
    ],
)
def test_invalid_input_stores_nothing(store, room, field, kwargs):
    args = {"room": room, "author": "ana", "body": "ok", "client_id": "c-1", **kwargs}
    with pytest.raises(InvalidMessage) as info:
        store.append(**args)
    assert info.value.field == field
    assert store.last_seq(room) == 0


def test_body_limits_allow_newlines_and_the_maximum(store, room):
    assert store.append(room, "ana", "line 1\nline 2\ttab", "c-1").message.body == "line 1\nline 2\ttab"
    assert len(store.append(room, "ana", "é" * 4000, "c-2").message.body) == 4000


def test_latest_before_after_pages(store, room):
    messages = fill(store, room, 12)
    page = store.latest(room, 5)
    assert [m.seq for m in page.messages] == [8, 9, 10, 11, 12]
    assert page.has_more is True
    page = store.before(room, 8, 5)
    assert [m.seq for m in page.messages] == [3, 4, 5, 6, 7] and page.has_more is True
    page = store.before(room, 3, 5)
    assert [m.seq for m in page.messages] == [1, 2] and page.has_more is False
    assert store.before(room, 1, 5).messages == []
    page = store.after(room, 0, 5)
    assert page.messages == messages[:5] and page.has_more is True
    page = store.after(room, 10, 5)
    assert [m.seq for m in page.messages] == [11, 12] and page.has_more is False
    assert store.after(room, 12, 5).messages == []
    assert store.latest(room + "-empty", 5).messages == []


def test_page_limits_are_validated(store, room):
    with pytest.raises(InvalidMessage):
        store.latest(room, 0)
    with pytest.raises(InvalidMessage):
        store.latest(room, 101)
    with pytest.raises(InvalidMessage):
        store.before(room, -1, 10)
    with pytest.raises(InvalidMessage):
        store.after(room, True, 10)


def test_delete_leaves_a_tombstone_and_keeps_sequences(store, room):
    fill(store, room, 3)
    deleted = store.delete(room, 2, by="moderator")
    assert deleted.deleted is True and deleted.body == "" and deleted.seq == 2
    assert store.get(room, 2) == deleted
    assert [m.seq for m in store.after(room, 0, 10).messages] == [1, 2, 3]
    assert store.delete(room, 99, by="moderator") is None
    assert store.get(room, 99) is None
    assert store.append(room, "ana", "next", "c-next").message.seq == 4


def test_concurrent_appends_get_distinct_contiguous_sequences(store, room, live_settings):
    """50 appends at once from 5 threads (each its own client) and 25 coroutines."""
    results, errors = [], []

    def worker(offset):
        own = IgniteMessageStore(store.nodes, backups=store.schema.backups, table_prefix=store.schema.prefix,
                                 fast_codec=store.fast_codec, transactions=store.transactions)
        try:
            for i in range(5):
                results.append(own.append(room, "ana", "x", f"t{offset}-{i}").message.seq)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()

    async def coroutines():
        return await asyncio.gather(*(store.aappend(room, "bob", "y", f"co-{i}") for i in range(25)))

    async_results = asyncio.run(coroutines())
    for thread in threads:
        thread.join()
    assert not errors
    seqs = results + [r.message.seq for r in async_results]
    assert sorted(seqs) == list(range(1, 51))
    assert store.last_seq(room) == 50


async def test_async_twins_match_sync(store, room):
    appended = await store.aappend(room, "ana", "hello", "c-1")
    again = await store.aappend(room, "ana", "hello", "c-1")
    assert again.created is False and again.message == appended.message
    await store.aappend(room, "ana", "second", "c-2")
    assert await store.aget(room, 1) == store.get(room, 1)
    assert await store.alast_seq(room) == 2
    assert await store.alatest(room, 10) == store.latest(room, 10)
    assert await store.abefore(room, 2, 10) == store.before(room, 2, 10)
    assert await store.aafter(room, 0, 10) == store.after(room, 0, 10)
    tombstone = await store.adelete(room, 1, by="mod")
    assert tombstone.deleted and store.get(room, 1).deleted


def test_schema_is_idempotent(store):
    assert store.ensure_schema() == []
    assert store.check_schema() == []


def test_unreachable_cluster_raises_store_unavailable_within_timeout(room):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    dead = IgniteMessageStore([("127.0.0.1", port)], timeout=1.0)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        dead.append(room, "ana", "hello", "c-1")
    with pytest.raises(StoreUnavailable):
        asyncio.run(dead.alatest(room, 10))
    assert time.monotonic() - started < 10


async def test_concurrent_retries_in_one_batch_store_once(store, room):
    """Group commit: repeats of a client id inside one batch, and of one stored earlier, store nothing new."""
    first = await store.aappend(room, "ana", "stored earlier", "early")
    results = await asyncio.gather(
        *(store.aappend(room, "ana", f"copy {i}", cid) for i, cid in enumerate(["a", "b", "a", "early", "b", "c"]))
    )
    by_id = {}
    for result in results:
        by_id.setdefault(result.message.client_id, set()).add((result.message.seq, result.message.id))
    assert all(len(versions) == 1 for versions in by_id.values())  # one message per client id
    assert by_id["early"] == {(first.message.seq, first.message.id)}
    assert sorted(seq for (seq, _), in by_id.values()) == [1, 2, 3, 4]
    assert store.last_seq(room) == 4
    assert [m.client_id for m in store.after(room, 0, 10).messages] == ["early", "a", "b", "c"]
