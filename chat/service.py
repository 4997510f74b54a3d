"""The chat rules behind one socket: joins, store-then-ack-then-broadcast, catch-up, limits, access.

A ChatSession knows nothing of WebSockets: it receives parsed commands and emits frames (dicts)
through an Outbox, and gets every collaborator (store, hub, presence, access, limits) from the
ChatServices it is given, so its rules are tested without a socket (tests/chat/test_session_unit.py).
Every read and write of a room goes through `self.authorize`, i.e. chat.access.Access.authorize
(chat.actor.Actor, shared with the HTTP API). Room management (create, invite, remove, DMs, directory)
is in chat.room_commands, the message rules both share in chat.messages; edits, deletions, reactions,
and @mentions in chat.message_changes; the catch-up of messages and changes in chat.catchup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ignite_store import StoreUnavailable

from . import catchup, message_changes, room_commands, search_commands
from .access import Action
from .actor import Actor
from .error_text import localize_error
from .fanout import Outbox, user_channel
from .messages import ack_frame, broadcast_message, mark_read, read_page, store_message
from .protocol import (
    Catchup,
    Command,
    History,
    Join,
    Leave,
    Ping,
    ProtocolError,
    Read,
    Send,
    Typing,
    encode,
    page_frame,
)
from .ratelimit import TokenBucket, retry_after
from .services import ChatServices

logger = logging.getLogger(__name__)


def presence_frame(room: str, users: list[str], event: str, user: str | None) -> dict:
    """A `presence` frame: the full list, so every frame heals whatever a client missed."""
    return {"type": "presence", "room": room, "users": users, "event": event, "user": user}


class ChatSession(Actor):
    """The rooms and rules of one socket of one user."""

    def __init__(self, username: str, conn_id: str, outbox: Outbox, services: ChatServices, *,
                 session_key: str | None = None, on_revoked: Callable[[str], None] | None = None,
                 language: str | None = None):
        super().__init__(username, services)
        self.language = language  # error details are written in it (chat.error_text); None: English
        self.conn_id = conn_id
        self.outbox = outbox
        self.session_key = session_key
        self.on_revoked = on_revoked  # the consumer closes the socket (logout, deactivation)
        self.rooms: set[str] = set()
        limits = services.limits
        self.frames = TokenBucket(limits.frame_rate_per_second, limits.frame_burst)
        self.refused_in_a_row = 0
        self._tasks: set[asyncio.Task] = set()
        outbox.on_control = self.on_control
        outbox.on_resync = self.resync

    async def emit(self, frame: dict) -> None:
        """Queue one frame for this socket."""
        if self.language and frame.get("type") == "error":
            frame = localize_error(frame, self.language)
        await self.outbox.put(encode(frame))

    async def emit_text(self, text: str) -> None:
        """Queue one frame already encoded (catch-up pages, chat.catchup)."""
        await self.outbox.put(text)

    async def start(self) -> None:
        """Listen on the user's own channel, then send the user's rooms."""
        try:
            await self.services.hub.join(user_channel(self.username), self.outbox)
        except Exception:
            logger.warning("subscribing to the user channel of %s failed", self.username, exc_info=True)
        await room_commands.list_rooms(self, None)

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

    # ------------------------------------------------------------ access
    def _require_joined(self, room: str, ref: str, client_id: str | None = None) -> None:
        if room not in self.rooms:
            raise ProtocolError("not_joined", "join the room first", ref=ref, room=room, client_id=client_id)

    # ------------------------------------------------------------ rooms
    async def join(self, cmd: Join) -> None:
        """Join a room: joined + presence snapshot, then catch-up pages when `after` is given."""
        room, first = cmd.room, cmd.room not in self.rooms
        if first and len(self.rooms) >= self.services.limits.max_rooms_per_socket:
            raise ProtocolError("too_many_rooms", "leave a room first", ref="join", room=room)
        grant = await self.authorize(room, Action.JOIN, "join", fresh=first)
        if grant.membership is None:
            grant = await room_commands.become_member(self, grant)
        hub = self.services.hub
        if first:
            # Subscribe before reading last_seq so nothing stored after it can be missed. While Redis is
            # down the hub subscribes later and then resyncs the socket (degraded, docs/protocol.md).
            await hub.join(room, self.outbox)
        try:
            last_seq, last_change_seq = await self.services.store.aheads(room)
        except StoreUnavailable as e:
            if first:
                await hub.leave(room, self.outbox)
            raise ProtocolError("store_unavailable", "history is unavailable, retry", ref="join", room=room) from e
        self.rooms.add(room)
        await self.emit({
            "type": "joined", "room": room, "last_seq": last_seq, "last_change_seq": last_change_seq,
            "name": grant.room.name, "kind": grant.room.kind,
            "topic": grant.room.topic, "role": grant.role,
            "last_read_seq": grant.membership.last_read_seq if grant.membership else 0,
        })
        await self._enter_presence(room, first)
        if cmd.after is not None:
            await catchup.send_messages(self, room, cmd.after, "join")
        if cmd.after_change is not None:
            await catchup.send_changes(self, room, cmd.after_change, "join")

    async def _enter_presence(self, room: str, first: bool) -> None:
        presence = self.services.presence
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
            await self.publish(room, presence_frame(room, users, "join", self.username), skip=self.username)

    async def leave(self, cmd: Leave) -> None:
        """Stop receiving a room on this socket (the membership stays)."""
        self._require_joined(cmd.room, "leave")
        await self._leave(cmd.room)
        await self.emit({"type": "left", "room": cmd.room})

    async def _leave(self, room: str, *, detached: bool = False) -> None:
        self.rooms.discard(room)
        if not detached:
            await self.services.hub.leave(room, self.outbox)
        try:
            users, gone = await self.services.presence.leave(room, self.username, self.conn_id)
        except Exception:
            logger.warning("presence unavailable for %s", room, exc_info=True)
            return
        if gone:
            await self.publish(room, presence_frame(room, users, "leave", self.username), skip=self.username)

    async def close(self) -> None:
        """Leave every room and the user channel (the socket closed)."""
        for room in list(self.rooms):
            try:
                await self._leave(room)
            except Exception:
                logger.warning("leaving %s on close failed", room, exc_info=True)
        try:
            await self.services.hub.leave(user_channel(self.username), self.outbox)
        except Exception:
            logger.warning("leaving the user channel failed", exc_info=True)

    # ------------------------------------------------------------ revocation (chat.revocation)
    def on_control(self, control: dict) -> None:
        """A control event from the hub; runs synchronously so no later frame of a revoked room gets out."""
        room = control.get("revoke")
        if isinstance(room, str):
            self.services.access.forget(user=self.username, room=room)
            if room in self.rooms:
                self.rooms.discard(room)
                self.services.hub.detach(room, self.outbox)  # before any other event is dispatched
                self._spawn(self._leave(room, detached=True))
        close = control.get("close")
        if close is not None and control.get("session") in (None, self.session_key):
            self.services.access.forget(user=self.username)
            for room in list(self.rooms):
                self.services.hub.detach(room, self.outbox)
            if self.on_revoked is not None:
                self.on_revoked(str(close))

    async def resync(self) -> None:
        """Events may have been lost (the channel layer was down): send the heads of the joined rooms.

        The client catches up whatever it lacks below a head. Each room is authorized afresh, since a
        revocation published while Redis was down was lost too: a room the user lost is dropped here.
        """
        heads: dict[str, dict] = {}
        for room in list(self.rooms):
            try:
                await self.authorize(room, Action.READ, "heads", fresh=True)
                heads[room] = await self.services.heads.read(room)
            except StoreUnavailable:
                logger.warning("heads of %s unavailable", room)  # its next message shows the gap
            except ProtocolError as e:
                if e.code != "forbidden":
                    logger.warning("heads of %s: %s", room, e.code)
                elif room in self.rooms:
                    self.on_control({"revoke": room})
                    await self.emit({"type": "removed", "room": room, "reason": "revoked"})
        if heads:
            await self.emit({"type": "heads", "rooms": heads})

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ messages
    async def send(self, cmd: Send) -> None:
        """Store, then ack, then broadcast; a store failure broadcasts nothing."""
        self._require_joined(cmd.room, "send", cmd.client_id)
        grant = await self.authorize(cmd.room, Action.WRITE, "send", client_id=cmd.client_id)
        wait = self.services.send_buckets.take(self.username)
        if wait:
            raise ProtocolError("rate_limited", "slow down", ref="send", room=cmd.room, client_id=cmd.client_id,
                                retry_after=retry_after(wait))
        mentions = await message_changes.mentions_of(self, grant, cmd.body, cmd.client_id)  # nothing to do without "@"
        result = await store_message(self, cmd.room, cmd.body, cmd.client_id, reply_to=cmd.reply_to, mentions=mentions)
        await self.emit(ack_frame(result.message))
        await broadcast_message(self, grant, result, mentions)

    async def history(self, cmd: History) -> None:
        """One page of older messages (the newest page when `before` is absent)."""
        self._require_joined(cmd.room, "history")
        page = await read_page(self, cmd.room, cmd.limit, before=cmd.before, around=cmd.around)
        frame, _ = page_frame("history", cmd.room, page.messages, page.has_more, keep="newest")
        if cmd.around is not None:
            frame["around"], frame["has_newer"] = cmd.around, page.has_newer
        await self.emit(frame)

    async def catchup(self, cmd: Catchup) -> None:
        """Everything after `after`, then every change after `after_change`, in pages (chat.catchup)."""
        self._require_joined(cmd.room, "catchup")
        if cmd.after is not None:
            await catchup.send_messages(self, cmd.room, cmd.after, "catchup")
        if cmd.after_change is not None:
            await catchup.send_changes(self, cmd.room, cmd.after_change, "catchup")

    async def read(self, cmd: Read) -> None:
        """Move the user's read marker forward; echoed to every socket of the user, stored within a second."""
        await mark_read(self, cmd.room, cmd.seq)

    # ------------------------------------------------------------ ephemera
    async def typing(self, cmd: Typing) -> None:
        """Tell the other members that this user types (throttled, dropped silently)."""
        self._require_joined(cmd.room, "typing")
        await self.authorize(cmd.room, Action.WRITE, "typing")
        if self.services.typing.allow(self.username, cmd.room):
            await self.publish(cmd.room, {"type": "typing", "room": cmd.room, "user": self.username},
                               skip=self.username)

    async def ping(self, cmd: Ping) -> None:
        """Answer pong with the same id."""
        await self.emit({"type": "pong", "id": cmd.id})

    _HANDLERS: dict = {
        Join: join,
        Leave: leave,
        Send: send,
        History: history,
        Catchup: catchup,
        Typing: typing,
        Ping: ping,
        Read: read,
        **room_commands.HANDLERS,
        **message_changes.HANDLERS,
        **search_commands.HANDLERS,
    }
