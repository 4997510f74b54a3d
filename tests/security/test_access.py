"""Cross-site WebSocket hijacking, sessions, admin reach, reading rules and the connection cap, on real Daphne."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.fixtures.rooms import ensure_public_rooms

from .conftest import CONNECTION_CAP, run_django

TIMEOUT = 15.0
CLOSE_TOO_MANY_CONNECTIONS = 4029

_EXPIRE = """
import datetime, sys
from django.contrib.sessions.models import Session
from django.utils import timezone
Session.objects.filter(session_key=sys.argv[1]).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
"""
_NEW_PASSWORD = """
import sys
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username=sys.argv[1])
user.set_password("changed-" + sys.argv[1])
user.save()
"""


async def open_ws(server, cookie: str | None, origin: str | None = "self"):
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(server.ws_url, origin=server.origin if origin == "self" else origin,
                       additional_headers=headers, proxy=None, open_timeout=TIMEOUT)
    hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    if hello["type"] == "hello":
        assert json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["type"] == "rooms"
    return ws, hello


async def refused(server, cookie: str | None, origin: str | None = "self") -> int:
    with pytest.raises(InvalidStatus) as info:
        await open_ws(server, cookie, origin)
    return info.value.response.status_code


@pytest.mark.parametrize("origin", [
    "http://evil.example", None, "null", "http://127.0.0.1.evil.example", "http://evil.example:80",
    "https://localhost.evil.example", "file://", "http://[::1]", "chrome-extension://abc",
])
async def test_foreign_missing_and_null_origins_refused(limits_server, sec_cookies, origin):
    assert await refused(limits_server, sec_cookies["sec_a"], origin) == 403


@pytest.mark.parametrize("cookie", [None, "sessionid=", "sessionid=forged-session-key", "csrftoken=x",
                                    "sessionid=" + "a" * 4000])
async def test_no_valid_session_refused(limits_server, cookie):
    assert await refused(limits_server, cookie) == 403


async def test_expired_session_refused(limits_server, chat_site):
    name = f"sec_exp_{uuid.uuid4().hex[:6]}"
    key = chat_site.login(name)[name]
    ws, hello = await open_ws(limits_server, f"sessionid={key}")
    assert hello["user"] == name
    await ws.close()
    await asyncio.to_thread(run_django, chat_site, _EXPIRE, key)
    assert await refused(limits_server, f"sessionid={key}") == 403


async def test_session_invalidated_by_password_change_refused(limits_server, chat_site):
    name = f"sec_pw_{uuid.uuid4().hex[:6]}"
    key = chat_site.login(name)[name]
    await asyncio.to_thread(run_django, chat_site, _NEW_PASSWORD, name)
    assert await refused(limits_server, f"sessionid={key}") == 403


# ---------------------------------------------------------------- reading and moderation rules

async def test_rooms_not_joined_cannot_be_read_or_written(limits_server, sec_cookies):
    ws, _ = await open_ws(limits_server, sec_cookies["sec_b"])
    room = f"sec-{uuid.uuid4().hex[:8]}"
    frames = [{"type": "history", "room": room}, {"type": "catchup", "room": room, "after": 0},
              {"type": "send", "room": room, "body": "x", "client_id": "c1"}, {"type": "typing", "room": room},
              {"type": "leave", "room": room}]
    for frame in frames:
        await ws.send(json.dumps(frame))
        answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert (answer["type"], answer["code"], answer["ref"]) == ("error", "not_joined", frame["type"])
    await ws.close()


@pytest.mark.parametrize("cursor", [{"before": -1}, {"before": 2**63}, {"before": "5"}, {"before": 1.5},
                                    {"limit": 0}, {"limit": 101}, {"limit": 10**20}, {"before": True}])
async def test_history_cursors_beyond_the_rules_refused(limits_server, sec_cookies, cursor):
    ws, _ = await open_ws(limits_server, sec_cookies["sec_b"])
    room = f"sec-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(ensure_public_rooms, room)
    await ws.send(json.dumps({"type": "join", "room": room}))
    await ws.send(json.dumps({"type": "history", "room": room, **cursor}))
    while True:
        answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if answer["type"] in ("history", "error"):
            break
    assert (answer["type"], answer.get("code")) == ("error", "invalid"), answer
    await ws.close()


def _http(server, method: str, path: str, cookie: str, body: str | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers={"Cookie": cookie, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/admin/", "/admin/ignite_store/", "/admin/ignite_store/messages/",
                                  "/admin/ignite_store/rooms/", "/admin/ignite_store/cluster/",
                                  "/admin/auth/user/"])
def test_plain_user_cannot_reach_admin_pages(limits_server, sec_cookies, path):
    status, headers, _ = _http(limits_server, "GET", path, sec_cookies["sec_plain"])
    assert status == 302 and headers["Location"].startswith("/admin/login/")


def test_plain_user_cannot_delete_another_users_message(limits_server, sec_cookies, live_settings):
    from ignite_store import get_store

    room = f"sec-{uuid.uuid4().hex[:8]}"
    message = get_store().append(room, "sec_a", "not yours to delete", "keep-1").message
    # A real CSRF token, so the refusal below is about authorisation, not CSRF.
    status, headers, html = _http(limits_server, "GET", "/accounts/login/", "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    csrf_cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    form = f"selected=1%3A{room}&confirm=yes&csrfmiddlewaretoken={token}"
    status, headers, _ = _http(limits_server, "POST", "/admin/ignite_store/messages/",
                               f"{sec_cookies['sec_plain']}; csrftoken={csrf_cookie}", form,
                               {"Content-Type": "application/x-www-form-urlencoded",
                                "Origin": limits_server.origin, "Referer": limits_server.origin + "/"})
    assert status == 302 and headers["Location"].startswith("/admin/login/")
    assert get_store().get(room, 1) == message  # untouched, not a tombstone


# ---------------------------------------------------------------- connection cap

async def test_connections_beyond_the_per_user_cap_refused(limits_server, sec_cookies):
    cookie = sec_cookies["sec_cap"]
    opened = [await open_ws(limits_server, cookie) for _ in range(CONNECTION_CAP)]
    ws, hello = await open_ws(limits_server, cookie)
    assert hello == {"type": "error", "code": "too_many_connections", "detail": hello["detail"]}
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code == CLOSE_TOO_MANY_CONNECTIONS
    # Another user is not affected, and closing one socket frees a slot.
    other, _ = await open_ws(limits_server, sec_cookies["sec_c"])
    await other.close()
    await opened[0][0].close()
    for _ in range(50):  # the server unregisters the closed socket asynchronously
        again, hello = await open_ws(limits_server, cookie)
        if hello["type"] == "hello":
            break
        await again.close()
        await asyncio.sleep(0.1)
    assert hello["type"] == "hello"
    for sock in [again] + [w for w, _ in opened[1:]]:
        await sock.close()
