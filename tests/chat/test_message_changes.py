"""Edit, delete, react, reply, history around, mentions and the catch-up of changes through the real consumer
(WebsocketCommunicator), real Ignite + Redis (docs/protocol.md, "Changing messages")."""

from __future__ import annotations

import pytest

from ignite_store import get_store

from .helpers import assert_silent, join, open_socket, recv, send, unique

pytestmark = pytest.mark.usefixtures("live_settings")


@pytest.fixture
def room():
    return unique("t")


@pytest.fixture
def chat_settings(settings):
    def change(**values):
        settings.CHAT = {**settings.CHAT, **values}

    return change


async def say(comm, room, body, client_id, **extra) -> dict:
    await send(comm, type="send", room=room, body=body, client_id=client_id, **extra)
    return await recv(comm, "ack", "error")


async def pair(room):
    ana, bob = unique("ana"), unique("bob")
    a, _ = await open_socket(ana)
    b, _ = await open_socket(bob)
    await join(a, room)
    await join(b, room)
    return ana, a, bob, b


async def close(*comms):
    for comm in comms:
        await comm.disconnect()


# ---------------------------------------------------------------- edit
async def test_edit_answers_changed_and_updates_the_room(room):
    ana, a, bob, b = await pair(room)
    ack = await say(a, room, "helo", "m-1")
    await send(a, type="edit", room=room, seq=ack["seq"], body="hello", client_id="e-1")
    changed = await recv(a, "changed")
    assert changed == {"type": "changed", "ref": "edit", "room": room, "seq": ack["seq"], "change_seq": 1,
                       "changed": True, "client_id": "e-1"}
    update = await recv(b, "update")
    assert update["change"] == {"kind": "edit", "by": ana}
    assert update["message"]["body"] == "hello" and update["message"]["change_seq"] == 1
    assert update["message"]["edited_at"] >= update["message"]["created_at"]
    # a retry: the same answer, nothing changed twice, nothing published again
    await send(a, type="edit", room=room, seq=ack["seq"], body="hello", client_id="e-1")
    assert (await recv(a, "changed"))["change_seq"] == 1
    await assert_silent(b, 0.5, "update")
    assert get_store().last_change_seq(room) == 1
    await close(a, b)


async def test_edit_refusals_store_nothing(room, chat_settings):
    ana, a, bob, b = await pair(room)
    ack = await say(a, room, "mine", "m-1")
    await send(b, type="edit", room=room, seq=ack["seq"], body="theirs", client_id="e-1")
    error = await recv(b, "error")
    assert {k: error[k] for k in ("code", "ref", "room", "seq", "client_id")} == {
        "code": "not_author", "ref": "edit", "room": room, "seq": ack["seq"], "client_id": "e-1"}
    await send(a, type="edit", room=room, seq=99, body="x", client_id="e-2")
    assert (await recv(a, "error"))["code"] == "no_such_message"
    for bad, field in (({"body": ""}, "body"), ({"seq": "1"}, "seq"), ({"seq": 0}, "seq"),
                       ({"client_id": "has space"}, "client_id"), ({"room": "Bad!"}, "room")):
        frame = {"type": "edit", "room": room, "seq": ack["seq"], "body": "ok", "client_id": "e-3", **bad}
        await send(a, **frame)
        error = await recv(a, "error")
        assert (error["code"], error["field"]) == ("invalid", field)
    chat_settings(EDIT_WINDOW_SECONDS=0)  # settings_changed rebuilds the limits and services (chat.apps)
    c, _ = await open_socket(ana)
    await join(c, room)
    await send(c, type="edit", room=room, seq=ack["seq"], body="late", client_id="e-4")
    assert (await recv(c, "error"))["code"] == "edit_window_closed"
    assert get_store().get(room, ack["seq"]).body == "mine" and get_store().last_change_seq(room) == 0
    await close(a, b, c)


# ---------------------------------------------------------------- delete
async def test_delete_own_and_refusals(room, chat_settings):
    ana, a, bob, b = await pair(room)
    ack = await say(a, room, "oops", "m-1")
    await send(b, type="delete", room=room, seq=ack["seq"], client_id="d-1")
    assert (await recv(b, "error"))["code"] == "not_author"
    await send(a, type="delete", room=room, seq=ack["seq"], client_id="d-2")
    assert (await recv(a, "changed"))["change_seq"] == 1
    update = await recv(b, "update")
    assert update["change"]["kind"] == "delete"
    assert update["message"]["deleted"] is True and update["message"]["body"] == ""
    await send(a, type="edit", room=room, seq=ack["seq"], body="back", client_id="e-1")
    assert (await recv(a, "error"))["code"] == "message_deleted"
    chat_settings(ALLOW_DELETE_OWN=False)
    c, _ = await open_socket(ana)
    await join(c, room)
    other = await say(c, room, "stays", "m-2")
    await send(c, type="delete", room=room, seq=other["seq"], client_id="d-3")
    assert (await recv(c, "error"))["code"] == "delete_not_allowed"
    assert not get_store().get(room, other["seq"]).deleted
    await close(a, b, c)


# ---------------------------------------------------------------- reactions
async def test_react_and_unreact(room):
    ana, a, bob, b = await pair(room)
    ack = await say(a, room, "react to me", "m-1")
    await send(b, type="react", room=room, seq=ack["seq"], emoji="👍")
    changed = await recv(b, "changed")
    assert (changed["ref"], changed["change_seq"], changed["changed"]) == ("react", 1, True)
    update = await recv(a, "update")
    assert update["change"] == {"kind": "react", "by": bob, "emoji": "👍"}
    assert update["message"]["reactions"] == [{"emoji": "👍", "count": 1, "users": [bob]}]
    await send(b, type="react", room=room, seq=ack["seq"], emoji="👍")
    again = await recv(b, "changed")
    assert (again["changed"], again["change_seq"]) == (False, None)
    await send(b, type="unreact", room=room, seq=ack["seq"], emoji="👍")
    assert (await recv(b, "changed"))["change_seq"] == 2
    assert "reactions" not in (await recv(a, "update"))["message"]
    for emoji in ("", "two words", "x" * 33, 5):
        await send(b, type="react", room=room, seq=ack["seq"], emoji=emoji)
        assert (await recv(b, "error"))["field"] == "emoji"
    assert get_store().last_change_seq(room) == 2
    await close(a, b)


async def test_too_many_reactions(room):
    ana, a, bob, b = await pair(room)
    ack = await say(a, room, "popular", "m-1")
    for i in range(20):
        get_store().react(room, ack["seq"], f"e{i}", user=ana)
    await send(b, type="react", room=room, seq=ack["seq"], emoji="🆕")
    error = await recv(b, "error")
    assert (error["code"], error["seq"]) == ("too_many_reactions", ack["seq"])
    await close(a, b)


async def test_changes_need_a_joined_room_and_membership(room):
    ana, a, _, b = await pair(room)
    ack = await say(a, room, "hi", "m-1")
    stranger, _ = await open_socket(unique("eve"))
    await send(stranger, type="react", room=room, seq=ack["seq"], emoji="👍")
    error = await recv(stranger, "error")  # names the message: a client matches it to its reaction
    assert (error["code"], error["ref"], error["room"], error["seq"]) == ("not_joined", "react", room, ack["seq"])
    await close(a, b, stranger)


# ---------------------------------------------------------------- replies and history around
async def test_replies_and_history_around(room):
    ana, a, bob, b = await pair(room)
    first = await say(a, room, "original", "m-1")
    reply = await say(b, room, "the reply", "m-2", reply_to=first["seq"])
    assert reply["type"] == "ack"
    message = (await recv(a, "message"))
    while message["message"]["seq"] != reply["seq"]:
        message = await recv(a, "message")
    assert message["message"]["reply_to"] == first["seq"]
    assert message["message"]["reply_preview"] == {"seq": first["seq"], "author": ana, "excerpt": "original",
                                                   "deleted": False}
    error = await say(b, room, "to nothing", "m-3", reply_to=999)
    assert (error["code"], error["client_id"]) == ("no_such_message", "m-3")
    await send(b, type="send", room=room, body="bad", client_id="m-4", reply_to="x")
    assert (await recv(b, "error"))["field"] == "reply_to"
    assert get_store().last_seq(room) == 2
    for i in range(20):
        await say(a, room, f"filler {i}", f"f-{i}")
    await send(b, type="history", room=room, around=1, limit=5)
    page = await recv(b, "history")
    assert [m["seq"] for m in page["messages"]] == [1, 2, 3, 4, 5]
    assert (page["around"], page["has_more"], page["has_newer"]) == (1, False, True)
    assert page["messages"][1]["reply_preview"]["excerpt"] == "original"
    await send(b, type="history", room=room, around=12, limit=6)
    page = await recv(b, "history")
    assert [m["seq"] for m in page["messages"]] == [9, 10, 11, 12, 13, 14] and page["has_more"] and page["has_newer"]
    await send(b, type="history", room=room, around=3, before=5)
    assert (await recv(b, "error"))["field"] == "around"
    await close(a, b)


# ---------------------------------------------------------------- the missed-change hole
async def test_an_offline_client_catches_up_on_every_change(room):
    ana, a, bob, b = await pair(room)
    acks = [await say(a, room, f"m{i}", f"m-{i}") for i in range(5)]
    joined = await join(b, room)
    seen_change = joined["last_change_seq"]
    await b.disconnect()  # bob goes offline
    await send(a, type="edit", room=room, seq=acks[0]["seq"], body="m0 edited", client_id="e-1")
    await recv(a, "changed")
    await send(a, type="delete", room=room, seq=acks[1]["seq"], client_id="d-1")
    await recv(a, "changed")
    await send(a, type="react", room=room, seq=acks[2]["seq"], emoji="🎉")
    await recv(a, "changed")
    get_store().delete(room, acks[3]["seq"], by="mod")
    b2, _ = await open_socket(bob)
    joined = await join(b2, room, after=acks[-1]["seq"], after_change=seen_change)
    assert joined["last_change_seq"] == 4
    catchup = await recv(b2, "catchup")
    assert catchup["messages"] == [] and not catchup["has_more"]
    changes = await recv(b2, "changes")
    assert changes["last_change_seq"] == 4 and not changes["has_more"]
    by_seq = {m["seq"]: m for m in changes["messages"]}
    store = get_store()
    assert [m["change_seq"] for m in changes["messages"]] == [1, 2, 3, 4]
    for seq, message in by_seq.items():
        assert message == store.get(room, seq).to_dict()  # exactly the stored state
    assert by_seq[acks[1]["seq"]]["deleted"] and by_seq[acks[3]["seq"]]["deleted"]
    await send(b2, type="catchup", room=room, after_change=2)
    assert [m["change_seq"] for m in (await recv(b2, "changes"))["messages"]] == [3, 4]
    await close(a, b2)


async def test_changes_pages_fit_the_frame_limit(room, chat_settings):
    chat_settings(MAX_FRAME_BYTES=2000)
    ana, a, bob, b = await pair(room)
    store = get_store()
    for i in range(12):
        seq = store.append(room, ana, "x" * 150, f"m-{i}").message.seq
        store.react(room, seq, "👍", user=bob)
    await send(b, type="catchup", room=room, after_change=0)
    got, frames = [], 0
    while True:
        frame = await recv(b, "changes")
        frames += 1
        assert len(frame["messages"]) >= 1
        got += [m["change_seq"] for m in frame["messages"]]
        if not frame["has_more"]:
            break
    assert got == list(range(1, 13)) and frame["last_change_seq"] == 12 and frames > 1
    await close(a, b)


# ---------------------------------------------------------------- mentions
async def test_a_mention_reaches_every_socket_of_the_member_even_outside_the_room(room):
    ana, a, bob, b = await pair(room)
    elsewhere, _ = await open_socket(bob)  # bob's other socket has not joined the room
    outsider = unique("eve")
    e, _ = await open_socket(outsider)
    ack = await say(a, room, f"hey @{bob}, and @{outsider} (not a member), mail me@example.org", "m-1")
    mention = await recv(elsewhere, "mention")
    assert mention["room"] == room and mention["message"]["seq"] == ack["seq"]
    assert mention["message"]["mentions"] == [bob]
    assert (await recv(b, "mention"))["message"]["seq"] == ack["seq"]
    await assert_silent(e, 0.5, "mention")
    await assert_silent(a, 0.3, "mention")  # the author is not notified of their own message
    rooms = {r["room"]: r for r in (await _rooms(elsewhere))["rooms"]}
    assert rooms[room]["mentions"] == 1
    await send(b, type="read", room=room, seq=ack["seq"])
    await recv(b, "read")
    get_store()._sync(get_store().amark_read({(room, bob): ack["seq"]}))
    rooms = {r["room"]: r for r in (await _rooms(elsewhere))["rooms"]}
    assert rooms[room]["mentions"] == 0
    await close(a, b, elsewhere, e)


async def test_an_edit_that_names_a_member_notifies_them_once_and_unnaming_clears_the_count(room):
    ana, a, bob, b = await pair(room)
    elsewhere, _ = await open_socket(bob)
    ack = await say(a, room, "see you", "m-1")
    await send(a, type="edit", room=room, seq=ack["seq"], body=f"see you @{bob}", client_id="e-1")
    await recv(a, "changed")
    mention = await recv(elsewhere, "mention")
    assert mention["message"]["mentions"] == [bob] and mention["message"]["body"] == f"see you @{bob}"
    update = await recv(b, "update")
    assert update["message"]["mentions"] == [bob]
    await send(a, type="edit", room=room, seq=ack["seq"], body=f"see you @{bob}", client_id="e-1")  # a retry
    await recv(a, "changed")
    await send(a, type="edit", room=room, seq=ack["seq"], body=f"see you, @{bob}", client_id="e-2")  # still named
    await recv(a, "changed")
    await assert_silent(elsewhere, 0.5, "mention")
    rooms = {r["room"]: r for r in (await _rooms(elsewhere))["rooms"]}
    assert rooms[room]["mentions"] == 1
    await send(a, type="edit", room=room, seq=ack["seq"], body="see you", client_id="e-3")
    await recv(a, "changed")
    rooms = {r["room"]: r for r in (await _rooms(elsewhere))["rooms"]}
    assert rooms[room]["mentions"] == 0
    assert get_store().get(room, ack["seq"]).mentions == ()
    await close(a, b, elsewhere)


async def _rooms(comm) -> dict:
    await send(comm, type="rooms")
    return await recv(comm, "rooms")


async def test_room_mentions_follow_the_rules(room, chat_settings):
    ana, a, bob, b = await pair(room)
    await say(b, room, "@room hello all", "m-1")  # two members, fewer than 50: anyone may
    mention = await recv(a, "mention")
    assert mention["message"]["mentions_room"] is True and "mentions" not in mention["message"]
    chat_settings(ROOM_MENTION_MAX_MEMBERS=2)
    b2, _ = await open_socket(bob)
    await join(b2, room)
    ack = await say(b2, room, "@room again", "m-2")  # two members, not fewer than 2: plain text
    assert ack["type"] == "ack"
    await assert_silent(a, 0.5, "mention")
    assert not get_store().get(room, ack["seq"]).mentions_room
    await close(a, b, b2)


async def test_hello_tells_the_change_settings(chat_settings):
    chat_settings(EDIT_WINDOW_SECONDS=-1, ALLOW_DELETE_OWN=False)
    comm, hello = await open_socket(unique("u"))
    assert {k: hello["limits"][k] for k in ("edit_window_seconds", "allow_delete_own", "max_reactions_per_message")} \
        == {"edit_window_seconds": -1, "allow_delete_own": False, "max_reactions_per_message": 20}
    await comm.disconnect()


async def test_plain_sends_carry_no_new_fields(room):
    ana, a, bob, b = await pair(room)
    await say(a, room, "plain", "m-1")
    message = (await recv(b, "message"))["message"]
    assert set(message) == {"id", "room", "seq", "author", "body", "client_id", "created_at", "deleted"}
    await close(a, b)


async def test_non_members_never_see_updates_or_mentions(room):
    from ignite_store import Room

    owner, outsider = unique("own"), unique("eve")
    await get_store().acreate_room(Room(room, room, "private", "", owner, 1), {owner: "owner"})
    o, _ = await open_socket(owner)
    e, _ = await open_socket(outsider)
    await join(o, room, create=False)
    ack = await say(o, room, f"secret for @{outsider}", "m-1")
    await send(o, type="edit", room=room, seq=ack["seq"], body="still secret", client_id="e-1")
    await recv(o, "changed")
    for frame in ({"type": "join", "room": room, "after_change": 0}, {"type": "catchup", "room": room,
                  "after_change": 0}, {"type": "history", "room": room, "around": 1},
                  {"type": "react", "room": room, "seq": 1, "emoji": "👀"}):
        await send(e, **frame)
        error = await recv(e, "error")
        assert error["code"] in ("forbidden", "not_joined"), error
    await assert_silent(e, 0.5, "update", "mention", "changes", "history", "message")
    assert get_store().last_change_seq(room) == 1
    await close(o, e)

