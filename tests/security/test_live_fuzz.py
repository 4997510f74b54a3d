"""Fuzz a live consumer over one WebSocket against real Daphne: every bad frame gets its error, nothing
invalid is stored, the socket survives; raw non-UTF-8 text closes 1007 and oversize frames close 1009.
"""

from __future__ import annotations

import itertools
import json
import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from chat.protocol import Join, Leave, Ping, ProtocolError, Send, parse_frame
from ignite_store import get_store
from ignite_store.validation import validate_body
from tests.fixtures.rooms import ensure_public_rooms

from .strategies import frame_texts

pytestmark = pytest.mark.usefixtures("live_settings")

ROOM = f"fz-{uuid.uuid4().hex[:10]}"
NOT_JOINED = ["general", "r-1", f"nj-{uuid.uuid4().hex[:8]}"]
LIVE = settings(max_examples=150, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))
EVENTS = {"message", "presence", "typing", "rooms", "room", "member", "read"}
TIMEOUT = 20


class FuzzSocket:
    """One live socket that joined ROOM, and what it was told."""

    def __init__(self, ws):
        self.ws = ws
        assert self.next_answer()["type"] == "hello"
        self.ws.send(json.dumps({"type": "join", "room": ROOM}))
        assert self.next_answer()["type"] == "joined"
        self.frames = 0
        self.acked: dict[str, int] = {}  # client_id -> seq
        self.markers = itertools.count()

    def next_answer(self) -> dict:
        while True:
            frame = json.loads(self.ws.recv(timeout=TIMEOUT))
            if frame["type"] not in EVENTS:
                return frame


def expected_answer(text: str) -> tuple[str, str | None] | None:
    """The one answer the server owes this frame; None for frames whose answer is not one frame."""
    try:
        command = parse_frame(text)
    except ProtocolError as e:
        return ("error", e.code)
    if isinstance(command, Ping):
        return ("pong", None)
    if isinstance(command, Join) or command.room == ROOM and not isinstance(command, Send):
        return None  # joins, leaves, history, catch-up and typing in ROOM answer with 0..n frames
    if command.room != ROOM:
        return ("error", "not_joined")
    return ("ack", None)


@pytest.fixture(scope="module")
def fuzz_socket(fuzz_server, sec_cookies):
    ensure_public_rooms(ROOM)
    with connect(fuzz_server.ws_url, origin=fuzz_server.origin, additional_headers={"Cookie": sec_cookies["sec_fuzz"]},
                 proxy=None, compression=None, max_size=2**22, open_timeout=TIMEOUT) as ws:
        yield FuzzSocket(ws)


@LIVE
@given(st.lists(frame_texts([ROOM, *NOT_JOINED]), min_size=40, max_size=100))
def test_every_frame_gets_its_answer_and_the_socket_survives(fuzz_socket, texts):
    sent = []
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            continue  # lone surrogates cannot travel as a text frame (raw bytes: test below)
        expected = expected_answer(text)
        if expected is None or isinstance(_parsed(text), Leave):
            continue
        fuzz_socket.ws.send(text)
        sent.append((text, expected))
    marker = f"zz-marker-{ROOM}-{next(fuzz_socket.markers)}"
    fuzz_socket.ws.send(json.dumps({"type": "ping", "id": marker}))
    answers = []
    while True:
        frame = fuzz_socket.next_answer()
        if frame == {"type": "pong", "id": marker}:
            break
        answers.append(frame)
    fuzz_socket.frames += len(sent) + 1
    got = [(a["type"], a.get("code")) for a in answers]
    assert got == [e for _, e in sent], [(t[:80], e, g) for (t, e), g in zip(sent, got, strict=False) if e != g][:5]
    for (text, _), answer in zip(sent, answers, strict=True):
        if answer["type"] == "ack":
            cid = json.loads(text)["client_id"]
            assert fuzz_socket.acked.setdefault(cid, answer["seq"]) == answer["seq"]  # idempotent retries


def _parsed(text: str):
    try:
        return parse_frame(text)
    except ProtocolError:
        return None


def test_fuzz_ran_enough_frames_and_stored_only_valid_messages(fuzz_socket):
    # >= 10,000 frames in all: this live run plus test_parser_fuzz.py (3 x 2,500 examples and more).
    assert fuzz_socket.frames >= 6000, fuzz_socket.frames
    store = get_store()
    stored = store.after(ROOM, 0, 10_000).messages
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    assert {m.client_id: m.seq for m in stored} == fuzz_socket.acked  # exactly the acked ones, once each
    for message in stored:
        assert validate_body(message.body, store.limits.max_body_chars) == message.body and message.author == "sec_fuzz"
    for room in NOT_JOINED:
        assert store.last_seq(room) == 0
    print(f"\nFIGURES live_fuzz: frames={fuzz_socket.frames} acked={len(fuzz_socket.acked)} stored={len(stored)}")


# ---------------------------------------------------------------- what the WebSocket layer must close

@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=1, max_size=64).filter(lambda b: not _is_utf8(b)))
def test_invalid_utf8_text_frames_close_1007(fuzz_server, sec_cookies, data):
    with connect(fuzz_server.ws_url, origin=fuzz_server.origin, proxy=None, open_timeout=TIMEOUT,
                 additional_headers={"Cookie": sec_cookies["sec_raw"]}) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "hello"
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "rooms"
        ws.send(data, text=True)  # the bytes go out as a text frame, unchecked
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=TIMEOUT)
        assert ws.close_code == 1007


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("size", [32_769, 40_000, 1_000_000])
def test_oversized_frames_close_1009(fuzz_server, sec_cookies, size):
    with connect(fuzz_server.ws_url, origin=fuzz_server.origin, proxy=None, open_timeout=TIMEOUT,
                 additional_headers={"Cookie": sec_cookies["sec_raw"]}) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "hello"
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "rooms"
        body = json.dumps({"type": "send", "room": ROOM, "client_id": "big", "body": "x"})
        ws.send(body[:-1] + ', "pad": "' + "x" * (size - len(body) - 11) + '"}')
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=TIMEOUT)
        assert ws.close_code == 1009


def test_frame_at_the_limit_is_still_parsed(fuzz_server, sec_cookies):
    with connect(fuzz_server.ws_url, origin=fuzz_server.origin, proxy=None, open_timeout=TIMEOUT,
                 additional_headers={"Cookie": sec_cookies["sec_raw"]}) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "hello"
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "rooms"
        head = '{"type": "ping", "id": "edge", "pad": "'
        ws.send(head + "x" * (32_768 - len(head) - 2) + '"}')
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"type": "pong", "id": "edge"}
