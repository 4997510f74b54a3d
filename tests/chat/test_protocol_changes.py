"""Parsing of the message-change frames, their server frames and @mentions, without sockets."""

import orjson
import pytest

from chat.mentions import NONE, candidate_groups, candidate_names, resolve
from chat.protocol import Catchup, History, Join, ProtocolError, Send, parse_frame
from chat.protocol_changes import DeleteMessage, Edit, React, changed_frame, update_frame
from ignite_store import Message, Reaction

pytestmark = pytest.mark.unit


def frame(**fields) -> str:
    return orjson.dumps(fields).decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (frame(type="edit", room="r", seq=3, body="fixed", client_id="e-1"), Edit("r", 3, "fixed", "e-1")),
        (frame(type="delete", room="r", seq=3, client_id="d-1"), DeleteMessage("r", 3, "d-1")),
        (frame(type="react", room="r", seq=3, emoji="👍🏽"), React("r", 3, "👍🏽", True)),
        (frame(type="unreact", room="r", seq=3, emoji="👨‍👩‍👧"), React("r", 3, "👨‍👩‍👧", False)),
        (frame(type="send", room="r", body="re", client_id="c", reply_to=2), Send("r", "re", "c", 2)),
        (frame(type="history", room="r", around=9, limit=10), History("r", None, 10, 9)),
        (frame(type="join", room="r", after=4, after_change=2), Join("r", 4, 2)),
        (frame(type="catchup", room="r", after_change=2), Catchup("r", None, 2)),
        (frame(type="catchup", room="r", after=1, after_change=2), Catchup("r", 1, 2)),
    ],
)
def test_valid_frames(text, expected):
    assert parse_frame(text) == expected


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "edit", "room": "r", "seq": 1, "body": "", "client_id": "e"}, "body"),
        ({"type": "edit", "room": "r", "seq": 1, "body": "x"}, "client_id"),
        ({"type": "edit", "room": "r", "seq": "1", "body": "x", "client_id": "e"}, "seq"),
        ({"type": "edit", "room": "r", "seq": 0, "body": "x", "client_id": "e"}, "seq"),
        ({"type": "edit", "room": "R R", "seq": 1, "body": "x", "client_id": "e"}, "room"),
        ({"type": "delete", "room": "r", "seq": True, "client_id": "e"}, "seq"),
        ({"type": "react", "room": "r", "seq": 1, "emoji": "a b"}, "emoji"),
        ({"type": "react", "room": "r", "seq": 1, "emoji": "x" * 33}, "emoji"),
        ({"type": "unreact", "room": "r", "seq": 1}, "emoji"),
        ({"type": "react", "room": "r", "seq": 1, "emoji": "\u0007"}, "emoji"),
        ({"type": "send", "room": "r", "body": "x", "client_id": "c", "reply_to": -1}, "reply_to"),
        ({"type": "history", "room": "r", "around": 3, "before": 4}, "around"),
        ({"type": "catchup", "room": "r", "after_change": "2"}, "after_change"),
        ({"type": "catchup", "room": "r"}, "after"),
    ],
)
def test_bad_fields_are_invalid_with_their_name(fields, field):
    with pytest.raises(ProtocolError) as info:
        parse_frame(frame(**fields))
    assert (info.value.code, info.value.field) == ("invalid", field)
    assert info.value.to_frame()["ref"] == fields["type"]


def test_refusals_name_the_message():
    with pytest.raises(ProtocolError) as info:
        parse_frame(frame(type="edit", room="r", seq=5, body=" ", client_id="e-1"))
    assert {k: info.value.to_frame()[k] for k in ("ref", "room", "seq", "client_id")} == {
        "ref": "edit", "room": "r", "seq": 5, "client_id": "e-1"}


def message(seq=1, **extra) -> Message:
    return Message("id", "r", seq, "ana", "body", "c", 1000, **extra)


def test_server_frames():
    assert changed_frame("react", "r", 1, None, False) == {
        "type": "changed", "ref": "react", "room": "r", "seq": 1, "change_seq": None, "changed": False}
    update = update_frame(message(change_seq=4, reactions=(Reaction("👍", ("ana", "bob")),)), "react", "bob", "👍")
    assert update["change"] == {"kind": "react", "by": "bob", "emoji": "👍"}
    assert update["message"]["reactions"] == [{"emoji": "👍", "count": 2, "users": ["ana", "bob"]}]
    assert update["message"]["change_seq"] == 4


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("no at sign", []),
        ("hi @ana", ["ana"]),
        ("thanks @ana.", ["ana.", "ana"]),
        ("@bøb and @李雷, @room!", ["bøb", "李雷", "room"]),
        ("mail me at ana@example.org", []),
        ("@a.b@c+d-e", ["a.b@c+d-e"]),
        ("@@ana", ["@ana"]),  # a username may start with @
    ],
)
def test_candidate_names(body, names):
    assert candidate_names(body) == names


def test_only_members_are_mentioned_never_the_author():
    groups = [("ana",), ("bob",), ("eve",), ("room",)]
    got = resolve(groups, {"ana", "bob"}, "ana", room_members=None)
    assert (got.users, got.room, got.notified) == (("bob",), False, ("bob",))
    everyone = resolve(groups, {"ana", "bob"}, "ana", room_members=["ana", "bob", "cy"])
    assert (everyone.users, everyone.room, everyone.notified) == (("bob",), True, ("bob", "cy"))
    assert not resolve([("eve",)], set(), "ana", room_members=None) and not NONE


@pytest.mark.parametrize(
    ("body", "members", "mentioned"),
    [
        ("@김민지님 회의록 봤어요?", {"김민지"}, ("김민지",)),
        ("@김민지님께 전달했어요", {"김민지"}, ("김민지",)),
        ("@서준이랑 같이 가요", {"서준"}, ("서준",)),
        ("@김영이 왔어요", {"김영이", "김영"}, ("김영이",)),  # the longest member reading wins
        ("@김민지님 @김민지 두 번", {"김민지"}, ("김민지",)),
        ("@anaa는 누구?", {"ana"}, ()),  # only whole particles are dropped
    ],
)
def test_korean_particles_after_a_name(body, members, mentioned):
    assert resolve(candidate_groups(body), members, "author", room_members=None).users == mentioned
