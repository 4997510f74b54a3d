"""End to end: real Daphne processes sharing Redis and Ignite, real WebSocket clients with cookies."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .helpers import public_room, unique

TIMEOUT = 15.0
USERS = ["ana", "bob", "cyd", "dan", "eve", "fay", "gus", "hal", "ivy", "jon"]


@pytest.fixture(scope="session")
def cookies(chat_site) -> dict[str, str]:
    """Session cookie header of each test user, created once in the Daphne database."""
    return {name: f"sessionid={key}" for name, key in chat_site.login(*USERS).items()}


async def open_client(server, cookie: str | None, origin: str | None = "self") -> ClientConnection:
    """A websockets client with the session cookie and Origin header, past `hello`."""
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(
        server.ws_url,
        origin=server.origin if origin == "self" else origin,
        additional_headers=headers,
        proxy=None,
        compression=None,
        open_timeout=TIMEOUT,
    )
    hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert hello["type"] == "hello"
    rooms = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert rooms["type"] == "rooms"
    return ws


async def recv(ws: ClientConnection, *types: str) -> dict:
    """The next frame of one of `types` (other presence/typing frames skipped)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if not types or frame["type"] in types:
            return frame
        assert frame["type"] in ("presence", "typing", "message", "room", "member", "read", "heads", "update"), frame


async def put(ws: ClientConnection, **frame) -> None:
    await ws.send(json.dumps(frame))


async def join(ws: ClientConnection, room: str, *, create: bool = True, **extra) -> tuple[dict, dict]:
    """Join (the room is created as a public room first); return (joined, presence snapshot)."""
    if create:
        await public_room(room)
    await put(ws, type="join", room=room, **extra)
    return await recv(ws, "joined"), await recv(ws, "presence")


async def silent(ws: ClientConnection, seconds: float, *types: str) -> None:
    """No frame of `types` arrives within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                frame = json.loads(await ws.recv())
                assert frame["type"] not in types, frame
    except TimeoutError:
        pass


# ---------------------------------------------------------------- across processes

async def test_two_processes_chat_presence_and_typing(daphne_pair, cookies):
    a_server, b_server = daphne_pair
    room = unique("e2e")
    ana = await open_client(a_server, cookies["ana"])
    bob = await open_client(b_server, cookies["bob"])
    await join(ana, room)
    _, snapshot = await join(bob, room)
    assert snapshot["users"] == ["ana", "bob"]
    arrived = await recv(ana, "presence")
    assert (arrived["event"], arrived["user"], arrived["users"]) == ("join", "bob", ["ana", "bob"])

    await put(ana, type="typing", room=room)
    assert await recv(bob, "typing") == {"type": "typing", "room": room, "user": "ana"}

    await put(bob, type="send", room=room, body="hi ana, from process B", client_id="b-1")
    ack = await recv(bob, "ack")
    for ws in (ana, bob):
        message = (await recv(ws, "message"))["message"]
        assert (message["seq"], message["author"], message["id"]) == (ack["seq"], "bob", ack["id"])

    await bob.close()
    left = await recv(ana, "presence")
    assert (left["event"], left["user"], left["users"]) == ("leave", "bob", ["ana"])
    await ana.close()


async def test_catchup_after_reconnect_gets_exactly_the_missed_500(daphne_pair, cookies):
    a_server, b_server = daphne_pair
    room = unique("e2e")
    cyd = await open_client(a_server, cookies["cyd"])
    dan = await open_client(b_server, cookies["dan"])
    await join(cyd, room)
    await join(dan, room)
    await put(dan, type="send", room=room, body="before", client_id="before")
    last_seen = (await recv(dan, "ack"))["seq"]
    assert (await recv(cyd, "message"))["message"]["seq"] == last_seen
    await cyd.close()

    for i in range(500):
        await put(dan, type="send", room=room, body=f"missed {i}", client_id=f"m-{i}")
    acks = [await recv(dan, "ack") for _ in range(500)]
    assert [a["seq"] for a in acks] == list(range(last_seen + 1, last_seen + 501))

    cyd = await open_client(b_server, cookies["cyd"])
    joined, _ = await join(cyd, room, after=last_seen)
    assert joined["last_seq"] == last_seen + 500
    received, pages = [], 0
    while True:
        page = await recv(cyd, "catchup")
        pages += 1
        received += page["messages"]
        if not page["has_more"]:
            break
    assert pages > 1  # paged (CHAT_CATCHUP_PAGE)
    assert [m["seq"] for m in received] == list(range(last_seen + 1, last_seen + 501))
    assert [m["body"] for m in received] == [f"missed {i}" for i in range(500)]
    assert [m["client_id"] for m in received] == [f"m-{i}" for i in range(500)]
    await silent(cyd, 0.5, "message", "catchup")  # and nothing else
    await cyd.close()
    await dan.close()


async def test_presence_heals_when_a_process_dies(daphne_pair, daphne_factory, cookies):
    a_server, _ = daphne_pair
    doomed = daphne_factory(CHAT_PRESENCE_TTL_SECONDS=3)
    room = unique("e2e")
    hal = await open_client(a_server, cookies["hal"])
    gus = await open_client(doomed, cookies["gus"])
    await join(hal, room)
    await join(gus, room)
    assert (await recv(hal, "presence"))["users"] == ["gus", "hal"]
    doomed.kill()  # no leave is ever sent for gus
    async with asyncio.timeout(12):  # TTL 3 s + heartbeat TTL/3 + slack
        while True:
            frame = await recv(hal, "presence")
            if frame["users"] == ["hal"]:
                break
    assert frame["event"] == "snapshot"
    await hal.close()


# ---------------------------------------------------------------- security and limits

@pytest.mark.parametrize(
    ("with_cookie", "origin"),
    [(False, "self"), (True, "http://evil.example"), (True, None), (True, "null")],
    ids=["no-session", "foreign-origin", "missing-origin", "null-origin"],
)
async def test_handshake_refused(daphne_pair, cookies, with_cookie, origin):
    server = daphne_pair[0]
    with pytest.raises(InvalidStatus) as info:
        await open_client(server, cookies["eve"] if with_cookie else None, origin)
    assert info.value.response.status_code == 403


async def test_bad_session_cookie_refused(daphne_pair):
    with pytest.raises(InvalidStatus) as info:
        await open_client(daphne_pair[0], "sessionid=not-a-session")
    assert info.value.response.status_code == 403


async def test_oversized_frame_closes_1009(daphne_pair, cookies):
    ws = await open_client(daphne_pair[0], cookies["eve"])
    await ws.send(json.dumps({"type": "ping", "id": "x", "pad": "x" * 40_000}))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == 1009


async def test_invalid_utf8_closes_1007(daphne_pair, cookies):
    ws = await open_client(daphne_pair[0], cookies["eve"])
    await ws.send(b'{"type": "ping", "id": "\xff\xfe"}', text=True)  # a text frame that is not UTF-8
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == 1007


async def test_bad_frames_keep_the_socket_open(daphne_pair, cookies):
    ws = await open_client(daphne_pair[0], cookies["eve"])
    for text in ["nope", "[]", '{"type": "x"}', '{"type": "send", "room": "r"}', '{"type": "ping", "id": 1e400}']:
        await ws.send(text)
        assert (await recv(ws, "error"))["code"] in {"bad_json", "bad_frame", "unknown_type", "invalid"}
    await put(ws, type="ping", id=7)
    assert await recv(ws, "pong") == {"type": "pong", "id": 7}
    await ws.close()


async def test_flood_is_rate_limited_and_others_unaffected(daphne_pair, cookies):
    a_server, b_server = daphne_pair
    room = unique("e2e")
    fay = await open_client(a_server, cookies["fay"])
    ivy = await open_client(b_server, cookies["ivy"])
    await join(fay, room)
    await join(ivy, room)
    # The pair allows a burst of 600 then 5/s: 900 sends stay over the allowance unless storing
    # them takes a minute, even on a loaded machine.
    for i in range(900):
        await put(fay, type="send", room=room, body=f"flood {i}", client_id=f"f-{i}")
    answers = [await recv(fay, "ack", "error") for _ in range(900)]
    limited = [f for f in answers if f["type"] == "error"]
    assert limited and {f["code"] for f in limited} == {"rate_limited"}
    assert all(f["retry_after"] > 0 for f in limited)
    acked = sum(f["type"] == "ack" for f in answers)
    await put(ivy, type="send", room=room, body="still fine", client_id="i-1")
    assert (await recv(ivy, "ack"))["seq"] == acked + 1  # nothing stored for refused sends
    await fay.close()
    await ivy.close()


# ---------------------------------------------------------------- store failure

async def test_store_down_no_broadcast_then_retry_stored_once(daphne_factory, cluster_factory, chat_site, cookies):
    cluster = cluster_factory(1)
    nodes = cluster.client_addresses()
    await asyncio.to_thread(chat_site.manage, "ignite_init", "-v", "0", nodes=nodes)
    server = daphne_factory(nodes=nodes, IGNITE_TIMEOUT=2)
    room = unique("e2e")
    await public_room(room, nodes=nodes)
    jon = await open_client(server, cookies["jon"])
    ivy = await open_client(server, cookies["ivy"])
    await join(jon, room, create=False)
    await join(ivy, room, create=False)
    await put(jon, type="send", room=room, body="first", client_id="ok-1")
    assert (await recv(jon, "ack"))["seq"] == 1
    await recv(ivy, "message")

    await asyncio.to_thread(cluster.stop)
    await put(jon, type="send", room=room, body="during the outage", client_id="retry-me")
    error = await recv(jon, "ack", "error")
    assert error["type"] == "error" and error["code"] == "store_unavailable"
    assert (error["client_id"], error["room"], error["ref"]) == ("retry-me", room, "send")
    await silent(ivy, 1.0, "message")
    await silent(jon, 0.2, "message")

    await asyncio.to_thread(cluster.start, 1)
    ack = None
    async with asyncio.timeout(60):  # the client reconnects to the restarted node
        while ack is None:
            await put(jon, type="send", room=room, body="during the outage", client_id="retry-me")
            frame = await recv(jon, "ack", "error")
            if frame["type"] == "ack":
                ack = frame
            else:
                assert frame["code"] == "store_unavailable"
                await asyncio.sleep(1)
    assert ack["seq"] == 2
    await put(jon, type="send", room=room, body="during the outage", client_id="retry-me")
    again = await recv(jon, "ack")
    assert (again["id"], again["seq"]) == (ack["id"], ack["seq"])
    await put(ivy, type="catchup", room=room, after=0)
    stored = (await recv(ivy, "catchup"))["messages"]
    assert [m["client_id"] for m in stored] == ["ok-1", "retry-me"]
    await jon.close()
    await ivy.close()


async def test_a_client_offline_during_edits_deletes_and_reactions_converges_to_the_store(daphne_pair, cookies):
    """The missed-deletion hole, closed (issue 13): over two real Daphne processes, a client that was away
    while messages were edited, deleted (by the author and by staff) and reacted to gets exactly the stored
    state back with `join` after/after_change."""
    from ignite_store import get_store

    a_server, b_server = daphne_pair
    room = unique("e2e-changes")
    ana = await open_client(a_server, cookies["ana"])
    bob = await open_client(b_server, cookies["bob"])
    try:
        await join(ana, room)
        joined, _ = await join(bob, room)
        seqs = []
        for i in range(6):
            await put(ana, type="send", room=room, body=f"m{i}", client_id=f"c-{i}")
            seqs.append((await recv(ana, "ack"))["seq"])
        seen = {m["seq"]: m for m in [await _next_message(bob) for _ in seqs]}
        last_change = joined["last_change_seq"]
        await bob.close()
        for frame in ({"type": "edit", "room": room, "seq": seqs[0], "body": "m0 fixed", "client_id": "e-1"},
                      {"type": "delete", "room": room, "seq": seqs[1], "client_id": "d-1"},
                      {"type": "react", "room": room, "seq": seqs[2], "emoji": "🎉"},
                      {"type": "edit", "room": room, "seq": seqs[2], "body": "m2 fixed", "client_id": "e-2"}):
            await put(ana, **frame)
            assert (await recv(ana, "changed"))["changed"] is True
        await asyncio.to_thread(get_store().delete, room, seqs[3], by="staff")
        bob = await open_client(a_server, cookies["bob"])  # back, on the other process
        rejoined, _ = await join(bob, room, after=max(seen), after_change=last_change)
        assert rejoined["last_change_seq"] == last_change + 5
        assert (await recv(bob, "catchup"))["messages"] == []
        changes = await recv(bob, "changes")
        assert not changes["has_more"] and changes["last_change_seq"] == rejoined["last_change_seq"]
        for message in changes["messages"]:
            seen[message["seq"]] = message
        stored = get_store().after(room, 0, 100).messages
        assert [seen[m.seq] for m in stored] == [m.to_dict() for m in stored]  # exactly the stored state
        assert seen[seqs[1]]["deleted"] and seen[seqs[3]]["deleted"] and seen[seqs[0]]["body"] == "m0 fixed"
        assert seen[seqs[2]]["reactions"] == [{"emoji": "🎉", "count": 1, "users": ["ana"]}]
    finally:
        await ana.close()
        await bob.close()


async def _next_message(ws: ClientConnection) -> dict:
    return (await recv(ws, "message"))["message"]
