"""Helpers shared by chat_export and chat_import: date arguments, the JSON Lines shape, progress.

A file holds three kinds of line, in this order: rooms (`"record": "room"`), memberships
(`"record": "membership"`, with read markers), then messages. Message lines carry no `record` key,
so files written before rooms existed (messages only) import unchanged. The key is `record`, not
`kind`, because a room has a `kind` of its own (public, private, direct).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

from ignite_store.types import Membership, Message, Room

FIELDS = ("id", "room", "seq", "author", "body", "client_id", "created_at", "deleted")
# Written only when set. Reactions, mentions, versions and change sequences are not exported: an import
# starts the room's change log afresh.
OPTIONAL_FIELDS = ("edited_at", "reply_to")
ROOM_FIELDS = ("id", "name", "kind", "topic", "creator", "created_at", "archived")
MEMBERSHIP_FIELDS = ("room", "user", "role", "joined_at", "last_read_seq", "notify")
RECORD = "record"


def epoch_ms(value: str, option: str) -> int:
    """Parse an ISO date or datetime (naive means UTC) into epoch milliseconds."""
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"{option} {value!r} is not an ISO date (2025-01-31) or datetime (2025-01-31T12:00)")
        parsed = dt.datetime.combine(day, dt.time.min)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def message_from_json(data: object, line: int) -> Message:
    """Build a Message from one decoded JSON line; CommandError names the line when it is malformed."""
    if not isinstance(data, dict) or set(data) - {*FIELDS, *OPTIONAL_FIELDS} or {"room", "seq", "id"} - set(data):
        raise CommandError(f"line {line}: expected an object with keys {', '.join(FIELDS)}")
    try:
        return Message(
            id=data["id"], room=data["room"], seq=data["seq"], author=data.get("author", ""),
            body=data.get("body", ""), client_id=data.get("client_id", ""),
            created_at=int(data["created_at"]), deleted=bool(data.get("deleted", False)),
            edited_at=None if data.get("edited_at") is None else int(data["edited_at"]),
            reply_to=None if data.get("reply_to") is None else int(data["reply_to"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"line {line}: {exc}") from exc


def message_line(message: Message) -> dict:
    """The JSON object of one message line."""
    data = message.to_dict()
    return {key: data[key] for key in (*FIELDS, *OPTIONAL_FIELDS) if key in data}


def room_line(room: Room) -> dict:
    """The JSON object of one room line."""
    return {RECORD: "room", **room.to_dict()}


def membership_line(membership: Membership) -> dict:
    """The JSON object of one membership line (read marker included)."""
    return {RECORD: "membership", **dataclasses.asdict(membership)}


def record_from_json(data: object, line: int) -> Message | Room | Membership:
    """A Message, Room or Membership from one decoded JSON line; CommandError names a malformed line."""
    if not isinstance(data, dict):
        raise CommandError(f"line {line}: expected a JSON object")
    record = data.get(RECORD, "message")
    fields = {key: value for key, value in data.items() if key != RECORD}
    if record == "message":
        return message_from_json(fields, line)
    if record == "room":
        _expect(fields, ROOM_FIELDS, {"id", "name", "kind", "created_at"}, line)
        return _build(line, lambda: Room(
            id=fields["id"], name=fields["name"], kind=fields["kind"], topic=fields.get("topic", ""),
            creator=fields.get("creator", "system"), created_at=int(fields["created_at"]),
            archived=bool(fields.get("archived", False)),
        ))
    if record == "membership":
        _expect(fields, MEMBERSHIP_FIELDS, {"room", "user", "role"}, line)
        return _build(line, lambda: Membership(
            room=fields["room"], user=fields["user"], role=fields["role"], joined_at=int(fields.get("joined_at", 0)),
            last_read_seq=int(fields.get("last_read_seq", 0)), notify=fields.get("notify", "all"),
        ))
    raise CommandError(f"line {line}: unknown record {record!r} (expected room, membership or message)")


def _expect(fields: dict, allowed: tuple[str, ...], required: set[str], line: int) -> None:
    if set(fields) - set(allowed) or required - set(fields):
        raise CommandError(f"line {line}: expected an object with keys {', '.join(allowed)}")


def _build(line: int, make):
    try:
        return make()
    except (TypeError, ValueError) as exc:
        raise CommandError(f"line {line}: {exc}") from exc


class Progress:
    """A one-line progress indicator on stderr, only when stderr is a terminal."""

    def __init__(self, verb: str, total: int | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.verb, self.total, self.count = verb, total, 0
        self._started = self._shown = time.monotonic()

    def step(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self._shown >= 0.2:
            self._shown = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.count / max(now - self._started, 1e-6)
        if self.total:
            done = min(self.count / self.total, 1.0)
            bar = "#" * int(done * 30)
            text = f"\r{self.verb} [{bar:<30}] {self.count}/{self.total} ({rate:,.0f}/s)"
        else:
            text = f"\r{self.verb} {self.count} messages ({rate:,.0f}/s)"
        self.stream.write(text)
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
