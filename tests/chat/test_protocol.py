"""Frame parsing and validation, without sockets."""

import orjson
import pytest

from chat.protocol import (
    Catchup,
    History,
    Join,
    Leave,
    Ping,
    ProtocolError,
    Send,
    Typing,
    encode,
    error_frame,
    hello_frame,
    parse_frame,
)

pytestmark = pytest.mark.unit


def frame(**fields) -> str:
    return orjson.dumps(fields).decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (frame(type="join", room="lobby"), Join("lobby")),
        (frame(type="join", room="lobby", after=7, v=1), Join("lobby", 7)),
        (frame(type="join", room="lobby", after=None), Join("lobby")),
        (frame(type="leave", room="a-b_c"), Leave("a-b_c")),
        (frame(type="send", room="lobby", body="hi\nthere", client_id="c-1"), Send("lobby", "hi\nthere", "c-1")),
        (frame(type="history", room="lobby"), History("lobby", None, 50)),
        (frame(type="history", room="lobby", before=10, limit=100), History("lobby", 10, 100)),
        (frame(type="catchup", room="lobby", after=0), Catchup("lobby", 0)),
        (frame(type="typing", room="lobby"), Typing("lobby")),
        (frame(type="ping"), Ping()),
        (frame(type="ping", id="abc"), Ping("abc")),
        (frame(type="ping", id=42), Ping(42)),
        (frame(type="join", room="lobby", extra={"ignored": True}), Join("lobby")),
    ],
)
def test_valid_frames(text, expected):
    assert parse_frame(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "field"),
    [
        ("{", "bad_json", None),
        ("", "bad_json", None),
        ('{"type": "join", "room": "a", "after": 1e999}', "bad_json", None),
        ("[" * 2000 + "]" * 2000, "bad_json", None),
        ('"join"', "bad_frame", None),
        ("[]", "bad_frame", None),
        ("null", "bad_frame", None),
        (frame(room="lobby"), "bad_frame", None),
        (frame(type=1), "bad_frame", None),
        (frame(type="nope"), "unknown_type", None),
        (frame(type="join", room="lobby", v=2), "unsupported_version", None),
        (frame(type="join", room="lobby", v=True), "unsupported_version", None),
        (frame(type="join"), "invalid", "room"),
        (frame(type="join", room="Lobby"), "invalid", "room"),
        (frame(type="join", room="a" * 65), "invalid", "room"),
        (frame(type="join", room=["lobby"]), "invalid", "room"),
        (frame(type="join", room="lobby", after=True), "invalid", "after"),
        (frame(type="join", room="lobby", after=-1), "invalid", "after"),
        (frame(type="join", room="lobby", after=1.5), "invalid", "after"),
        (frame(type="join", room="lobby", after="3"), "invalid", "after"),
        ('{"type": "join", "room": "lobby", "after": 99999999999999999999999}', "invalid", "after"),
        (frame(type="send", room="lobby", body="x"), "invalid", "client_id"),
        (frame(type="send", room="lobby", body="x", client_id="bad id"), "invalid", "client_id"),
        (frame(type="send", room="lobby", body="x", client_id="a" * 65), "invalid", "client_id"),
        (frame(type="send", room="lobby", client_id="c1"), "invalid", "body"),
        (frame(type="send", room="lobby", body=5, client_id="c1"), "invalid", "body"),
        (frame(type="send", room="lobby", body="   ", client_id="c1"), "invalid", "body"),
        (frame(type="send", room="lobby", body="a\x00b", client_id="c1"), "invalid", "body"),
        (frame(type="send", room="lobby", body="a\x1bb", client_id="c1"), "invalid", "body"),
        ('{"type": "send", "room": "lobby", "body": "\\ud800", "client_id": "c1"}', "bad_json", None),
        (frame(type="send", room="lobby", body="x" * 4001, client_id="c1"), "invalid", "body"),
        (frame(type="history", room="lobby", limit=0), "invalid", "limit"),
        (frame(type="history", room="lobby", limit=101), "invalid", "limit"),
        (frame(type="history", room="lobby", limit=False), "invalid", "limit"),
        (frame(type="history", room="lobby", before="x"), "invalid", "before"),
        (frame(type="catchup", room="lobby"), "invalid", "after"),
        (frame(type="typing", room=""), "invalid", "room"),
        (frame(type="ping", id=True), "invalid", "id"),
        (frame(type="ping", id=2**60), "invalid", "id"),
        (frame(type="ping", id="a\nb"), "invalid", "id"),
        (frame(type="ping", id={"a": 1}), "invalid", "id"),
    ],
)
def test_invalid_frames(text, code, field):
    with pytest.raises(ProtocolError) as info:
        parse_frame(text)
    assert info.value.code == code
    assert info.value.field == field
    error = info.value.to_frame()
    assert error["type"] == "error" and error["code"] == code and error["detail"]


def test_send_errors_name_the_client_id_and_room():
    with pytest.raises(ProtocolError) as info:
        parse_frame(frame(type="send", room="lobby", body="", client_id="c-9"))
    assert info.value.to_frame() == {
        "type": "error", "code": "invalid", "detail": "must not be empty", "ref": "send", "room": "lobby",
        "client_id": "c-9", "field": "body",
    }


def test_body_limit_follows_settings(settings):
    settings.CHAT = {**settings.CHAT, "MAX_BODY_CHARS": 3}
    assert parse_frame(frame(type="send", room="r", body="abc", client_id="c")).body == "abc"
    with pytest.raises(ProtocolError):
        parse_frame(frame(type="send", room="r", body="abcd", client_id="c"))


def test_hello_tells_the_page_when_it_may_edit_and_delete(settings):
    settings.CHAT = {**settings.CHAT, "EDIT_WINDOW_SECONDS": 0, "ALLOW_DELETE_OWN": False}
    limits = hello_frame("ana")["limits"]
    assert (limits["edit_window_seconds"], limits["allow_delete_own"]) == (0, False)


def test_encode_and_error_frame_omit_unknown_fields():
    assert orjson.loads(encode(error_frame("x", "y"))) == {"type": "error", "code": "x", "detail": "y"}
    assert error_frame("rate_limited", "d", retry_after=0.5)["retry_after"] == 0.5


def _msg(seq: int, body: str):
    from ignite_store import Message

    return Message(id=f"id{seq}", room="r", seq=seq, author="a", body=body, client_id=f"c{seq}", created_at=1)


@pytest.mark.parametrize(("keep", "expected"), [("oldest", [1, 2]), ("newest", [4, 5])])
def test_page_frame_fits_the_frame_limit(settings, keep, expected):
    from chat.protocol import page_frame

    settings.CHAT = {**settings.CHAT, "MAX_FRAME_BYTES": 2 * 1000 + 500}
    messages = [_msg(i, "x" * 1000) for i in range(1, 6)]
    frame, count = page_frame("catchup", "r", messages, False, keep=keep)
    assert [m["seq"] for m in frame["messages"]] == expected and count == 2
    assert frame["has_more"] is True
    assert len(orjson.dumps(frame)) <= settings.CHAT["MAX_FRAME_BYTES"]
    small, count = page_frame("catchup", "r", messages[:1], False, keep=keep)
    assert count == 1 and small["has_more"] is False


def test_page_frame_keeps_one_message_even_if_too_big(settings):
    from chat.protocol import page_frame

    settings.CHAT = {**settings.CHAT, "MAX_FRAME_BYTES": 100}
    frame, count = page_frame("history", "r", [_msg(1, "y" * 500), _msg(2, "z")], False, keep="newest")
    assert count == 1 and frame["messages"][0]["seq"] == 2
