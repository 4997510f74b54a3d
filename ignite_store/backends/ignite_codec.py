"""Messages to and from the Ignite tables' rows and binary objects (no I/O)."""

from __future__ import annotations

import time
import uuid

from ..types import Message
from .ignite_client import MessageKey, MessageValue

# The order of a message row in every SELECT of the store (message_from_row reads it).
MESSAGE_COLUMNS = "ID, ROOM, SEQ, AUTHOR, BODY, CLIENT_ID, CREATED_AT, DELETED"


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, as stored in CREATED_AT and LAST_AT."""
    return time.time_ns() // 1_000_000


def message_from_row(row) -> Message:
    """A Message from a row of MESSAGE_COLUMNS."""
    id_, room, seq, author, body, client_id, created_at, deleted = row
    return Message(
        id=id_,
        room=room,
        seq=int(seq),
        author=author,
        body=body or "",
        client_id=client_id,
        created_at=int(created_at),
        deleted=bool(deleted),
    )


def message_from_value(room: str, seq: int, value) -> Message:
    """A Message from a MESSAGES cache value (a pyignite binary object)."""
    return Message(
        id=value.ID,
        room=room,
        seq=int(seq),
        author=value.AUTHOR,
        body=value.BODY or "",
        client_id=value.CLIENT_ID,
        created_at=int(value.CREATED_AT),
        deleted=bool(value.DELETED),
    )


def new_message(
    room: str, author: str, body: str, client_id: str, seq: int, at: int
) -> tuple[MessageKey, MessageValue]:
    """Key and value of a newly appended message, with a fresh id."""
    key = MessageKey(ROOM=room, SEQ=seq)
    value = MessageValue(
        ID=uuid.uuid4().hex, AUTHOR=author, BODY=body, CLIENT_ID=client_id, CREATED_AT=at, DELETED=False,
        DELETED_BY=None,
    )
    return key, value


def tombstone(value, by: str) -> MessageValue:
    """The stored value of a moderated message: body erased, who deleted it recorded."""
    return MessageValue(
        ID=value.ID, AUTHOR=value.AUTHOR, BODY="", CLIENT_ID=value.CLIENT_ID, CREATED_AT=value.CREATED_AT,
        DELETED=True, DELETED_BY=by,
    )
