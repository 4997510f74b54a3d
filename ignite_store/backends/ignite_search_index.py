"""The search index: which parts of a room's history hold a term, built off the append path.

`<P>_SEARCH_BLOCKS (ROOM, TERM, BLOCK) -> MARK`: a row says in which of the 64 runs of SUB_SEQS seqs of the
block [BLOCK * BLOCK_SEQS, BLOCK * BLOCK_SEQS + BLOCK_SEQS) the term occurs (bit i of MARK: run i); the
terms are ignite_store/search_text.py's. Two kinds of rows besides (no index term is empty or holds a
control character):
- (ROOM, "", -1) -> the room's **watermark**: every block below MARK is indexed. The messages above it are
  searched by scanning them (ignite_search), so a search is exact whatever the index holds;
- in <P>_SEARCH_DIRTY, (ROOM, DIRTY, seq) -> a change id: a message **edited or imported** since its block
  was indexed. A search reads these seqs besides the candidate runs, until the next merge of the room
  indexes them again.

Who writes what:
- the merge (`SearchIndex.merge`): for each completed block above the watermark, and each block with dirty
  seqs, it reads the dirty rows, then the block's current bodies, then writes the block's rows (one per
  distinct term: ~3 per message at 1,024 seqs, against ~11 per message for a row per term and message),
  then moves the watermark up, then removes the dirty rows it saw (only if unchanged since). The table is
  ATOMIC: the order of the writes, not a transaction, keeps the watermark from claiming rows not written. An append
  writes nothing: when a batch completes a block, the merge of that room is started in the background
  (`appended`), so its cost is paid in bulk (docs/performance.md, "Search");
- an edit writes its seq's dirty row in the edit's transaction, an import in its transaction. A merge racing
  an edit either read the new body, or left the edit's dirty row in place (it removes only what it read).
Nothing removes term rows but `chat_prune` (those of blocks it emptied): a deleted or replaced body's bits
stay and cost only a scan of their run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref

from ..search_text import index_terms
from . import ignite_wire, pyignite_seam
from .ignite_client import Pairs, SearchBlockKey
from .ignite_schema import Schema
from .ignite_session import IgniteSession

logger = logging.getLogger(__name__)

BLOCK_SEQS = 1024
MERGE_SLICE = 32  # bodies tokenized between two turns of the event loop
SUB_SEQS = BLOCK_SEQS // 64  # one bit of MARK
WATERMARK_TERM, WATERMARK_BLOCK = "", -1
DIRTY = "\x01"

IndexRow = tuple[str, str, int, int]  # room, term, block (a seq for DIRTY rows), mark


def block_of(seq: int) -> int:
    return seq // BLOCK_SEQS


def complete_blocks(last_seq: int) -> int:
    """How many blocks of a room whose last seq is `last_seq` are complete (seq 0 is never used)."""
    return (last_seq + 1) // BLOCK_SEQS


def as_long(mask: int) -> int:
    """A 64-bit mask as the signed long Ignite stores."""
    return mask - (1 << 64) if mask >= 1 << 63 else mask


def runs(block: int, mask: int) -> list[tuple[int, int]]:
    """The [low, high] seq ranges of the bits set in a block's mask, newest first (adjacent bits joined)."""
    mask &= (1 << 64) - 1
    found: list[tuple[int, int]] = []
    bit = 63
    while bit >= 0:
        if mask >> bit & 1:
            top = bit
            while bit >= 0 and mask >> bit & 1:
                bit -= 1
            base = block * BLOCK_SEQS
            found.append((base + (bit + 1) * SUB_SEQS, base + (top + 1) * SUB_SEQS - 1))
        else:
            bit -= 1
    return found


def block_rows(room: str, block: int, bodies: list[tuple[int, str]]) -> list[IndexRow]:
    """The rows of a block from its (seq, body) pairs: per distinct term, the runs it occurs in."""
    masks: dict[str, int] = {}
    add_terms(masks, block, bodies)
    return rows_of(room, block, masks)


def add_terms(masks: dict[str, int], block: int, bodies: list[tuple[int, str]]) -> None:
    """Mark the runs of `bodies` (seq, body) in `masks` (term -> mask of the block's runs)."""
    for seq, body in bodies:
        bit = 1 << (seq - block * BLOCK_SEQS) // SUB_SEQS
        for term in index_terms(body):
            masks[term] = masks.get(term, 0) | bit


def rows_of(room: str, block: int, masks: dict[str, int]) -> list[IndexRow]:
    return [(room, term, block, as_long(mask)) for term, mask in sorted(masks.items())]


def dirty_row(room: str, seq: int, change: int) -> IndexRow:
    return (room, DIRTY, seq, change)


@functools.cache
def _key_encoder():
    return pyignite_seam.key_encoder(SearchBlockKey)


def _encode_row(row: IndexRow, compact_footer: bool) -> bytes:
    room, term, block, mark = row
    return _key_encoder()((room, term, block), compact_footer) + ignite_wire.long_value(mark)


async def put_rows(session: IgniteSession, client, cache_name: str, rows: list[IndexRow]) -> None:
    """Write index (or dirty) rows with one put_all, in the caller's transaction if any (built with `struct`
    when the pyignite seam is on: through pyignite's objects a row costs ~40 µs of client CPU)."""
    if not rows:
        return
    cache = await client.get_cache(cache_name)
    if session.fast_codec:
        await pyignite_seam.aput_all_encoded(client, cache, _encode_row, rows, SearchBlockKey)
    else:
        await cache.put_all(Pairs((SearchBlockKey(ROOM=room, TERM=term, BLOCK=block), mark)
                                  for room, term, block, mark in rows))


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
        # One block merged at a time per process: under an even load every room completes a block at about
        # the same time, and 20 merges at once held the event loop (and every socket of the process) ~1 s.
        self._one_block: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())  # per event loop: a lock serves one loop
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
        """Index the completed blocks of `room` above its watermark (from block 0 when `rebuild`) and the
        blocks with dirty seqs; how many messages were read."""
        dirty = await self.session.sql(
            f"SELECT BLOCK, MARK FROM {self.schema.search_dirty_table} WHERE ROOM = ? AND TERM = ?", [room, DIRTY])

        async def state(client):
            counters = await client.get_cache(self.schema.rooms_cache)
            counter = await counters.get(room)
            marks = await watermarks(client, self.schema, [room])
            return (int(counter.LAST_SEQ or 0) if counter is not None else 0), marks[room]

        last_seq, mark = await self.session.run(state, retry=True)
        complete = complete_blocks(last_seq)
        by_block: dict[int, dict[int, int]] = {}
        for seq, change in dirty:
            if block_of(int(seq)) < complete:  # the newest block's are scanned anyway, merged when it completes
                by_block.setdefault(block_of(int(seq)), {})[int(seq)] = int(change)
        read = 0
        for block in sorted(set(range(0 if rebuild else mark, complete)) | set(by_block)):
            async with self._one_block.setdefault(asyncio.get_running_loop(), asyncio.Lock()):
                read += await self._merge_block(room, block, by_block.get(block, {}))
        return read

    async def _merge_block(self, room: str, block: int, dirty: dict[int, int]) -> int:
        """One block: read its current bodies (after its dirty rows), then in one transaction its rows, the
        dirty rows it saw removed when unchanged, and the watermark."""
        bodies = await self.session.rows(  # decoded by the pyignite seam when it is on: ~1,000 rows
            f"SELECT SEQ, BODY FROM {self.schema.messages_table} WHERE ROOM = ? AND SEQ >= ? AND SEQ < ? "
            "AND (DELETED IS NULL OR DELETED = FALSE)",
            [room, block * BLOCK_SEQS, (block + 1) * BLOCK_SEQS],
        )
        masks: dict[str, int] = {}
        for start in range(0, len(bodies), MERGE_SLICE):  # the sockets of the process are served in between
            add_terms(masks, block, [(int(seq), body or "") for seq, body in bodies[start:start + MERGE_SLICE]])
            await asyncio.sleep(0)
        rows = rows_of(room, block, masks)

        async def write(client):
            # The rows first, then the watermark (an ATOMIC cache: each put is applied when it returns), then
            # the dirty rows read, only if unchanged (a transaction on <P>_SEARCH_DIRTY).
            await put_rows(self.session, client, self.schema.search_blocks_cache, rows)
            cache = await client.get_cache(self.schema.search_blocks_cache)
            key = watermark_key(room)
            while True:  # up only, whatever another process merging the room wrote meanwhile
                current = await cache.get(key)
                if current is not None and int(current) >= block + 1:
                    break
                done = (await cache.put_if_absent(key, block + 1) if current is None
                        else await cache.replace_if_equals(key, current, block + 1))
                if done:
                    break
            if dirty:
                marks = await client.get_cache(self.schema.search_dirty_cache)
                async with self.session.tx(client) as tx:
                    for seq, change in sorted(dirty.items()):
                        await marks.remove_if_equals(SearchBlockKey(ROOM=room, TERM=DIRTY, BLOCK=seq), change)
                    await tx.commit()

        # Safe to retry: rows are rewritten whole, dirty rows go only if unchanged, the watermark only moves up.
        await self.session.run(write, retry=True, time_limit=max(self.session.timeout, 30.0))
        self.merged_blocks += 1
        return len(bodies)
