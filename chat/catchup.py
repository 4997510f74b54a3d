"""Catch-up over a socket: the messages after a seq (`catchup` frames) and the changes after a change seq
(`changes` frames, issue 13), one loop for both.

Each store page is read once and sent in as many frames as CHAT["MAX_FRAME_BYTES"] needs (at least one
message per frame; every frame but the page's last says has_more). Each message is encoded once: its
JSON measures it and is spliced into the frame's text, so a 1,000-message page costs one encoding, not
one per frame (page_frame re-encodes what is left on every call) and not two (measure, then send).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from ignite_store import Message, StoreUnavailable

from .access import Action
from .limits import current
from .protocol import ProtocolError

if TYPE_CHECKING:
    from .service import ChatSession


@dataclass(frozen=True, slots=True)
class CatchupPage:
    messages: list[Message]
    has_more: bool
    next_after: int  # the cursor of the next page
    fields: dict  # the frame's fields after has_more (changes: last_change_seq)


def page_frames(frame_type: str, room: str, messages: list[Message], has_more: bool, fields: dict) -> list[str]:
    """The encoded frames of one page, each under the frame limit, in order; empty only for an empty page
    that has more (nothing to say yet)."""
    limit = current().max_frame_bytes
    start = orjson.dumps({"type": frame_type, "room": room})[:-1] + b',"messages":['
    tail = b"".join(b"," + orjson.dumps({key: value})[1:-1] for key, value in fields.items()) + b"}"
    fixed = len(start) + len(b'],"has_more":false') + len(tail)
    chunks: list[list[bytes]] = [[]]
    size = fixed
    for message in messages:
        item = orjson.dumps(message.to_dict())
        if chunks[-1] and size + len(item) + 1 > limit:
            chunks.append([])
            size = fixed
        chunks[-1].append(item)
        size += len(item) + 1  # and its comma
    if not messages and has_more:
        return []
    last = len(chunks) - 1
    return [
        (start + b",".join(chunk) + (b'],"has_more":true' if has_more or i < last else b'],"has_more":false')
         + tail).decode()
        for i, chunk in enumerate(chunks)
    ]


async def send_pages(session: ChatSession, room: str, after: int, ref: str, frame_type: str,
                     read: Callable[[int], Awaitable[CatchupPage]]) -> None:
    """Read pages from `after` until the last one, sending each as `frame_type` frames paced by the client."""
    while True:
        await session.authorize(room, Action.READ, ref)  # again per page: a long catch-up stops when revoked
        try:
            page = await read(after)
        except StoreUnavailable as e:
            if frame_type == "changes":
                raise ProtocolError("store_unavailable", "catch-up interrupted, ask again from the last change",
                                    ref=ref, room=room) from e
            raise ProtocolError("store_unavailable", "catch-up interrupted, ask again from the last seq",
                                ref=ref, room=room) from e
        for text in page_frames(frame_type, room, page.messages, page.has_more, page.fields):
            await session.emit_text(text)  # waits while the outbox is full: paced by the client
        if not page.has_more or page.next_after <= after:
            return
        after = page.next_after


async def send_messages(session: ChatSession, room: str, after: int, ref: str) -> None:
    """Every message after seq `after`, in `catchup` frames."""
    store, size = session.services.store, session.services.limits.catchup_page

    async def read(cursor: int) -> CatchupPage:
        page = await store.aafter(room, cursor, size)
        last = page.messages[-1].seq if page.messages else cursor
        return CatchupPage(page.messages, page.has_more, last, {})

    await send_pages(session, room, after, ref, "catchup", read)


CHANGES_PAGE = 1000  # change seqs per store read


async def send_changes(session: ChatSession, room: str, after_change: int, ref: str) -> None:
    """The current state of every message changed after `after_change`, in `changes` frames; the last one's
    last_change_seq is the head the client's cursor becomes."""
    store = session.services.store

    async def read(cursor: int) -> CatchupPage:
        page = await store.achanges(room, cursor, CHANGES_PAGE)
        return CatchupPage(page.messages, page.has_more, page.upto, {"last_change_seq": page.last_change_seq})

    await send_pages(session, room, after_change, ref, "changes", read)
