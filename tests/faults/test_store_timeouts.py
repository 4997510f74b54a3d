"""Appends whose Ignite call times out mid-transaction (overload) must never lose an acknowledged message.

Found by the long fault runs: under overload (ack latency above IGNITE_TIMEOUT) some acked client_ids
were missing from the stored history. This reproduces it on the shared node with a tiny timeout.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ignite_store import StoreUnavailable
from ignite_store.backends.ignite import IgniteMessageStore

from .harness import stored_history

pytestmark = pytest.mark.usefixtures("live_settings")


async def test_timed_out_appends_never_lose_an_acknowledged_message(ignite_cluster):
    store = IgniteMessageStore(ignite_cluster.client_addresses(), timeout=0.3)
    room = f"tmo-{uuid.uuid4().hex[:8]}"
    acked: dict[str, tuple[int, str]] = {}
    failed = 0

    async def append(i: int) -> None:
        nonlocal failed
        cid = f"c{i}"
        try:
            result = await store.aappend(room, "ana", f"body {i}", cid)
        except StoreUnavailable:
            failed += 1
            return
        acked[cid] = (result.message.seq, result.message.id)

    try:
        for batch in range(8):
            await asyncio.gather(*(append(batch * 40 + i) for i in range(40)))
        await asyncio.sleep(1.0)  # let transactions the client gave up on finish or roll back
        checker = IgniteMessageStore(ignite_cluster.client_addresses(), timeout=10.0)
        try:
            stored = await asyncio.to_thread(stored_history, checker, room)
        finally:
            checker.close()
    finally:
        await store.aclose()
    by_cid = {m.client_id: (m.seq, m.id) for m in stored}
    lost = {cid: got for cid, got in acked.items() if by_cid.get(cid) != got}
    print(f"\nFIGURES store_timeouts: acked={len(acked)} failed={failed} stored={len(stored)} lost={len(lost)}")
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    assert len(by_cid) == len(stored), "a client_id was stored twice"
    assert not lost, {cid: (seq_id, by_cid.get(cid)) for cid, seq_id in list(lost.items())[:10]}
