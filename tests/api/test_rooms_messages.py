"""Every endpoint of /api/v1/ against a real Daphne, Ignite and Redis: the happy path and bad input."""

from __future__ import annotations

import asyncio
import json
import uuid

from tests.chat.helpers import unique
from tests.chat.test_e2e import open_client, recv

from .conftest import client

CLIENT_ID = "c-1"


async def next_frame(ws, frame_type: str) -> dict:
    """The next frame of `frame_type`, skipping any other."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if frame["type"] == frame_type:
            return frame


async def create_room(http, name: str = "api room", kind: str = "public", topic: str = "") -> dict:
    answer = await http.post("/api/v1/rooms", json={"name": name, "kind": kind, "topic": topic})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_me_create_room_and_my_rooms(api_server, api_site):
    name, token = api_site.user("ana")
    async with client(api_server, token) as http:
        me = (await http.get("/api/v1/me")).json()
        assert me == {"user": name, "bot": False, "auth": "token"}
        room = await create_room(http, "개발팀", "private", "스프린트")
        assert room["name"] == "개발팀" and room["kind"] == "private" and room["role"] == "owner"
        assert room["unread"] == 0 and room["mentions"] == 0
        mine = (await http.get("/api/v1/rooms")).json()
        assert [r["room"] for r in mine] == [room["room"]]


async def test_create_room_bad_input(api_server, api_site):
    _, token = api_site.user()
    async with client(api_server, token) as http:
        for body, field in (({"name": "", "kind": "public"}, "name"), ({"name": "x", "kind": "secret"}, "kind"),
                            ({"name": "x", "topic": "t" * 251}, "topic"), ({"kind": "public"}, "name"),
                            ({"name": 5}, "name")):
            answer = await http.post("/api/v1/rooms", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["code"] == "invalid" and answer.json()["field"] == field, (body, answer.json())
        answer = await http.post("/api/v1/rooms", content=b"{nope", headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["code"] == "bad_json"
        assert (await http.get("/api/v1/rooms")).json() == []  # nothing was created


async def test_send_then_history_with_cursors(api_server, api_site):
    _, token = api_site.user()
    async with client(api_server, token) as http:
        room = (await create_room(http))["room"]
        for i in range(1, 8):
            sent = await http.post(f"/api/v1/rooms/{room}/messages", json={"body": f"m{i}", "client_id": f"c{i}"})
            assert sent.status_code == 201, sent.text
            assert sent.json()["seq"] == i and sent.json()["created"] is True
        url = f"/api/v1/rooms/{room}/messages"
        latest = (await http.get(url, params={"limit": 3})).json()
        assert [m["seq"] for m in latest["messages"]] == [5, 6, 7]
        assert latest["has_more"] is True and latest["next"] == {"before": 5}
        older = (await http.get(url, params={"limit": 3, **latest["next"]})).json()
        assert [m["seq"] for m in older["messages"]] == [2, 3, 4] and older["next"] == {"before": 2}
        oldest = (await http.get(url, params={"limit": 3, "before": 2})).json()
        assert [m["seq"] for m in oldest["messages"]] == [1] and oldest["has_more"] is False
        assert oldest["next"] is None
        after = (await http.get(url, params={"limit": 4, "after": 2})).json()
        assert [m["seq"] for m in after["messages"]] == [3, 4, 5, 6] and after["next"] == {"after": 6}
        around = (await http.get(url, params={"limit": 3, "around": 4})).json()
        assert [m["seq"] for m in around["messages"]] == [3, 4, 5]
        assert around["has_more"] is True and around["has_newer"] is True
        assert around["messages"][1] == {"id": around["messages"][1]["id"], "room": room, "seq": 4,
                                         "author": around["messages"][1]["author"], "body": "m4",
                                         "client_id": "c4", "created_at": around["messages"][1]["created_at"],
                                         "deleted": False}


async def test_history_bad_input(api_server, api_site):
    _, token = api_site.user()
    async with client(api_server, token) as http:
        room = (await create_room(http))["room"]
        url = f"/api/v1/rooms/{room}/messages"
        for params, field in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"before": -1}, "before"),
                              ({"before": "x"}, "before"), ({"after": -2}, "after"),
                              ({"before": 3, "after": 1}, "after"), ({"around": 2, "after": 1}, "around")):
            answer = await http.get(url, params=params)
            assert answer.status_code == 400, (params, answer.text)
            assert answer.json()["code"] == "invalid" and answer.json()["field"] == field, (params, answer.json())
        answer = await http.get("/api/v1/rooms/Not A Room/messages")
        assert answer.status_code == 400 and answer.json()["field"] == "room"


async def test_send_bad_input_stores_nothing(api_server, api_site):
    _, token = api_site.user()
    async with client(api_server, token) as http:
        room = (await create_room(http))["room"]
        url = f"/api/v1/rooms/{room}/messages"
        for body, field in (({"body": "", "client_id": "a"}, "body"), ({"body": "   ", "client_id": "a"}, "body"),
                            ({"body": "x\x00", "client_id": "a"}, "body"), ({"body": "x" * 4001, "client_id": "a"},
                                                                             "body"),
                            ({"body": "hi", "client_id": "sp ace"}, "client_id"), ({"body": "hi"}, "client_id"),
                            ({"body": 3, "client_id": "a"}, "body")):
            answer = await http.post(url, json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["code"] == "invalid" and answer.json()["field"] == field, (body, answer.json())
        answer = await http.post(url, content=b'{"body": "x", "client_id": "y"' + b" " * 40000 + b"}",
                                 headers={"Content-Type": "application/json"})
        assert answer.status_code == 413 and answer.json()["code"] == "too_large"
        assert (await http.get(url)).json()["messages"] == []


async def test_idempotent_send_over_rest_then_read_over_the_socket(api_server, api_site, chat_site):
    name, token = api_site.user("ana")
    async with client(api_server, token) as http:
        room = (await create_room(http))["room"]
        ws = await open_client(api_server, chat_site.cookie(name))
        try:
            await ws.send(f'{{"type": "join", "room": "{room}"}}')
            await recv(ws, "joined")
            first = await http.post(f"/api/v1/rooms/{room}/messages", json={"body": "hello", "client_id": CLIENT_ID})
            again = await http.post(f"/api/v1/rooms/{room}/messages", json={"body": "hello", "client_id": CLIENT_ID})
            assert (first.status_code, again.status_code) == (201, 200)
            assert first.json()["id"] == again.json()["id"] and again.json()["seq"] == 1
            assert again.json()["created"] is False
            live = await recv(ws, "message")
            stored = {k: v for k, v in first.json().items() if k != "created"}
            assert live == {"type": "message", "message": stored}  # the socket's own frame
            await ws.send(f'{{"type": "history", "room": "{room}"}}')
            history = await recv(ws, "history")
            assert history["messages"] == [stored]  # stored once
        finally:
            await ws.close()


async def test_directory(api_server, api_site):
    _, token = api_site.user()
    word = unique("dir")
    async with client(api_server, token) as http:
        await create_room(http, f"{word} public")
        await create_room(http, f"{word} private", kind="private")
        found = (await http.get("/api/v1/rooms/directory", params={"query": word})).json()
        assert [(r["name"], r["members"], r["joined"]) for r in found] == [(f"{word} public", 1, True)]
        bad = await http.get("/api/v1/rooms/directory", params={"limit": 0})
        assert bad.status_code == 400 and bad.json()["field"] == "limit"


async def test_members_invite_and_remove(api_server, api_site):
    users = api_site.tokens(owner_name := unique("own"), guest := unique("gst"))
    async with client(api_server, users[owner_name]) as owner, client(api_server, users[guest]) as other:
        room = (await create_room(owner, kind="private"))["room"]
        assert (await other.get(f"/api/v1/rooms/{room}/members")).status_code == 403
        invited = await owner.post(f"/api/v1/rooms/{room}/members", json={"user": guest})
        assert invited.json() == {"room": room, "user": guest, "changed": True}
        again = await owner.post(f"/api/v1/rooms/{room}/members", json={"user": guest})
        assert again.json()["changed"] is False
        listed = (await other.get(f"/api/v1/rooms/{room}/members")).json()
        assert sorted((m["user"], m["role"]) for m in listed) == sorted([(owner_name, "owner"), (guest, "member")])
        bad = await owner.post(f"/api/v1/rooms/{room}/members", json={"user": unique("nobody")})
        assert bad.status_code == 400 and (bad.json()["code"], bad.json()["field"]) == ("invalid", "user")
        assert (await other.delete(f"/api/v1/rooms/{room}/members/{owner_name}")).status_code == 403
        removed = await owner.delete(f"/api/v1/rooms/{room}/members/{guest}")
        assert removed.json() == {"room": room, "user": guest, "changed": True}
        assert (await other.get(f"/api/v1/rooms/{room}/messages")).status_code == 403
        for method, path, field in (("GET", "/api/v1/rooms/Bad!Room/members", "room"),
                                    ("DELETE", f"/api/v1/rooms/{room}/members/{'x' * 200}", "user"),
                                    ("POST", "/api/v1/rooms/Bad!Room/members", "room")):
            answer = await owner.request(method, path, json={"user": guest} if method == "POST" else None)
            assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (400, "invalid", field)


async def test_read_marker_moves_unread(api_server, api_site, chat_site):
    name, token = api_site.user()
    async with client(api_server, token) as http:
        room = (await create_room(http))["room"]
        for i in range(3):
            await http.post(f"/api/v1/rooms/{room}/messages", json={"body": f"m{i}", "client_id": f"r{i}"})
        ws = await open_client(api_server, chat_site.cookie(name))
        try:
            answer = await http.post(f"/api/v1/rooms/{room}/read", json={"seq": 2})
            assert answer.json() == {"room": room, "seq": 2}
            assert await recv(ws, "read") == {"type": "read", "room": room, "seq": 2}
        finally:
            await ws.close()
        for _ in range(50):  # markers are written within READ_FLUSH_SECONDS
            entry = (await http.get("/api/v1/rooms")).json()[0]
            if entry["unread"] == 1:
                break
            await asyncio.sleep(0.1)
        assert (entry["last_read_seq"], entry["unread"]) == (2, 1)
        bad = await http.post(f"/api/v1/rooms/{room}/read", json={"seq": -1})
        assert bad.status_code == 400 and bad.json()["field"] == "seq"


async def test_change_log_cursor(api_server, api_site):
    from ignite_store import get_store

    name, token = api_site.user()
    async with client(api_server, token) as http:
        room = (await create_room(http))["room"]
        for i in range(1, 4):
            await http.post(f"/api/v1/rooms/{room}/messages", json={"body": f"m{i}", "client_id": f"c{i}"})
        store = get_store()
        await store.aedit(room, 2, "m2, edited", "e1", author=name)
        await store.areact(room, 3, "👍", user=name)
        url = f"/api/v1/rooms/{room}/messages"
        page = (await http.get(url, params={"after_change": 0})).json()
        assert [(m["seq"], m["change_seq"]) for m in page["messages"]] == [(2, 1), (3, 2)]
        assert page["messages"][0]["body"] == "m2, edited" and page["messages"][0]["edited_at"]
        assert page["messages"][1]["reactions"] == [{"emoji": "👍", "count": 1, "users": [name]}]
        assert (page["last_change_seq"], page["has_more"], page["next"]) == (2, False, None)
        first = (await http.get(url, params={"after_change": 0, "limit": 1})).json()
        assert [m["seq"] for m in first["messages"]] == [2] and first["next"] == {"after_change": 1}
        assert (await http.get(url, params={"after_change": 2})).json()["messages"] == []
        bad = await http.get(url, params={"after_change": 1, "before": 3})
        assert bad.status_code == 400 and bad.json()["field"] == "after_change"


async def test_edit_delete_react_and_reply_over_rest_reach_sockets(api_server, api_site, chat_site):
    from urllib.parse import quote

    users = api_site.tokens(author := unique("au"), other := unique("ot"))
    thumbs = quote("👍")
    async with client(api_server, users[author]) as http, client(api_server, users[other]) as them:
        room = (await create_room(http))["room"]
        await http.post(f"/api/v1/rooms/{room}/members", json={"user": other})
        await http.post(f"/api/v1/rooms/{room}/messages", json={"body": "first", "client_id": "m1"})
        ws = await open_client(api_server, chat_site.cookie(author))
        try:
            await ws.send(f'{{"type": "join", "room": "{room}"}}')
            await recv(ws, "joined")
            url = f"/api/v1/rooms/{room}/messages/1"
            edited = await http.patch(url, json={"body": "first, edited", "client_id": "e1"})
            assert edited.status_code == 200, edited.text
            assert (edited.json()["changed"], edited.json()["change_seq"]) == (True, 1)
            assert edited.json()["message"]["body"] == "first, edited"
            update = await next_frame(ws, "update")
            assert update["change"]["kind"] == "edit" and update["message"] == edited.json()["message"]
            added = (await them.put(f"{url}/reactions/{thumbs}")).json()
            again = (await them.put(f"{url}/reactions/{thumbs}")).json()
            assert (added["changed"], again["changed"], again["change_seq"]) == (True, False, None)
            assert added["message"]["reactions"] == [{"emoji": "👍", "count": 1, "users": [other]}]
            assert (await next_frame(ws, "update"))["change"]["kind"] == "react"
            removed = (await them.delete(f"{url}/reactions/{thumbs}")).json()
            assert removed["changed"] is True and "reactions" not in removed["message"]
            not_theirs = await them.patch(url, json={"body": "mine now", "client_id": "x"})
            assert (not_theirs.status_code, not_theirs.json()["code"]) == (403, "not_author")
            missing = await http.patch(f"/api/v1/rooms/{room}/messages/99", json={"body": "?", "client_id": "y"})
            assert (missing.status_code, missing.json()["code"]) == (404, "no_such_message")
            reply = await them.post(f"/api/v1/rooms/{room}/messages",
                                    json={"body": f"@{author} agreed", "client_id": "r1", "reply_to": 1})
            assert reply.status_code == 201 and reply.json()["reply_to"] == 1
            assert reply.json()["mentions"] == [author]
            mention = await next_frame(ws, "mention")
            assert mention["message"]["seq"] == 2
            bad_reply = await them.post(f"/api/v1/rooms/{room}/messages",
                                        json={"body": "to nothing", "client_id": "r2", "reply_to": 50})
            assert (bad_reply.status_code, bad_reply.json()["code"]) == (404, "no_such_message")
            deleted = await http.delete(url, params={"client_id": "d1"})
            assert deleted.status_code == 200 and deleted.json()["message"]["deleted"] is True
            late = await http.patch(url, json={"body": "back", "client_id": "e2"})
            assert (late.status_code, late.json()["code"]) == (409, "message_deleted")
            for method, path, body, field in (
                    ("PATCH", url, {"body": "", "client_id": "e3"}, "body"),
                    ("PATCH", f"/api/v1/rooms/{room}/messages/0", {"body": "x", "client_id": "e3"}, "seq"),
                    ("PUT", f"{url}/reactions/a%20b", None, "emoji"),
                    ("DELETE", f"/api/v1/rooms/{room}/messages/2?client_id=sp%20ace", None, "client_id")):
                answer = await http.request(method, path, json=body)
                assert answer.status_code == 400, (path, answer.text)
                assert (answer.json()["code"], answer.json()["field"]) == ("invalid", field), answer.json()
        finally:
            await ws.close()


async def test_search(api_server, api_site):
    users = api_site.tokens(owner := unique("so"), outsider := unique("sx"))
    word = f"zebra{uuid.uuid4().hex[:6]}"
    async with client(api_server, users[owner]) as http, client(api_server, users[outsider]) as them:
        room = (await create_room(http, "search", kind="private"))["room"]
        for i, body in enumerate((f"the {word} crossed", "nothing here", f"another {word}")):
            await http.post(f"/api/v1/rooms/{room}/messages", json={"body": body, "client_id": f"s{i}"})
        found = None
        for _ in range(50):  # indexed with the message; allow for a slow box
            found = (await http.get("/api/v1/search", params={"query": word})).json()
            if len(found["results"]) == 2:
                break
            await asyncio.sleep(0.1)
        assert [r["seq"] for r in found["results"]] == [3, 1]  # newest first
        assert found["results"][0]["room"] == room and found["results"][0]["room_name"] == "search"
        page = (await http.get("/api/v1/search", params={"query": word, "room": room, "limit": 1})).json()
        assert [r["seq"] for r in page["results"]] == [3] and page["cursor"]
        rest = (await http.get("/api/v1/search", params={"query": word, "room": room, "limit": 1,
                                                          "cursor": page["cursor"]})).json()
        assert [r["seq"] for r in rest["results"]] == [1]
        in_room = (await http.get(f"/api/v1/rooms/{room}/search", params={"query": word, "limit": 1})).json()
        assert in_room == page  # the room's own path is the same search with the room filled in
        assert (await them.get("/api/v1/search", params={"query": word})).json()["results"] == []
        for path, params in (("/api/v1/search", {"query": word, "room": room}),
                             (f"/api/v1/rooms/{room}/search", {"query": word})):
            refused = await them.get(path, params=params)
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
        for params, field in (({"query": " "}, "query"), ({"query": "x", "limit": 0}, "limit"),
                              ({"query": "x", "cursor": "nope"}, "cursor")):
            bad = await http.get("/api/v1/search", params=params)
            assert (bad.status_code, bad.json()["field"]) == (400, field), bad.json()
