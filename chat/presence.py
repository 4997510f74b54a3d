"""Presence and per-user connection counts across processes, in Redis, healed by expiry.

Each room has a sorted set of "username|connection-id" scored by expiry time (epoch seconds);
each user has one of connection ids. A per-process heartbeat refreshes the entries of its own
connections every TTL/3 and trims expired ones; when it trims entries of a room it has members
in (a process died), it publishes a `presence` snapshot so every client heals within ~TTL.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable

from django.conf import settings
from redis import asyncio as aioredis

from . import fanout

logger = logging.getLogger(__name__)

KEY_PREFIX = "chat:presence:"
CONN_PREFIX = "chat:conns:"


def redis_url() -> str:
    """The Redis of the channel layer (presence lives next to the fan-out it heals)."""
    layers: dict[str, dict] = settings.CHANNEL_LAYERS
    hosts = layers.get("default", {}).get("CONFIG", {}).get("hosts") or []
    if hosts and isinstance(hosts[0], str):
        return hosts[0]
    if hosts and isinstance(hosts[0], dict) and "address" in hosts[0]:
        return hosts[0]["address"]
    return settings.REDIS_URL


def users_of(entries) -> list[str]:
    """Sorted distinct usernames of "username|connection-id" entries."""
    names = set()
    for entry in entries:
        text = entry.decode() if isinstance(entry, bytes) else entry
        names.add(text.rpartition("|")[0])
    return sorted(names)


class Presence:
    """Presence of this event loop's connections; start() runs the heartbeat."""

    def __init__(self, url: str, ttl: float):
        self.redis = aioredis.from_url(url)
        self.ttl = float(ttl)
        self.local: dict[str, dict[str, str]] = {}  # room -> {connection id: username}
        self.connections: dict[str, str] = {}  # connection id -> username
        # Sockets accepted while Redis was down: counted (or refused) by the first heartbeat that reaches it.
        self.uncounted: dict[str, tuple[str, int, Callable[[], None]]] = {}
        self._task: asyncio.Task | None = None

    # ------------------------------------------------------------ connections
    async def register_connection(self, username: str, conn_id: str, cap: int) -> bool:
        """Count a new socket of `username`; False (and nothing kept) when it would exceed `cap`."""
        key, now = CONN_PREFIX + username, time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {conn_id: now + self.ttl})
            pipe.zcard(key)
            pipe.expire(key, int(self.ttl * 2) + 1)
            _, _, count, _ = await pipe.execute()
        if count > cap:
            await self.redis.zrem(key, conn_id)
            return False
        self.connections[conn_id] = username
        self._ensure_heartbeat()
        return True

    def count_later(self, username: str, conn_id: str, cap: int, over_cap: Callable[[], None]) -> None:
        """A socket accepted while Redis was down: the heartbeat counts it once Redis answers, and calls
        `over_cap` (the consumer closes it with 4029) when the user turns out to have too many."""
        self.uncounted[conn_id] = (username, cap, over_cap)
        self._ensure_heartbeat()

    async def count_uncounted(self) -> None:
        """Count the sockets accepted while Redis was down (raises while it still is)."""
        for conn_id, (username, cap, over_cap) in list(self.uncounted.items()):
            if not await self.register_connection(username, conn_id, cap):
                logger.info("%s had too many connections while Redis was down; closing one", username)
                over_cap()
            self.uncounted.pop(conn_id, None)

    async def unregister_connection(self, username: str, conn_id: str) -> None:
        """Forget a closed socket."""
        self.connections.pop(conn_id, None)
        self.uncounted.pop(conn_id, None)
        await self.redis.zrem(CONN_PREFIX + username, conn_id)

    # ------------------------------------------------------------ rooms
    async def enter(self, room: str, username: str, conn_id: str) -> tuple[list[str], bool]:
        """Mark the connection present; return (users present, whether `username` just arrived)."""
        key, now, entry = KEY_PREFIX + room, time.time(), f"{username}|{conn_id}"
        self.local.setdefault(room, {})[conn_id] = username
        self._ensure_heartbeat()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrangebyscore(key, now, "+inf")
            pipe.zadd(key, {entry: now + self.ttl})
            pipe.expire(key, int(self.ttl * 2) + 1)
            before, _, _ = await pipe.execute()
        others = users_of(e for e in before if (e.decode() if isinstance(e, bytes) else e) != entry)
        users = sorted(set(others) | {username})
        return users, username not in others

    async def leave(self, room: str, username: str, conn_id: str) -> tuple[list[str], bool]:
        """Remove the connection; return (users present, whether `username` is now gone)."""
        key, now = KEY_PREFIX + room, time.time()
        members = self.local.get(room)
        if members is not None:
            members.pop(conn_id, None)
            if not members:
                del self.local[room]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, f"{username}|{conn_id}")
            pipe.zrangebyscore(key, now, "+inf")
            _, remaining = await pipe.execute()
        users = users_of(remaining)
        return users, username not in users

    async def users(self, room: str) -> list[str]:
        """Users present in `room` (expired entries ignored)."""
        return users_of(await self.redis.zrangebyscore(KEY_PREFIX + room, time.time(), "+inf"))

    # ------------------------------------------------------------ heartbeat
    def _ensure_heartbeat(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("presence heartbeat failed", exc_info=True)

    async def refresh(self) -> None:
        """Extend this process's entries, trim expired ones, publish a snapshot where some expired."""
        if self.uncounted:
            await self.count_uncounted()
        now = time.time()
        expiry = now + self.ttl
        rooms = [(room, dict(members)) for room, members in self.local.items()]
        conns = list(self.connections.items())
        async with self.redis.pipeline(transaction=False) as pipe:
            for conn_id, username in conns:
                pipe.zadd(CONN_PREFIX + username, {conn_id: expiry})
                pipe.expire(CONN_PREFIX + username, int(self.ttl * 2) + 1)
            for room, members in rooms:
                key = KEY_PREFIX + room
                pipe.zremrangebyscore(key, "-inf", now)
                if members:
                    pipe.zadd(key, {f"{u}|{c}": expiry for c, u in members.items()})
                    pipe.expire(key, int(self.ttl * 2) + 1)
            results = await pipe.execute()
        # Walk the results in the order queued to find each room's trim count.
        index = 2 * len(conns)
        for room, members in rooms:
            trimmed = results[index]
            index += 3 if members else 1
            if trimmed:
                users = await self.users(room)
                await fanout.publish(room, {"type": "presence", "room": room, "event": "snapshot",
                                            "user": None, "users": users})

    async def aclose(self) -> None:
        """Stop the heartbeat and close the Redis client."""
        if self._task is not None:
            self._task.cancel()
        await self.redis.aclose()


_trackers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_presence() -> Presence:
    """The Presence tracker of the running event loop."""
    loop = asyncio.get_running_loop()
    tracker = _trackers.get(loop)
    if tracker is None:
        tracker = _trackers[loop] = Presence(redis_url(), settings.CHAT["PRESENCE_TTL_SECONDS"])
    return tracker
