"""Reads of the Ignite backend: single messages, room counters and pages of history.

Pages are exact ranges of the (ROOM, SEQ) primary-key index (ignite_queries), fetched in one
response by IgniteSession.rows (decoded by the pyignite seam when it is on). A page holding replies
gets their originals' previews with one more request (one get_all of the originals not in the page);
a page without replies costs nothing more.
"""

from __future__ import annotations

import dataclasses

from ..types import ChangesPage, Message, Page
from .ignite_client import MessageKey
from .ignite_codec import message_from_value
from .ignite_queries import (
    Queries,
    after_page,
    around_args,
    around_page,
    before_range,
    changes_page,
    changes_upto,
    latest_page,
    range_page,
)
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

    async def get_many(self, room: str, seqs: list[int]) -> dict[int, Message]:
        """The messages of `room` with these seqs (missing ones absent): one request."""

        async def operation(client):
            cache = await client.get_cache(self.schema.messages_cache)
            found = await cache.get_all([MessageKey(ROOM=room, SEQ=seq) for seq in sorted(set(seqs))])
            messages = {}
            for raw_key, value in found.items():
                key = await client.unwrap_binary(raw_key)  # get_all leaves binary-object keys serialised
                messages[int(key.SEQ)] = message_from_value(room, int(key.SEQ), value)
            return messages

        return await self.session.run(operation, retry=True) if seqs else {}

    async def with_previews(self, room: str, messages: list[Message]) -> list[Message]:
        """`messages` with the reply previews of their originals' current state (one read for those not given)."""
        wanted = {m.reply_to for m in messages if m.reply_to is not None and m.reply_preview is None}
        if not wanted:
            return messages
        originals = {m.seq: m for m in messages if m.seq in wanted}
        originals.update(await self.get_many(room, [seq for seq in wanted if seq not in originals]))
        return [
            dataclasses.replace(m, reply_preview=originals[m.reply_to].preview())
            if m.reply_to in originals and m.reply_preview is None else m
            for m in messages
        ]

    async def _page(self, room: str, page: Page) -> Page:
        if not any(m.reply_to is not None for m in page.messages):
            return page
        return dataclasses.replace(page, messages=await self.with_previews(room, page.messages))

    async def last_seq(self, room: str) -> int:
        """The room's counter (0 for a room without messages)."""

        async def operation(client):
            counter = await (await client.get_cache(self.schema.rooms_cache)).get(room)
            return int(counter.LAST_SEQ) if counter is not None else 0

        return await self.session.run(operation, retry=True)

    async def heads(self, room: str) -> tuple[int, int]:
        """The room's counter: (last seq, last change seq), 0 for none."""

        async def operation(client):
            counter = await (await client.get_cache(self.schema.rooms_cache)).get(room)
            if counter is None:
                return 0, 0
            return int(counter.LAST_SEQ or 0), int(getattr(counter, "LAST_CHANGE_SEQ", None) or 0)

        return await self.session.run(operation, retry=True)

    async def last_change_seq(self, room: str) -> int:
        """The room's change head (0 before its first change)."""
        return (await self.heads(room))[1]

    async def latest(self, room: str, limit: int) -> Page:
        """The newest `limit` messages."""
        return await self._page(room, latest_page(await self.session.rows(self.queries.latest, [limit, room]), limit))

    async def around(self, room: str, seq: int, limit: int) -> Page:
        """`limit` messages centred on `seq` (shifted to fit the room's history)."""
        rows = await self.session.rows(self.queries.around, [*around_args(seq, limit), room])
        return await self._page(room, around_page(rows))

    async def changes(self, room: str, after_change: int, limit: int) -> ChangesPage:
        """Current state of messages changed after `after_change`, ascending change_seq, with the change head."""
        # The head first: a change committed after it is still in the rows (and sent again later), while
        # a head read after the rows could pass a change the rows missed, and the client would skip it.
        _, head = await self.heads(room)
        upto = changes_upto(after_change, limit, head)
        if upto == after_change:
            return ChangesPage([], has_more=False, last_change_seq=head, upto=after_change)
        page = changes_page(await self.session.rows(self.queries.changes, [room, after_change, upto]), upto, head)
        if not any(m.reply_to is not None for m in page.messages):
            return page
        return dataclasses.replace(page, messages=await self.with_previews(room, page.messages))

    async def before(self, room: str, before_seq: int, limit: int) -> Page:
        """Up to `limit` messages before `before_seq`."""
        bounds = before_range(before_seq, limit)
        if bounds is None:
            return Page([], has_more=False)
        low, high = bounds
        return await self._page(room, range_page(await self.session.rows(self.queries.range, [room, low, high]), low))

    async def after(self, room: str, after_seq: int, limit: int) -> Page:
        """Up to `limit` messages after `after_seq`."""
        rows = await self.session.rows(self.queries.after, [after_seq + 1, after_seq + limit, room])
        return await self._page(room, after_page(rows, after_seq, limit))
