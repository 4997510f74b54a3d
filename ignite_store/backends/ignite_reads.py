"""Read half of the Ignite backend: single messages, room counters and pages of history.

Mixed into IgniteMessageStore, which provides _run, _arun, _sql, _asql, _message_from_row,
MESSAGE_COLUMNS and the table/cache names. Gap-free sequences make every page an exact
range [low, high] of the (ROOM, SEQ) primary-key index.
"""

from __future__ import annotations

from ..types import Message, Page
from ..validation import validate_limit, validate_room, validate_seq
from .ignite_client import MessageKey

CATCHUP_LIMIT_MAX = 10_000  # catch-up pages may be larger than history pages


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

    def _range_query(self) -> str:
        return (
            f"SELECT {self.MESSAGE_COLUMNS} FROM {self.messages_table} "
            "WHERE ROOM = ? AND SEQ >= ? AND SEQ <= ? ORDER BY SEQ"
        )

    def _page(self, rows: list[list], *, has_more: bool) -> Page:
        return Page(messages=[self._message_from_row(row) for row in rows], has_more=has_more)

    # Gap-free sequences make every page an exact range [low, high] of the primary-key index.
    def latest(self, room: str, limit: int) -> Page:
        limit = validate_limit(limit)
        return self.before(room, self.last_seq(room) + 1, limit)

    async def alatest(self, room: str, limit: int) -> Page:
        limit = validate_limit(limit)
        return await self.abefore(room, await self.alast_seq(room) + 1, limit)

    def before(self, room: str, before_seq: int, limit: int) -> Page:
        room, before_seq, limit = validate_room(room), validate_seq(before_seq, "before"), validate_limit(limit)
        low, high = max(1, before_seq - limit), before_seq - 1
        if high < low:
            return Page([], has_more=False)
        rows = self._sql(self._range_query(), [room, low, high])
        return self._page(rows, has_more=bool(rows) and low > 1)

    async def abefore(self, room: str, before_seq: int, limit: int) -> Page:
        room, before_seq, limit = validate_room(room), validate_seq(before_seq, "before"), validate_limit(limit)
        low, high = max(1, before_seq - limit), before_seq - 1
        if high < low:
            return Page([], has_more=False)
        rows = await self._asql(self._range_query(), [room, low, high])
        return self._page(rows, has_more=bool(rows) and low > 1)

    def after(self, room: str, after_seq: int, limit: int) -> Page:
        room, after_seq = validate_room(room), validate_seq(after_seq, "after")
        limit = validate_limit(limit, maximum=CATCHUP_LIMIT_MAX)
        last = self.last_seq(room)
        high = min(last, after_seq + limit)
        if high <= after_seq:
            return Page([], has_more=False)
        rows = self._sql(self._range_query(), [room, after_seq + 1, high])
        return self._page(rows, has_more=high < last)

    async def aafter(self, room: str, after_seq: int, limit: int) -> Page:
        room, after_seq = validate_room(room), validate_seq(after_seq, "after")
        limit = validate_limit(limit, maximum=CATCHUP_LIMIT_MAX)
        last = await self.alast_seq(room)
        high = min(last, after_seq + limit)
        if high <= after_seq:
            return Page([], has_more=False)
        rows = await self._asql(self._range_query(), [room, after_seq + 1, high])
        return self._page(rows, has_more=high < last)
