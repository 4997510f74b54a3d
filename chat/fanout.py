"""Process-local fan-out: events bundled per Redis message, frames written to local sockets.

An event (a room's frame, already encoded, and/or a control) is published through the process's
RoomHub: the events published while the previous Redis message is on its way travel together in
the next one, one `group_send` to the shard group of their rooms (CHAT["FANOUT_SHARDS"], 1 by
default: one group that every process with local members subscribes). The process that receives
a bundle writes each event's text into each local member's outbox. There is no per-member
channel-layer hop, and under load no per-event one either (docs/performance.md). The channel
layer is only a doorbell, at most once: clients fill gaps by seq.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
import zlib
from collections.abc import Awaitable, Callable
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from ignite_store import Message

from .limits import current as current_limits
from .protocol import encode
from .protocol_changes import update_frame

logger = logging.getLogger(__name__)

EVENT_TYPE = "chat.event"


def group_name(room: str, shards: int = 1) -> str:
    """The channel-layer group whose subscribers get the events of `room` (or of a user channel)."""
    if shards <= 1:
        return "chat.all"
    return f"chat.s{zlib.crc32(room.encode()) % shards}"


# ---------------------------------------------------------------- outbox

class DirectWriter(Protocol):
    """A socket that takes a frame synchronously (chat.daphne_internals.DirectSocket under chatsite.daphne_main)."""

    def write_now(self, text: str) -> bool:
        """Write one frame; False when the client has too much unread, and drained() must be awaited."""

    async def drained(self) -> None:
        """Wait until the client has read enough to take more."""


_DRAIN = object()  # queued after a direct write that left the client with too much unread


class Outbox:
    """A socket's bounded queue of outgoing text frames, written by one writer task.

    Room events use `deliver()`, which never waits: a full outbox means the client does not
    read fast enough, so `on_overflow` is called once (the consumer closes with 4008) and the
    other members are not held up. The socket's own answers use `put()`, which waits for room,
    so a long catch-up is paced by the client instead of filling memory.

    With a `direct` writer, a frame is written at once while nothing waits before it (no task
    switch per frame and recipient); the queue and the writer task take over only while the
    client has more than the high-water mark unread, so order and limits stay as above.
    """

    def __init__(
        self,
        write: Callable[[str], Awaitable[None]],
        on_overflow: Callable[[], None],
        maxsize: int,
        username: str = "",
        on_write_error: Callable[[], None] | None = None,
        direct: DirectWriter | None = None,
    ):
        self.username = username
        # Called with the control events of the rooms and user channel this socket is in
        # (revocations, closes; chat.revocation): set by the socket's ChatSession.
        self.on_control: Callable[[dict], None] | None = None
        # Called after the channel layer lost events (RoomHub.resync): set by the socket's ChatSession.
        self.on_resync: Callable[[], Awaitable[None]] | None = None
        self._on_write_error = on_write_error
        self.closed = False
        self._write = write
        self._direct = direct
        # True while frames may be written at once: a direct writer and a client keeping up. A frame
        # still queued (a put() woken when the queue had room) goes first: check qsize() too.
        self._ready = direct is not None
        self._on_overflow = on_overflow
        self._queue: asyncio.Queue = asyncio.Queue(maxsize)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def deliver(self, text: str) -> None:
        """Queue a room event without waiting; overflow marks the socket as a slow consumer."""
        if self.closed:
            return
        if self._ready and not self._queue.qsize():
            self._write_now(text)
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.info("slow consumer %s: outbox full, closing", self.username)
            self._shutdown()
            self._on_overflow()

    async def put(self, text: str) -> None:
        """Queue one of the socket's own answers, waiting while the outbox is full."""
        if self.closed:
            return
        if self._ready and not self._queue.qsize():
            self._write_now(text)
        else:
            await self._queue.put(text)

    def _write_now(self, text: str) -> None:
        try:
            keeping_up = self._direct.write_now(text)  # type: ignore[union-attr]  # only called once _ready: set
        except Exception:
            self._write_failed()
            return
        if not keeping_up:
            self._ready = False
            self._queue.put_nowait(_DRAIN)  # the queue is empty while ready: this always fits

    async def _run(self) -> None:
        direct = self._direct
        while True:
            item = await self._queue.get()
            try:
                if direct is None:
                    await self._write(item)
                    continue
                if item is _DRAIN or not direct.write_now(item):
                    await direct.drained()
                if self._queue.empty() and not self.closed:
                    self._ready = True
            except Exception:
                self._write_failed()
                return

    def _write_failed(self) -> None:
        logger.warning("write to %s failed; closing the socket", self.username, exc_info=True)
        self._shutdown()
        if self._on_write_error is not None:
            self._on_write_error()

    def _shutdown(self) -> None:
        self.closed = True
        self._ready = False
        # Empty the queue so an answer waiting in put() is released and memory is freed.
        while not self._queue.empty():
            self._queue.get_nowait()

    async def aclose(self) -> None:
        """Stop the writer, dropping what was not written."""
        self._shutdown()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


# ---------------------------------------------------------------- room hub

PROBE_SECONDS = 0.25  # how often each process checks that its own subscription still hears Redis
PROBE_LATE = 1.0  # a probe not heard this long means the subscription is deaf (no event is passed on until resync)
HOLD_MAX = 10_000  # events held while the sockets resync; beyond it they are dropped and a resync follows
# Events wait for the resyncs at most this long (under load, or with Ignite down, live delivery must go on).
RESYNC_HOLD_SECONDS = 2.0


class RoomHub:
    """Local members per room for one event loop, fed by the channel-layer groups of their rooms.

    `publish()` bundles: one Redis message is in flight at a time, and the events published
    meanwhile leave together in the next (one per shard group), so under load a process sends and
    receives one Redis message per bundle instead of one per event, and order is kept.

    Redis pub/sub is at most once, and channels-redis reconnects its subscription silently (its
    `on_reconnect` option is never called in 4.x). So the hub probes its own channel: every
    PROBE_SECONDS it sends itself a numbered probe. A probe that could not be sent or did not come
    back means events may have been lost; when the next probe comes back, every local socket's
    `on_resync` runs (the session re-authorizes its rooms and sends their heads; clients catch up).
    From the loss until those resyncs are done (at most RESYNC_HOLD_SECONDS), incoming events are
    held back, so that no live frame of a room whose revocation was lost with Redis reaches a socket
    before its resync drops the room. A room joined while Redis is down is accepted, and subscribed
    once Redis answers again.
    """

    def __init__(self, layer, probe_seconds: float = PROBE_SECONDS, shards: int = 1):
        self.layer = layer
        self.shards = shards
        self.rooms: dict[str, set[Outbox]] = {}
        self.channel: str | None = None
        self.probe_seconds = probe_seconds
        self.resyncs = 0  # how many times the sockets were told to resync (tests, logs)
        # Called (no arguments) when the hub notices that events may have been lost (chat.access forgets its grants).
        self.on_loss: list[Callable[[], None]] = []
        self._unsubscribed: set[str] = set()  # groups with local rooms whose group_add has not succeeded
        self._group_rooms: dict[str, int] = {}  # group -> how many local rooms it carries
        self._lock = asyncio.Lock()
        self._bundle: _Bundle | None = None  # the events waiting for the next Redis message
        self._sending = asyncio.Lock()  # one Redis message in flight
        self._senders: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks
        self._receiver: asyncio.Task | None = None
        self._prober: asyncio.Task | None = None
        self._probe_sent = 0
        self._probe_heard = 0
        self._unheard_since: float | None = None  # when the oldest probe not heard yet was sent
        self._lost = False  # a probe was lost since the last resync
        self._held: list[dict] | None = None  # events received since a loss, until the resync is done
        self._held_overflow = False

    async def join(self, room: str, member: Outbox) -> None:
        """Add a local member; the first member of a room subscribes the process to its group.

        Never fails for Redis: while it is unreachable the room is subscribed later (degraded).
        """
        async with self._lock:
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                group = group_name(room, self.shards)
                self._group_rooms[group] = self._group_rooms.get(group, 0) + 1
                if self._group_rooms[group] == 1:
                    self._unsubscribed.add(group)
            members.add(member)
            if self._unsubscribed:
                try:
                    await self._subscribe_pending()
                except Exception:
                    logger.warning("live updates of %s wait for Redis", room, exc_info=True)
                    self._mark_lost()  # resync once subscribed
            self._ensure_prober()

    async def _subscribe_pending(self) -> None:
        """Subscribe the groups whose group_add has not succeeded yet (called under the lock)."""
        if self.channel is None:
            self.channel = await self.layer.new_channel(prefix="chat.hub.")
            self._receiver = asyncio.get_running_loop().create_task(self._receive_loop())
        for group in list(self._unsubscribed):
            if self._group_rooms.get(group):
                await self.layer.group_add(group, self.channel)
            self._unsubscribed.discard(group)

    async def leave(self, room: str, member: Outbox) -> None:
        """Remove a local member; the last one out unsubscribes the process."""
        async with self._lock:
            members = self.rooms.get(room)
            if members is None or member not in members:
                return
            members.discard(member)
            if not members:
                await self._drop(room)

    async def _drop(self, room: str) -> None:
        del self.rooms[room]
        group = group_name(room, self.shards)
        self._group_rooms[group] -= 1
        if self._group_rooms[group]:
            return  # other local rooms still need the group
        del self._group_rooms[group]
        if group in self._unsubscribed:
            self._unsubscribed.discard(group)
            return
        try:
            await self.layer.group_discard(group, self.channel)
        except Exception:
            logger.warning("could not unsubscribe from %s", group, exc_info=True)

    def detach(self, room: str, member: Outbox) -> None:
        """Remove a local member at once (a revocation: not one more frame); unsubscribe in the background."""
        members = self.rooms.get(room)
        if members is None or member not in members:
            return
        members.discard(member)
        if not members:  # the empty set keeps the subscription until the task below drops it
            asyncio.get_running_loop().create_task(self._unsubscribe_if_empty(room))

    async def _unsubscribe_if_empty(self, room: str) -> None:
        async with self._lock:
            if self.rooms.get(room) == set():  # nobody joined since
                await self._drop(room)

    def local_rooms(self) -> list[str]:
        """Rooms that have at least one member in this process."""
        return list(self.rooms)

    def dispatch(self, room: str, text: str, skip: str | None = None) -> None:
        """Write one encoded event to every local member of `room` (except user `skip`)."""
        for member in list(self.rooms.get(room, ())):
            if skip is None or member.username != skip:
                member.deliver(text)

    def dispatch_control(self, room: str, control: dict) -> None:
        """Hand a control event to every local member of `room` (a room, or a user's channel)."""
        self._control(self.rooms.get(room, ()), control)

    def _control(self, members, control: dict) -> None:
        for member in list(members):
            if member.on_control is not None:
                try:
                    member.on_control(control)
                except Exception:
                    logger.exception("control event %r failed", control)

    # ------------------------------------------------------------ subscription health
    def _ensure_prober(self) -> None:
        if self._prober is None or self._prober.done():
            self._prober = asyncio.get_running_loop().create_task(self._probe_loop())

    async def _probe_loop(self) -> None:
        while self.rooms:
            await asyncio.sleep(self.probe_seconds)
            try:
                await self.probe()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("subscription probe failed")

    async def probe(self) -> None:
        """One health check: subscribe what waits, note a probe that never came back, send the next."""
        if self._unsubscribed:
            try:
                async with self._lock:
                    await self._subscribe_pending()
            except Exception:
                self._mark_lost()
                return
        if self.channel is None:
            return
        now = time.monotonic()
        if self._unheard_since is not None and now - self._unheard_since > PROBE_LATE:
            self._mark_lost()  # a probe sent that long ago never came back
        self._probe_sent += 1
        if self._unheard_since is None:
            self._unheard_since = now
        try:
            await asyncio.wait_for(self.layer.send(self.channel, {"type": EVENT_TYPE, "probe": self._probe_sent}),
                                   max(1.0, 4 * self.probe_seconds))
        except Exception:  # TimeoutError included
            self._mark_lost()

    def listening(self) -> bool:
        """True while no event can have been lost: subscribed, the last probe heard in time, no resync pending."""
        if self._lost or self._held is not None or self._unsubscribed or self.channel is None:
            return False
        return self._unheard_since is None or time.monotonic() - self._unheard_since <= PROBE_LATE

    def _mark_lost(self) -> None:
        first = not self._lost
        self._lost = True
        if self._held is None:
            self._held = []
        if first:
            for listener in self.on_loss:
                try:
                    listener()
                except Exception:
                    logger.exception("loss listener %r failed", listener)

    def _heard(self, number: int) -> None:
        if number < self._probe_heard:
            return
        if number > self._probe_heard + 1 and self._probe_heard:
            self._mark_lost()  # probes in between were lost on the way
        self._probe_heard = number
        self._unheard_since = None if number >= self._probe_sent else time.monotonic()
        if self._lost and not self._unsubscribed:
            self._lost = False
            asyncio.get_running_loop().create_task(self.resync())

    async def resync(self) -> None:
        """Run every local socket's on_resync (each socket once), then release the events held meanwhile."""
        self.resyncs += 1
        everyone = {member for members in self.rooms.values() for member in members}
        logger.info("channel layer subscription is back: %d socket(s) resync", len(everyone))
        hooks = asyncio.gather(*(member.on_resync() for member in everyone if member.on_resync is not None),
                               return_exceptions=True)
        try:
            await asyncio.wait_for(asyncio.shield(hooks), RESYNC_HOLD_SECONDS)
        except TimeoutError:  # the resyncs go on; live events flow again meanwhile
            logger.warning("resync of %d socket(s) takes over %.0f s", len(everyone), RESYNC_HOLD_SECONDS)
        if self._lost:  # lost again meanwhile: the next resync releases
            return
        held, self._held = self._held or [], None
        for event in held:
            self._dispatch_event(event)
        if self._held_overflow:
            self._held_overflow = False
            await self.resync()  # events were dropped: their rooms' heads again

    async def _receive_loop(self) -> None:
        # Never cancelled while the loop runs: cancelling receive() unsubscribes the channel.
        while True:
            try:
                message = await self.layer.receive(self.channel)
                probe = message.get("probe")
                if probe is not None:
                    self._heard(probe)
                    continue
                for event in message.get("events", ()):
                    if self._held is None:
                        self._dispatch_event(event)
                    elif len(self._held) < HOLD_MAX:
                        self._held.append(event)
                    else:
                        self._held_overflow = True
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("room hub receive failed")
                await asyncio.sleep(0.5)

    # ------------------------------------------------------------ publishing
    async def publish(self, event: dict) -> None:
        """Send one event to every process with members of event["room"]; returns once it left for Redis.

        Raises what the channel layer raised for the Redis message that carried it."""
        bundle = self._bundle
        if bundle is None:
            bundle = self._bundle = _Bundle(asyncio.get_running_loop().create_future())
            # The first event of a bundle sends it, once the message before it has left; a cancelled
            # publisher must not strand the others, hence the shield.
            sender = asyncio.get_running_loop().create_task(self._send_when_ready(bundle))
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        bundle.events.append(event)
        await asyncio.shield(bundle.sent)

    async def _send_when_ready(self, bundle: _Bundle) -> None:
        async with self._sending:
            if self._bundle is bundle:
                self._bundle = None  # events published from now on wait for the next message
            try:
                by_group: dict[str, list[dict]] = {}
                for event in bundle.events:
                    by_group.setdefault(group_name(event["room"], self.shards), []).append(event)
                for group, events in by_group.items():
                    await self.layer.group_send(group, {"type": EVENT_TYPE, "events": events})
            except Exception as e:
                bundle.sent.set_exception(e)
                bundle.sent.exception()  # retrieved here: a bundle nobody awaits any more logs nothing
            else:
                bundle.sent.set_result(None)

    def _dispatch_event(self, event: dict) -> None:
        room, text, control = event.get("room"), event.get("text"), event.get("control")
        # The text first: a revocation's own `removed` frame must reach the sockets it detaches.
        if isinstance(room, str) and isinstance(text, str):
            self.dispatch(room, text, event.get("skip"))
        if isinstance(room, str) and isinstance(control, dict):
            self.dispatch_control(room, control)


class _Bundle:
    """Events that leave for Redis together, and the future their publishers wait on."""

    __slots__ = ("events", "sent")

    def __init__(self, sent: asyncio.Future):
        self.events: list[dict] = []
        self.sent = sent


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> RoomHub:
    """The RoomHub of the running event loop (one per Daphne process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = RoomHub(get_channel_layer(), shards=current_limits().fanout_shards)
    return hub


# ---------------------------------------------------------------- publishing

async def publish(room: str, frame: dict | str, *, skip: str | None = None) -> None:
    """Send one event to every process with members in `room`; the frame is encoded once here."""
    text = frame if isinstance(frame, str) else encode(frame)
    event = {"room": room, "text": text}
    if skip is not None:
        event["skip"] = skip
    await get_hub().publish(event)


def user_channel(username: str) -> str:
    """The hub key of a user's own channel: every socket of the user, in every process, is in it."""
    return "@" + username  # room ids never start with "@"


async def publish_control(target: str, control: dict, *, text: dict | str | None = None) -> None:
    """Send a control event (and optionally a frame) to the local members of `target` in every process."""
    event: dict = {"room": target, "control": control}
    if text is not None:
        event["text"] = text if isinstance(text, str) else encode(text)
    await get_hub().publish(event)


async def apublish_moderated(message: Message, by: str) -> None:
    """Tell the room's members that staff deleted a message: an `update` of kind "moderate" (after store.adelete)."""
    await publish(message.room, update_frame(message, "moderate", by))


def publish_moderated(message: Message, by: str) -> None:
    """Sync twin of apublish_moderated, for admin views and commands (after store.delete)."""
    async_to_sync(apublish_moderated)(message, by)
