"""The search index: which blocks of a room's history hold a term, built off the append path.

`<P>_SEARCH_BLOCKS (ROOM, TERM, BLOCK) -> MARK`: a row says "the term occurs somewhere in seqs
[BLOCK * BLOCK_SEQS, BLOCK * BLOCK_SEQS + BLOCK_SEQS)" (ignite_store/search_text.py decides the terms). A row
is a superset claim: it is never wrong to have one too many, since every candidate is verified against the
message's current body. Per room, the row (ROOM, "", -1) is the watermark: every block below MARK is
indexed; the messages above it are searched by scanning them (ignite_search), so a search is exact whatever
the index holds.

Who writes rows:
- the merge (`SearchIndex.merge`), for the completed blocks above the watermark: it reads a block's current
  bodies, then writes the block's distinct terms and advances the watermark in one transaction. An append
  writes nothing: when a batch completes a block, the merge of that room is started in the background
  (`appended`), so its cost is paid in bulk (one row per distinct term of a block: ~3 per message at 1,024
  seqs, against ~11 per message for a row per term and message; docs/performance.md, "Search");
- an edit, in the edit's transaction: the new body's rows for the message's block (idempotent puts, no read).
  An edit racing a merge is covered either way: the merge read the old body or the new one, and the edit's
  own rows are there in both cases;
- an import, in its transaction (it may write a seq below the watermark).
Nothing removes rows but `chat_prune` (the rows of blocks it emptied): a deleted or replaced body's rows
stay and cost only a scan of their block.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from ..search_text import index_terms
from . import ignite_wire, pyignite_seam
from .ignite_client import Pairs, SearchBlockKey
from .ignite_schema import Schema
from .ignite_session import IgniteSession

logger = logging.getLogger(__name__)

BLOCK_SEQS = 1024
WATERMARK_TERM, WATERMARK_BLOCK = "", -1  # no index term is empty

BlockRow = tuple[str, str, int]  # room, term, block


def block_of(seq: int) -> int:
    return seq // BLOCK_SEQS


def complete_blocks(last_seq: int) -> int:
    """How many blocks of a room whose last seq is `last_seq` are complete (seq 0 is never used)."""
    return (last_seq + 1) // BLOCK_SEQS


def body_rows(room: str, seq: int, body: str) -> list[BlockRow]:
    """The index rows of one message body: its block, once per distinct term."""
    block = block_of(seq)
    return [(room, term, block) for term in sorted(index_terms(body))]


@functools.cache
def _key_encoder():
    return pyignite_seam.key_encoder(SearchBlockKey)


_PRESENT = ignite_wire.long_value(0)


def _encode_row(row: BlockRow, compact_footer: bool) -> bytes:
    return _key_encoder()(row, compact_footer) + _PRESENT


async def put_rows(session: IgniteSession, client, schema: Schema, rows: list[BlockRow]) -> None:
    """Write presence rows with one put_all, in the caller's transaction if any (built with `struct` when the
    pyignite seam is on: through pyignite's objects a row costs ~40 µs of client CPU)."""
    if not rows:
        return
    cache = await client.get_cache(schema.search_blocks_cache)
    if session.fast_codec:
        await pyignite_seam.aput_all_encoded(client, cache, _encode_row, rows, SearchBlockKey)
    else:
        await cache.put_all(Pairs((SearchBlockKey(ROOM=room, TERM=term, BLOCK=block), 0)
                                  for room, term, block in rows))


def watermark_key(room: str) -> SearchBlockKey:
    return SearchBlockKey(ROOM=room, TERM=WATERMARK_TERM, BLOCK=WATERMARK_BLOCK)


async def watermarks(client, schema: Schema, rooms: list[str]) -> dict[str, int]:
    """The indexed block count of each room (0 when none was indexed yet)."""
    cache = await client.get_cache(schema.search_blocks_cache)
    found = await cache.get_all([watermark_key(room) for room in rooms])
    marks = dict.fromkeys(rooms, 0)
    for raw_key, value in found.items():
        key = await client.unwrap_binary(raw_key)  # get_all leaves binary-object keys serialised
        marks[key.ROOM] = int(value or 0)
    return marks


class SearchIndex:
    """The merge of completed blocks into presence rows, started by appends (when `enabled`) or run by
    search_reindex."""

    def __init__(self, session: IgniteSession, schema: Schema, *, enabled: bool = True):
        self.session = session
        self.schema = schema
        self.enabled = enabled
        self._running: dict[str, asyncio.Task] = {}  # room -> its merge task (one at a time per room)
        self._again: set[str] = set()
        self.merged_blocks = 0  # by this process (benchmarks)

    # ---------------------------------------------------------------- started by appends
    def appended(self, room: str, last_before: int, last_after: int) -> None:
        """After an append batch committed: merge the room's blocks if the batch completed one."""
        if not self.enabled or complete_blocks(last_after) == complete_blocks(last_before):
            return
        if room in self._running:
            self._again.add(room)  # the running merge read the counter before this block was complete
            return
        task = asyncio.get_running_loop().create_task(self._merge_in_background(room))
        self._running[room] = task

    async def _merge_in_background(self, room: str) -> None:
        try:
            while True:
                self._again.discard(room)
                try:
                    await self.merge(room)
                except Exception:  # a search scans the blocks left unmerged; the next completed block retries
                    logger.warning("Search merge of room %s failed", room, exc_info=True)
                    return
                if room not in self._again:
                    return
        finally:
            self._running.pop(room, None)

    async def drain(self) -> None:
        """Wait for the merges running now (benchmarks and tests: their cost is counted, their rows are in)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    # ---------------------------------------------------------------- the merge
    async def merge(self, room: str, *, rebuild: bool = False) -> int:
        """Index the completed blocks of `room` above its watermark (from block 0 when `rebuild`); how many
        messages were read."""

        async def state(client):
            counters = await client.get_cache(self.schema.rooms_cache)
            counter = await counters.get(room)
            marks = await watermarks(client, self.schema, [room])
            return (int(counter.LAST_SEQ or 0) if counter is not None else 0), marks[room]

        last_seq, mark = await self.session.run(state, retry=True)
        read = 0
        for block in range(0 if rebuild else mark, complete_blocks(last_seq)):
            read += await self._merge_block(room, block)
        return read

    async def _merge_block(self, room: str, block: int) -> int:
        """One block: read its current bodies, then its rows and the watermark in one transaction."""
        bodies = await self.session.sql(
            f"SELECT BODY FROM {self.schema.messages_table} WHERE ROOM = ? AND SEQ >= ? AND SEQ < ? "
            "AND (DELETED IS NULL OR DELETED = FALSE)",
            [room, block * BLOCK_SEQS, (block + 1) * BLOCK_SEQS],
        )
        terms: set[str] = set()
        for (body,) in bodies:
            terms |= index_terms(body or "")
        rows = [(room, term, block) for term in sorted(terms)]

        async def write(client):
            cache = await client.get_cache(self.schema.search_blocks_cache)
            async with self.session.tx(client, timeout=max(self.session.timeout, 30.0)) as tx:
                current = await cache.get(watermark_key(room))
                await put_rows(self.session, client, self.schema, rows)
                if int(current or 0) < block + 1:
                    await cache.put(watermark_key(room), block + 1)
                await tx.commit()

        # Safe to retry: rows are idempotent and the watermark only moves up.
        await self.session.run(write, retry=True, time_limit=max(self.session.timeout, 30.0))
        self.merged_blocks += 1
        return len(bodies)
