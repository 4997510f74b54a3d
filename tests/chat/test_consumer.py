"""Every client frame and error path through the real consumer (WebsocketCommunicator), real Ignite + Redis."""

from __future__ import annotations

import orjson
import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from ignite_store import get_store

from .helpers import TIMEOUT, application, assert_silent, join, open_socket, recv, send, unique

pytestmark = pytest.mark.usefixtures("live_settings")


@pytest.fixture
def room():
    return unique("t")


@pytest.fixture
def chat_settings(settings):
    """Change settings.CHAT keys for one test."""

    def change(**values):
        settings.CHAT = {**settings.CHAT, **values}

    return change


# ---------------------------------------------------------------- handshake

async def test_anonymous_refused_before_accept():
    comm = WebsocketCommunicator(application, "/ws/chat/")
    comm.scope["user"] = AnonymousUser()
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert not connected


async def test_no_user_in_scope_refused():
    comm = WebsocketCommunicator(application, "/ws/chat/")
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert not connected


async def test_hello_names_user_and_limits(settings):
    name = unique("u")
    comm, hello = await open_socket(name)
    assert hello["v"] == 1 and hello["user"] == name
    assert hello["limits"]["max_body_chars"] == settings.CHAT["MAX_BODY_CHARS"]
    assert hello["limits"]["max_frame_bytes"] == settings.CHAT["MAX_FRAME_BYTES"]
    await comm.disconnect()


async def test_connection_cap_per_user(chat_settings):
    chat_settings(MAX_CONNECTIONS_PER_USER=2)
    name = unique("u")
    first, _ = await open_socket(name)
    second, _ = await open_socket(name)
    third = WebsocketCommunicator(application, "/ws/chat/")
    third.scope["user"] = first.scope["user"]
    connected, _ = await third.connect(timeout=TIMEOUT)
    assert connected  # accepted so the browser can read why it is closed
    assert (await recv(third))["code"] == "too_many_connections"
    assert await third.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4029}
    await third.disconnect()
    await second.disconnect()
    fourth, _ = await open_socket(name)  # a closed socket frees its place
    await first.disconnect()
    await fourth.disconnect()


# ---------------------------------------------------------------- rooms, presence

async def test_join_presence_and_leave(room):
    ana, bob = unique("ana"), unique("bob")
    a, _ = await open_socket(ana)
    joined = await join(a, room)
    assert {k: joined[k] for k in ("type", "room", "last_seq", "kind", "role")} == {
        "type": "joined", "room": room, "last_seq": 0, "kind": "public", "role": "member"}
    b, _ = await open_socket(bob)
    await send(b, type="join", room=room)
    assert (await recv(b, "joined"))["last_seq"] == 0
    snapshot = await recv(b, "presence")
    assert snapshot == {"type": "presence", "room": room, "users": sorted([ana, bob]), "event": "snapshot",
                        "user": None}
    arrived = await recv(a, "presence")
    assert arrived["event"] == "join" and arrived["user"] == bob and arrived["users"] == sorted([ana, bob])

    await send(b, type="leave", room=room)
    assert await recv(b, "left") == {"type": "left", "room": room}
    gone = await recv(a, "presence")
    assert gone["event"] == "leave" and gone["user"] == bob and gone["users"] == [ana]

    await b.disconnect()  # disconnecting leaves every room
    await a.disconnect()


async def test_join_twice_is_harmless_and_disconnect_announces_leave(room):
    ana, bob = unique("ana"), unique("bob")
    a, _ = await open_socket(ana)
    await join(a, room)
    await join(a, room)
    b, _ = await open_socket(bob)
    await join(b, room)
    assert (await recv(a, "presence"))["event"] == "join"
    await b.disconnect()
    left = await recv(a, "presence")
    assert left["event"] == "leave" and left["users"] == [ana]
    await a.disconnect()


async def test_too_many_rooms(chat_settings):
    chat_settings(MAX_ROOMS_PER_SOCKET=2)
    a, _ = await open_socket(unique("u"))
    await join(a, unique("t"))
    await join(a, unique("t"))
    third = unique("t")
    await send(a, type="join", room=third)
    error = await recv(a, "error")
    assert error["code"] == "too_many_rooms" and error["room"] == third
    await a.disconnect()


# ---------------------------------------------------------------- send: store, ack, broadcast

async def test_send_acks_then_broadcasts_to_every_member(room):
    ana, bob = unique("ana"), unique("bob")
    a, _ = await open_socket(ana)
    b, _ = await open_socket(bob)
    await join(a, room)
    await join(b, room)
    await send(a, type="send", room=room, body="hello <b>bob</b>", client_id="c-1")
    ack = await recv(a, "ack")
    assert ack["room"] == room and ack["client_id"] == "c-1" and ack["seq"] == 1
    assert isinstance(ack["id"], str) and isinstance(ack["created_at"], int)
    for comm in (a, b):
        message = (await recv(comm, "message"))["message"]
        assert message == {"id": ack["id"], "room": room, "seq": 1, "author": ana, "body": "hello <b>bob</b>",
                           "client_id": "c-1", "created_at": ack["created_at"], "deleted": False}
    await a.disconnect()
    await b.disconnect()


async def test_retry_with_same_client_id_stores_once(room):
    a, _ = await open_socket(unique("u"))
    await join(a, room)
    await send(a, type="send", room=room, body="once", client_id="same")
    first = await recv(a, "ack")
    await send(a, type="send", room=room, body="once", client_id="same")
    second = await recv(a, "ack")
    assert (first["id"], first["seq"]) == (second["id"], second["seq"])
    page = await get_store().aafter(room, 0, 10)
    assert [m.client_id for m in page.messages] == ["same"]
    await a.disconnect()


async def test_send_rate_limited_per_user(room, chat_settings):
    chat_settings(SEND_RATE_PER_SECOND=0.5, SEND_BURST=3)
    flooder, other = unique("flood"), unique("calm")
    a, _ = await open_socket(flooder)
    b, _ = await open_socket(other)
    await join(a, room)
    await join(b, room)
    for i in range(5):
        await send(a, type="send", room=room, body=f"m{i}", client_id=f"f{i}")
    answers = [await recv(a, "ack", "error") for _ in range(5)]
    assert [f["type"] for f in answers] == ["ack"] * 3 + ["error"] * 2
    limited = answers[3]
    assert limited["code"] == "rate_limited" and limited["client_id"] == "f3" and limited["ref"] == "send"
    assert 0 < limited["retry_after"] <= 2
    await send(b, type="send", room=room, body="unaffected", client_id="b1")  # another user is not limited
    assert (await recv(b, "ack"))["seq"] == 4
    assert (await get_store().alast_seq(room)) == 4  # nothing stored for the refused sends
    await a.disconnect()
    await b.disconnect()


async def test_frame_rate_limited_per_socket(room, chat_settings):
    chat_settings(FRAME_RATE_PER_SECOND=0.5, FRAME_BURST=3)
    a, _ = await open_socket(unique("u"))
    for i in range(4):
        await send(a, type="ping", id=i)
    assert [(await recv(a))["type"] for _ in range(4)] == ["pong", "pong", "pong", "error"]
    await a.disconnect()


# ---------------------------------------------------------------- history and catch-up

async def _fill(comm, room, count, prefix="m"):
    for i in range(count):
        await send(comm, type="send", room=room, body=f"{prefix}{i}", client_id=f"{prefix}{i}")
        await recv(comm, "ack")


async def test_history_latest_and_before(room):
    a, _ = await open_socket(unique("u"))
    await join(a, room)
    await _fill(a, room, 5)
    await send(a, type="history", room=room, limit=2)
    latest = await recv(a, "history")
    assert [m["seq"] for m in latest["messages"]] == [4, 5] and latest["has_more"] is True
    await send(a, type="history", room=room, before=4, limit=10)
    older = await recv(a, "history")
    assert [m["seq"] for m in older["messages"]] == [1, 2, 3] and older["has_more"] is False
    await a.disconnect()


async def test_join_with_after_pages_catchup(room, chat_settings):
    chat_settings(CATCHUP_PAGE=2)
    a, _ = await open_socket(unique("u"))
    await join(a, room)
    await _fill(a, room, 5)
    b, _ = await open_socket(unique("u"))
    await send(b, type="join", room=room, after=1)
    assert (await recv(b, "joined"))["last_seq"] == 5
    pages = []
    while True:
        page = await recv(b, "catchup")
        pages.append(([m["seq"] for m in page["messages"]], page["has_more"]))
        if not page["has_more"]:
            break
    assert pages == [([2, 3], True), ([4, 5], False)]
    await send(b, type="catchup", room=room, after=4)
    assert [m["body"] for m in (await recv(b, "catchup"))["messages"]] == ["m4"]
    await send(b, type="catchup", room=room, after=5)
    assert await recv(b, "catchup") == {"type": "catchup", "room": room, "messages": [], "has_more": False}
    await a.disconnect()
    await b.disconnect()


# ---------------------------------------------------------------- typing, ping

async def test_typing_reaches_others_throttled(room):
    ana, bob = unique("ana"), unique("bob")
    a, _ = await open_socket(ana)
    b, _ = await open_socket(bob)
    await join(a, room)
    await join(b, room)
    await send(a, type="typing", room=room)
    assert await recv(b, "typing") == {"type": "typing", "room": room, "user": ana}
    await send(a, type="typing", room=room)  # within the interval: dropped
    await assert_silent(b, 0.5, "typing")
    await assert_silent(a, 0.1, "typing")  # never echoed to the typist
    await a.disconnect()
    await b.disconnect()


async def test_ping_pong():
    a, _ = await open_socket(unique("u"))
    await send(a, type="ping", id="p-1")
    assert await recv(a) == {"type": "pong", "id": "p-1"}
    await send(a, type="ping")
    assert await recv(a) == {"type": "pong", "id": None}
    await a.disconnect()


# ---------------------------------------------------------------- bad input: error frame, socket stays open

BAD_FRAMES = [
    ("not json", "bad_json", None),
    ('{"type": "send", "room": "r", "body": "\\ud800", "client_id": "c"}', "bad_json", None),
    ("[1, 2]", "bad_frame", None),
    ('{"room": "lobby"}', "bad_frame", None),
    ('{"type": "subscribe"}', "unknown_type", None),
    ('{"type": "join", "room": "lobby", "v": 9}', "unsupported_version", "join"),
    ('{"type": "join", "room": "NO SPACES"}', "invalid", "join"),
    ('{"type": "join", "room": "lobby", "after": true}', "invalid", "join"),
    ('{"type": "join", "room": "lobby", "after": 1e300}', "invalid", "join"),
    ('{"type": "send", "room": "lobby", "body": "x\\u0000", "client_id": "c"}', "invalid", "send"),
    ('{"type": "send", "room": "lobby", "body": ["x"], "client_id": "c"}', "invalid", "send"),
    ('{"type": "history", "room": "lobby", "limit": 1000}', "invalid", "history"),
    ('{"type": "ping", "id": {"deep": [1]}}', "invalid", "ping"),
]


@pytest.mark.parametrize(("text", "code", "ref"), BAD_FRAMES)
async def test_bad_frame_gets_error_and_socket_stays_open(text, code, ref):
    a, _ = await open_socket(unique("u"))
    await a.send_to(text_data=text)
    error = await recv(a, "error")
    assert error["code"] == code and error.get("ref") == ref and error["detail"]
    await send(a, type="ping", id=1)
    assert (await recv(a))["type"] == "pong"
    await a.disconnect()


@pytest.mark.parametrize("frame_type", ["send", "history", "catchup", "typing", "leave"])
async def test_room_not_joined(room, frame_type):
    a, _ = await open_socket(unique("u"))
    await send(a, type=frame_type, room=room, body="x", client_id="c-1", after=0)
    error = await recv(a, "error")
    assert error["code"] == "not_joined" and error["ref"] == frame_type and error["room"] == room
    if frame_type == "send":
        assert error["client_id"] == "c-1"
        assert await get_store().alast_seq(room) == 0
    await a.disconnect()


async def test_binary_frame_refused():
    a, _ = await open_socket(unique("u"))
    await a.send_to(bytes_data=b'{"type": "ping"}')
    assert (await recv(a, "error"))["code"] == "binary_not_supported"
    await a.disconnect()


async def test_oversized_frame_closes_1009_unparsed(settings, room):
    a, _ = await open_socket(unique("u"))
    await join(a, room)
    body = "é" * (settings.CHAT["MAX_FRAME_BYTES"] // 2)  # fewer characters than the limit, more bytes
    await a.send_to(text_data=orjson.dumps({"type": "send", "room": room, "body": body, "client_id": "big"}).decode())
    assert await a.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 1009}
    assert await get_store().alast_seq(room) == 0
    await a.disconnect()


async def test_moderation_delete_reaches_members(room):
    from chat.fanout import apublish_moderated

    a, _ = await open_socket(unique("u"))
    await join(a, room)
    await send(a, type="send", room=room, body="rude", client_id="r-1")
    ack = await recv(a, "ack")
    tombstone = await get_store().adelete(room, ack["seq"], by="moderator")
    await apublish_moderated(tombstone, "moderator")
    update = await recv(a, "update")
    assert update == {"type": "update", "message": tombstone.to_dict(), "change": {"kind": "moderate",
                                                                                    "by": "moderator"}}
    assert update["message"]["deleted"] is True and update["message"]["change_seq"] == 1
    await send(a, type="history", room=room)
    tombstone = (await recv(a, "history"))["messages"][0]
    assert tombstone["deleted"] is True and tombstone["body"] == ""
    await a.disconnect()
