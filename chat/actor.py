"""Who acts on the chat: a user with the process's services. The socket (ChatSession) and an HTTP request
(chat_api) are both Actors, so the room commands and message rules are written once for both.

An Actor authorizes through chat.access.Access.authorize (the one authorization function), publishes
through the fan-out, and answers through `emit`: a socket queues the frame, an HTTP request keeps it
to return it as the response body.
"""

from __future__ import annotations

import logging

from ignite_store import StoreUnavailable

from .access import Action, Forbidden, Grant
from .protocol import ProtocolError, forbidden
from .services import ChatServices

logger = logging.getLogger(__name__)


class Actor:
    """One user acting through the chat services of this event loop."""

    def __init__(self, username: str, services: ChatServices):
        self.username = username
        self.services = services

    async def emit(self, frame: dict) -> None:
        """Answer the actor (a socket frame, or an HTTP response body)."""
        raise NotImplementedError("subclasses of Actor must provide an emit() method")

    async def authorize(self, room: str, action: Action, ref: str, *, client_id: str | None = None,
                        fresh: bool = False) -> Grant:
        """The one authorization check, as a ProtocolError: `forbidden` (also for a missing room)."""
        try:
            return await self.services.access.authorize(self.username, room, action, fresh=fresh)
        except Forbidden as e:
            raise forbidden(ref, room, client_id) from e
        except StoreUnavailable as e:
            raise ProtocolError("store_unavailable", "the store is unavailable, retry", ref=ref, room=room,
                                client_id=client_id) from e

    async def publish(self, room: str, frame: dict, skip: str | None = None) -> None:
        """Publish to a room (or a user channel); a failure loses no stored message (clients fill gaps by seq)."""
        try:
            await self.services.publisher.publish(room, frame, skip=skip)
        except Exception:
            logger.warning("publish to %s failed", room, exc_info=True)


class Answers(Actor):
    """An Actor that keeps what it is answered (an HTTP request): `answer(type)` is the frame of that type.
    Its grants are read fresh on every request."""

    def __init__(self, username: str, services: ChatServices):
        super().__init__(username, services)
        self.frames: list[dict] = []

    async def emit(self, frame: dict) -> None:
        self.frames.append(frame)

    async def authorize(self, room: str, action: Action, ref: str, *, client_id: str | None = None,
                        fresh: bool = False) -> Grant:
        """Always read fresh (one key read): no socket of this process may hear a revocation for a request,
        so a cached grant could outlive it by 2 x GRANT_TTL; this way it applies to the very next request."""
        return await super().authorize(room, action, ref, client_id=client_id, fresh=True)

    def answer(self, frame_type: str) -> dict:
        """The last frame of `frame_type` emitted (a command that completed always emits its answer)."""
        for frame in reversed(self.frames):
            if frame.get("type") == frame_type:
                return frame
        raise LookupError(f"no {frame_type} frame was emitted")
