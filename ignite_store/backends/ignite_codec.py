"""Messages to and from the Ignite tables' rows and binary objects (no I/O).

The change-log columns (issue 13) are NULL in rows written before them and in plain messages:
CHANGE_SEQ NULL reads as 0, REACTIONS and MENTIONS NULL as none.
- REACTIONS: JSON [[emoji, [user, ...]], ...], emoji in first-reacted order, users in reaction order.
- MENTIONS: JSON {"u": [members named], "r": 1 when @room was used, "n": [other members notified by @room]};
  "u" + "n" are the users whose <P>_USER_MENTIONS rows the message wrote (a deletion removes them).
"""

from __future__ import annotations

import time
import uuid

import orjson

from ..types import Message, Reaction
from .ignite_client import MessageKey, MessageValue

# The order of a message row in every SELECT of the store (message_from_row reads it).
MESSAGE_COLUMNS = (
    "ID, ROOM, SEQ, AUTHOR, BODY, CLIENT_ID, CREATED_AT, DELETED, CHANGE_SEQ, EDITED_AT, REPLY_TO, REACTIONS, MENTIONS"
)
MESSAGE_COLUMN_COUNT = 13


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, as stored in CREATED_AT and LAST_AT."""
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------- reactions and mentions (JSON columns)
def reactions_from_json(text: str | None) -> list[list]:
    """The stored reactions as [[emoji, [users in reaction order]], ...] (a mutable copy)."""
    return orjson.loads(text) if text else []


def reactions_to_json(reactions: list[list]) -> str | None:
    return orjson.dumps(reactions).decode() if reactions else None


def reactions_view(text: str | None) -> tuple[Reaction, ...]:
    return tuple(Reaction(emoji, tuple(sorted(users))) for emoji, users in reactions_from_json(text))


def mentions_to_json(users: tuple[str, ...], room: bool, notified: tuple[str, ...]) -> str | None:
    """The MENTIONS column: named members, @room, and the other members @room notified."""
    if not users and not room:
        return None
    data: dict = {"u": list(users)}
    if room:
        data["r"] = 1
        data["n"] = [user for user in notified if user not in set(users)]
    return orjson.dumps(data).decode()


def mentions_from_json(text: str | None) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """(named members, used @room, every user with a mention row) of a MENTIONS column."""
    if not text:
        return (), False, ()
    data = orjson.loads(text)
    users = tuple(data.get("u", ()))
    return users, bool(data.get("r")), users + tuple(data.get("n", ()))


# ---------------------------------------------------------------- rows and values -> Message
def _message(id_, room, seq, author, body, client_id, created_at, deleted, change_seq, edited_at, reply_to,
             reactions, mentions) -> Message:
    # NULL (and 0, a binary object's default for a long field left unset) means unset: seqs start at 1.
    # A plain, never changed message (an imported one may be edited without a change seq of its own).
    if not change_seq and not edited_at and not reply_to and not mentions:
        return Message(id=id_, room=room, seq=int(seq), author=author, body=body or "", client_id=client_id,
                       created_at=int(created_at), deleted=bool(deleted))
    named, room_mention, _ = mentions_from_json(mentions)
    return Message(
        id=id_, room=room, seq=int(seq), author=author, body=body or "", client_id=client_id,
        created_at=int(created_at), deleted=bool(deleted), change_seq=int(change_seq or 0),
        edited_at=int(edited_at) if edited_at else None, reply_to=int(reply_to) if reply_to else None,
        reactions=reactions_view(reactions), mentions=named, mentions_room=room_mention,
    )


def message_from_row(row) -> Message:
    """A Message from a row of MESSAGE_COLUMNS."""
    return _message(*row[:MESSAGE_COLUMN_COUNT])


def message_from_value(room: str, seq: int, value) -> Message:
    """A Message from a MESSAGES cache value (a pyignite binary object; rows of the old shape lack the new fields)."""
    return _message(
        value.ID, room, seq, value.AUTHOR, value.BODY, value.CLIENT_ID, value.CREATED_AT, value.DELETED,
        getattr(value, "CHANGE_SEQ", None), getattr(value, "EDITED_AT", None), getattr(value, "REPLY_TO", None),
        getattr(value, "REACTIONS", None), getattr(value, "MENTIONS", None),
    )


# ---------------------------------------------------------------- values written
def new_message(
    room: str, author: str, body: str, client_id: str, seq: int, at: int, *,
    reply_to: int | None = None, mentions: str | None = None,
) -> tuple[MessageKey, MessageValue]:
    """Key and value of a newly appended message, with a fresh id."""
    key = MessageKey(ROOM=room, SEQ=seq)
    value = MessageValue(
        ID=uuid.uuid4().hex, AUTHOR=author, BODY=body, CLIENT_ID=client_id, CREATED_AT=at, DELETED=False,
        DELETED_BY=None, CHANGE_SEQ=None, EDITED_AT=None, REPLY_TO=reply_to, REACTIONS=None, MENTIONS=mentions,
    )
    return key, value


def changed_value(value, change_seq: int, **changes) -> MessageValue:
    """A stored message value with `changes` (field name -> value) and its new CHANGE_SEQ."""
    fields = {name: getattr(value, name, None) for name in MessageValue.schema}
    fields.update(changes, CHANGE_SEQ=change_seq)
    return MessageValue(**fields)


def tombstone(value, by: str, change_seq: int) -> MessageValue:
    """The stored value of a deleted message: body and reactions erased, who deleted it recorded."""
    return changed_value(value, change_seq, BODY="", DELETED=True, DELETED_BY=by, REACTIONS=None)
