"""A message posted over HTTP (a send, a webhook): the socket's send, with the send rate counted in Redis."""

from __future__ import annotations

from chat.access import Action
from chat.actor import Actor
from chat.messages import broadcast_message, store_message

from .limits import current as current_limits
from .ratelimit import Bucket, get_limiter


async def post_message(me: Actor, room: str, body: str, client_id: str, user_id: int) -> tuple[int, dict]:
    """Authorize, spend a send token (per user, all processes), store, then broadcast.

    201 and the message when stored now; 200 and the stored message for a client_id seen before."""
    grant = await me.authorize(room, Action.WRITE, "send", client_id=client_id)
    limits = current_limits()
    await get_limiter().take(Bucket(f"send:{user_id}", limits.send_rate_per_second, limits.send_burst), ref="send")
    result = await store_message(me, room, body, client_id)
    await broadcast_message(me, grant, result)
    return (201 if result.created else 200), {**result.message.to_dict(), "created": result.created}
