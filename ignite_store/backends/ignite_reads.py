"""Read half of the Ignite backend: single messages, room counters and pages of history.

Mixed into IgniteMessageStore, which provides _run, _arun, _message_from_row, MESSAGE_COLUMNS
and the table/cache names. Gap-free sequences make every page an exact range [low, high] of the
(ROOM, SEQ) primary-key index; pages travel through pyignite_seam's raw thin-client SQL requests when fast_codec is on.
"""

from __future__ import annotations

import functools

from ..types import Message, Page
from ..validation import validate_limit, validate_room, validate_seq
from .ignite_client import MessageKey
from .ignite_wire import UnsupportedValue
from .pyignite_seam import asql_rows, sql_rows

CATCHUP_LIMIT_MAX = 10_000  # catch-up pages may be larger than history pages
PAGE_SIZE = CATCHUP_LIMIT_MAX + 1  # every page arrives in one response (no cursor left open)


def message_from_value(room: str, seq: int, value) -> Message:
    """A Message from a MESSAGES cache value (a pyignite binary object)."""
    return Message(
        id=value.ID,
        room=room,
        seq=int(seq),
        author=value.AUTHOR,
        body=value.BODY or "",
        client_id=value.CLIENT_ID,
        created_at=int(value.CREATED_AT),
        deleted=bool(value.DELETED),
    )


class IgniteReadsMixin:
    """get, last_seq, latest, before and after (sync and async) for IgniteMessageStore."""

    def get(self, room: str, seq: int) -> Message | None:
        room, seq = validate_room(room), validate_seq(seq)

        def operation(client):
            value = client.get_cache(self.messages_cache).get(MessageKey(ROOM=room, SEQ=seq))
            return None if value is None else message_from_value(room, seq, value)

        return self._run(operation, retry=True)

    async def aget(self, room: str, seq: int) -> Message | None:
        room, seq = validate_room(room), validate_seq(seq)

        async def operation(client):
            value = await (await client.get_cache(self.messages_cache)).get(MessageKey(ROOM=room, SEQ=seq))
            return None if value is None else message_from_value(room, seq, value)

        return await self._arun(operation, retry=True)

    def last_seq(self, room: str) -> int:
        room = validate_room(room)

        def operation(client):
            counter = client.get_cache(self.rooms_cache).get(room)
            return int(counter.LAST_SEQ) if counter is not None else 0

        return self._run(operation, retry=True)

    async def alast_seq(self, room: str) -> int:
        room = validate_room(room)

        async def operation(client):
            counter = await (await client.get_cache(self.rooms_cache)).get(room)
            return int(counter.LAST_SEQ) if counter is not None else 0

        return await self._arun(operation, retry=True)

    # ---------------------------------------------------------------- pages
    # Gap-free sequences make every page an exact range of the (ROOM, SEQ) primary-key index. The rows
    # are fetched and decoded by ignite_wire (pyignite's generic row parser cost ~0.17 ms a row). latest
    # and after need the room counter too: it is read in the same statement (a LEFT JOIN from the room's
    # counter row, one row of NULL message columns when the range is empty), one round trip instead of two.
    @functools.cached_property
    def _range_query(self) -> str:
        return (
            f"SELECT {self.MESSAGE_COLUMNS} FROM {self.messages_table} "
            "WHERE ROOM = ? AND SEQ >= ? AND SEQ <= ? ORDER BY SEQ"
        )

    def _counter_query(self, low: str, high: str) -> str:
        columns = ", ".join(f"m.{name.strip()}" for name in self.MESSAGE_COLUMNS.split(","))
        return (
            f"SELECT {columns}, r.LAST_SEQ FROM {self.rooms_table} r LEFT JOIN {self.messages_table} m "
            f"ON m.ROOM = r.ROOM AND m.SEQ >= {low} AND m.SEQ <= {high} WHERE r.ROOM = ? ORDER BY m.SEQ"
        )

    @functools.cached_property
    def _latest_query(self) -> str:
        """args: limit, room. The newest `limit` messages up to the counter."""
        return self._counter_query("r.LAST_SEQ + 1 - ?", "r.LAST_SEQ")

    @functools.cached_property
    def _after_query(self) -> str:
        """args: after_seq + 1, after_seq + limit, room."""
        return self._counter_query("?", "LEAST(r.LAST_SEQ, ?)")

    def _rows(self, query: str, args: list) -> list[list]:
        def operation(client):
            if self.fast_codec:
                try:
                    return sql_rows(client, query, args, page_size=PAGE_SIZE)
                except UnsupportedValue:  # not expected with this schema; pyignite decodes anything
                    pass
            with client.sql(query, query_args=args, page_size=PAGE_SIZE, schema="PUBLIC") as cursor:
                return [list(row) for row in cursor]

        return self._run(operation, retry=True)

    async def _arows(self, query: str, args: list) -> list[list]:
        async def operation(client):
            if self.fast_codec:
                try:
                    return await asql_rows(client, query, args, page_size=PAGE_SIZE)
                except UnsupportedValue:
                    pass
            async with client.sql(query, query_args=args, page_size=PAGE_SIZE, schema="PUBLIC") as cursor:
                return [list(row) async for row in cursor]

        return await self._arun(operation, retry=True)

    def _page(self, rows: list[list], *, has_more: bool) -> Page:
        return Page(messages=[self._message_from_row(row) for row in rows], has_more=has_more)

    def _counted_page(self, rows: list[list], limit: int) -> Page:
        """A latest page from _latest_query rows: the range was [max(1, last + 1 - limit), last]."""
        if not rows or rows[0][2] is None:  # no counter (no room), or nothing in the range
            return Page([], has_more=False)
        last = rows[0][-1] or 0
        return self._page([row[:-1] for row in rows], has_more=last + 1 - limit > 1)

    def _after_page(self, rows: list[list], after_seq: int, limit: int) -> Page:
        """An after page from _after_query rows: the range was [after_seq + 1, min(last, after_seq + limit)]."""
        last = (rows[0][-1] or 0) if rows else 0
        high = min(last, after_seq + limit)
        if high <= after_seq:
            return Page([], has_more=False)
        messages = [row[:-1] for row in rows] if rows[0][2] is not None else []
        return self._page(messages, has_more=high < last)

    def latest(self, room: str, limit: int) -> Page:
        limit, room = validate_limit(limit), validate_room(room)
        return self._counted_page(self._rows(self._latest_query, [limit, room]), limit)

    async def alatest(self, room: str, limit: int) -> Page:
        limit, room = validate_limit(limit), validate_room(room)
        return self._counted_page(await self._arows(self._latest_query, [limit, room]), limit)

    def before(self, room: str, before_seq: int, limit: int) -> Page:
        room, before_seq, limit = validate_room(room), validate_seq(before_seq, "before"), validate_limit(limit)
        low, high = max(1, before_seq - limit), before_seq - 1
        if high < low:
            return Page([], has_more=False)
        rows = self._rows(self._range_query, [room, low, high])
        return self._page(rows, has_more=bool(rows) and low > 1)

    async def abefore(self, room: str, before_seq: int, limit: int) -> Page:
        room, before_seq, limit = validate_room(room), validate_seq(before_seq, "before"), validate_limit(limit)
        low, high = max(1, before_seq - limit), before_seq - 1
        if high < low:
            return Page([], has_more=False)
        rows = await self._arows(self._range_query, [room, low, high])
        return self._page(rows, has_more=bool(rows) and low > 1)

    def after(self, room: str, after_seq: int, limit: int) -> Page:
        room, after_seq = validate_room(room), validate_seq(after_seq, "after")
        limit = validate_limit(limit, maximum=CATCHUP_LIMIT_MAX)
        return self._after_page(self._rows(self._after_query, [after_seq + 1, after_seq + limit, room]),
                                after_seq, limit)

    async def aafter(self, room: str, after_seq: int, limit: int) -> Page:
        room, after_seq = validate_room(room), validate_seq(after_seq, "after")
        limit = validate_limit(limit, maximum=CATCHUP_LIMIT_MAX)
        rows = await self._arows(self._after_query, [after_seq + 1, after_seq + limit, room])
        return self._after_page(rows, after_seq, limit)
