"""The API's request and response shapes (pydantic, for validation of types and the OpenAPI schema).

Field rules beyond types (room pattern, body length and characters, client_id alphabet) are the
socket's, applied by chat.protocol.parse_command, so both refuse the same input with the same codes.
"""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class Error(Schema):
    type: Literal["error"] = "error"
    code: str = Field(description="stable: invalid, bad_json, unauthorized, forbidden, csrf_failed, not_found, "
                                  "too_large, rate_limited, store_unavailable, unavailable, internal; for edits "
                                  "and reactions also no_such_message, not_author, edit_window_closed, "
                                  "delete_not_allowed, too_many_reactions, message_deleted")
    detail: str
    field: str | None = None
    room: str | None = None
    client_id: str | None = None
    retry_after: float | None = Field(None, description="seconds (also in the Retry-After header)")
    seq: int | None = None


class Me(Schema):
    user: str
    bot: bool
    auth: Literal["token", "session"]


class RoomEntry(Schema):
    room: str
    name: str
    kind: Literal["public", "private", "direct"]
    topic: str
    role: str | None
    last_seq: int
    last_read_seq: int
    unread: int = Field(description="last_seq - last_read_seq")
    mentions: int = Field(description="unread messages that mention you")
    last_at: int | None = Field(description="ms since the epoch of the last message")
    notify: str = "all"
    peers: list[str] | None = None


class DirectoryEntry(Schema):
    room: str
    name: str
    topic: str
    members: int
    last_seq: int
    joined: bool


class CreateRoomIn(Schema):
    name: str = Field(description="1-80 characters of any script")
    kind: Literal["public", "private"] = "public"
    topic: str = ""


class Member(Schema):
    user: str
    role: str


class InviteIn(Schema):
    user: str


class MembershipChanged(Schema):
    room: str
    user: str
    changed: bool


class MessageOut(Schema):
    # Later issues add optional fields (edits, reactions, replies): they are passed through.
    model_config = ConfigDict(extra="allow")

    id: str
    room: str
    seq: int
    author: str
    body: str
    client_id: str
    created_at: int = Field(description="ms since the epoch (UTC)")
    deleted: bool


class MessagePage(Schema):
    room: str
    messages: list[MessageOut] = Field(description="ascending seq")
    has_more: bool = Field(description="older messages exist (newer ones for an `after` page)")
    has_newer: bool | None = Field(None, description="for an `around` page: newer messages exist")
    next: dict[str, int] | None = Field(None, description="the query of the next page in the same direction, "
                                                          "e.g. {\"before\": 51}; null at the end")
    last_change_seq: int | None = Field(None, description="for an `after_change` page: the room's change head; "
                                                          "after the last page your change cursor becomes it")


class SendIn(Schema):
    body: str
    client_id: str = Field(description="1-64 of A-Za-z0-9_.:- ; the same client_id returns the stored message")
    reply_to: int | None = Field(None, description="the seq of a message of the room this one replies to")


class EditIn(Schema):
    body: str
    client_id: str = Field(description="idempotency key of this edit")


class ChangeOut(Schema):
    room: str
    seq: int
    change_seq: int | None = Field(description="the room's change sequence of this change; null when nothing "
                                               "changed (the reaction was there already)")
    changed: bool
    message: MessageOut = Field(description="the message's current state")


class SendOut(MessageOut):
    created: bool = Field(description="false when this client_id was stored before (an idempotent retry)")


class ReadIn(Schema):
    seq: int


class ReadOut(Schema):
    room: str
    seq: int


class WebhookIn(Schema):
    text: str = Field(description="the message body")
    client_id: str | None = Field(None, description="optional idempotency key, as for a send")


class SearchHit(Schema):
    room: str
    room_name: str
    seq: int
    id: str
    author: str
    created_at: int
    snippet: str
    hits: list[list[int]] = Field(description="[start, end) character ranges of the matches in `snippet`")


class SearchResults(Schema):
    query: str
    room: str | None
    results: list[SearchHit]
    cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")
