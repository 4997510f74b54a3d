"""Full-text search: candidate runs from the index, scanned with a SQL prefilter, verified here.

ignite_store/search_text.py decides what matches; ignite_search_index.py keeps <P>_SEARCH_RUNS, a Bloom
filter of the terms of each run of RUN_SEQS seqs of a room, for every run below the room's watermark.

Reading, per room, a stream of candidates newest first: the seqs above the watermark (the newest messages,
not merged yet: up to MERGE_EVERY_RUNS runs and what arrived since) are all scanned; below it, only the runs
whose filter holds every term of the query (one statement per range of runs, newest first, RUN_SPAN_FIRST runs, then
RUN_SPAN_GROWTH times wider, at most RUN_SPAN_MAX; adjacent runs joined up to JOIN_MAX_SEQS), and the seqs
edited or imported since their run was merged. Seqs are read as windows [low, high] of the messages'
primary key, filtered in SQL by a prefilter that keeps every message that could match (`_prefilter`), so
only likely matches come back, with their current row: they are verified here without another round trip.
H2 under Ignite sorts a window's rows before its `LIMIT` (it does not stop early on the index): the tail
above the watermark in one window (at most WINDOW_TAIL_MAX seqs), then windows as wide as the density the
last one showed asks for (2 to WINDOW_GROWTH times, at most WINDOW_MAX), candidate runs joined up to that,
several in flight at once. Every room's dirty seqs, and the candidate runs of the rooms of at most
RUN_SPAN_FIRST runs, are read with one statement each for all rooms (any statement costs Ignite ~1 ms). The
streams of the rooms are merged newest first by (created_at, room, seq); each room is asked for its share
of the page.

Bounds: a page examines at most CANDIDATE_BUDGET candidates and stops starting reads after its time
limit; it then ends early with a cursor after the last candidate examined, so the next page goes on
from there. Order assumes, as the append guarantees on one clock, that created_at does not go back
as seq grows within a room.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from dataclasses import dataclass, field

from ..errors import StoreUnavailable
from ..search_text import FOLDING_RANGES, SearchQuery, is_cjk
from ..types import SearchHit, SearchPage
from .ignite_codec import MESSAGE_COLUMNS, message_from_row
from .ignite_schema import Schema
from .ignite_search_index import DIRTY, RUN_SEQS, as_long, query_filter, run_of, watermarks
from .ignite_session import IgniteSession

WINDOW_FIRST = 64
WINDOW_TAIL_MAX = 640  # the unmerged tail: up to MERGE_EVERY_RUNS runs and the one being filled
WINDOW_GROWTH = 8
WINDOW_MAX = 8192
PIECES_MAX = 8  # windows of one room read at once
RUN_SPAN_FIRST, RUN_SPAN_GROWTH, RUN_SPAN_MAX = 256, 4, 4096  # runs whose filters one statement tests
JOIN_MAX_SEQS = 1024  # adjacent candidate runs read as one window, up to this many seqs
MAX_FILTER_WORDS = 8  # filter columns tested per run; the other terms are checked by the verification
MAX_PREFILTER_TERMS = 3
CANDIDATE_BUDGET = 2000
FILL_PARALLEL = 32
FILL_MIN = 4
AT_MIN, AT_MAX = -(2**62), 2**62

# A Java regular expression (H2's REGEXP) finding any character of FOLDING_RANGES, and a cheaper one tried
# first that finds any character outside ASCII, general punctuation, CJK ideographs and Hangul syllables (a
# class of 28 ranges costs ~3 µs a row, most of a window's time; two ranges let English and Korean bodies by).
_FOLDING_CLASS = "[" + "".join(f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in FOLDING_RANGES) + "]"
_UNUSUAL_CLASS = "[^\\x{0}-\\x{A9}\\x{2000}-\\x{206F}\\x{4E00}-\\x{9FFF}\\x{AC00}-\\x{D7A3}]"


def _term_pattern(term: str) -> str:
    """A Java regular expression finding `term` in a body, ASCII letters in any case (`(?i)` without
    UNICODE_CASE: the server's locale plays no part). Terms are letters and digits: quoted anyway."""
    return ("" if is_cjk(term) else "(?i)") + "\\Q" + term + "\\E"


@dataclass(slots=True)
class _Stream:
    """One room's candidates, newest first: a buffer of (created_at, seq, message row) and where to read next.

    Seqs from `indexed_end` up are scanned whole; below it, only candidate runs (`segments`, [low, high]
    newest first: the candidate runs fetched down to run `fetch_below`, and the dirty seqs among them).
    `bound` is the newest created_at its unread candidates can have: the room's last activity at first, then
    the candidate read last (created_at does not go back as seq grows).
    """

    room: str
    high: int
    max_at: int
    bound: int
    indexed_end: int
    fetch_below: int
    window: int = WINDOW_FIRST
    span: int = RUN_SPAN_FIRST
    segments: deque = field(default_factory=deque)
    dirty: list = field(default_factory=list)  # dirty seqs below indexed_end, newest first
    fetched_all: bool = False
    buffer: deque = field(default_factory=deque)

    @property
    def done(self) -> bool:
        return self.high < 1

    @property
    def waiting(self) -> bool:
        """Nothing buffered, more to read."""
        return not self.buffer and not self.done

    def head(self) -> tuple[int, str, int]:
        at, seq, _ = self.buffer[0]
        return at, self.room, seq

    def pop(self) -> tuple[tuple[int, str, int], list]:
        at, seq, row = self.buffer.popleft()
        self.bound = at
        return (at, self.room, seq), row


class Search:
    """search(): candidate runs from the index, windows of messages merged across rooms, verified."""

    def __init__(self, session: IgniteSession, schema: Schema):
        self.session = session
        self.schema = schema

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one Search per store, a handful of statements
    def _window_sql(self, terms: int, by_author: bool) -> str:
        """args: room, low, high, min created_at, max created_at, [author,] term patterns, limit."""
        author = " AND AUTHOR = ?" if by_author else ""
        return (
            f"SELECT {MESSAGE_COLUMNS} FROM {self.schema.messages_table} "
            "WHERE ROOM = ? AND SEQ >= ? AND SEQ <= ? AND CREATED_AT >= ? AND CREATED_AT <= ?"
            f"{author} AND ({_prefilter(terms)}) ORDER BY SEQ DESC LIMIT ?"
        )

    async def search(self, rooms: list[str], query: SearchQuery, *, limit: int, author: str | None,
                     since: int | None, until: int | None, cursor: tuple[int, str, int] | None,
                     time_limit: float) -> SearchPage:
        """Up to `limit` hits in `rooms` (already authorized by the caller), newest first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + time_limit
        terms = list(query.terms[:MAX_PREFILTER_TERMS])
        bits = dict(list(query_filter(query.terms).items())[:MAX_FILTER_WORDS])
        min_at = AT_MIN if since is None else since
        streams = await self._streams(rooms, cursor, AT_MAX if until is None else until - 1, bits)
        hits: list[SearchHit] = []
        positions: list[tuple[int, str, int]] = []
        examined, last = 0, None
        while True:
            blocking = _blocking(streams)
            if blocking:
                # Only rooms whose next candidates could be newer than every buffered one are read, the
                # most recently active first: a search over many rooms reads few of the quiet ones. Each
                # room is asked for its share of the page (rooms interleave in time); one that runs dry
                # while it could still be the newest is read again.
                need = limit + 1 - len(hits)
                share = min(need, max(FILL_MIN, -(-2 * need // len(streams))))
                await asyncio.gather(*(self._fill(s, terms, bits, min_at, author, share)
                                       for s in blocking[:FILL_PARALLEL]))
            else:
                batch = _take(streams, limit + 1 - len(hits))
                if not batch:
                    return SearchPage(hits[:limit], None)  # every stream is exhausted
                for position, row in batch:
                    examined, last = examined + 1, position
                    hit = _verified(row, query)
                    if hit is not None:
                        hits.append(hit)
                        positions.append(position)
                        if len(hits) > limit:
                            return SearchPage(hits[:limit], positions[limit - 1])
            if examined >= CANDIDATE_BUDGET or loop.time() > deadline:
                if last is None:  # the time went on reading the index: no position to resume from
                    raise StoreUnavailable("the search took too long; add words or pick a room")
                return SearchPage(hits, last)

    async def _streams(self, rooms: list[str], cursor: tuple[int, str, int] | None, max_at: int,
                       bits: dict[int, int]) -> list[_Stream]:
        """One stream per room that has messages, starting below the cursor, with its dirty seqs, and the
        candidate runs of the rooms of at most RUN_SPAN_FIRST runs (a user's rooms, mostly)."""

        async def operation(client):
            counters = await client.get_cache(self.schema.rooms_cache)
            return await counters.get_all(rooms), await watermarks(client, self.schema, rooms)

        found, marks = await self.session.run(operation, retry=True) if rooms else ({}, {})
        streams = []
        for room in rooms:
            counter = found.get(room)
            if counter is None:
                continue
            high, top = int(counter.LAST_SEQ or 0), max_at
            if cursor is not None:
                at, cursor_room, cursor_seq = cursor
                if room == cursor_room:
                    high, top = min(high, cursor_seq - 1), min(top, at)
                else:  # (created_at, room) below the cursor's: same millisecond only for a lower room id
                    top = min(top, at if room < cursor_room else at - 1)
            if high >= 1:
                mark = marks[room]
                stream = _Stream(room, high, top, min(top, int(counter.LAST_AT or AT_MAX)),
                                 indexed_end=mark * RUN_SEQS, fetch_below=min(mark, run_of(high) + 1))
                # the first window reads the whole unmerged tail (a few runs): one statement, not three
                stream.window = max(WINDOW_FIRST, min(WINDOW_TAIL_MAX, high - stream.indexed_end + 1))
                streams.append(stream)
        small = {s.room: s.fetch_below for s in streams if 0 < s.fetch_below <= RUN_SPAN_FIRST}
        _, found = await asyncio.gather(self._read_dirty([s for s in streams if s.indexed_end > 0]),
                                        self._candidate_runs(small, 0, bits))
        for stream in (s for s in streams if s.room in small):
            _add_segments(stream, found.get(stream.room, []), 0)
        return streams

    async def _candidate_runs(self, below: dict[str, int], low: int, bits: dict[int, int]) -> dict[str, list[int]]:
        """room -> its runs in [low, below[room]) whose filter has every bit of `bits` (column -> mask), newest
        first: one statement for all the rooms given."""
        if not below:
            return {}
        tests = "".join(f" AND BITAND(W{word}, ?) = ?" for word in bits)
        rows = await self.session.rows(
            f"SELECT ROOM, RUN FROM {self.schema.search_runs_table} WHERE ROOM IN ({_marks(len(below))}) "
            f"AND RUN >= ? AND RUN < ?{tests} ORDER BY ROOM, RUN DESC",
            [*below, low, max(below.values()), *(as_long(mask) for mask in bits.values() for _ in range(2))])
        found: dict[str, list[int]] = {}
        for room, run in rows:
            if int(run) < below[room]:
                found.setdefault(room, []).append(int(run))
        return found

    async def _read_dirty(self, streams: list[_Stream]) -> None:
        """The dirty seqs below each stream's watermark, for every room in one statement."""
        if not streams:
            return
        by_room = {s.room: s for s in streams}
        rows = await self.session.rows(
            f"SELECT ROOM, BLOCK FROM {self.schema.search_dirty_table} WHERE TERM = ? "
            f"AND ROOM IN ({_marks(len(by_room))})", [DIRTY, *by_room])
        for room, seq in rows:
            stream = by_room[room]
            if int(seq) < stream.indexed_end:
                stream.dirty.append(int(seq))
        for stream in streams:
            stream.dirty.sort(reverse=True)

    async def _fill(self, stream: _Stream, terms: list[str], bits: dict[int, int], min_at: int, author: str | None,
                    need: int) -> None:
        """Read windows of the room until one yields candidates or the room is exhausted.

        A window that held fewer than `need` rows says how dense the match is there: the next one is sized
        to hold the rest (at least twice, at most WINDOW_GROWTH times as wide; WINDOW_GROWTH when empty).
        """
        sql = self._window_sql(len(terms), author is not None)
        patterns = [_term_pattern(term) for term in terms]
        while not stream.buffer and not stream.done:
            pieces = await self._pieces(stream, bits)
            if not pieces:
                stream.high = 0
                break

            async def read(low: int, high: int) -> list[list]:
                args = [stream.room, low, high, min_at, stream.max_at, *([author] if author is not None else [])]
                return await self.session.rows(sql, [*args, *patterns, need])

            results = await asyncio.gather(*(read(low, high) for low, high in pieces))
            found = 0
            for (low, _high), rows in zip(pieces, results, strict=True):
                stream.buffer.extend((int(row[_AT]), int(row[_SEQ]), row) for row in rows)
                found += len(rows)
                if len(rows) >= need:  # the window goes on below the last row read; later pieces wait
                    stream.high = int(rows[-1][_SEQ]) - 1
                    break
                stream.high = low - 1
            if found < need:
                factor = WINDOW_GROWTH if not found else -(-2 * need // found)
                stream.window = min(WINDOW_MAX, stream.window * max(2, min(WINDOW_GROWTH, factor)))

    async def _pieces(self, stream: _Stream, bits: dict[int, int]) -> list[tuple[int, int]]:
        """The next windows of the stream, newest first, about `stream.window` seqs in all: seqs above the
        watermark, then the candidate runs below it."""
        pieces: list[tuple[int, int]] = []
        budget, high = stream.window, stream.high
        while budget > 0 and high >= 1 and len(pieces) < PIECES_MAX:
            if high < stream.indexed_end:
                segment = await self._segment(stream, bits, high)
                if segment is None:
                    break
                low, high = segment
                low = max(low, high - max(budget, RUN_SEQS) + 1)  # a common word's joined runs: about the window
            else:
                low = max(stream.indexed_end, high - budget + 1, 1)
            pieces.append((low, high))
            budget -= high - low + 1
            high = low - 1
        return pieces

    async def _segment(self, stream: _Stream, bits: dict[int, int], high: int) -> tuple[int, int] | None:
        """The newest candidate run (or dirty seq) not above `high`, clipped to it; None when none is left."""
        while True:
            while stream.segments and stream.segments[0][0] > high:
                stream.segments.popleft()
            if stream.segments:
                low, top = stream.segments[0]
                return low, min(top, high)
            if stream.fetched_all:
                return None
            await self._fetch_segments(stream, bits)

    async def _fetch_segments(self, stream: _Stream, bits: dict[int, int]) -> None:
        """The candidate runs of the next range of runs, and the dirty seqs down to them, newest first."""
        low = max(0, stream.fetch_below - stream.span)
        found = await self._candidate_runs({stream.room: stream.fetch_below}, low, bits)
        stream.span = min(RUN_SPAN_MAX, stream.span * RUN_SPAN_GROWTH)
        _add_segments(stream, found.get(stream.room, []), low)


def _marks(count: int) -> str:
    """The placeholders of an IN list of `count` values."""
    return ", ".join(["?"] * count)


def _add_segments(stream: _Stream, runs: list[int], low: int) -> None:
    """The candidate runs (newest first) found down to run `low`, and the dirty seqs down to it."""
    stream.fetch_below, stream.fetched_all = low, low == 0
    segments = _joined(runs)
    while stream.dirty and stream.dirty[0] >= low * RUN_SEQS:
        seq = stream.dirty.pop(0)
        if not any(first <= seq <= last for first, last in segments):
            segments.append((seq, seq))
    stream.segments.extend(sorted(segments, reverse=True))


def _joined(runs: list[int]) -> list[tuple[int, int]]:
    """[low, high] seq ranges of runs given newest first, adjacent runs joined up to JOIN_MAX_SEQS seqs."""
    segments: list[tuple[int, int]] = []
    for run in runs:
        low, high = run * RUN_SEQS, run * RUN_SEQS + RUN_SEQS - 1
        if segments and segments[-1][0] == high + 1 and segments[-1][1] - low < JOIN_MAX_SEQS:
            segments[-1] = (low, segments[-1][1])
        else:
            segments.append((low, high))
    return segments


def _prefilter(terms: int) -> str:
    """Every body that could match: each term found up to ASCII case, or any character whose folding differs
    (search_text.FOLDING_RANGES; such a body is verified whatever it holds)."""
    each = " AND ".join(["BODY REGEXP ?"] * terms)
    return f"{each} OR BODY REGEXP '{_UNUSUAL_CLASS}' AND BODY REGEXP '{_FOLDING_CLASS}'"


_COLUMNS = [name.strip() for name in MESSAGE_COLUMNS.split(",")]
_SEQ, _AT = _COLUMNS.index("SEQ"), _COLUMNS.index("CREATED_AT")


def _verified(row: list, query: SearchQuery) -> SearchHit | None:
    """The hit of a window's row when its current message matches: not deleted, every clause of the query."""
    message = message_from_row(row)
    if message.deleted:
        return None
    ranges = query.hits(message.body)
    return None if ranges is None else SearchHit(message, ranges)


def _blocking(streams: list[_Stream]) -> list[_Stream]:
    """Streams to read before the next candidate can be taken, the newest bound first."""
    heads = [s.head() for s in streams if s.buffer]
    best = max(heads)[:2] if heads else None
    waiting = [s for s in streams if s.waiting and (best is None or (s.bound, s.room) > best)]
    waiting.sort(key=lambda s: (s.bound, s.room), reverse=True)
    return waiting


def _take(streams: list[_Stream], count: int) -> list[tuple[tuple[int, str, int], list]]:
    """Up to `count` candidates in global order; stops where a stream must be read again first."""
    taken: list[tuple[tuple[int, str, int], list]] = []
    while len(taken) < count:
        live = [s for s in streams if s.buffer]
        if not live:
            break
        best = max(live, key=_Stream.head)
        head = best.head()
        if any(s.waiting and (s.bound, s.room) > head[:2] for s in streams):
            break  # its next candidates may be newer than this one
        taken.append(best.pop())
    return taken
