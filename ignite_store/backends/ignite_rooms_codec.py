"""Rooms and memberships as Ignite binary objects and SQL rows, and back (no I/O).

The user side of a membership carries a copy of the room's settings, so one user's room list
is read from one partition (ignite_rooms.IgniteRooms.user_rooms).
"""

from __future__ import annotations

from collections import OrderedDict

from pyignite.datatypes import BoolObject, LongObject, String

from ..types import Membership, Room
from .pyignite_seam import FastObjectMeta


class RoomInfoValue(
    metaclass=FastObjectMeta,
    type_name="ChatRoomInfo",
    schema=OrderedDict([
        ("NAME", String), ("KIND", String), ("TOPIC", String), ("CREATOR", String),
        ("CREATED_AT", LongObject), ("ARCHIVED", BoolObject),
    ]),
):
    pass


class MemberKey(
    metaclass=FastObjectMeta,
    type_name="ChatMemberKey",
    schema=OrderedDict([("ROOM", String), ("USERNAME", String)]),
):
    pass


class MemberValue(
    metaclass=FastObjectMeta,
    type_name="ChatMember",
    schema=OrderedDict([("ROLE", String), ("JOINED_AT", LongObject)]),
):
    pass


class UserRoomKey(
    metaclass=FastObjectMeta,
    type_name="ChatUserRoomKey",
    schema=OrderedDict([("USERNAME", String), ("ROOM", String)]),
):
    pass


class UserRoomValue(
    metaclass=FastObjectMeta,
    type_name="ChatUserRoom",
    schema=OrderedDict([
        ("ROLE", String), ("KIND", String), ("JOINED_AT", LongObject), ("LAST_READ_SEQ", LongObject),
        ("NOTIFY", String), ("NAME", String), ("TOPIC", String), ("CREATOR", String), ("CREATED_AT", LongObject),
        ("ARCHIVED", BoolObject),
    ]),
):
    pass


def room_from_value(room_id: str, value) -> Room:
    return Room(
        id=room_id, name=value.NAME, kind=value.KIND, topic=value.TOPIC or "", creator=value.CREATOR or "",
        created_at=int(value.CREATED_AT or 0), archived=bool(value.ARCHIVED),
    )


def room_value(room: Room) -> RoomInfoValue:
    return RoomInfoValue(NAME=room.name, KIND=room.kind, TOPIC=room.topic, CREATOR=room.creator,
                         CREATED_AT=room.created_at, ARCHIVED=room.archived)


def membership_from_value(room_id: str, user: str, value) -> Membership:
    return Membership(room=room_id, user=user, role=value.ROLE, joined_at=int(value.JOINED_AT or 0),
                      last_read_seq=int(value.LAST_READ_SEQ or 0), notify=value.NOTIFY or "all")


def user_room_value(m: Membership, room: Room) -> UserRoomValue:
    """The user side of a membership, with a copy of the room's settings (the room list reads only this side)."""
    return UserRoomValue(ROLE=m.role, KIND=room.kind, JOINED_AT=m.joined_at, LAST_READ_SEQ=m.last_read_seq,
                         NOTIFY=m.notify, NAME=room.name, TOPIC=room.topic, CREATOR=room.creator,
                         CREATED_AT=room.created_at, ARCHIVED=room.archived)


def room_from_user_value(room_id: str, value) -> Room:
    """The room settings copied into a user-side row."""
    return Room(id=room_id, name=value.NAME or room_id, kind=value.KIND, topic=value.TOPIC or "",
                creator=value.CREATOR or "", created_at=int(value.CREATED_AT or 0), archived=bool(value.ARCHIVED))


ROOM_COLUMNS = "i.ROOM, i.NAME, i.KIND, i.TOPIC, i.CREATOR, i.CREATED_AT, i.ARCHIVED"


def room_from_row(row: list) -> Room:
    room_id, name, kind, topic, creator, created_at, archived = row[:7]
    return Room(id=room_id, name=name, kind=kind, topic=topic or "", creator=creator or "",
                created_at=int(created_at or 0), archived=bool(archived))
