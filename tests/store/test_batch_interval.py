"""Group commit's minimum interval (ignite_batch.Batcher): under sustained load appends gather into
fewer transactions; an append that finds no recent transaction is committed at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from ignite_store.backends.ignite_batch import Batcher

pytestmark = pytest.mark.unit


@dataclass
class Item:
    n: int
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Recorder:
    """A commit that takes `seconds` and records each batch with the loop time it started."""

    def __init__(self, seconds: float = 0.0):
        self.seconds = seconds
        self.batches: list[tuple[float, list[int]]] = []

    async def __call__(self, batch: list[Item]) -> list[int]:
        self.batches.append((asyncio.get_running_loop().time(), [item.n for item in batch]))
        await asyncio.sleep(self.seconds)
        return [item.n for item in batch]


async def steady_load(batcher: Batcher, count: int, gap: float) -> list[int]:
    async def one(n: int) -> int:
        await asyncio.sleep(n * gap)
        return await batcher.put(Item(n))

    return await asyncio.gather(*(one(n) for n in range(count)))


async def test_under_load_transactions_start_at_most_every_interval_and_carry_more():
    plain, spaced = Recorder(0.001), Recorder(0.001)
    assert await steady_load(Batcher(plain, 256), 60, 0.002) == list(range(60))
    assert await steady_load(Batcher(spaced, 256, min_interval=0.02), 60, 0.002) == list(range(60))
    starts = [at for at, _ in spaced.batches]
    assert all(later - earlier >= 0.019 for earlier, later in zip(starts, starts[1:], strict=False))
    assert len(spaced.batches) * 3 <= len(plain.batches)
    assert [n for _, ns in spaced.batches for n in ns] == list(range(60))  # order of arrival kept


async def test_an_append_after_a_quiet_spell_is_committed_at_once():
    recorder = Recorder()
    batcher = Batcher(recorder, 256, min_interval=0.05)
    await batcher.put(Item(0))
    await asyncio.sleep(0.08)
    queued = asyncio.get_running_loop().time()
    await batcher.put(Item(1))
    assert recorder.batches[1][0] - queued < 0.02


async def test_a_full_batch_does_not_wait_for_the_interval():
    recorder = Recorder()
    batcher = Batcher(recorder, 4, min_interval=1.0)
    await batcher.put(Item(0))
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(batcher.put(Item(n)) for n in range(1, 5)))
    assert asyncio.get_running_loop().time() - started < 0.5
    assert [ns for _, ns in recorder.batches] == [[0], [1, 2, 3, 4]]
