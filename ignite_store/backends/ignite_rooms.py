"""Rooms and memberships in Ignite: room settings, both sides of each membership, read markers.

Tables (ignite_schema.Schema.room_tables): ROOM_INFO keyed by room like the room's counter;
MEMBERS (ROOM, USERNAME) with room affinity; USER_ROOMS (USERNAME, ROOM) with user affinity,
holding the user's role and read marker. A membership is written to both sides in one
transaction, so the two never disagree. Writes go through the key-value API (SQL
DML is not transactional in Ignite 2.x); listings are SQL reads decoded by ignite_wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterable

from ..types import Membership, MembershipChange, MyRoom, Room
from .ignite_rooms_codec import (
    ROOM_COLUMNS,
    MemberKey,
    MemberValue,
    UserRoomKey,
    membership_from_value,
    room_from_row,
    room_from_user_value,
    room_from_value,
    room_value,
    user_room_value,
)
from .ignite_schema import Schema
from .ignite_session import IgniteSession

IN_CHUNK = 500  # rooms per IN (...) list
# Ignite allows 100 open transactions per thin-client connection (MaxActiveTxPerConnection), and
# appends share the connection: room transactions of one event loop wait beyond this many.
MAX_OPEN_TX = 16


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class IgniteRooms:
    """Room and membership operations, run through the store's session (pool, timeout, retry, errors)."""

    def __init__(self, session: IgniteSession, schema: Schema):
        self._session = session
        self._run = session.run
        self._sql = session.rows  # SQL rows decoded by the pyignite seam when it is on, by pyignite otherwise
        self.info_table, self.info_cache = schema.table("ROOM_INFO"), schema.cache("ROOM_INFO")
        self.members_table, self.members_cache = schema.table("MEMBERS"), schema.cache("MEMBERS")
        self.user_rooms_table, self.user_rooms_cache = schema.table("USER_ROOMS"), schema.cache("USER_ROOMS")
        self.counters_table = schema.rooms_table
        self.mentions_table = schema.mentions_table
        self._tx_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @contextlib.asynccontextmanager
    async def _tx(self, client):
        """A transaction (of the store's kind), at most MAX_OPEN_TX at a time per event loop."""
        loop = asyncio.get_running_loop()
        slots = self._tx_slots.get(loop)
        if slots is None:
            slots = self._tx_slots[loop] = asyncio.Semaphore(MAX_OPEN_TX)
        async with slots, self._session.tx(client) as tx:
            yield tx

    async def _caches(self, client):
        return (await client.get_cache(self.info_cache), await client.get_cache(self.members_cache),
                await client.get_cache(self.user_rooms_cache))

    # ---------------------------------------------------------------- rooms
    async def create(self, room: Room, members: dict[str, str]) -> tuple[Room, bool]:
        """Store a new room with its first members (user -> role); an existing id is returned unchanged."""

        async def operation(client):
            info, room_side, user_side = await self._caches(client)
            async with self._tx(client) as tx:
                existing = await info.get(room.id)
                if existing is not None:
                    await tx.commit()
                    return room_from_value(room.id, existing), False
                await info.put(room.id, room_value(room))
                for user in sorted(members):
                    membership = Membership(room.id, user, members[user], room.created_at)
                    await room_side.put(MemberKey(ROOM=room.id, USERNAME=user),
                                        MemberValue(ROLE=membership.role, JOINED_AT=membership.joined_at))
                    await user_side.put(UserRoomKey(USERNAME=user, ROOM=room.id),
                                        user_room_value(membership, room))
                await tx.commit()
            return room, True

        return await self._run(operation, retry=True)  # safe: an existing id is found and returned

    async def get(self, room_id: str) -> Room | None:
        async def operation(client):
            value = await (await client.get_cache(self.info_cache)).get(room_id)
            return None if value is None else room_from_value(room_id, value)

        return await self._run(operation, retry=True)

    async def update(self, room_id: str, changes: dict) -> Room | None:
        """Change name, topic or archived of a room; None when it does not exist."""

        async def operation(client):
            info = await client.get_cache(self.info_cache)
            async with self._tx(client) as tx:
                value = await info.get(room_id)
                if value is None:
                    return None
                room = room_from_value(room_id, value)
                fields = {**room.to_dict(), **changes}
                room = Room(**fields)
                await info.put(room_id, room_value(room))
                await tx.commit()
            return room

        room = await self._run(operation, retry=True)
        if room is not None:
            await self._copy_to_members(room)
        return room

    async def _copy_to_members(self, room: Room) -> None:
        """Copy changed settings into every member's user-side row, a chunk of members per transaction.

        Not one transaction with the settings: a room of 10,000 members would hold 10,000 locks. A
        failure part-way leaves some members' copies behind until the next update; authorization reads
        the member's copy (`access`), so an archive is applied to the copies before it is announced.
        """
        members = [m.user for m in await self.members(room.id, 1_000_000)]
        for chunk in _chunks(members, 200):
            async def operation(client, chunk=chunk):
                user_side = await client.get_cache(self.user_rooms_cache)
                async with self._tx(client) as tx:
                    for user in sorted(chunk):
                        key = UserRoomKey(USERNAME=user, ROOM=room.id)
                        value = await user_side.get(key)
                        if value is not None:
                            await user_side.put(key, user_room_value(membership_from_value(room.id, user, value), room))
                    await tx.commit()

            await self._run(operation, retry=True)

    async def listing(self, *, kind: str | None = None, search: str | None = None, include_archived: bool,
                      limit: int) -> list[tuple[Room, int, int | None]]:
        """Rooms with their last seq and last activity, filtered by kind and a name substring."""
        where, args = [], []
        if kind is not None:
            where.append("i.KIND = ?")
            args.append(kind)
        if not include_archived:
            where.append("(i.ARCHIVED IS NULL OR i.ARCHIVED = FALSE)")
        if search:
            where.append("LOCATE(?, LOWER(i.NAME)) > 0")
            args.append(search.lower())
        query = (
            f"SELECT {ROOM_COLUMNS}, c.LAST_SEQ, c.LAST_AT FROM {self.info_table} i "
            f"LEFT JOIN {self.counters_table} c ON c.ROOM = i.ROOM "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY i.NAME, i.ROOM LIMIT ?"
        )
        rows = await self._sql(query, [*args, limit])
        return [(room_from_row(row), int(row[7] or 0), row[8]) for row in rows]

    async def member_counts(self, room_ids: list[str]) -> dict[str, int]:
        """Members per room."""
        counts: dict[str, int] = {}
        for chunk in _chunks(sorted(set(room_ids)), IN_CHUNK):
            marks = ", ".join("?" * len(chunk))
            rows = await self._sql(
                f"SELECT ROOM, COUNT(*) FROM {self.members_table} WHERE ROOM IN ({marks}) GROUP BY ROOM", chunk)
            counts.update({room: int(count) for room, count in rows})
        return counts

    # ---------------------------------------------------------------- memberships
    async def membership(self, room_id: str, user: str) -> Membership | None:
        async def operation(client):
            value = await (await client.get_cache(self.user_rooms_cache)).get(UserRoomKey(USERNAME=user, ROOM=room_id))
            return None if value is None else membership_from_value(room_id, user, value)

        return await self._run(operation, retry=True)

    async def access(self, room_id: str, user: str) -> tuple[Room | None, Membership | None]:
        """A room and the user's membership of it: one key read for a member (the user-side row carries
        a copy of the room's settings), two for anyone else."""

        async def operation(client):
            value = await (await client.get_cache(self.user_rooms_cache)).get(UserRoomKey(USERNAME=user, ROOM=room_id))
            if value is not None:
                return room_from_user_value(room_id, value), membership_from_value(room_id, user, value)
            settings_value = await (await client.get_cache(self.info_cache)).get(room_id)
            return (None if settings_value is None else room_from_value(room_id, settings_value)), None

        return await self._run(operation, retry=True)

    async def add_member(self, room_id: str, user: str, role: str, at: int) -> MembershipChange:
        """Add `user` with `role`; an existing membership is left as it is. Nothing for a missing room."""

        async def operation(client):
            info, room_side, user_side = await self._caches(client)
            key = UserRoomKey(USERNAME=user, ROOM=room_id)
            async with self._tx(client) as tx:
                room = await info.get(room_id)
                if room is None:
                    return MembershipChange(None, changed=False)
                existing = await user_side.get(key)
                if existing is not None:
                    await tx.commit()
                    return MembershipChange(membership_from_value(room_id, user, existing), changed=False)
                membership = Membership(room_id, user, role, at)
                await room_side.put(MemberKey(ROOM=room_id, USERNAME=user), MemberValue(ROLE=role, JOINED_AT=at))
                await user_side.put(key, user_room_value(membership, room_from_value(room_id, room)))
                await tx.commit()
            return MembershipChange(membership, changed=True)

        return await self._run(operation, retry=True)

    async def remove_member(self, room_id: str, user: str) -> MembershipChange:
        """Remove `user` from the room (both sides); changed=False when they were not a member."""

        async def operation(client):
            _, room_side, user_side = await self._caches(client)
            key = UserRoomKey(USERNAME=user, ROOM=room_id)
            async with self._tx(client) as tx:
                existing = await user_side.get(key)
                await room_side.remove_key(MemberKey(ROOM=room_id, USERNAME=user))
                await user_side.remove_key(key)
                await tx.commit()
            if existing is None:
                return MembershipChange(None, changed=False)
            return MembershipChange(membership_from_value(room_id, user, existing), changed=True)

        return await self._run(operation, retry=True)

    async def set_notify(self, room_id: str, user: str, level: str) -> Membership | None:
        """Change a member's notification level (user side only); None when not a member."""

        async def operation(client):
            user_side = await client.get_cache(self.user_rooms_cache)
            key = UserRoomKey(USERNAME=user, ROOM=room_id)
            async with self._tx(client) as tx:
                value = await user_side.get(key)
                if value is None:
                    return None
                current = membership_from_value(room_id, user, value)
                membership = Membership(room_id, user, current.role, current.joined_at, current.last_read_seq, level)
                await user_side.put(key, user_room_value(membership, room_from_user_value(room_id, value)))
                await tx.commit()
            return membership

        return await self._run(operation, retry=True)

    async def set_role(self, room_id: str, user: str, role: str) -> Membership | None:
        """Change a member's role on both sides; None when not a member."""

        async def operation(client):
            _, room_side, user_side = await self._caches(client)
            key = UserRoomKey(USERNAME=user, ROOM=room_id)
            async with self._tx(client) as tx:
                value = await user_side.get(key)
                if value is None:
                    return None
                membership = membership_from_value(room_id, user, value)
                membership = Membership(room_id, user, role, membership.joined_at, membership.last_read_seq,
                                        membership.notify)
                await room_side.put(MemberKey(ROOM=room_id, USERNAME=user),
                                    MemberValue(ROLE=role, JOINED_AT=membership.joined_at))
                await user_side.put(key, user_room_value(membership, room_from_user_value(room_id, value)))
                await tx.commit()
            return membership

        return await self._run(operation, retry=True)

    async def members(self, room_id: str, limit: int) -> list[Membership]:
        """The room's members (room side: role and joined_at), by username."""
        rows = await self._sql(
            f"SELECT USERNAME, ROLE, JOINED_AT FROM {self.members_table} WHERE ROOM = ? ORDER BY USERNAME LIMIT ?",
            [room_id, limit])
        return [Membership(room_id, user, role, int(joined or 0)) for user, role, joined in rows]

    async def members_among(self, room_id: str, users: list[str]) -> set[str]:
        """Which of `users` are members of the room: one get_all in the room's partition."""

        async def operation(client):
            found = await (await client.get_cache(self.members_cache)).get_all(
                [MemberKey(ROOM=room_id, USERNAME=user) for user in sorted(set(users))])
            return {(await client.unwrap_binary(raw_key)).USERNAME for raw_key in found}

        return await self._run(operation, retry=True) if users else set()

    async def user_rooms(self, user: str) -> list[MyRoom]:
        """Every room of `user`: one single-partition query (settings are copied there), then the counters."""
        rows = await self._sql(
            f"SELECT ROOM, NAME, KIND, TOPIC, CREATOR, CREATED_AT, ARCHIVED, ROLE, JOINED_AT, LAST_READ_SEQ, NOTIFY "
            f"FROM {self.user_rooms_table} WHERE USERNAME = ?", [user])
        if not rows:
            return []
        counters: dict[str, tuple[int, int | None]] = {}

        async def read_counters() -> None:
            for chunk in _chunks(sorted(row[0] for row in rows), IN_CHUNK):
                marks = ", ".join("?" * len(chunk))
                for room_id, last_seq, last_at in await self._sql(
                        f"SELECT ROOM, LAST_SEQ, LAST_AT FROM {self.counters_table} WHERE ROOM IN ({marks})", chunk):
                    counters[room_id] = (int(last_seq or 0), last_at)

        # Side by side on the one connection: the mention counts add a request, not a round trip.
        _, mentions = await asyncio.gather(read_counters(), self.mention_counts(user))
        result = []
        for row in rows:
            room = room_from_row(row)
            role, joined, read, notify = row[7:]
            last_seq, last_at = counters.get(room.id, (0, None))
            membership = Membership(room.id, user, role, int(joined or 0), int(read or 0), notify or "all")
            result.append(MyRoom(room, membership, last_seq, last_at, mentions.get(room.id, 0)))
        return result

    async def mention_counts(self, user: str) -> dict[str, int]:
        """Per room, the user's mention rows after their read marker: both tables have the user's affinity,
        so this is one partition's colocated join. Reading (the marker) clears the count."""
        rows = await self._sql(
            f"SELECT m.ROOM, COUNT(*) FROM {self.mentions_table} m JOIN {self.user_rooms_table} u "
            "ON u.USERNAME = m.USERNAME AND u.ROOM = m.ROOM "
            "WHERE m.USERNAME = ? AND m.SEQ > COALESCE(u.LAST_READ_SEQ, 0) GROUP BY m.ROOM", [user])
        return {room: int(count) for room, count in rows}

    async def mark_read(self, markers: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        """Move read markers forward, (room, user) -> seq, in one transaction; the markers now stored."""

        async def operation(client):
            user_side = await client.get_cache(self.user_rooms_cache)
            stored = {}
            async with self._tx(client) as tx:
                for room_id, user in sorted(markers):  # one lock order for every writer: no deadlock
                    key = UserRoomKey(USERNAME=user, ROOM=room_id)
                    value = await user_side.get(key)
                    if value is None:
                        continue  # no longer a member
                    membership = membership_from_value(room_id, user, value)
                    seq = markers[(room_id, user)]
                    if seq > membership.last_read_seq:
                        membership = Membership(room_id, user, membership.role, membership.joined_at, seq,
                                                membership.notify)
                        await user_side.put(key, user_room_value(membership, room_from_user_value(room_id, value)))
                    stored[(room_id, user)] = membership.last_read_seq
                await tx.commit()
            return stored

        return await self._run(operation, retry=True)  # safe: forward-only

    async def all_memberships(self, after: tuple[str, str] | None, limit: int) -> list[Membership]:
        """Every membership (user side, with read markers) ordered by (room, user), for export."""
        room, user = after or ("", "")
        rows = await self._sql(
            f"SELECT ROOM, USERNAME, ROLE, JOINED_AT, LAST_READ_SEQ, NOTIFY FROM {self.user_rooms_table} "
            "WHERE ROOM > ? OR (ROOM = ? AND USERNAME > ?) ORDER BY ROOM, USERNAME LIMIT ?",
            [room, room, user, limit])
        return [Membership(r, u, role, int(j or 0), int(read or 0), n or "all") for r, u, role, j, read, n in rows]

    async def import_membership(self, membership: Membership, room: Room) -> bool:
        """Store a membership as is unless it exists (read marker moved forward); True when created."""

        async def operation(client):
            _, room_side, user_side = await self._caches(client)
            key = UserRoomKey(USERNAME=membership.user, ROOM=membership.room)
            async with self._tx(client) as tx:
                existing = await user_side.get(key)
                if existing is not None:
                    if int(existing.LAST_READ_SEQ or 0) < membership.last_read_seq:
                        current = membership_from_value(membership.room, membership.user, existing)
                        moved = Membership(current.room, current.user, current.role, current.joined_at,
                                           membership.last_read_seq, current.notify)
                        copied = room_from_user_value(membership.room, existing)
                        await user_side.put(key, user_room_value(moved, copied))
                    await tx.commit()
                    return False
                await room_side.put(MemberKey(ROOM=membership.room, USERNAME=membership.user),
                                    MemberValue(ROLE=membership.role, JOINED_AT=membership.joined_at))
                await user_side.put(key, user_room_value(membership, room))
                await tx.commit()
            return True

        return await self._run(operation, retry=True)

    async def put_room(self, room: Room) -> bool:
        """Store a room's settings as is unless the id exists (import); True when created."""
        _, created = await self.create(room, {})
        return created
