"""Messages posted and changed over HTTP (sends, webhooks, edits, deletions, reactions): the socket's code,
with the send rate counted per user in Redis across processes instead of per process."""

from __future__ import annotations

from chat import message_changes
from chat.access import Action, Grant
from chat.actor import Actor
from chat.messages import broadcast_message, store_message
from chat.protocol import Send
from chat.protocol_changes import DeleteMessage, Edit, React

from .limits import current as current_limits
from .ratelimit import Bucket, get_limiter


async def admit_write(me: Actor, room: str, ref: str, user_id: int, client_id: str | None = None) -> Grant:
    """A write to the room (Access.authorize), then one token of the user's send bucket (all processes)."""
    grant = await me.authorize(room, Action.WRITE, ref, client_id=client_id)
    limits = current_limits()
    await get_limiter().take(Bucket(f"send:{user_id}", limits.send_rate_per_second, limits.send_burst), ref=ref)
    return grant


async def post_message(me: Actor, cmd: Send, user_id: int) -> tuple[int, dict]:
    """Authorize, spend a send token, store (with its reply and @mentions), then broadcast: the socket's send.

    201 and the message when stored now; 200 and the stored message for a client_id seen before."""
    grant = await admit_write(me, cmd.room, "send", user_id, cmd.client_id)
    mentions = await message_changes.mentions_of(me, grant, cmd.body, cmd.client_id)
    result = await store_message(me, cmd.room, cmd.body, cmd.client_id, reply_to=cmd.reply_to, mentions=mentions)
    await broadcast_message(me, grant, result, mentions)
    return (201 if result.created else 200), {**result.message.to_dict(), "created": result.created}


async def change_message(me: Actor, cmd: Edit | DeleteMessage | React, user_id: int) -> dict:
    """An edit, deletion or reaction: stored in the change log, then published as `update` (the socket's code)."""
    grant = await admit_write(me, cmd.room, getattr(cmd, "ref", type(cmd).__name__.lower()), user_id,
                              getattr(cmd, "client_id", None))
    result = await message_changes.apply_change(me, cmd, grant)
    return {"room": cmd.room, "seq": cmd.seq, "change_seq": result.change_seq, "changed": result.changed,
            "message": result.message.to_dict()}
