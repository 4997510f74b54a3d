"""Authorization over every endpoint: no credentials, a bad, revoked or deactivated user's token, a
non-member, a session without CSRF. Each refusal has its stable code and changes nothing."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from .conftest import CSRF, client, session_client

ROOM_ENDPOINTS = [
    ("GET", "/api/v1/rooms/{room}/members", None),
    ("POST", "/api/v1/rooms/{room}/members", {"user": "{owner}"}),
    ("DELETE", "/api/v1/rooms/{room}/members/{owner}", None),
    ("GET", "/api/v1/rooms/{room}/messages", None),
    ("GET", "/api/v1/search?query=first&room={room}", None),
    ("GET", "/api/v1/rooms/{room}/search?query=first", None),
    ("POST", "/api/v1/rooms/{room}/messages", {"body": "intruder", "client_id": "auth-1"}),
    ("POST", "/api/v1/rooms/{room}/read", {"seq": 1}),
    ("PATCH", "/api/v1/rooms/{room}/messages/1", {"body": "edited by an intruder", "client_id": "auth-2"}),
    ("DELETE", "/api/v1/rooms/{room}/messages/1?client_id=auth-3", None),
    ("PUT", "/api/v1/rooms/{room}/messages/1/reactions/%F0%9F%91%8D", None),
    ("DELETE", "/api/v1/rooms/{room}/messages/1/reactions/%F0%9F%91%8D", None),
]
ENDPOINTS = [
    ("GET", "/api/v1/me", None),
    ("GET", "/api/v1/rooms", None),
    ("GET", "/api/v1/rooms/directory", None),
    ("POST", "/api/v1/rooms", {"name": "intruder's room"}),
    ("GET", "/api/v1/search?query=first", None),
    *ROOM_ENDPOINTS,
]
SAFE = ("GET", "HEAD", "OPTIONS")


def _ids(endpoints) -> list[str]:
    return [f"{method} {path}" for method, path, _ in endpoints]


@pytest.fixture(scope="module")
def world(api_server, api_site, chat_site) -> dict:
    """A private room of `owner` with one message; members whose token is revoked or who are deactivated."""
    tag = uuid.uuid4().hex[:6]
    names = {k: f"{k}{tag}" for k in ("owner", "outsider", "revoked", "inactive", "browser")}
    tokens = api_site.tokens(*names.values())
    with httpx.Client(base_url=api_server.origin, headers={"Authorization": f"Bearer {tokens[names['owner']]}"},
                      timeout=15) as owner:
        room = owner.post("/api/v1/rooms", json={"name": "secret plans", "kind": "private"}).json()["room"]
        for member in ("revoked", "inactive", "browser"):
            assert owner.post(f"/api/v1/rooms/{room}/members", json={"user": names[member]}).status_code == 200
        assert owner.post(f"/api/v1/rooms/{room}/messages", json={"body": "first", "client_id": "f"}).status_code == 201
    api_site.run({"op": "revoke", "token": tokens[names["revoked"]]}, {"op": "deactivate", "user": names["inactive"]})
    session = chat_site.login(names["browser"])[names["browser"]]
    return {"room": room, "names": names, "tokens": tokens, "session": session}


def _request(method: str, path: str, body: dict | None, world: dict) -> tuple[str, str, dict | None]:
    fill = {"room": world["room"], "owner": world["names"]["owner"]}
    if body is not None:
        body = {k: v.format(**fill) if isinstance(v, str) else v for k, v in body.items()}
    return method, path.format(**fill), body


async def _get(http, path: str):
    """GET as a well-behaved client: the matrix reads with one owner token, so it waits out `rate_limited`."""
    for _ in range(20):
        answer = await http.get(path)
        if answer.status_code != 429:
            return answer.json()
        await asyncio.sleep(float(answer.headers.get("Retry-After", "0.1")))
    raise AssertionError(f"{path} stayed rate limited")


async def _assert_unchanged(api_server, world: dict) -> None:
    async with client(api_server, world["tokens"][world["names"]["owner"]]) as owner:
        page = await _get(owner, f"/api/v1/rooms/{world['room']}/messages")
        assert [(m["body"], m.get("reactions")) for m in page["messages"]] == [("first", None)]
        assert len(await _get(owner, f"/api/v1/rooms/{world['room']}/members")) == 4
        assert [r["name"] for r in await _get(owner, "/api/v1/rooms")] == ["secret plans"]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=_ids(ENDPOINTS))
@pytest.mark.parametrize("who", ["no credentials", "malformed token", "unknown token", "revoked token",
                                 "deactivated user"])
async def test_unauthenticated_callers_get_401(api_server, world, who, method, path, body):
    token = {"no credentials": None, "malformed token": "nonsense", "unknown token": "ck_00000000_" + "A" * 43,
             "revoked token": world["tokens"][world["names"]["revoked"]],
             "deactivated user": world["tokens"][world["names"]["inactive"]]}[who]
    method, path, body = _request(method, path, body, world)
    async with client(api_server, token) as http:
        answer = await http.request(method, path, json=body)
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "unauthorized" and answer.headers["WWW-Authenticate"].startswith("Bearer")
    await _assert_unchanged(api_server, world)


@pytest.mark.parametrize(("method", "path", "body"), ROOM_ENDPOINTS, ids=_ids(ROOM_ENDPOINTS))
async def test_non_members_are_forbidden(api_server, world, method, path, body):
    method, path, body = _request(method, path, body, world)
    async with client(api_server, world["tokens"][world["names"]["outsider"]]) as http:
        answer = await http.request(method, path, json=body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "forbidden"
    async with client(api_server, world["tokens"][world["names"]["outsider"]]) as http:  # a missing room: the same
        missing = await http.request(method, path.replace(world["room"], "no-such-room-" + uuid.uuid4().hex[:6]),
                                     json=body)
    assert (missing.status_code, missing.json()) == (403, {**answer.json(), "room": missing.json().get("room")})
    await _assert_unchanged(api_server, world)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=_ids(ENDPOINTS))
async def test_session_needs_csrf_on_unsafe_methods(api_server, world, method, path, body):
    method, path, body = _request(method, path, body, world)
    async with session_client(api_server, world["session"], csrf=False) as http:
        answer = await http.request(method, path, json=body)
    if method in SAFE:
        assert answer.status_code == 200, answer.text  # reads need no CSRF token
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "csrf_failed"
        await _assert_unchanged(api_server, world)


async def test_session_with_csrf_may_write(api_server, world):
    async with session_client(api_server, world["session"]) as http:
        me = (await http.get("/api/v1/me")).json()
        assert me == {"user": world["names"]["browser"], "bot": False, "auth": "session"}
        answer = await http.post(f"/api/v1/rooms/{world['room']}/read", json={"seq": 1})
        assert answer.status_code == 200, answer.text
        wrong = await http.post(f"/api/v1/rooms/{world['room']}/read", json={"seq": 1},
                                headers={"X-CSRFToken": CSRF[:-1] + "b"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "csrf_failed"
