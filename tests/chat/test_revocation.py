"""Revocation across two Daphne processes: a removed member, a deactivated user and a logged-out session
stop receiving within 2 s on every socket (docs/protocol.md, "Rooms"; chat/revocation.py)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

from websockets.exceptions import ConnectionClosed

from .helpers import unique
from .test_e2e import open_client, put, recv, silent

LIMIT_SECONDS = 2.0


async def private_room(owner_ws, *members: str) -> str:
    """A private room of the owner's, with `members` invited."""
    await put(owner_ws, type="create_room", name=unique("private"), kind="private")
    room = (await recv(owner_ws, "created"))["room"]["room"]
    for member in members:
        await put(owner_ws, type="invite", room=room, user=member)
        assert (await recv(owner_ws, "invited"))["changed"]
    return room


async def test_removed_member_stops_receiving_on_both_processes_within_2s(daphne_pair, chat_site):
    ana, bob = unique("ana"), unique("bob")
    cookies = {name: f"sessionid={key}" for name, key in chat_site.login(ana, bob).items()}
    first, second = daphne_pair
    owner = await open_client(first, cookies[ana])
    room = await private_room(owner, bob)
    await put(owner, type="join", room=room)
    await recv(owner, "joined")
    bobs = [await open_client(server, cookies[bob]) for server in (first, second)]
    for ws in bobs:
        await put(ws, type="join", room=room)
        await recv(ws, "joined")
    await put(owner, type="send", room=room, body="before", client_id="b-1")
    for ws in bobs:
        assert (await recv(ws, "message"))["message"]["body"] == "before"

    started = time.monotonic()
    await put(owner, type="remove_member", room=room, user=bob)
    elapsed = []
    for ws in bobs:
        removed = await recv(ws, "removed")
        assert (removed["room"], removed["reason"]) == (room, "removed")
        elapsed.append(time.monotonic() - started)
    print(f"removed member: both sockets told after {max(elapsed) * 1000:.1f} ms")
    assert max(elapsed) < LIMIT_SECONDS

    await put(owner, type="send", room=room, body="after", client_id="a-1")
    await recv(owner, "ack")
    for ws in bobs:
        await silent(ws, 0.5, "message", "typing", "presence")
        for frame in ({"type": "history", "room": room}, {"type": "catchup", "room": room, "after": 0},
                      {"type": "join", "room": room}, {"type": "send", "room": room, "body": "x", "client_id": "x"}):
            await put(ws, **frame)
            error = await recv(ws, "error", "history", "catchup", "joined", "ack")
            assert error["type"] == "error" and error["code"] in ("forbidden", "not_joined"), error
        await ws.close()
    await owner.close()


async def closed_within(ws, seconds: float) -> int:
    """Wait for the server to close `ws`; its close code."""
    async with asyncio.timeout(seconds):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006


async def test_deactivated_user_is_disconnected_everywhere_within_2s(daphne_pair, chat_site):
    cid = unique("cid")
    cookie = f"sessionid={chat_site.login(cid)[cid]}"
    sockets = [await open_client(server, cookie) for server in daphne_pair]
    started = time.monotonic()
    await asyncio.to_thread(
        chat_site.manage, "shell", "-c",
        f"from django.contrib.auth.models import User; u = User.objects.get(username={cid!r}); "
        "u.is_active = False; u.save()")
    saved = time.monotonic()
    codes = await asyncio.gather(*(closed_within(ws, 10) for ws in sockets))
    closed = time.monotonic()
    print(f"deactivated: sockets closed {(closed - saved) * 1000:.1f} ms after the save "
          f"({(closed - started) * 1000:.0f} ms including the manage.py process)")
    assert codes == [4401, 4401]
    assert closed - saved < LIMIT_SECONDS


async def test_logout_closes_that_sessions_sockets_only(daphne_pair, chat_site):
    dee = unique("dee")
    chat_site.sessions.pop(dee, None)
    cookie = f"sessionid={chat_site.login(dee)[dee]}"
    output = await asyncio.to_thread(
        chat_site.manage, "shell", "-c",
        "import json; from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY; "
        "from django.contrib.auth.models import User; from django.contrib.sessions.backends.db import SessionStore; "
        f"u = User.objects.get(username={dee!r}); s = SessionStore(); s[SESSION_KEY] = str(u.pk); "
        "s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'; "
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create(); print(json.dumps(s.session_key))",
    )
    other_session = json.loads(output.strip().splitlines()[-1])
    first, second = daphne_pair
    leaving = [await open_client(server, cookie) for server in daphne_pair]
    staying = await open_client(second, f"sessionid={other_session}")

    def logout() -> None:
        csrf = "t" * 32
        request = urllib.request.Request(
            f"http://127.0.0.1:{first.port}/accounts/logout/", method="POST",
            data=f"csrfmiddlewaretoken={csrf}".encode(),
            headers={"Cookie": f"{cookie}; csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded",
                     "Referer": f"http://127.0.0.1:{first.port}/", "Origin": f"http://127.0.0.1:{first.port}"})
        opener = urllib.request.build_opener(NoRedirect)
        with opener.open(request, timeout=10) as response:
            assert response.status in (200, 302), response.status

    started = time.monotonic()
    await asyncio.to_thread(logout)
    codes = await asyncio.gather(*(closed_within(ws, 10) for ws in leaving))
    print(f"logout: the session's sockets closed after {(time.monotonic() - started) * 1000:.1f} ms")
    assert codes == [4401, 4401]
    assert time.monotonic() - started < LIMIT_SECONDS + 1  # includes the HTTP request
    await put(staying, type="ping", id=1)
    assert (await recv(staying, "pong"))["id"] == 1  # another session of the same user is untouched
    await staying.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp
