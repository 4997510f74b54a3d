"""Frames of messages people work with (issue 13): edit, delete, react, unreact, and the server's
`changed`, `update` and `mention` frames (`changes` pages: chat.catchup) (docs/protocol.md, "Changing messages").

Pure, like chat.protocol (whose helpers and errors it uses): no socket, no store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ignite_store import InvalidMessage, Message
from ignite_store.validation import validate_body, validate_client_id, validate_emoji, validate_room, validate_seq

from .limits import current
from .protocol import ProtocolError


@dataclass(frozen=True, slots=True)
class Edit:
    room: str
    seq: int
    body: str
    client_id: str


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    room: str
    seq: int
    client_id: str


@dataclass(frozen=True, slots=True)
class React:
    room: str
    seq: int
    emoji: str
    add: bool  # False: unreact

    @property
    def ref(self) -> str:
        return "react" if self.add else "unreact"


def _client_id(data: dict) -> str | None:
    raw = data.get("client_id")
    return raw if isinstance(raw, str) and len(raw) <= 64 else None


def _target(data: dict, ref: str, *, with_client_id: bool) -> tuple[str, int, str | None]:
    """(room, seq, client id) of a change frame; the first bad field is `invalid` with its name."""
    client_id = _client_id(data)
    try:
        room = validate_room(data.get("room"), current().room_pattern)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, client_id=client_id, field="room") from e
    try:
        seq = validate_seq(data.get("seq"))
        if with_client_id:
            client_id = validate_client_id(data.get("client_id"))
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, room=room, client_id=client_id, field=e.field) from e
    if seq < 1:
        raise ProtocolError("invalid", "must be at least 1", ref=ref, room=room, client_id=client_id, field="seq")
    return room, seq, client_id


def _parse_edit(data: dict) -> Edit:
    room, seq, client_id = _target(data, "edit", with_client_id=True)
    try:
        body = validate_body(data.get("body"), current().max_body_chars)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref="edit", room=room, client_id=client_id, field="body",
                            seq=seq) from e
    return Edit(room, seq, body, client_id or "")


def _parse_delete(data: dict) -> DeleteMessage:
    room, seq, client_id = _target(data, "delete", with_client_id=True)
    return DeleteMessage(room, seq, client_id or "")


def _reaction_parser(add: bool) -> Callable[[dict], React]:
    ref = "react" if add else "unreact"

    def parse(data: dict) -> React:
        room, seq, _ = _target(data, ref, with_client_id=False)
        try:
            emoji = validate_emoji(data.get("emoji"))
        except InvalidMessage as e:
            raise ProtocolError("invalid", e.detail, ref=ref, room=room, field="emoji", seq=seq) from e
        return React(room, seq, emoji, add)

    return parse


PARSERS: dict[str, Callable[[dict], object]] = {
    "edit": _parse_edit,
    "delete": _parse_delete,
    "react": _reaction_parser(True),
    "unreact": _reaction_parser(False),
}


# ---------------------------------------------------------------- server frames
def changed_frame(ref: str, room: str, seq: int, change_seq: int | None, changed: bool,
                  client_id: str | None = None) -> dict:
    """The answer to the socket that asked for a change."""
    frame: dict = {"type": "changed", "ref": ref, "room": room, "seq": seq, "change_seq": change_seq,
                   "changed": changed}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def update_frame(message: Message, kind: str, by: str, emoji: str | None = None) -> dict:
    """A change of a message, to the room: its full current state and what changed."""
    change: dict = {"kind": kind, "by": by}
    if emoji is not None:
        change["emoji"] = emoji
    return {"type": "update", "message": message.to_dict(), "change": change}


def mention_frame(message: Message) -> dict:
    """To every socket of a mentioned member (the user channel), even for rooms not joined there."""
    return {"type": "mention", "room": message.room, "message": message.to_dict()}
