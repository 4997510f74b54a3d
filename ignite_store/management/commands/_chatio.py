"""Helpers shared by chat_export and chat_import: date arguments, the JSON Lines shape, progress."""

from __future__ import annotations

import datetime as dt
import sys
import time

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

from ignite_store.types import Message

FIELDS = ("id", "room", "seq", "author", "body", "client_id", "created_at", "deleted")


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
    if not isinstance(data, dict) or set(data) - set(FIELDS) or {"room", "seq", "id"} - set(data):
        raise CommandError(f"line {line}: expected an object with keys {', '.join(FIELDS)}")
    try:
        return Message(
            id=data["id"], room=data["room"], seq=data["seq"], author=data.get("author", ""),
            body=data.get("body", ""), client_id=data.get("client_id", ""),
            created_at=int(data["created_at"]), deleted=bool(data.get("deleted", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
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
