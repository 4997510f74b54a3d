"""A synthetic chat history for the search benchmark, and a fast loader straight into Ignite.

Messages mix English-like words (Zipf-distributed over a 5,000-word vocabulary), Korean words with
attached particles (20 % of messages), and planted words whose frequency is known:
  COMMON ("update", ~30 % of messages), HANGUL_COMMON ("회의" inside 회의록/회의를/회의가, ~10 %), and,
  planted by the loader at fixed seqs of every room, RARE ("zephyrine", seq 1, 10,001, 20,001, ...) and
  HANGUL_RARE ("예산안을", seq 5,000, 15,000, ...): one message in 10,000.
The loader writes message rows and the room counters with big put_all batches, outside the append path
(loading 1,000,000 messages one append at a time would take hours on this machine), then runs the store's
own search merge (ignite_search_index) over every room, as appends would have started it.
"""

from __future__ import annotations

import asyncio
import random
import uuid

COMMON, RARE, HANGUL_COMMON, HANGUL_RARE = "update", "zephyrine", "회의", "예산안"
_SYLLABLES = "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허고노도로모보소오조초코토포호구누두루무부수우주"
_PARTICLES = ["", "", "를", "을", "가", "이", "는", "은", "에서", "으로", "도", "의"]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words - {COMMON, RARE})


class Corpus:
    """Deterministic message bodies: body(i) is the same for every run with the same seed."""

    def __init__(self, seed: int = 14):
        rng = random.Random(seed)
        self.words = _vocabulary(rng, 5000)
        self.korean = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(800)]
        self.korean = [w for w in self.korean if HANGUL_COMMON not in w and "예산" not in w]
        weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self._cum = list(_accumulate(weights))
        self.seed = seed

    def body(self, i: int) -> str:
        rng = random.Random(self.seed * 1_000_003 + i)
        korean = rng.random() < 0.2
        count = rng.randint(3, 14)
        if korean:
            tokens = [rng.choice(self.korean) + rng.choice(_PARTICLES) for _ in range(count)]
            if rng.random() < 0.5:
                tokens[rng.randrange(count)] = HANGUL_COMMON + rng.choice(["록", "를", "가", "에서", "록을"])
        else:
            tokens = rng.choices(self.words, cum_weights=self._cum, k=count)
            if rng.random() < 0.375:
                tokens[rng.randrange(count)] = COMMON
            if rng.random() < 0.3:
                tokens[0] = tokens[0].capitalize()
        return " ".join(tokens)


RARE_EVERY = 10_000


def planted(seq: int) -> str:
    """The rare words, at fixed seqs of every room (so each size has a known, small number of them)."""
    if seq % RARE_EVERY == 1:
        return f" {RARE}"
    if seq % RARE_EVERY == RARE_EVERY // 2:
        return f" {HANGUL_RARE}을"
    return ""


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total


async def load(store, rooms: dict[str, int], corpus: Corpus, *, start_at: int, batch: int = 1000,
               concurrency: int = 2, index: bool = True, on_progress=None) -> int:
    """Write `rooms` ({room: message count}) with bodies from `corpus`; one message per 10 ms of fake time."""
    from ignite_store.backends.ignite_client import MessageKey, MessageValue, Pairs, RoomValue

    schema = store.schema
    jobs: list[tuple[str, int, int]] = []
    for room, count in rooms.items():
        for low in range(1, count + 1, batch):
            jobs.append((room, low, min(count, low + batch - 1)))
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    done = 0
    body_no = 0
    numbers: dict[tuple[str, int], int] = {}
    for room, low, _high in jobs:  # deterministic bodies whatever the interleaving
        numbers[(room, low)] = body_no
        body_no += _high - low + 1

    async def worker() -> None:
        nonlocal done

        async def put(client, room: str, low: int, high: int) -> None:
            messages = await client.get_cache(schema.messages_cache)
            rows = Pairs()
            first = numbers[(room, low)]
            for seq in range(low, high + 1):
                body = corpus.body(first + seq - low) + planted(seq)
                at = start_at + seq * 10
                author = f"u{(first + seq) % 50:02d}"
                rows.append((MessageKey(ROOM=room, SEQ=seq), MessageValue(
                    ID=uuid.uuid4().hex, AUTHOR=author, BODY=body, CLIENT_ID=f"load-{seq}", CREATED_AT=at,
                    DELETED=False, DELETED_BY=None)))
            await messages.put_all(rows)

        while not queue.empty():
            room, low, high = queue.get_nowait()
            await store._arun(lambda client, r=room, lo=low, hi=high: put(client, r, lo, hi), retry=True)
            done += high - low + 1
            if on_progress:
                on_progress(done)

    await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def counters(client) -> None:
        cache = await client.get_cache(schema.rooms_cache)
        await cache.put_all({room: RoomValue(LAST_SEQ=count, LAST_AT=start_at + count * 10)
                             for room, count in rooms.items()})

    await store._arun(counters, retry=True)
    if index:
        names = list(rooms)

        async def merger() -> None:
            while names:
                await store._search_index.merge(names.pop())

        await asyncio.gather(*(merger() for _ in range(concurrency)))
    return done
