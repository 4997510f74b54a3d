"""The collaborators of a ChatSession, built once per event loop and passed in.

A session never fetches globals: the consumer hands it a ChatServices, and tests build one
with fakes (tests/chat/test_session_unit.py).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.auth import get_user_model

from ignite_store import get_store
from ignite_store.backends.base import BaseMessageStore

from . import fanout
from .access import Access
from .heads import RoomHeads
from .limits import ChatLimits
from .limits import current as current_limits
from .presence import get_presence
from .ratelimit import UserBuckets
from .readstate import ReadMarkers


class Publisher(Protocol):
    async def publish(self, room: str, frame: dict | str, *, skip: str | None = None) -> None: ...

    async def control(self, target: str, control: dict, *, text: dict | str | None = None) -> None: ...


class ChannelLayerPublisher:
    """Publishing through the channel layer (chat.fanout)."""

    async def publish(self, room: str, frame: dict | str, *, skip: str | None = None) -> None:
        await fanout.publish(room, frame, skip=skip)

    async def control(self, target: str, control: dict, *, text: dict | str | None = None) -> None:
        await fanout.publish_control(target, control, text=text)


class UserDirectory:
    """Which usernames exist and are active (the Django auth database)."""

    async def active(self, username: str) -> bool:
        return await get_user_model().objects.filter(username=username, is_active=True).aexists()


class TypingThrottle:
    """True at most once per interval per user and room (per process)."""

    def __init__(self, interval: float, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def allow(self, username: str, room: str) -> bool:
        now, key = self.clock(), (username, room)
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = now
        return True


@dataclass
class ChatServices:
    """Everything a session talks to."""

    store: BaseMessageStore
    hub: Any  # fanout.RoomHub: join/leave of local outboxes
    presence: Any  # presence.Presence
    publisher: Publisher
    access: Access
    reads: ReadMarkers
    users: Any  # UserDirectory
    limits: ChatLimits
    send_buckets: UserBuckets = field(init=False)
    typing: TypingThrottle = field(init=False)
    heads: RoomHeads = field(init=False)

    def __post_init__(self) -> None:
        self.heads = RoomHeads(self.store)
        self.send_buckets = UserBuckets(self.limits.send_rate_per_second, self.limits.send_burst)
        self.typing = TypingThrottle(self.limits.typing_min_interval_seconds)


_services: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ChatServices] = weakref.WeakKeyDictionary()


def get_services() -> ChatServices:
    """The services of the running event loop (one set per Daphne process), built on first use."""
    loop = asyncio.get_running_loop()
    services = _services.get(loop)
    if services is None:
        limits = current_limits()
        store = get_store()
        hub = fanout.get_hub()
        access = Access(store, limits.grant_ttl_seconds, trusted_ttl=limits.grant_trusted_ttl_seconds,
                        listening=hub.listening)
        hub.on_loss.append(access.forget)  # a revocation may have been lost with the events
        services = _services[loop] = ChatServices(
            store=store, hub=hub, presence=get_presence(), publisher=ChannelLayerPublisher(),
            access=access, reads=ReadMarkers(store, limits.read_flush_seconds), users=UserDirectory(), limits=limits,
        )
    return services


def reset_services() -> None:
    """Forget every loop's services (tests that change settings.CHAT)."""
    _services.clear()
