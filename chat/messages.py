"""Message rules shared by the socket (chat.service) and the HTTP API (chat_api): store then broadcast,
history pages, read markers. Each takes the Actor and authorizes through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ignite_store import AppendResult, ChangeRefused, ChangesPage, InvalidMessage, Message, StoreUnavailable

from . import message_changes, room_commands
from .access import Action, Grant
from .actor import Actor
from .fanout import user_channel
from .mentions import NONE, Mentions
from .protocol import ProtocolError, message_frame


async def store_message(actor: Actor, room: str, body: str, client_id: str, ref: str = "send", *,
                        reply_to: int | None = None, mentions: Mentions = NONE) -> AppendResult:
    """Append to the store (idempotent per room and client_id); nothing is broadcast here.

    `mentions` comes from chat.message_changes.mentions_of; a plain send (no reply, no mention) passes nothing."""
    store = actor.services.store
    try:
        if reply_to is None and not mentions:
            return await store.aappend(room, actor.username, body, client_id)
        return await store.aappend(room, actor.username, body, client_id, reply_to=reply_to, mentions=mentions.users,
                                   mentions_room=mentions.room, notified=mentions.notified)
    except ChangeRefused as e:  # the message replied to does not exist (or was deleted)
        raise ProtocolError(e.code, e.detail, ref=ref, room=room, client_id=client_id, seq=reply_to) from e
    except StoreUnavailable as e:
        raise ProtocolError("store_unavailable", "the message was not stored, retry with the same client_id",
                            ref=ref, room=room, client_id=client_id) from e
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, room=room, client_id=client_id, field=e.field) from e


async def broadcast_message(actor: Actor, grant: Grant, result: AppendResult, mentions: Mentions = NONE) -> None:
    """Publish a stored message to the room (the same `message` frame whoever sent it), and its mentions."""
    message = result.message
    await actor.publish(message.room, message_frame(message))
    if mentions and result.created:
        await message_changes.publish_mentions(actor, message, mentions.notified)
    if grant.room.kind == "direct" and message.seq == 1 and result.created:
        await room_commands.announce_direct(actor, grant.room)


def ack_frame(message: Message) -> dict:
    """The `ack` of a stored message."""
    return {"type": "ack", "room": message.room, "client_id": message.client_id, "id": message.id,
            "seq": message.seq, "created_at": message.created_at}


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[Message]
    has_more: bool  # older messages exist (newer ones for an `after` page)
    has_newer: bool | None = None  # for an `around` page: newer messages exist


async def read_page(actor: Actor, room: str, limit: int, *, before: int | None = None, after: int | None = None,
                    around: int | None = None, ref: str = "history") -> HistoryPage:
    """One page of a room's history, ascending seq: the newest, before/after a seq, or centred on one.

    At most one cursor may be given (the caller validates that)."""
    await actor.authorize(room, Action.READ, ref)
    store = actor.services.store
    try:
        if around is not None:  # one range read, shifted to fit the room's history
            page = await store.aaround(room, around, limit)
            return HistoryPage(page.messages, page.has_more, page.has_newer)
        if after is not None:
            page = await store.aafter(room, after, limit)
        elif before is not None:
            page = await store.abefore(room, before, limit)
        else:
            page = await store.alatest(room, limit)
    except StoreUnavailable as e:
        raise ProtocolError("store_unavailable", "history is unavailable, retry", ref=ref, room=room) from e
    return HistoryPage(page.messages, page.has_more)


async def read_changes(actor: Actor, room: str, after_change: int, limit: int, ref: str = "changes") -> ChangesPage:
    """The current state of the messages changed after a change cursor (edits, deletions, reactions)."""
    await actor.authorize(room, Action.READ, ref)
    try:
        return await actor.services.store.achanges(room, after_change, limit)
    except StoreUnavailable as e:
        raise ProtocolError("store_unavailable", "history is unavailable, retry", ref=ref, room=room) from e


async def mark_read(actor: Actor, room: str, seq: int) -> None:
    """Move the user's read marker forward; echoed to every socket of the user, stored within a second."""
    await actor.authorize(room, Action.WRITE, "read")
    actor.services.reads.note(room, actor.username, seq)
    await actor.publish(user_channel(actor.username), {"type": "read", "room": room, "seq": seq})
