"""Room management frames: the room list, directory, create, DMs, invite, remove, leave, archive, members.

Each handler takes the Actor (a socket's ChatSession, or an HTTP request of chat_api) and its parsed
command, and answers through actor.emit; every decision about who may do what goes through
session.authorize (chat.access). Revocations (remove, leave, archive) are
published as control events that every process applies before its next frame (chat.revocation).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from django.utils.text import slugify

from ignite_store import MyRoom, Room, StoreUnavailable

from .access import Action, Grant
from .actor import Actor
from .fanout import user_channel
from .protocol import (
    ArchiveRoom,
    CreateRoom,
    Directory,
    Invite,
    LeaveRoom,
    ListRooms,
    Members,
    OpenDirect,
    ProtocolError,
    RemoveMember,
    SetNotify,
    UpdateRoom,
    forbidden,
)
from .revocation import revoke_membership, revoke_room

DM_PREFIX = "dm-"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def direct_room_id(users: list[str]) -> str:
    """The one DM room of a set of users (the same id whoever opens it)."""
    digest = hashlib.sha256("\n".join(sorted(set(users))).encode()).hexdigest()
    return DM_PREFIX + digest[:24]


def new_room_id(name: str, *, suffix: bool) -> str:
    """A URL-safe slug for a new room: the ASCII slug of its name, with a random suffix when asked or empty."""
    base = slugify(name)[:40].strip("-_") or "room"
    if base.startswith(DM_PREFIX[:2]) and base[2:3] == "-":
        base = "r-" + base  # "dm-..." is reserved for direct messages
    return f"{base}-{secrets.token_hex(3)}" if suffix or base == "room" else base


def peers(room: Room, user: str) -> list[str]:
    """The other members of a DM (its name is the sorted usernames, comma separated)."""
    users = room.name.split(",")
    others = [u for u in users if u != user]
    return others or users


def room_entry(room: Room, user: str, *, role: str | None, last_seq: int, last_read_seq: int,
               last_at: int | None, notify: str = "all", mentions: int = 0) -> dict:
    """A room as the `rooms`/`room` frames show it to `user`."""
    entry: dict[str, object] = {
        "room": room.id, "name": room.name, "kind": room.kind, "topic": room.topic, "role": role,
        "last_seq": last_seq, "last_read_seq": last_read_seq, "unread": max(0, last_seq - last_read_seq),
        "mentions": mentions, "last_at": last_at, "notify": notify,
    }
    if room.kind == "direct":
        others = peers(room, user)
        entry["peers"] = others
        entry["name"] = ", ".join(others)
    return entry


def my_room_entry(my: MyRoom, user: str) -> dict:
    return room_entry(my.room, user, role=my.membership.role, last_seq=my.last_seq,
                      last_read_seq=my.membership.last_read_seq, last_at=my.last_at, notify=my.membership.notify,
                      mentions=my.mentions)


def visible(my: MyRoom, user: str) -> bool:
    """Archived rooms are gone; a DM shows up on the other side once its first message exists."""
    if my.room.archived:
        return False
    return my.room.kind != "direct" or my.last_seq > 0 or my.room.creator == user


def _unavailable(ref: str, room: str | None = None) -> ProtocolError:
    return ProtocolError("store_unavailable", "the store is unavailable, retry", ref=ref, room=room)


async def _send_room_to(session: Actor, user: str, room: Room, role: str | None, last_seq: int = 0,
                        last_read_seq: int = 0) -> None:
    """Add or refresh a room in every sidebar of `user` (all their sockets, every process)."""
    entry = room_entry(room, user, role=role, last_seq=last_seq, last_read_seq=last_read_seq, last_at=None)
    await session.publish(user_channel(user), {"type": "room", "room": entry})


# ------------------------------------------------------------------ handlers
async def list_rooms(session: Actor, cmd: ListRooms | None) -> None:
    """The user's rooms, with last seq, read marker and unread count."""
    try:
        mine = await session.services.store.auser_rooms(session.username)
    except StoreUnavailable as e:
        raise _unavailable("rooms") from e
    entries = [my_room_entry(my, session.username) for my in mine if visible(my, session.username)]
    entries.sort(key=lambda e: (-(e["last_at"] or 0), e["name"]))
    await session.emit({"type": "rooms", "rooms": entries})


async def directory(session: Actor, cmd: Directory) -> None:
    """Public rooms whose name contains the query, with member counts and whether the user is in them."""
    store = session.services.store
    try:
        found = await store.alist_rooms(kind="public", search=cmd.query or None, limit=cmd.limit)
        ids = [room.id for room, _, _ in found]
        counts = await store.amember_counts(ids) if ids else {}
        joined = {my.room.id for my in await store.auser_rooms(session.username)} if ids else set()
    except StoreUnavailable as e:
        raise _unavailable("directory") from e
    rooms = [
        {"room": room.id, "name": room.name, "topic": room.topic, "members": counts.get(room.id, 0),
         "last_seq": last_seq, "joined": room.id in joined}
        for room, last_seq, _ in found
    ]
    await session.emit({"type": "directory", "query": cmd.query, "rooms": rooms})


async def become_member(session: Actor, grant: Grant) -> Grant:
    """Make the user a member of the public room they join."""
    try:
        change = await session.services.store.aadd_member(grant.room.id, session.username, "member")
    except StoreUnavailable as e:
        raise _unavailable("join", grant.room.id) from e
    if change.membership is None:  # the room vanished meanwhile
        raise forbidden("join", grant.room.id)
    grant = Grant(grant.room, change.membership)
    session.services.access.remember(session.username, grant)
    if change.changed:
        await _send_room_to(session, session.username, grant.room, "member")
        await session.publish(grant.room.id, {"type": "member", "room": grant.room.id, "user": session.username,
                                              "event": "joined"})
    return grant


async def create_room(session: Actor, cmd: CreateRoom) -> None:
    """A new public or private room, owned by its creator."""
    store = session.services.store
    for attempt in range(5):
        room = Room(id=new_room_id(cmd.name, suffix=attempt > 0), name=cmd.name, kind=cmd.kind, topic=cmd.topic,
                    creator=session.username, created_at=now_ms())
        try:
            stored, created = await store.acreate_room(room, {session.username: "owner"})
        except StoreUnavailable as e:
            raise _unavailable("create_room") from e
        if created:
            break
    else:
        raise ProtocolError("unavailable", "could not find a free id for the room, retry", ref="create_room")
    session.services.access.forget(user=session.username, room=stored.id)
    await _send_room_to(session, session.username, stored, "owner")
    await session.emit({"type": "created", "room": room_entry(stored, session.username, role="owner", last_seq=0,
                                                               last_read_seq=0, last_at=None)})


async def open_direct(session: Actor, cmd: OpenDirect) -> None:
    """The DM with another user: found again when it exists, created when not."""
    if cmd.user != session.username and not await session.services.users.active(cmd.user):
        raise ProtocolError("invalid", "no such user", ref="open_dm", field="user")
    users = sorted({session.username, cmd.user})
    room = Room(id=direct_room_id(users), name=",".join(users), kind="direct", topic="", creator=session.username,
                created_at=now_ms())
    store = session.services.store
    try:
        stored, created = await store.acreate_room(room, {user: "member" for user in users})
        if not created:  # one who left the DM is back in it: the conversation belongs to the pair
            for user in users:
                await store.aadd_member(stored.id, user, "member")
        last_seq = await store.alast_seq(stored.id)
        membership = await store.amembership(stored.id, session.username)
    except StoreUnavailable as e:
        raise _unavailable("open_dm") from e
    if membership is None or stored.kind != "direct":
        raise forbidden("open_dm")
    session.services.access.forget(user=session.username, room=stored.id)
    entry = room_entry(stored, session.username, role=membership.role, last_seq=last_seq,
                       last_read_seq=membership.last_read_seq, last_at=None)
    await session.emit({"type": "created", "room": entry})


async def announce_direct(session: Actor, room: Room) -> None:
    """The first message of a DM: it appears in the other side's sidebar now."""
    for peer in peers(room, session.username):
        if peer != session.username:
            await _send_room_to(session, peer, room, "member", last_seq=1)


async def invite(session: Actor, cmd: Invite) -> None:
    """Add a user to a room (owners and admins of a private room; any member of a public one)."""
    grant = await session.authorize(cmd.room, Action.INVITE, "invite")
    if not await session.services.users.active(cmd.user):
        raise ProtocolError("invalid", "no such user", ref="invite", room=cmd.room, field="user")
    try:
        change = await session.services.store.aadd_member(cmd.room, cmd.user, "member")
        last_seq = await session.services.store.alast_seq(cmd.room)
    except StoreUnavailable as e:
        raise _unavailable("invite", cmd.room) from e
    if change.changed:
        session.services.access.forget(user=cmd.user, room=cmd.room)  # a refusal cached here is stale now
        await _send_room_to(session, cmd.user, grant.room, "member", last_seq=last_seq)
        await session.publish(cmd.room, {"type": "member", "room": cmd.room, "user": cmd.user, "event": "added",
                                         "by": session.username})
    await session.emit({"type": "invited", "room": cmd.room, "user": cmd.user, "changed": change.changed})


async def remove_member(session: Actor, cmd: RemoveMember) -> None:
    """Remove another member (owners and admins; an admin cannot remove an owner)."""
    if cmd.user == session.username:
        await leave_room(session, LeaveRoom(cmd.room))
        return
    grant = await session.authorize(cmd.room, Action.MANAGE, "remove_member")
    store = session.services.store
    try:
        target = await store.amembership(cmd.room, cmd.user)
        if target is not None and target.role == "owner" and grant.role != "owner":
            raise ProtocolError("forbidden", "only an owner may remove an owner", ref="remove_member", room=cmd.room)
        change = await store.aremove_member(cmd.room, cmd.user)
    except StoreUnavailable as e:
        raise _unavailable("remove_member", cmd.room) from e
    if change.changed:
        await revoke_membership(session.services.publisher, cmd.room, cmd.user, "removed")
    await session.emit({"type": "member_removed", "room": cmd.room, "user": cmd.user, "changed": change.changed})


async def leave_room(session: Actor, cmd: LeaveRoom) -> None:
    """End the user's own membership (every socket of the user stops receiving the room)."""
    await session.authorize(cmd.room, Action.WRITE, "leave_room", fresh=True)
    try:
        change = await session.services.store.aremove_member(cmd.room, session.username)
    except StoreUnavailable as e:
        raise _unavailable("leave_room", cmd.room) from e
    if change.changed:
        await revoke_membership(session.services.publisher, cmd.room, session.username, "left")


async def archive_room(session: Actor, cmd: ArchiveRoom) -> None:
    """Archive a room (owners and admins): it leaves every sidebar and nobody can read or write it."""
    await session.authorize(cmd.room, Action.MANAGE, "archive_room")
    if not cmd.archived:
        raise ProtocolError("invalid", "an archived room is restored from the admin", ref="archive_room",
                            room=cmd.room, field="archived")
    try:
        await session.services.store.aupdate_room(cmd.room, archived=True)
    except StoreUnavailable as e:
        raise _unavailable("archive_room", cmd.room) from e
    await revoke_room(session.services.publisher, cmd.room, "archived")


async def update_room(session: Actor, cmd: UpdateRoom) -> None:
    """Rename a room or change its topic (owners and admins)."""
    await session.authorize(cmd.room, Action.MANAGE, "update_room")
    try:
        room = await session.services.store.aupdate_room(cmd.room, name=cmd.name, topic=cmd.topic)
    except StoreUnavailable as e:
        raise _unavailable("update_room", cmd.room) from e
    if room is not None:
        await session.publish(cmd.room, {"type": "room_updated", "room": room.id, "name": room.name,
                                         "topic": room.topic})


async def members(session: Actor, cmd: Members) -> None:
    """The room's members and their roles."""
    await session.authorize(cmd.room, Action.READ, "members")
    try:
        found = await session.services.store.amembers(cmd.room, session.services.limits.members_page_max)
    except StoreUnavailable as e:
        raise _unavailable("members", cmd.room) from e
    await session.emit({"type": "members", "room": cmd.room,
                        "members": [{"user": m.user, "role": m.role} for m in found]})


async def set_notify(session: Actor, cmd: SetNotify) -> None:
    """Mute a room, or be notified of mentions only, or of everything (per user, every device)."""
    await session.authorize(cmd.room, Action.WRITE, "notify")
    try:
        membership = await session.services.store.aset_notify(cmd.room, session.username, cmd.level)
    except StoreUnavailable as e:
        raise _unavailable("notify", cmd.room) from e
    if membership is None:
        raise forbidden("notify", cmd.room)
    await session.publish(user_channel(session.username), {"type": "notify", "room": cmd.room, "level": cmd.level})


HANDLERS = {
    ListRooms: list_rooms,
    Directory: directory,
    CreateRoom: create_room,
    OpenDirect: open_direct,
    Invite: invite,
    RemoveMember: remove_member,
    LeaveRoom: leave_room,
    ArchiveRoom: archive_room,
    UpdateRoom: update_room,
    Members: members,
    SetNotify: set_notify,
}
