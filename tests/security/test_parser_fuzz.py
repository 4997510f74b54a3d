"""Property-based fuzzing of the frame parser (chat/protocol.py): refuse cleanly, accept only valid commands."""

from __future__ import annotations

import os

import orjson
import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.protocol import Catchup, History, Ping, ProtocolError, Send, encode, parse_frame
from ignite_store.validation import StoreLimits, validate_body, validate_client_id, validate_room

from .strategies import frame_dicts, frame_texts

pytestmark = pytest.mark.unit


# `make unit` runs fewer (FUZZ_EXAMPLES=150) to stay a fast lane; `make test` runs them all.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2500"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
ROOMS = ["general", "r-1"]
ERROR_CODES = {"bad_json", "bad_frame", "unknown_type", "unsupported_version", "invalid"}


def store_limits() -> StoreLimits:
    """The limits the default store enforces, from its IGNITE_STORE options (no connection)."""
    options = django_settings.IGNITE_STORE["default"]["OPTIONS"]
    return StoreLimits(options["max_body_chars"], options["history_page_max"], options["room_pattern"])


def assert_parse_is_safe(text: str) -> None:
    """parse_frame returns a valid command or raises ProtocolError with an encodable error frame."""
    try:
        command = parse_frame(text)
    except ProtocolError as e:
        frame = orjson.loads(encode(e.to_frame()))
        assert frame["type"] == "error" and frame["code"] in ERROR_CODES, frame
        return
    # Whatever is accepted is valid by the store's own rules, so nothing invalid can be stored.
    limits = store_limits()
    if hasattr(command, "room"):
        assert validate_room(command.room, limits.room_pattern) == command.room
    if isinstance(command, Send):
        assert validate_body(command.body, limits.max_body_chars) == command.body
        assert validate_client_id(command.client_id) == command.client_id
    for name in ("after", "before"):
        value = getattr(command, name, None)
        if value is not None:
            assert type(value) is int and 0 <= value < 2**63, (name, value)  # fits Ignite's long
    if isinstance(command, History):
        assert type(command.limit) is int and 1 <= command.limit <= 100
    if isinstance(command, Catchup):
        assert command.after is not None
    if isinstance(command, Ping) and isinstance(command.id, int):
        assert abs(command.id) <= 2**53


@FUZZ
@given(frame_texts(ROOMS))
def test_parser_never_fails_on_hostile_text(text):
    assert_parse_is_safe(text)


@FUZZ
@given(frame_dicts(ROOMS))
def test_parser_on_frame_shaped_objects(frame):
    text = orjson.dumps(frame, option=orjson.OPT_PASSTHROUGH_DATACLASS).decode() if _orjson_ok(frame) else None
    if text is not None:
        assert_parse_is_safe(text)


@FUZZ
@given(st.binary(max_size=200))
def test_parser_on_bytes_decoded_leniently(data):
    # What a sloppy proxy could hand over: every byte sequence, decoded with replacement or surrogates.
    assert_parse_is_safe(data.decode("utf-8", "replace"))
    assert_parse_is_safe(data.decode("utf-8", "surrogateescape"))


def _orjson_ok(value) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: covered by the text strategy instead
        return False
    return True


@pytest.mark.parametrize("depth", [1, 100, 1023, 1024, 5000, 100_000])
def test_deep_nesting_is_refused_not_crashing(depth):
    assert_parse_is_safe("[" * depth + "]" * depth)
    assert_parse_is_safe('{"type": "ping", "id": ' + "[" * depth + "]" * depth + "}")
