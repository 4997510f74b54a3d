"""Client frames -> typed commands, and the server frames, for protocol version 1 (docs/protocol.md).

Everything here is pure: no socket, no store, no settings beyond the limits it validates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from django.conf import settings

from ignite_store import InvalidMessage
from ignite_store.validation import validate_body, validate_client_id, validate_limit, validate_room, validate_seq

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
    ):
        super().__init__(f"{code}: {detail}")
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
        )


# ---------------------------------------------------------------- commands

@dataclass(frozen=True, slots=True)
class Join:
    room: str
    after: int | None = None


@dataclass(frozen=True, slots=True)
class Leave:
    room: str


@dataclass(frozen=True, slots=True)
class Send:
    room: str
    body: str
    client_id: str


@dataclass(frozen=True, slots=True)
class History:
    room: str
    before: int | None
    limit: int


@dataclass(frozen=True, slots=True)
class Catchup:
    room: str
    after: int


@dataclass(frozen=True, slots=True)
class Typing:
    room: str


@dataclass(frozen=True, slots=True)
class Ping:
    id: str | int | None = None


Command = Join | Leave | Send | History | Catchup | Typing | Ping


# ---------------------------------------------------------------- parsing

def _room(data: dict, ref: str) -> str:
    try:
        return validate_room(data.get("room"))
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, field="room") from e


def _seq(data: dict, name: str, ref: str, room: str, *, required: bool) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    try:
        return validate_seq(value, name)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, room=room, field=name) from e


def _limit(data: dict, room: str) -> int:
    value = data.get("limit")
    if value is None:
        return min(50, settings.CHAT["HISTORY_PAGE_MAX"])
    try:
        return validate_limit(value)  # the store's rule, one definition
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref="history", room=room, field="limit") from e


def _parse_join(data: dict) -> Join:
    room = _room(data, "join")
    return Join(room, _seq(data, "after", "join", room, required=False))


def _parse_leave(data: dict) -> Leave:
    return Leave(_room(data, "leave"))


def _parse_send(data: dict) -> Send:
    raw_id = data.get("client_id")
    client_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    try:
        room = validate_room(data.get("room"))
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref="send", client_id=client_id, field="room") from e
    try:
        client_id = validate_client_id(raw_id)
        body = validate_body(data.get("body"))
    except InvalidMessage as e:
        raise ProtocolError(
            "invalid", e.detail, ref="send", room=room, client_id=client_id, field=e.field
        ) from e
    return Send(room, body, client_id)


def _parse_history(data: dict) -> History:
    room = _room(data, "history")
    before = _seq(data, "before", "history", room, required=False)
    return History(room, before, _limit(data, room))


def _parse_catchup(data: dict) -> Catchup:
    room = _room(data, "catchup")
    return Catchup(room, _seq(data, "after", "catchup", room, required=True))


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


_PARSERS = {
    "join": _parse_join,
    "leave": _parse_leave,
    "send": _parse_send,
    "history": _parse_history,
    "catchup": _parse_catchup,
    "typing": _parse_typing,
    "ping": _parse_ping,
}
CLIENT_FRAME_TYPES = frozenset(_PARSERS)


def parse_frame(text: str) -> Command:
    """Parse one client text frame into a command, or raise ProtocolError."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise ProtocolError("bad_json", "the frame is not valid JSON") from e
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "the frame must be a JSON object")
    frame_type = data.get("type")
    if not isinstance(frame_type, str):
        raise ProtocolError("bad_frame", "the frame needs a string `type`")
    parser = _PARSERS.get(frame_type)
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
) -> dict:
    """Build an `error` frame; optional fields are present only when known."""
    frame: dict = {"type": "error", "code": code, "detail": detail}
    for key, value in (
        ("ref", ref),
        ("room", room),
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
    limit = settings.CHAT["MAX_FRAME_BYTES"]
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


def hello_frame(username: str) -> dict:
    """The first frame on an accepted socket: who you are and the limits in force."""
    chat = settings.CHAT
    return {
        "type": "hello",
        "v": VERSION,
        "user": username,
        "limits": {
            "max_body_chars": chat["MAX_BODY_CHARS"],
            "max_frame_bytes": chat["MAX_FRAME_BYTES"],
            "max_rooms": chat["MAX_ROOMS_PER_SOCKET"],
            "history_page_max": chat["HISTORY_PAGE_MAX"],
            "send_rate_per_second": chat["SEND_RATE_PER_SECOND"],
            "send_burst": chat["SEND_BURST"],
            "typing_min_interval_seconds": chat["TYPING_MIN_INTERVAL_SECONDS"],
        },
    }
