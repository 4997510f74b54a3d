"""Client frames -> typed commands, and the server frames, for protocol version 1 (docs/protocol.md).

Everything here is pure: no socket, no store; the limits it validates come from chat.limits (read once).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import orjson

from ignite_store import NOTIFY_LEVELS, InvalidMessage
from ignite_store.validation import (
    validate_author,
    validate_body,
    validate_client_id,
    validate_limit,
    validate_room,
    validate_room_name,
    validate_seq,
    validate_topic,
)

from .limits import ChatLimits, current

VERSION = 1
PING_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_PING_ID_INT = 2**53  # what JavaScript can represent exactly


# ---------------------------------------------------------------- errors

class ProtocolError(Exception):
    """A frame the server refuses; becomes an `error` frame, the socket stays open."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        ref: str | None = None,
        room: str | None = None,
        client_id: str | None = None,
        field: str | None = None,
        retry_after: float | None = None,
        seq: int | None = None,
    ):
        super().__init__(f"{code}: {detail}")
        self.seq = seq
        self.code = code
        self.detail = detail
        self.ref = ref
        self.room = room
        self.client_id = client_id
        self.field = field
        self.retry_after = retry_after

    def to_frame(self) -> dict:
        """Return the `error` frame for this error."""
        return error_frame(
            self.code,
            self.detail,
            ref=self.ref,
            room=self.room,
            client_id=self.client_id,
            field=self.field,
            retry_after=self.retry_after,
            seq=self.seq,
        )


def forbidden(ref: str, room: str | None = None, client_id: str | None = None) -> ProtocolError:
    """The one refusal for a room that is missing, archived or not the user's: it reveals which of them nothing."""
    return ProtocolError("forbidden", "no such room, or you may not do this in it", ref=ref, room=room,
                         client_id=client_id)


# ---------------------------------------------------------------- commands

@dataclass(frozen=True, slots=True)
class Join:
    room: str
    after: int | None = None
    after_change: int | None = None  # catch up on changes too (chat.message_changes)


@dataclass(frozen=True, slots=True)
class Leave:
    room: str


@dataclass(frozen=True, slots=True)
class Send:
    room: str
    body: str
    client_id: str
    reply_to: int | None = None


@dataclass(frozen=True, slots=True)
class History:
    room: str
    before: int | None
    limit: int
    around: int | None = None  # exclusive with before


@dataclass(frozen=True, slots=True)
class Catchup:
    room: str
    after: int | None
    after_change: int | None = None


@dataclass(frozen=True, slots=True)
class Typing:
    room: str


@dataclass(frozen=True, slots=True)
class Ping:
    id: str | int | None = None


@dataclass(frozen=True, slots=True)
class ListRooms:
    pass


@dataclass(frozen=True, slots=True)
class Directory:
    query: str
    limit: int


@dataclass(frozen=True, slots=True)
class CreateRoom:
    name: str
    kind: str  # public or private
    topic: str


@dataclass(frozen=True, slots=True)
class OpenDirect:
    user: str


@dataclass(frozen=True, slots=True)
class Invite:
    room: str
    user: str


@dataclass(frozen=True, slots=True)
class RemoveMember:
    room: str
    user: str


@dataclass(frozen=True, slots=True)
class LeaveRoom:
    room: str


@dataclass(frozen=True, slots=True)
class ArchiveRoom:
    room: str
    archived: bool


@dataclass(frozen=True, slots=True)
class UpdateRoom:
    room: str
    name: str | None
    topic: str | None


@dataclass(frozen=True, slots=True)
class Members:
    room: str


@dataclass(frozen=True, slots=True)
class SetNotify:
    room: str
    level: str  # all, mentions or none (muted)


@dataclass(frozen=True, slots=True)
class Read:
    room: str
    seq: int


Command = (
    Join | Leave | Send | History | Catchup | Typing | Ping | ListRooms | Directory | CreateRoom | OpenDirect
    | Invite | RemoveMember | LeaveRoom | ArchiveRoom | UpdateRoom | Members | Read | SetNotify
)
C = TypeVar("C")  # any command class: chat.protocol_changes and search parse through the same table
DIRECTORY_LIMIT_MAX = 100


# ---------------------------------------------------------------- parsing

def _room(data: dict, ref: str) -> str:
    try:
        return validate_room(data.get("room"), current().room_pattern)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, field="room") from e


def _optional_seq(data: dict, name: str, ref: str, room: str) -> int | None:
    return None if data.get(name) is None else _seq(data, name, ref, room)


def _seq(data: dict, name: str, ref: str, room: str) -> int:
    try:
        return validate_seq(data.get(name), name)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, room=room, field=name) from e


def _limit(data: dict, room: str) -> int:
    maximum = current().history_page_max
    value = data.get("limit")
    if value is None:
        return min(50, maximum)
    try:
        return validate_limit(value, maximum)  # the store's rule, one definition
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref="history", room=room, field="limit") from e


def _parse_join(data: dict) -> Join:
    room = _room(data, "join")
    return Join(room, _optional_seq(data, "after", "join", room), _optional_seq(data, "after_change", "join", room))


def _parse_leave(data: dict) -> Leave:
    return Leave(_room(data, "leave"))


def _parse_send(data: dict) -> Send:
    raw_id = data.get("client_id")
    client_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    try:
        room = validate_room(data.get("room"), current().room_pattern)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref="send", client_id=client_id, field="room") from e
    try:
        client_id = validate_client_id(raw_id)
        body = validate_body(data.get("body"), current().max_body_chars)
        reply_to = data.get("reply_to")
        if reply_to is not None:
            reply_to = validate_seq(reply_to, "reply_to")
    except InvalidMessage as e:
        raise ProtocolError(
            "invalid", e.detail, ref="send", room=room, client_id=client_id, field=e.field
        ) from e
    return Send(room, body, client_id, reply_to)


def _parse_history(data: dict) -> History:
    room = _room(data, "history")
    before = _optional_seq(data, "before", "history", room)
    around = _optional_seq(data, "around", "history", room)
    if before is not None and around is not None:
        raise ProtocolError("invalid", "give before or around, not both", ref="history", room=room, field="around")
    return History(room, before, _limit(data, room), around)


def _parse_catchup(data: dict) -> Catchup:
    room = _room(data, "catchup")
    after_change = _optional_seq(data, "after_change", "catchup", room)
    if after_change is None:
        return Catchup(room, _seq(data, "after", "catchup", room))
    return Catchup(room, _optional_seq(data, "after", "catchup", room), after_change)


def _parse_typing(data: dict) -> Typing:
    return Typing(_room(data, "typing"))


def _parse_ping(data: dict) -> Ping:
    value = data.get("id")
    if value is None:
        return Ping()
    if isinstance(value, str) and PING_ID_PATTERN.fullmatch(value):
        return Ping(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_PING_ID_INT:
        return Ping(value)
    raise ProtocolError(
        "invalid", "must be an integer or 1-64 characters of A-Z a-z 0-9 _ . : -", ref="ping", field="id"
    )


def _text(data: dict, name: str, ref: str, validate, room: str | None = None):
    try:
        return validate(data.get(name))
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, room=room, field=name) from e


def _parse_directory(data: dict) -> Directory:
    query = data.get("query") or ""
    if not isinstance(query, str) or len(query) > 80:
        raise ProtocolError("invalid", "must be a string of at most 80 characters", ref="directory", field="query")
    limit = data.get("limit", 50)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= DIRECTORY_LIMIT_MAX:
        raise ProtocolError("invalid", f"must be an integer from 1 to {DIRECTORY_LIMIT_MAX}", ref="directory",
                            field="limit")
    return Directory(query.strip(), limit)


def _parse_create_room(data: dict) -> CreateRoom:
    name = _text(data, "name", "create_room", validate_room_name)
    kind = data.get("kind", "public")
    if kind not in ("public", "private"):
        raise ProtocolError("invalid", "must be public or private", ref="create_room", field="kind")
    return CreateRoom(name, kind, _text(data, "topic", "create_room", validate_topic))


def _parse_open_direct(data: dict) -> OpenDirect:
    return OpenDirect(_text(data, "user", "open_dm", validate_author))


def _room_and_user(data: dict, ref: str) -> tuple[str, str]:
    room = _room(data, ref)
    return room, _text(data, "user", ref, validate_author, room)


def _parse_invite(data: dict) -> Invite:
    return Invite(*_room_and_user(data, "invite"))


def _parse_remove_member(data: dict) -> RemoveMember:
    return RemoveMember(*_room_and_user(data, "remove_member"))


def _parse_archive_room(data: dict) -> ArchiveRoom:
    room = _room(data, "archive_room")
    archived = data.get("archived", True)
    if not isinstance(archived, bool):
        raise ProtocolError("invalid", "must be true or false", ref="archive_room", room=room, field="archived")
    return ArchiveRoom(room, archived)


def _parse_update_room(data: dict) -> UpdateRoom:
    room = _room(data, "update_room")
    name = _text(data, "name", "update_room", validate_room_name, room) if "name" in data else None
    topic = _text(data, "topic", "update_room", validate_topic, room) if "topic" in data else None
    if name is None and topic is None:
        raise ProtocolError("invalid", "give a name or a topic", ref="update_room", room=room, field="name")
    return UpdateRoom(room, name, topic)


def _parse_notify(data: dict) -> SetNotify:
    room = _room(data, "notify")
    level = data.get("level")
    if level not in NOTIFY_LEVELS:
        raise ProtocolError("invalid", "must be all, mentions or none", ref="notify", room=room, field="level")
    return SetNotify(room, level)


def _parse_read(data: dict) -> Read:
    room = _room(data, "read")
    return Read(room, _seq(data, "seq", "read", room))


_PARSERS: dict[str, Callable[[dict], object]] = {
    "join": _parse_join,
    "leave": _parse_leave,
    "send": _parse_send,
    "history": _parse_history,
    "catchup": _parse_catchup,
    "typing": _parse_typing,
    "ping": _parse_ping,
    "rooms": lambda data: ListRooms(),
    "directory": _parse_directory,
    "create_room": _parse_create_room,
    "open_dm": _parse_open_direct,
    "invite": _parse_invite,
    "remove_member": _parse_remove_member,
    "leave_room": lambda data: LeaveRoom(_room(data, "leave_room")),
    "archive_room": _parse_archive_room,
    "update_room": _parse_update_room,
    "members": lambda data: Members(_room(data, "members")),
    "read": _parse_read,
    "notify": _parse_notify,
}


@cache
def _parsers() -> dict[str, Callable[[dict], object]]:
    """Every frame's parser: the table above, the message changes' (chat.protocol_changes) and the search's
    (chat.search_commands); both import this module."""
    from .protocol_changes import PARSERS
    from .search_commands import PARSERS as SEARCH_PARSERS

    return {**_PARSERS, **PARSERS, **SEARCH_PARSERS}


def client_frame_types() -> frozenset[str]:
    return frozenset(_parsers())


def parse_command(frame_type: str, fields: dict, expected: type[C]) -> C:
    """Validate a command's fields given without a frame (the HTTP API): the socket's rules and error codes."""
    command = _parsers()[frame_type](fields)
    if not isinstance(command, expected):
        raise TypeError(f"{frame_type} parses to {type(command).__name__}, not {expected.__name__}")
    return command


def parse_frame(text: str):
    """Parse one client text frame into a command (a Command or a chat.protocol_changes command), or raise
    ProtocolError."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise ProtocolError("bad_json", "the frame is not valid JSON") from e
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "the frame must be a JSON object")
    frame_type = data.get("type")
    if not isinstance(frame_type, str):
        raise ProtocolError("bad_frame", "the frame needs a string `type`")
    parser = _parsers().get(frame_type)
    if parser is None:
        raise ProtocolError("unknown_type", "unknown frame type")
    version = data.get("v", VERSION)
    if isinstance(version, bool) or version != VERSION:
        raise ProtocolError("unsupported_version", f"this server speaks version {VERSION}", ref=frame_type)
    return parser(data)


# ---------------------------------------------------------------- server frames

def encode(frame: dict) -> str:
    """Encode a server frame once, as the text written to every socket."""
    return orjson.dumps(frame).decode()


def error_frame(
    code: str,
    detail: str,
    *,
    ref: str | None = None,
    room: str | None = None,
    client_id: str | None = None,
    field: str | None = None,
    retry_after: float | None = None,
    seq: int | None = None,
) -> dict:
    """Build an `error` frame; optional fields are present only when known."""
    frame: dict = {"type": "error", "code": code, "detail": detail}
    for key, value in (
        ("ref", ref),
        ("room", room),
        ("seq", seq),
        ("client_id", client_id),
        ("field", field),
        ("retry_after", retry_after),
    ):
        if value is not None:
            frame[key] = value
    return frame


def page_frame(frame_type: str, room: str, messages: list, has_more: bool, *, keep: str) -> tuple[dict, int]:
    """A history/catchup frame that fits CHAT["MAX_FRAME_BYTES"] (Daphne refuses to send bigger ones).

    When the page is too big, messages are dropped from the end not kept ("oldest" keeps the
    oldest, for catch-up; "newest" keeps the newest, for history) and has_more becomes true, so
    the client (or the catch-up loop) asks again from where the frame stops. At least one message
    is always kept. Returns the frame and how many messages it holds.
    """
    dicts = [m.to_dict() for m in messages]
    limit = current().max_frame_bytes
    frame = {"type": frame_type, "room": room, "messages": dicts, "has_more": has_more}
    if len(orjson.dumps(frame)) <= limit:
        return frame, len(dicts)
    budget = limit - len(orjson.dumps({**frame, "messages": [], "has_more": True}))
    ordered = dicts if keep == "oldest" else dicts[::-1]
    kept: list[dict] = []
    for item in ordered:
        budget -= len(orjson.dumps(item)) + 1  # +1 for the separating comma
        if budget < 0 and kept:
            break
        kept.append(item)
    if keep == "newest":
        kept.reverse()
    return {**frame, "messages": kept, "has_more": True}, len(kept)


def message_frame(message) -> dict:
    """The `message` event for a stored ignite_store Message."""
    return {"type": "message", "message": message.to_dict()}


def hello_frame(username: str, limits: ChatLimits | None = None) -> dict:
    """The first frame on an accepted socket: who you are and the limits in force."""
    limits = limits or current()
    return {
        "type": "hello",
        "v": VERSION,
        "user": username,
        "limits": {
            "max_body_chars": limits.max_body_chars,
            "max_frame_bytes": limits.max_frame_bytes,
            "max_rooms": limits.max_rooms_per_socket,
            "history_page_max": limits.history_page_max,
            "send_rate_per_second": limits.send_rate_per_second,
            "send_burst": limits.send_burst,
            "typing_min_interval_seconds": limits.typing_min_interval_seconds,
            "edit_window_seconds": limits.edit_window_seconds,
            "allow_delete_own": limits.allow_delete_own,
            "max_reactions_per_message": limits.max_reactions_per_message,
        },
    }
