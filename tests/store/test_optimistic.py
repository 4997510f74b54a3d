"""The store with `transactions="optimistic"` (serializable): the same guarantees under contention.

Three store instances (each its own connection and group-commit queue, as separate processes have)
append to the same rooms at once, so their commits meet conflicts and are run again: every append
must still get exactly one gap-free seq, and a retried client id must store once.
"""

import asyncio
import uuid

import pytest

from ignite_store.backends.ignite import IgniteMessageStore


@pytest.fixture
def optimistic_stores(live_settings):
    from django.conf import settings

    config = settings.IGNITE_STORE["default"]
    stores = [IgniteMessageStore(config["NODES"], **{**(config.get("OPTIONS") or {}), "transactions": "optimistic"})
              for _ in range(3)]
    yield stores
    for store in stores:
        store.close()


async def test_concurrent_appends_from_three_stores_stay_gap_free(optimistic_stores):
    rooms = [f"o-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    sends = [(optimistic_stores[i % 3], rooms[i % 3], f"c{i}") for i in range(240)]
    results = await asyncio.gather(*(store.aappend(room, "ana", f"body {cid}", cid) for store, room, cid in sends))
    # (created may be False for an append whose first answer timed out and whose retry found it stored)
    for room in rooms:
        seqs = sorted(r.message.seq for (_, rm, _), r in zip(sends, results, strict=True) if rm == room)
        assert seqs == list(range(1, 81))
        stored = optimistic_stores[0].after(room, 0, 100).messages
        assert [m.seq for m in stored] == list(range(1, 81))
        assert {m.client_id for m in stored} == {cid for _, rm, cid in sends if rm == room}
    # Retries of the same client ids from other stores, all at once: nothing is stored twice.
    again = await asyncio.gather(*(optimistic_stores[(i + 1) % 3].aappend(room, "ana", "retry", cid)
                                   for i, (_, room, cid) in enumerate(sends)))
    assert not any(result.created for result in again)
    assert [r.message.seq for r in again] == [r.message.seq for r in results]
    assert all(optimistic_stores[0].last_seq(room) == 80 for room in rooms)


async def test_concurrent_membership_changes_and_read_markers(optimistic_stores):
    from ignite_store import Room

    room = f"o-{uuid.uuid4().hex[:8]}"
    first = optimistic_stores[0]
    await first.acreate_room(Room(room, "Optimistic", "public", "", "ana", 1), {"ana": "owner"})
    users = [f"user{n}" for n in range(12)]
    await asyncio.gather(*(optimistic_stores[n % 3].aadd_member(room, user) for n, user in enumerate(users)))
    assert sorted(m.user for m in await first.amembers(room)) == sorted(["ana", *users])
    await asyncio.gather(*(optimistic_stores[n % 3].amark_read({(room, "ana"): n}) for n in range(1, 9)))
    assert (await first.amembership(room, "ana")).last_read_seq == 8
