"""The search index: which runs of a room's history may hold a term, built off the append path.

`<P>_SEARCH_RUNS (ROOM, RUN) -> W0 .. W127`: one row per run of RUN_SEQS (64) seqs, [RUN * 64, RUN * 64 + 63],
holding a Bloom filter of the run's index terms (ignite_store/search_text.py) in FILTER_WORDS BIGINT columns.
A term sets TERM_BITS bits of one column (`term_filter`), so SQL tests it with one `BITAND(Wi, mask) = mask`,
and a query asks for the runs where every term's test passes (ignite_search). A filter never misses a term
it was built with; a run that passes without holding the term (~0.1–0.5 % of runs for one term on
bench/search_corpus.py, ~500 distinct terms a run) costs a read of its 64 messages, verified and dropped.
One row per 64 messages is what keeps the index's cost off the append (docs/architecture.md, "Search").

Its state, in `<P>_SEARCH_DIRTY (ROOM, TERM, BLOCK) -> MARK` (no index term is empty or holds a control
character):
- (ROOM, "", -1) -> the room's **watermark**: every run below MARK is indexed. The messages above it (up to
  MERGE_EVERY_RUNS runs and what arrived since) are searched by scanning them, so a search is exact whatever
  the index holds;
- (ROOM, DIRTY, seq) -> a change id: a message **edited or imported** since its run was indexed. A search
  reads these seqs besides the candidate runs, until a merge indexes them again.

Who writes what:
- the merge (`SearchIndex.merge`), each time MERGE_EVERY_RUNS more runs of a room are complete: for the
  completed runs above the watermark (and, every DIRTY_PASS_RUNS runs or on a rebuild, the runs with dirty
  seqs) it reads the dirty rows, then the runs' current bodies (none when this process appended every one of
  them and none is dirty: it keeps what it appended since its last merge of the room), then writes their rows,
  then moves the watermark up, then removes the dirty rows it saw (only if unchanged since). <P>_SEARCH_RUNS is
  ATOMIC: the order of the writes, not a transaction, keeps the watermark from claiming rows not written. An
  append writes nothing: when a batch completes the MERGE_EVERY_RUNS-th run, the merge of that room is started
  in the background (`appended`), so its cost is paid in bulk;
- an edit writes its seq's dirty row in the edit's transaction, an import in its transaction. A merge racing
  an edit either read the new body, or left the edit's dirty row in place (it removes only what it read).
Nothing removes run rows but `chat_prune` (those of runs it emptied): a deleted or replaced body's bits stay
and cost only a scan of their run.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Iterable

from ..search_text import index_terms
from . import ignite_wire, pyignite_seam
from .ignite_client import Pairs, SearchBlockKey, SearchRun, SearchRunKey
from .ignite_schema import SEARCH_FILTER_WORDS, Schema
from .ignite_session import IgniteSession

logger = logging.getLogger(__name__)

RUN_SEQS = 64
FILTER_WORDS = SEARCH_FILTER_WORDS  # columns W0..W127: 8,192 bits a run
TERM_BITS = 5
MERGE_EVERY_RUNS = 8  # an append batch starts its room's merge when it completes a multiple of these runs
MERGE_RUNS = 16  # runs read and written by one statement each (1,024 messages)
RECENT_BODIES_MAX = 50_000  # bodies this process appended and has not merged yet, kept to merge them unread
DIRTY_PASS_RUNS = 16  # the runs with dirty seqs are merged again each time the watermark passes a multiple
WATERMARK_TERM, WATERMARK_BLOCK = "", -1
DIRTY = "\x01"

IndexRow = tuple[str, str, int, int]  # room, term, seq (or -1 for the watermark), mark: a <P>_SEARCH_DIRTY row
FILTER_COLUMNS = [f"W{i}" for i in range(FILTER_WORDS)]


def run_of(seq: int) -> int:
    return seq // RUN_SEQS


def complete_runs(last_seq: int) -> int:
    """How many runs of a room whose last seq is `last_seq` are complete (seq 0 is never used)."""
    return (last_seq + 1) // RUN_SEQS


def as_long(mask: int) -> int:
    """A 64-bit mask as the signed long Ignite stores."""
    return mask - (1 << 64) if mask >= 1 << 63 else mask


@functools.lru_cache(maxsize=1 << 16)
def term_filter(term: str) -> tuple[int, int]:
    """(column, mask): the TERM_BITS bits a term sets in one column of a run's filter. A keyed-free,
    stable hash: every process and every version must agree on it (Python's hash() is salted per process)."""
    digest = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
    word, rest = digest % FILTER_WORDS, digest // FILTER_WORDS
    mask = 0
    for _ in range(TERM_BITS):
        mask |= 1 << (rest & 63)
        rest >>= 6
    return word, mask


def query_filter(terms: Iterable[str]) -> dict[int, int]:
    """column -> the bits `terms` set in it: those every run holding all of them has set."""
    need: dict[int, int] = {}
    for term in terms:
        word, mask = term_filter(term)
        need[word] = need.get(word, 0) | mask
    return need


def run_filter(bodies: list[str]) -> list[int]:
    """The filter of one run from its bodies, as FILTER_WORDS signed longs."""
    words = [0] * FILTER_WORDS
    for word, mask in query_filter(term for body in bodies for term in index_terms(body)).items():
        words[word] = as_long(mask)
    return words


def dirty_row(room: str, seq: int, change: int) -> IndexRow:
    return (room, DIRTY, seq, change)


@functools.cache
def _key_encoder():
    return pyignite_seam.key_encoder(SearchBlockKey)


@functools.cache
def _run_encoders():
    return pyignite_seam.key_encoder(SearchRunKey), pyignite_seam.key_encoder(SearchRun)


def _encode_run(row: tuple[str, int, list[int]], compact_footer: bool) -> bytes:
    room, run, words = row
    key, value = _run_encoders()
    return key((room, run), compact_footer) + value(tuple(words), compact_footer)


def _encode_row(row: IndexRow, compact_footer: bool) -> bytes:
    room, term, block, mark = row
    return _key_encoder()((room, term, block), compact_footer) + ignite_wire.long_value(mark)


async def put_rows(session: IgniteSession, client, cache_name: str, rows: list[IndexRow]) -> None:
    """Write dirty rows with one put_all, in the caller's transaction if any (built with `struct` when the
    pyignite seam is on: through pyignite's objects a row costs ~40 µs of client CPU)."""
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
    """The indexed run count of each room (0 when none was indexed yet)."""
    cache = await client.get_cache(schema.search_dirty_cache)
    found = await cache.get_all([watermark_key(room) for room in rooms])
    marks = dict.fromkeys(rooms, 0)
    for raw_key, value in found.items():
        key = await client.unwrap_binary(raw_key)  # get_all leaves binary-object keys serialised
        marks[key.ROOM] = int(value or 0)
    return marks


def _spans(runs: list[int]) -> list[list[int]]:
    """Sorted runs cut into spans of consecutive runs, at most MERGE_RUNS each."""
    spans: list[list[int]] = []
    for run in runs:
        if spans and run == spans[-1][-1] + 1 and len(spans[-1]) < MERGE_RUNS:
            spans[-1].append(run)
        else:
            spans.append([run])
    return spans


class SearchIndex:
    """The merge of completed runs into filter rows, started by appends (when `enabled`) or run by
    search_reindex."""

    def __init__(self, session: IgniteSession, schema: Schema, *, enabled: bool = True,
                 recent_max: int = RECENT_BODIES_MAX):
        self.session = session
        self.schema = schema
        self.enabled = enabled
        self._running: dict[str, asyncio.Task] = {}  # room -> its merge task (one at a time per room)
        # One span merged at a time per process: under an even load every room completes a run at about the
        # same time, and 20 block merges at once held the event loop (and every socket of the process) ~1 s.
        self._one_span: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())  # per event loop: a lock serves one loop
        self._again: set[str] = set()
        # room -> {seq: body} this process appended since its last merge of the room, the least recently
        # appended room first: a merge of runs whose every body is here reads none from Ignite (reading them
        # back was most of a merge's cost there). Up to `recent_max` bodies; past that, whole rooms are
        # forgotten, and their merges read Ignite.
        self._recent: OrderedDict[str, dict[int, str]] = OrderedDict()
        self._recent_count, self._recent_max = 0, recent_max
        self.merged_runs = 0  # by this process (benchmarks)
        self.runs_read = 0  # of those, the runs whose bodies were read from Ignite

    # ---------------------------------------------------------------- started by appends
    def appended(self, room: str, last_before: int, last_after: int, bodies: list[tuple[int, str]]) -> None:
        """After an append batch committed (`bodies`: the (seq, body) it stored in `room`): merge the room's runs
        if it completed MERGE_EVERY_RUNS more (a merge costs Ignite a few statements whatever it reads: one per
        512 messages, not per 64, is what keeps its cost off an append; the search scans the runs not merged
        yet)."""
        if not self.enabled:
            return
        self._remember(room, bodies)
        if complete_runs(last_after) // MERGE_EVERY_RUNS == complete_runs(last_before) // MERGE_EVERY_RUNS:
            return
        if room in self._running:
            self._again.add(room)  # the running merge read the counter before this run was complete
            return
        task = asyncio.get_running_loop().create_task(self._merge_in_background(room))
        self._running[room] = task

    async def _merge_in_background(self, room: str) -> None:
        try:
            while True:
                self._again.discard(room)
                try:
                    await self.merge(room)
                except Exception:  # a search scans the runs left unmerged; the next completed run retries
                    logger.warning("Search merge of room %s failed", room, exc_info=True)
                    return
                if room not in self._again:
                    return
        finally:
            self._running.pop(room, None)

    def _remember(self, room: str, bodies: list[tuple[int, str]]) -> None:
        if not bodies:
            return
        kept = self._recent.setdefault(room, {})
        self._recent.move_to_end(room)
        before = len(kept)
        kept.update(bodies)
        self._recent_count += len(kept) - before
        while self._recent_count > self._recent_max and len(self._recent) > 1:
            _, forgotten = self._recent.popitem(last=False)
            self._recent_count -= len(forgotten)

    def _recent_bodies(self, room: str, low: int, high: int) -> list[tuple[int, str]] | None:
        """Every (seq, body) of [max(low, 1), high) this process appended, or None when one is missing."""
        kept = self._recent.get(room)
        seqs = range(max(low, 1), high)
        if kept is None or any(seq not in kept for seq in seqs):
            return None
        return [(seq, kept[seq]) for seq in seqs]

    def _forget(self, room: str, below: int) -> None:
        kept = self._recent.get(room)
        if kept is None:
            return
        for seq in [seq for seq in kept if seq < below]:
            del kept[seq]
            self._recent_count -= 1
        if not kept:
            del self._recent[room]

    async def drain(self) -> None:
        """Wait for the merges running now (benchmarks and tests: their cost is counted, their rows are in)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    # ---------------------------------------------------------------- the merge
    async def merge(self, room: str, *, rebuild: bool = False, with_dirty: bool = False) -> int:
        """Index the completed runs of `room` above its watermark (from run 0 when `rebuild`), and the runs
        with dirty seqs when asked or when the watermark passes a multiple of DIRTY_PASS_RUNS (searches read
        dirty seqs meanwhile); how many messages were read."""

        async def state(client):
            counters = await client.get_cache(self.schema.rooms_cache)
            counter = await counters.get(room)
            marks = await watermarks(client, self.schema, [room])
            return (int(counter.LAST_SEQ or 0) if counter is not None else 0), marks[room]

        last_seq, mark = await self.session.run(state, retry=True)
        complete = complete_runs(last_seq)
        by_run: dict[int, dict[int, int]] = {}
        if rebuild or with_dirty or complete // DIRTY_PASS_RUNS > mark // DIRTY_PASS_RUNS:
            dirty = await self.session.sql(
                f"SELECT BLOCK, MARK FROM {self.schema.search_dirty_table} WHERE ROOM = ? AND TERM = ?",
                [room, DIRTY])
            for seq, change in dirty:
                if run_of(int(seq)) < complete:  # the newest run's are scanned anyway, merged when it completes
                    by_run.setdefault(run_of(int(seq)), {})[int(seq)] = int(change)
        read = 0
        for span in _spans(sorted(set(range(0 if rebuild else mark, complete)) | set(by_run))):
            async with self._one_span.setdefault(asyncio.get_running_loop(), asyncio.Lock()):
                dirty_seen = {seq: change for run in span for seq, change in by_run.get(run, {}).items()}
                merged = await self._merge_span(room, span, dirty_seen, mark, reread=rebuild)
                read, mark = read + merged, max(mark, span[-1] + 1)
        return read

    async def _merge_span(self, room: str, span: list[int], dirty: dict[int, int], mark: int, *,
                          reread: bool = False) -> int:
        """Consecutive runs: read their current bodies (after their dirty rows), then write their rows, the
        watermark (up only; `mark` is the one last seen) and remove the dirty rows seen when unchanged."""
        low, high = span[0] * RUN_SEQS, (span[-1] + 1) * RUN_SEQS
        # As appended, when this process appended them all and none is dirty: a later edit's dirty row stays
        # until a merge that reads Ignite (one with dirty seqs), and a deleted body's terms only cost a read.
        bodies = None if dirty or reread else self._recent_bodies(room, low, high)
        if bodies is None:
            self.runs_read += len(span)
            stored = await self.session.rows(  # decoded by the pyignite seam when it is on
                f"SELECT SEQ, BODY FROM {self.schema.messages_table} WHERE ROOM = ? AND SEQ >= ? AND SEQ < ? "
                "AND (DELETED IS NULL OR DELETED = FALSE)", [room, low, high])
            bodies = [(int(seq), body or "") for seq, body in stored]
        by_run: dict[int, list[str]] = {}
        for seq, body in bodies:
            by_run.setdefault(run_of(seq), []).append(body)
        rows = []
        for run in span:
            if run in by_run:
                rows.append((run, run_filter(by_run[run])))
                await asyncio.sleep(0)  # the sockets of the process are served between two runs
        if rows:
            await self._put_runs(room, rows)
        await self._raise_watermark(room, span[-1] + 1, mark)
        self._forget(room, high)
        if dirty:
            await self._remove_dirty(room, dirty)
        self.merged_runs += len(span)
        return len(bodies)

    async def _put_runs(self, room: str, rows: list[tuple[int, list[int]]]) -> None:
        """Write run rows with one put_all (a SQL MERGE of a row of 130 columns cost Ignite ~1 ms, measured),
        built with `struct` when the pyignite seam is on (through pyignite's objects a row costs ~0.6 ms)."""

        async def write(client):
            cache = await client.get_cache(self.schema.search_runs_cache)
            if self.session.fast_codec:
                await pyignite_seam.aput_all_encoded(client, cache, _encode_run,
                                                     [(room, run, words) for run, words in rows],
                                                     (SearchRunKey, SearchRun))
            else:
                await cache.put_all(Pairs(
                    (SearchRunKey(ROOM=room, RUN=run), SearchRun(**dict(zip(FILTER_COLUMNS, words, strict=True))))
                    for run, words in rows))

        await self.session.run(write, retry=True)

    async def _raise_watermark(self, room: str, to: int, seen: int) -> None:
        """Move the room's watermark up to `to`, whatever another process merging the room wrote meanwhile."""

        async def write(client):
            cache = await client.get_cache(self.schema.search_dirty_cache)
            key, current = watermark_key(room), seen
            while current < to:
                done = (await cache.put_if_absent(key, to) if current == 0
                        else await cache.replace_if_equals(key, current, to))
                if done:
                    return
                value = await cache.get(key)
                current = int(value or 0)

        await self.session.run(write, retry=True)

    async def _remove_dirty(self, room: str, dirty: dict[int, int]) -> None:
        """Remove the dirty rows read, each only if no edit rewrote it since (one transaction)."""

        async def write(client):
            marks = await client.get_cache(self.schema.search_dirty_cache)
            async with self.session.tx(client) as tx:
                for seq, change in sorted(dirty.items()):
                    await marks.remove_if_equals(SearchBlockKey(ROOM=room, TERM=DIRTY, BLOCK=seq), change)
                await tx.commit()

        await self.session.run(write, retry=True, time_limit=max(self.session.timeout, 30.0))
