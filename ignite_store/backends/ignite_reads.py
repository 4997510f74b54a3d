"""Reads of the Ignite backend: single messages, room counters and pages of history.

Pages are exact ranges of the (ROOM, SEQ) primary-key index (ignite_queries), fetched in one
response by IgniteSession.rows (decoded by the pyignite seam when it is on).
"""

from __future__ import annotations

from ..types import Message, Page
from .ignite_client import MessageKey
from .ignite_codec import message_from_value
from .ignite_queries import Queries, after_page, before_range, latest_page, range_page
from .ignite_session import IgniteSession


class Reads:
    """get, last_seq, latest, before and after; the input is validated by the caller."""

    def __init__(self, session: IgniteSession, queries: Queries):
        self.session = session
        self.queries = queries
        self.schema = queries.schema

    async def get(self, room: str, seq: int) -> Message | None:
        """One message, or None."""

        async def operation(client):
            value = await (await client.get_cache(self.schema.messages_cache)).get(MessageKey(ROOM=room, SEQ=seq))
            return None if value is None else message_from_value(room, seq, value)

        return await self.session.run(operation, retry=True)

    async def last_seq(self, room: str) -> int:
        """The room's counter (0 for a room without messages)."""

        async def operation(client):
            counter = await (await client.get_cache(self.schema.rooms_cache)).get(room)
            return int(counter.LAST_SEQ) if counter is not None else 0

        return await self.session.run(operation, retry=True)

    async def latest(self, room: str, limit: int) -> Page:
        """The newest `limit` messages."""
        return latest_page(await self.session.rows(self.queries.latest, [limit, room]), limit)

    async def before(self, room: str, before_seq: int, limit: int) -> Page:
        """Up to `limit` messages before `before_seq`."""
        bounds = before_range(before_seq, limit)
        if bounds is None:
            return Page([], has_more=False)
        low, high = bounds
        return range_page(await self.session.rows(self.queries.range, [room, low, high]), low)

    async def after(self, room: str, after_seq: int, limit: int) -> Page:
        """Up to `limit` messages after `after_seq`."""
        rows = await self.session.rows(self.queries.after, [after_seq + 1, after_seq + limit, room])
        return after_page(rows, after_seq, limit)
