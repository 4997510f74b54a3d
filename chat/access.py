"""Who may do what in a room: the one authorization function every path calls.

`Access.authorize(user, room, action)` answers with a Grant or raises Forbidden. Forbidden is
the same for a room that does not exist, an archived room and a room the user may not see, so
the answer reveals nothing. Grants are cached per process to keep a membership read off every frame;
revocations forget them at once (chat.revocation). While the process's channel-layer subscription
hears every event, a revocation cannot be missed, so a grant is trusted for GRANT_TRUSTED_TTL_SECONDS
(30 s); otherwise, and from the moment a loss is noticed, for GRANT_TTL_SECONDS (2 s).

Rules (docs/protocol.md, "Rooms"):
- READ (history, catch-up, presence, members) and JOIN (subscribe a socket): a member; a public
  room also to anyone (joining a public room makes the user a member).
- WRITE (send, typing, read markers): a member.
- INVITE: a member of a public room; an owner or admin of a private room; nobody in a DM.
- MANAGE (remove others, archive, rename): an owner or admin; nobody in a DM.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ignite_store import Membership, Room
from ignite_store.backends.base import BaseMessageStore

logger = logging.getLogger(__name__)


class Action(Enum):
    READ = "read"
    JOIN = "join"
    WRITE = "write"
    INVITE = "invite"
    MANAGE = "manage"


class Forbidden(Exception):
    """The user may not do this in this room (or the room does not exist: the same answer)."""


@dataclass(frozen=True, slots=True)
class Grant:
    room: Room
    membership: Membership | None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None


def allowed(grant: Grant, action: Action) -> bool:
    """The rule table above, for a room that exists and is not archived."""
    kind, role = grant.room.kind, grant.role
    if action in (Action.READ, Action.JOIN):
        return role is not None or kind == "public"
    if action is Action.WRITE:
        return role is not None
    if action is Action.INVITE:
        return kind == "public" and role is not None or kind == "private" and role in ("owner", "admin")
    return kind != "direct" and role in ("owner", "admin")  # MANAGE


def permits(grant: Grant, action: Action) -> bool:
    """The decision of `Access.authorize` for a grant read from the store."""
    return not grant.room.archived and allowed(grant, action)


class Access:
    """The authorization function of one process, with its short-lived grant cache.

    A grant is fresh for TTL x (0.5..1.0) (the jitter spreads the re-reads of grants made
    together, e.g. at a reconnect wave); for one more `ttl` it is still served while it is read
    again in the background, so a busy sender never waits for that read. Revocations are pushed
    (chat.revocation) and forget grants at once. The TTL is `trusted_ttl` while `listening()` says
    that no pushed event can have been lost (chat.fanout.RoomHub.listening), else `ttl`; the hub
    calls `forget()` the moment it notices a loss, so a lost revocation is served for at most the
    time the hub takes to notice (about 1 s), then for `ttl` per read until the hub hears again.
    """

    def __init__(self, store: BaseMessageStore, ttl: float, clock=time.monotonic, *,
                 trusted_ttl: float | None = None, listening: Callable[[], bool] = lambda: False):
        self.store = store
        self.ttl = ttl
        self.trusted_ttl = trusted_ttl if trusted_ttl is not None else ttl
        self.listening = listening
        self.clock = clock
        self._grants: dict[tuple[str, str], tuple[float, Grant]] = {}
        self._refreshing: set[tuple[str, str]] = set()
        self._generation = 0  # moves on every forget(): a read that began before it is not cached

    async def authorize(self, user: str, room: str, action: Action, *, fresh: bool = False) -> Grant:
        """The user's grant for `action` in `room`, or Forbidden. `fresh` skips the cache."""
        grant = await self._grant(user, room, fresh=fresh or action in (Action.INVITE, Action.MANAGE))
        if grant is None or not permits(grant, action):
            raise Forbidden(room)
        return grant

    async def authorize_mine(self, user: str, action: Action) -> list[Grant]:
        """`authorize` for every room the user is a member of, read fresh in one go (search across rooms).

        One read of the user's memberships (with each room's settings) instead of one per room; the
        same rule decides, and a room the user left or was removed from is simply not among them.
        """
        grants = [Grant(my.room, my.membership) for my in await self.store.auser_rooms(user)]
        return [grant for grant in grants if permits(grant, action)]

    async def _grant(self, user: str, room: str, *, fresh: bool) -> Grant | None:
        key, now = (user, room), self.clock()
        cached = self._grants.get(key)
        if cached is not None and not fresh:
            fresh_until, grant = cached
            if now < fresh_until:
                return grant
            if now < fresh_until + self.ttl:
                if key not in self._refreshing:
                    self._refreshing.add(key)
                    asyncio.get_running_loop().create_task(self._refresh(key))
                return grant
        return await self._read(key)

    async def _refresh(self, key: tuple[str, str]) -> None:
        try:
            await self._read(key)
        except Exception:
            logger.info("re-reading the grant of %s in %s failed", *key, exc_info=True)
        finally:
            self._refreshing.discard(key)

    async def _read(self, key: tuple[str, str]) -> Grant | None:
        user, room = key
        generation = self._generation
        settings_row, membership = await self.store.aaccess(room, user)
        if settings_row is None:
            self._grants.pop(key, None)
            return None
        grant = Grant(settings_row, membership)
        if generation == self._generation:
            self._keep(key, grant)
        return grant

    def remember(self, user: str, grant: Grant) -> None:
        """Cache a grant this process just changed (a join, a new room), so the next frame skips a read."""
        self._keep((user, grant.room.id), grant)

    def _keep(self, key: tuple[str, str], grant: Grant) -> None:
        if len(self._grants) > 100_000:
            self._grants.clear()
        ttl = self.trusted_ttl if self.listening() else self.ttl
        self._grants[key] = (self.clock() + ttl * (0.5 + random.random() / 2), grant)

    def forget(self, *, user: str | None = None, room: str | None = None) -> None:
        """Drop cached grants of a user, of a room, of one user in one room, or (no argument) all of them."""
        self._generation += 1
        if user is not None and room is not None:
            self._grants.pop((user, room), None)
            return
        for key in [k for k in self._grants if (user is None or k[0] == user) and (room is None or k[1] == room)]:
            del self._grants[key]
