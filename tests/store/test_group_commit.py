"""Group commit across rooms (ignite_store/backends/ignite_batch.py), against a real Ignite node."""

import asyncio
import threading
import uuid

from pyignite.datatypes.transactions import TransactionConcurrency, TransactionIsolation

from ignite_store.backends import ignite_writes


def rooms(count):
    prefix = uuid.uuid4().hex[:8]
    return [f"g-{prefix}-{n}" for n in range(count)]


async def test_appends_to_many_rooms_at_once_keep_each_rooms_order(store):
    """200 appends over 10 rooms submitted at once: gap-free per room, in the order they were submitted."""
    names = rooms(10)
    submitted = [(names[i % 10], f"c-{i}") for i in range(200)]
    results = await asyncio.gather(*(store.aappend(room, "ana", f"body {cid}", cid) for room, cid in submitted))
    by_room: dict[str, list[tuple[str, int]]] = {}
    for (room, cid), result in zip(submitted, results, strict=True):
        assert result.created and result.message.room == room and result.message.client_id == cid
        by_room.setdefault(room, []).append((cid, result.message.seq))
    for room, acked in by_room.items():
        assert [seq for _, seq in acked] == list(range(1, 21))  # submission order == seq order
        stored = store.after(room, 0, 100).messages
        assert [(m.client_id, m.seq) for m in stored] == acked
        assert store.last_seq(room) == 20


async def test_one_client_id_in_two_rooms_is_two_messages_and_repeats_store_once(store):
    first, second = rooms(2)
    earlier = await store.aappend(first, "ana", "earlier", "same")
    results = await asyncio.gather(
        store.aappend(first, "ana", "again", "same"),
        store.aappend(second, "bob", "other room", "same"),
        store.aappend(second, "bob", "repeat in batch", "same"),
        store.aappend(first, "ana", "new", "new"),
    )
    assert results[0].created is False and results[0].message == earlier.message
    assert results[1].created and results[1].message.seq == 1 and results[1].message.body == "other room"
    assert results[2].created is False and results[2].message == results[1].message
    assert results[3].created and results[3].message.seq == 2
    assert [m.body for m in store.after(first, 0, 10).messages] == ["earlier", "new"]
    assert [m.body for m in store.after(second, 0, 10).messages] == ["other room"]


def test_a_locked_room_delays_only_itself_when_the_batch_falls_back(store, monkeypatch):
    """Another transaction holds one room's counter past the multi-room timeout: the batch is
    retried room by room, the free rooms commit at once and the locked one once it is released."""
    monkeypatch.setattr(ignite_writes, "MULTI_ROOM_TX_TIMEOUT", 0.5)
    locked, *free = rooms(4)
    store.append(locked, "ana", "before", "before")
    holding, release = threading.Event(), threading.Event()

    def hold_counter_lock():
        client = store._pool.sync_client()  # a second connection, in this thread
        tx_kind = (TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ)
        with client.tx_start(*tx_kind, timeout=10_000) as tx:
            client.get_cache(store.rooms_cache).get(locked)  # takes the counter's lock
            holding.set()
            release.wait(10)
            tx.rollback()

    holder = threading.Thread(target=hold_counter_lock)
    holder.start()
    assert holding.wait(10)

    async def scenario():
        loop = asyncio.get_running_loop()
        done_at = {}

        async def append(room, cid):
            result = await store.aappend(room, "bob", "during", cid)
            done_at[room] = loop.time()
            return result

        tasks = [asyncio.ensure_future(append(room, f"d-{room}")) for room in [locked, *free]]
        started = loop.time()
        await asyncio.sleep(1.5)  # past the 0.5 s multi-room timeout, before the lock goes away
        free_done = {room: done_at.get(room) for room in free}
        locked_pending = locked not in done_at
        release.set()
        results = await asyncio.gather(*tasks)
        return started, free_done, locked_pending, results

    started, free_done, locked_pending, results = asyncio.run(scenario())
    holder.join()
    assert all(at is not None and at - started < 1.5 for at in free_done.values()), (started, free_done)
    assert locked_pending
    assert [r.message.seq for r in results] == [2, 1, 1, 1]
    assert [m.body for m in store.after(locked, 0, 10).messages] == ["before", "during"]
