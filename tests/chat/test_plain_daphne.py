"""The chat's core cases on Daphne's plain send path (CHAT_DAPHNE_PLAIN=1, as when the version guard
of chat.daphne_internals fails): no direct writes, no send back-pressure, the consumer sends with self.send.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from .helpers import unique
from .test_e2e import TIMEOUT, join, open_client, put, recv, silent

USERS = ["ana", "bob", "eve"]


@pytest.fixture(scope="module")
def cookies(chat_site) -> dict[str, str]:
    """Session cookie header of each test user (the same database as test_e2e's)."""
    return {name: f"sessionid={key}" for name, key in chat_site.login(*USERS).items()}


def test_the_servers_took_the_plain_path_on_uvloop(plain_daphne_pair):
    for server in plain_daphne_pair:
        assert "chat send path: Daphne's plain send (CHAT_DAPHNE_PLAIN=1); event loop: uvloop" in server.log_tail(200)


async def test_join_send_ack_and_broadcast_across_processes(plain_daphne_pair, cookies):
    a_server, b_server = plain_daphne_pair
    room = unique("plain")
    ana = await open_client(a_server, cookies["ana"])
    bob = await open_client(b_server, cookies["bob"])
    await join(ana, room)
    _, snapshot = await join(bob, room)
    assert snapshot["users"] == ["ana", "bob"]
    await put(bob, type="send", room=room, body="plain hello", client_id="p-1")
    ack = await recv(bob, "ack")
    for ws in (ana, bob):
        message = (await recv(ws, "message"))["message"]
        assert (message["seq"], message["author"], message["body"]) == (ack["seq"], "bob", "plain hello")
    await ana.close()
    await bob.close()


async def test_catchup_after_reconnect_is_exact_and_paged(plain_daphne_pair, cookies):
    a_server, b_server = plain_daphne_pair
    room = unique("plain")
    bob = await open_client(b_server, cookies["bob"])
    await join(bob, room)
    await put(bob, type="send", room=room, body="before", client_id="before")
    last_seen = (await recv(bob, "ack"))["seq"]
    for i in range(250):
        await put(bob, type="send", room=room, body=f"missed {i}", client_id=f"m-{i}")
    assert [(await recv(bob, "ack"))["seq"] for _ in range(250)] == list(range(last_seen + 1, last_seen + 251))

    ana = await open_client(a_server, cookies["ana"])
    joined, _ = await join(ana, room, after=last_seen)
    assert joined["last_seq"] == last_seen + 250
    received, pages = [], 0
    while True:
        page = await recv(ana, "catchup")
        pages += 1
        received += page["messages"]
        if not page["has_more"]:
            break
    assert pages > 1
    assert [m["body"] for m in received] == [f"missed {i}" for i in range(250)]
    await silent(ana, 0.5, "message", "catchup")
    await ana.close()
    await bob.close()


@pytest.mark.parametrize(("frame", "code"), [
    (json.dumps({"type": "ping", "id": "x", "pad": "x" * 40_000}), 1009),  # over --websocket-max-message-size
    (b'{"type": "ping", "id": "\xff\xfe"}', 1007),  # a text frame that is not UTF-8
])
async def test_bad_frames_close_with_their_code(plain_daphne_pair, cookies, frame, code):
    ws = await open_client(plain_daphne_pair[0], cookies["eve"])
    await ws.send(frame, text=True)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == code
