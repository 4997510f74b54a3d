"""The chat rules behind one socket: joins, store-then-ack-then-broadcast, catch-up, limits.

A ChatSession knows nothing of WebSockets: it receives parsed commands and emits frames
(dicts) through an Outbox, so it is tested without a socket.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings

from ignite_store import InvalidMessage, StoreUnavailable, get_store

from . import fanout
from .fanout import Outbox
from .presence import get_presence
from .protocol import (
    Catchup,
    Command,
    History,
    Join,
    Leave,
    Ping,
    ProtocolError,
    Send,
    Typing,
    encode,
    message_frame,
    page_frame,
)
from .ratelimit import TokenBucket, UserBuckets

logger = logging.getLogger(__name__)

_send_buckets: UserBuckets | None = None
_typing_last: dict[tuple[str, str], float] = {}


def retry_after(wait: float) -> float:
    """Seconds a refused client is told to wait: rounded up to the millisecond, so never 0."""
    return math.ceil(wait * 1000) / 1000


def send_buckets() -> UserBuckets:
    """The per-user send buckets of this process (rebuilt when the limits change)."""
    global _send_buckets
    rate, burst = settings.CHAT["SEND_RATE_PER_SECOND"], settings.CHAT["SEND_BURST"]
    if _send_buckets is None or (_send_buckets.rate, _send_buckets.burst) != (rate, burst):
        _send_buckets = UserBuckets(rate, burst)
    return _send_buckets


def typing_allowed(username: str, room: str, now: float | None = None) -> bool:
    """True at most once per CHAT['TYPING_MIN_INTERVAL_SECONDS'] per user and room (per process)."""
    now = time.monotonic() if now is None else now
    key = (username, room)
    last = _typing_last.get(key)
    if last is not None and now - last < settings.CHAT["TYPING_MIN_INTERVAL_SECONDS"]:
        return False
    if len(_typing_last) > 10_000:
        _typing_last.clear()
    _typing_last[key] = now
    return True


def presence_frame(room: str, users: list[str], event: str, user: str | None) -> dict:
    """A `presence` frame: the full list, so every frame heals whatever a client missed."""
    return {"type": "presence", "room": room, "users": users, "event": event, "user": user}


class ChatSession:
    """The rooms and rules of one socket of one user."""

    def __init__(self, username: str, conn_id: str, outbox: Outbox):
        self.username = username
        self.conn_id = conn_id
        self.outbox = outbox
        self.rooms: set[str] = set()
        chat = settings.CHAT
        self.frames = TokenBucket(chat.get("FRAME_RATE_PER_SECOND", 20.0), chat.get("FRAME_BURST", 100))
        self.refused_in_a_row = 0

    async def emit(self, frame: dict) -> None:
        """Queue one frame for this socket."""
        await self.outbox.put(encode(frame))

    async def admit_frame(self) -> bool:
        """Spend a frame token before the frame is even parsed; False when it is refused.

        The first refused frame of a streak is answered with `rate_limited` (its retry_after
        says when to resume); the rest of the streak is dropped unanswered, so that refusing
        costs next to nothing and never waits on a client that does not read. A client that
        goes on past FRAME_BURST refused frames in a row ignores the limit (an open-loop
        flooder): `flooding` becomes true and the consumer closes the socket (4429).
        """
        wait = self.frames.take()
        if not wait:
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        if self.refused_in_a_row > 1:
            return False
        await self.emit(ProtocolError("rate_limited", "too many frames", retry_after=retry_after(wait)).to_frame())
        return False

    @property
    def flooding(self) -> bool:
        return self.refused_in_a_row > self.frames.burst

    async def handle(self, command: Command) -> None:
        """Run one command; refusals become error frames."""
        try:
            await self._HANDLERS[type(command)](self, command)
        except ProtocolError as e:
            await self.emit(e.to_frame())

    # ------------------------------------------------------------ rooms
    def _require_joined(self, room: str, ref: str, client_id: str | None = None) -> None:
        if room not in self.rooms:
            raise ProtocolError("not_joined", "join the room first", ref=ref, room=room, client_id=client_id)

    async def join(self, cmd: Join) -> None:
        """Join a room: joined + presence snapshot, then catch-up pages when `after` is given."""
        room, first = cmd.room, cmd.room not in self.rooms
        if first and len(self.rooms) >= settings.CHAT["MAX_ROOMS_PER_SOCKET"]:
            raise ProtocolError("too_many_rooms", "leave a room first", ref="join", room=room)
        hub = fanout.get_hub()
        if first:
            # Subscribe before reading last_seq so nothing stored after it can be missed.
            try:
                await hub.join(room, self.outbox)
            except Exception as e:
                logger.warning("subscribing to %s failed", room, exc_info=True)
                raise ProtocolError("unavailable", "live updates are unavailable, retry", ref="join",
                                    room=room) from e
        try:
            last_seq = await get_store().alast_seq(room)
        except StoreUnavailable as e:
            if first:
                await hub.leave(room, self.outbox)
            raise ProtocolError("store_unavailable", "history is unavailable, retry", ref="join", room=room) from e
        self.rooms.add(room)
        await self.emit({"type": "joined", "room": room, "last_seq": last_seq})
        await self._enter_presence(room, first)
        if cmd.after is not None:
            await self._catchup(room, cmd.after, "join")

    async def _enter_presence(self, room: str, first: bool) -> None:
        presence = get_presence()
        try:
            if first:
                users, arrived = await presence.enter(room, self.username, self.conn_id)
            else:
                users, arrived = await presence.users(room), False
        except Exception:
            logger.warning("presence unavailable for %s", room, exc_info=True)
            return
        await self.emit(presence_frame(room, users, "snapshot", None))
        if arrived:
            # skip: the user has no other socket in the room, and this one got the snapshot.
            await self._publish(room, presence_frame(room, users, "join", self.username), skip=self.username)

    async def leave(self, cmd: Leave) -> None:
        """Leave a room."""
        self._require_joined(cmd.room, "leave")
        await self._leave(cmd.room)
        await self.emit({"type": "left", "room": cmd.room})

    async def _leave(self, room: str) -> None:
        self.rooms.discard(room)
        await fanout.get_hub().leave(room, self.outbox)
        try:
            users, gone = await get_presence().leave(room, self.username, self.conn_id)
        except Exception:
            logger.warning("presence unavailable for %s", room, exc_info=True)
            return
        if gone:
            await self._publish(room, presence_frame(room, users, "leave", self.username), skip=self.username)

    async def close(self) -> None:
        """Leave every room (the socket closed)."""
        for room in list(self.rooms):
            try:
                await self._leave(room)
            except Exception:
                logger.warning("leaving %s on close failed", room, exc_info=True)

    # ------------------------------------------------------------ messages
    async def send(self, cmd: Send) -> None:
        """Store, then ack, then broadcast; a store failure broadcasts nothing."""
        self._require_joined(cmd.room, "send", cmd.client_id)
        wait = send_buckets().take(self.username)
        if wait:
            raise ProtocolError(
                "rate_limited", "slow down", ref="send", room=cmd.room, client_id=cmd.client_id,
                retry_after=retry_after(wait),
            )
        try:
            result = await get_store().aappend(cmd.room, self.username, cmd.body, cmd.client_id)
        except StoreUnavailable as e:
            raise ProtocolError(
                "store_unavailable", "the message was not stored, retry with the same client_id",
                ref="send", room=cmd.room, client_id=cmd.client_id,
            ) from e
        except InvalidMessage as e:
            raise ProtocolError(
                "invalid", e.detail, ref="send", room=cmd.room, client_id=cmd.client_id, field=e.field
            ) from e
        message = result.message
        await self.emit({
            "type": "ack", "room": message.room, "client_id": message.client_id,
            "id": message.id, "seq": message.seq, "created_at": message.created_at,
        })
        await self._publish(message.room, message_frame(message))

    async def history(self, cmd: History) -> None:
        """One page of older messages (the newest page when `before` is absent)."""
        self._require_joined(cmd.room, "history")
        store = get_store()
        try:
            if cmd.before is None:
                page = await store.alatest(cmd.room, cmd.limit)
            else:
                page = await store.abefore(cmd.room, cmd.before, cmd.limit)
        except StoreUnavailable as e:
            raise ProtocolError("store_unavailable", "history is unavailable, retry", ref="history",
                                room=cmd.room) from e
        frame, _ = page_frame("history", cmd.room, page.messages, page.has_more, keep="newest")
        await self.emit(frame)

    async def catchup(self, cmd: Catchup) -> None:
        """Everything after `after`, in pages."""
        self._require_joined(cmd.room, "catchup")
        await self._catchup(cmd.room, cmd.after, "catchup")

    async def _catchup(self, room: str, after: int, ref: str) -> None:
        store, size = get_store(), settings.CHAT["CATCHUP_PAGE"]
        while True:
            try:
                page = await store.aafter(room, after, size)
            except StoreUnavailable as e:
                raise ProtocolError("store_unavailable", "catch-up interrupted, ask again from the last seq",
                                    ref=ref, room=room) from e
            # put() waits while the outbox is full, so a long catch-up is paced by the client.
            frame, count = page_frame("catchup", room, page.messages, page.has_more, keep="oldest")
            await self.emit(frame)
            if not frame["has_more"] or not count:
                return
            after = page.messages[count - 1].seq

    # ------------------------------------------------------------ ephemera
    async def typing(self, cmd: Typing) -> None:
        """Tell the other members that this user types (throttled, dropped silently)."""
        self._require_joined(cmd.room, "typing")
        if typing_allowed(self.username, cmd.room):
            await self._publish(cmd.room, {"type": "typing", "room": cmd.room, "user": self.username},
                                skip=self.username)

    async def ping(self, cmd: Ping) -> None:
        """Answer pong with the same id."""
        await self.emit({"type": "pong", "id": cmd.id})

    async def _publish(self, room: str, frame: dict, skip: str | None = None) -> None:
        # Fan-out is a doorbell: a failure here loses no stored message (clients fill gaps by seq).
        try:
            await fanout.publish(room, frame, skip=skip)
        except Exception:
            logger.warning("publish to %s failed", room, exc_info=True)

    _HANDLERS = {
        Join: join,
        Leave: leave,
        Send: send,
        History: history,
        Catchup: catchup,
        Typing: typing,
        Ping: ping,
    }
