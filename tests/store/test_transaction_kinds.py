"""The store with either kind of transaction, `optimistic` (serializable, the default) and `pessimistic`:
the same guarantees under contention (and reads inside a transaction, IgniteSession.read_in_tx, either way).

Three store instances (each its own connection and group-commit queue, as separate processes have)
append to the same rooms at once, so their commits meet conflicts and are run again: every append
must still get exactly one gap-free seq, and a retried client id must store once.
"""

import asyncio
import uuid

import pytest

from ignite_store.backends.ignite import IgniteMessageStore


@pytest.fixture(params=["optimistic", "pessimistic"])
def stores(live_settings, request):
    from django.conf import settings

    config = settings.IGNITE_STORE["default"]
    stores = [IgniteMessageStore(config["NODES"], **{**(config.get("OPTIONS") or {}), "transactions": request.param})
              for _ in range(3)]
    yield stores
    for store in stores:
        store.close()


async def test_concurrent_appends_from_three_stores_stay_gap_free(stores):
    rooms = [f"o-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    sends = [(stores[i % 3], rooms[i % 3], f"c{i}") for i in range(240)]
    results = await asyncio.gather(*(store.aappend(room, "ana", f"body {cid}", cid) for store, room, cid in sends))
    # (created may be False for an append whose first answer timed out and whose retry found it stored)
    for room in rooms:
        seqs = sorted(r.message.seq for (_, rm, _), r in zip(sends, results, strict=True) if rm == room)
        assert seqs == list(range(1, 81))
        stored = stores[0].after(room, 0, 100).messages
        assert [m.seq for m in stored] == list(range(1, 81))
        assert {m.client_id for m in stored} == {cid for _, rm, cid in sends if rm == room}
    # Retries of the same client ids from other stores, all at once: nothing is stored twice.
    again = await asyncio.gather(*(stores[(i + 1) % 3].aappend(room, "ana", "retry", cid)
                                   for i, (_, room, cid) in enumerate(sends)))
    assert not any(result.created for result in again)
    assert [r.message.seq for r in again] == [r.message.seq for r in results]
    assert all(stores[0].last_seq(room) == 80 for room in rooms)


async def test_concurrent_membership_changes_and_read_markers(stores):
    from ignite_store import Room

    room = f"o-{uuid.uuid4().hex[:8]}"
    first = stores[0]
    await first.acreate_room(Room(room, "Optimistic", "public", "", "ana", 1), {"ana": "owner"})
    users = [f"user{n}" for n in range(12)]
    await asyncio.gather(*(stores[n % 3].aadd_member(room, user) for n, user in enumerate(users)))
    assert sorted(m.user for m in await first.amembers(room)) == sorted(["ana", *users])
    await asyncio.gather(*(stores[n % 3].amark_read({(room, "ana"): n}) for n in range(1, 9)))
    assert (await first.amembership(room, "ana")).last_read_seq == 8


async def test_concurrent_changes_across_rooms_get_gap_free_change_seqs(stores):
    rooms = [f"o-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    posted = [await stores[0].aappend(room, "ana", "v0", f"m-{room}") for room in rooms]
    jobs = []
    for i in range(8):
        for n, result in enumerate(posted):
            store = stores[(i + n) % 3]
            jobs.append(store.aedit(result.message.room, result.message.seq, f"v{i + 1}", f"e{i}-{n}", author="ana"))
            jobs.append(store.areact(result.message.room, result.message.seq, f"r{i}", user=f"user{i}"))
    results = await asyncio.gather(*jobs)
    for result in posted:
        room, seq = result.message.room, result.message.seq
        mine = sorted(r.change_seq for r in results if r.message.room == room)
        assert mine == list(range(1, 17))
        final = await stores[1].aget(room, seq)
        assert final.change_seq == 16 and len(final.reactions) == 8
        assert final.body in {f"v{i + 1}" for i in range(8)}
