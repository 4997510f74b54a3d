"""Full-text search over the <P>_SEARCH index; ignite_store/search_text.py decides what matches.

Writing: `index_rows` gives one (ROOM, TERM, SEQ) -> CREATED_AT row per distinct term of a message.
The append writes them with one put_all per batch in its own transaction, an edit writes the new
body's rows in its transaction; nothing removes rows: a candidate is always verified against the
message's current row, so the terms of a replaced or deleted body never match.

Reading, per room, a stream of candidates newest first, read as windows [low, high] of seqs of the
(ROOM, TERM, SEQ) primary key. Ignite's H2 sorts every row of a term for `ORDER BY SEQ DESC LIMIT n`
(0.3-0.8 s for a word in 30 % of 100,000 messages, measured), while a window reads only its own rows:
WINDOW_FIRST seqs first, then as wide as the density the last window showed asks for (2 to
WINDOW_GROWTH times). With several terms the first term's window is joined with the others on
(ROOM, TERM, SEQ), and every window with the message rows on (ROOM, SEQ), all in the room's partition
(the room is the affinity key): candidates arrive with their current message and are verified here. The
streams of the rooms are merged newest first by (created_at, room, seq); each room is asked for its
share of the page.

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
from ..search_text import SearchQuery, index_terms
from ..types import Message, SearchHit, SearchPage
from . import ignite_wire, pyignite_seam
from .ignite_client import Pairs, SearchKey
from .ignite_codec import MESSAGE_COLUMNS, message_from_row
from .ignite_schema import Schema
from .ignite_session import IgniteSession

WINDOW_FIRST = 64
WINDOW_GROWTH = 8
MAX_JOIN_TERMS = 3  # the other terms are checked by the verification
CANDIDATE_BUDGET = 2000
FILL_PARALLEL = 32
FILL_MIN = 4
AT_MIN, AT_MAX = -(2**62), 2**62


IndexRow = tuple[str, str, int, int]  # room, term, seq, created_at


def index_rows(room: str, seq: int, created_at: int, body: str) -> list[IndexRow]:
    """The search-index rows of one message body."""
    return [(room, term, seq, created_at) for term in sorted(index_terms(body))]


@functools.cache
def _key_encoder():
    return pyignite_seam.key_encoder(SearchKey)


def _encode_row(row: IndexRow, compact_footer: bool) -> bytes:
    room, term, seq, created_at = row
    return _key_encoder()((room, term, seq), compact_footer) + ignite_wire.long_value(created_at)


async def put_index_rows(session: IgniteSession, client, cache_name: str, rows: list[IndexRow]) -> None:
    """Write index rows with one put_all, in the caller's transaction if any.

    With the fast codec the request is built with `struct` (pyignite_seam.aput_all_encoded): through
    pyignite's objects a row cost ~40 µs of client CPU, a dozen of them per message (docs/performance.md).
    """
    if not rows:
        return
    cache = await client.get_cache(cache_name)
    if session.fast_codec:
        await pyignite_seam.aput_all_encoded(client, cache, _encode_row, rows, SearchKey)
    else:
        await cache.put_all(Pairs((SearchKey(ROOM=room, TERM=term, SEQ=seq), at) for room, term, seq, at in rows))


@dataclass(slots=True)
class _Stream:
    """One room's candidates, newest first: a buffer of (created_at, seq, message row) and the next window.

    `bound` is the newest created_at its unread candidates can have: the room's last activity at first,
    then the candidate read last (created_at does not go back as seq grows).
    """

    room: str
    high: int
    max_at: int
    bound: int
    window: int = WINDOW_FIRST
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
    """search(): candidates from the index, merged across rooms, verified against current messages."""

    def __init__(self, session: IgniteSession, schema: Schema):
        self.session = session
        self.schema = schema

    async def index(self, messages: list[Message]) -> int:
        """Put the index rows of these (stored) messages, outside any transaction: rows are idempotent."""
        rows = [row for m in messages if not m.deleted for row in index_rows(m.room, m.seq, m.created_at, m.body)]

        async def operation(client):
            await put_index_rows(self.session, client, self.schema.search_cache, rows)

        await self.session.run(operation, retry=True)
        return sum(1 for m in messages if not m.deleted)

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one Search per store, a handful of statements
    def _window_sql(self, terms: int, by_author: bool) -> str:
        """args: the joined terms, room, first term, low, high, min created_at, max created_at, [author,] limit.

        The message rows come in the same statement (joined on the primary key, in the room's partition),
        so the candidates are verified without another round trip.
        """
        table = self.schema.search_table
        joins = "".join(
            f" JOIN {table} t{i} ON t{i}.ROOM = t0.ROOM AND t{i}.TERM = ? AND t{i}.SEQ = t0.SEQ"
            for i in range(1, terms)
        )
        author = " AND m.AUTHOR = ?" if by_author else ""
        return (
            f"SELECT t0.CREATED_AT, {_MESSAGE_COLUMNS} FROM {table} t0{joins} "
            f"JOIN {self.schema.messages_table} m ON m.ROOM = t0.ROOM AND m.SEQ = t0.SEQ "
            "WHERE t0.ROOM = ? AND t0.TERM = ? AND t0.SEQ >= ? AND t0.SEQ <= ? "
            f"AND t0.CREATED_AT >= ? AND t0.CREATED_AT <= ?{author} ORDER BY t0.SEQ DESC LIMIT ?"
        )

    async def search(self, rooms: list[str], query: SearchQuery, *, limit: int, author: str | None,
                     since: int | None, until: int | None, cursor: tuple[int, str, int] | None,
                     time_limit: float) -> SearchPage:
        """Up to `limit` hits in `rooms` (already authorized by the caller), newest first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + time_limit
        terms = list(query.terms[:MAX_JOIN_TERMS])
        min_at = AT_MIN if since is None else since
        streams = await self._streams(rooms, cursor, AT_MAX if until is None else until - 1)
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
                await asyncio.gather(*(self._fill(s, terms, min_at, author, share)
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

    async def _streams(self, rooms: list[str], cursor: tuple[int, str, int] | None, max_at: int) -> list[_Stream]:
        """One stream per room that has messages, starting below the cursor."""

        async def operation(client):
            counters = await client.get_cache(self.schema.rooms_cache)
            return await counters.get_all(rooms)

        found = await self.session.run(operation, retry=True) if rooms else {}
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
                streams.append(_Stream(room, high, top, min(top, int(counter.LAST_AT or AT_MAX))))
        return streams

    async def _fill(self, stream: _Stream, terms: list[str], min_at: int, author: str | None, need: int) -> None:
        """Read windows of the room's index until one yields candidates or the room is exhausted.

        A window that held fewer than `need` rows says how dense the term is there: the next one is sized
        to hold the rest (at least twice, at most WINDOW_GROWTH times as wide; WINDOW_GROWTH when empty).
        """
        sql = self._window_sql(len(terms), author is not None)
        while not stream.buffer and not stream.done:
            low = max(1, stream.high - stream.window + 1)
            args = [*terms[1:], stream.room, terms[0], low, stream.high, min_at, stream.max_at]
            rows = await self.session.rows(sql, [*args, author, need] if author is not None else [*args, need])
            if len(rows) >= need:
                stream.high = int(rows[-1][_SEQ]) - 1  # the window goes on below the last row read
            else:
                stream.high = low - 1
                factor = WINDOW_GROWTH if not rows else -(-2 * need // len(rows))
                stream.window *= max(2, min(WINDOW_GROWTH, factor))
            stream.buffer.extend((int(row[0]), int(row[_SEQ]), row) for row in rows)


_MESSAGE_COLUMNS = ", ".join(f"m.{name.strip()}" for name in MESSAGE_COLUMNS.split(","))
_SEQ = 1 + [name.strip() for name in MESSAGE_COLUMNS.split(",")].index("SEQ")  # in a window's row


def _verified(row: list, query: SearchQuery) -> SearchHit | None:
    """The hit of a window's row when its current message matches: not deleted, every clause of the query."""
    message = message_from_row(row[1:])
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
