"""The settings page (tokens shown once, bots, webhooks, revocation) and incoming webhooks reaching sockets live;
the rate limit holding across two server processes."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.chat.test_e2e import open_client, recv

from .conftest import CSRF, client, session_client


async def page_post(http, **form) -> tuple[int, str]:
    answer = await http.post("/api/tokens/", data={"csrfmiddlewaretoken": CSRF, **form})
    return answer.status_code, answer.text


async def test_tokens_page_shows_a_token_once_and_revokes_it(api_server, chat_site):
    name = f"pg{uuid.uuid4().hex[:8]}"
    async with session_client(api_server, chat_site.login(name)[name]) as http:
        status, html = await page_post(http, action="create_token", name="laptop")
        assert status == 200
        token = re.search(r'id="new-token-value">(ck_[0-9a-f]{8}_[A-Za-z0-9_-]{43})<', html).group(1)
        listing = (await http.get("/api/tokens/")).text
        assert token not in listing and f"ck_{token[3:11]}_…" in listing  # the prefix only, from now on
        async with client(api_server, token) as api:
            assert (await api.get("/api/v1/me")).json()["user"] == name
            status, _ = await page_post(http, action="revoke", kind="token", prefix=token[3:11])
            assert status == 200
            assert (await api.get("/api/v1/me")).status_code == 401
        status, html = await page_post(http, action="create_token", name="x", **{"for": "somebody-else"})
        assert status == 400 and "not one of your bots" in html
        assert "api-tokens-link" in (await http.get("/")).text  # linked from the chat page's user menu


async def test_webhook_posts_as_a_bot_and_reaches_sockets_live(api_server, api_site, chat_site):
    owner, token = api_site.user("own")
    bot = f"bot{uuid.uuid4().hex[:8]}"
    async with session_client(api_server, chat_site.login(owner)[owner]) as page, client(api_server, token) as api:
        room = (await api.post("/api/v1/rooms", json={"name": "builds", "kind": "private"})).json()["room"]
        status, html = await page_post(page, action="create_bot", username=bot)
        assert status == 200 and f"bot {bot} created" in html
        status, html = await page_post(page, action="create_webhook", bot=bot, room=room, name="CI")
        assert status == 200, html
        secret = re.search(r"/api/v1/hooks/(wh_[0-9a-f]{8}_[A-Za-z0-9_-]{43})", html).group(1)
        ws = await open_client(api_server, chat_site.cookie(owner))
        try:
            await ws.send(f'{{"type": "join", "room": "{room}"}}')
            await recv(ws, "joined")
            async with client(api_server) as anyone:  # no credentials: the URL is the secret
                posted = await anyone.post(f"/api/v1/hooks/{secret}", json={"text": "Build #7 passed"})
                assert posted.status_code == 201, posted.text
                live = await recv(ws, "message")
                assert (live["message"]["author"], live["message"]["body"]) == (bot, "Build #7 passed")
                again = await anyone.post(f"/api/v1/hooks/{secret}", json={"text": "dup", "client_id": "b7"})
                twice = await anyone.post(f"/api/v1/hooks/{secret}", json={"text": "dup", "client_id": "b7"})
                assert (again.status_code, twice.status_code) == (201, 200)
                bad = await anyone.post(f"/api/v1/hooks/{secret}", json={"text": " "})
                assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (400, "invalid", "text")
                wrong = await anyone.post(f"/api/v1/hooks/{secret[:-2]}xx", json={"text": "guess"})
                assert (wrong.status_code, wrong.json()["code"]) == (404, "not_found")
                status, _ = await page_post(page, action="revoke", kind="webhook", prefix=secret[3:11])
                gone = await anyone.post(f"/api/v1/hooks/{secret}", json={"text": "after revocation"})
                assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
        finally:
            await ws.close()
        bodies = [m["body"] for m in (await api.get(f"/api/v1/rooms/{room}/messages")).json()["messages"]]
        assert bodies == ["Build #7 passed", "dup"]
        members = {m["user"] for m in (await api.get(f"/api/v1/rooms/{room}/members")).json()}
        assert members == {owner, bot}


async def test_bot_tokens_post_as_the_bot_and_stop_with_the_owner(api_server, api_site):
    owner, owner_token = api_site.user("own")
    bot = f"bot{uuid.uuid4().hex[:8]}"
    bot_token = api_site.tokens(bot, owner=owner)[bot]
    async with client(api_server, owner_token) as api, client(api_server, bot_token) as robot:
        assert (await robot.get("/api/v1/me")).json() == {"user": bot, "bot": True, "auth": "token"}
        room = (await api.post("/api/v1/rooms", json={"name": "bots"})).json()["room"]
        await api.post(f"/api/v1/rooms/{room}/members", json={"user": bot})
        sent = await robot.post(f"/api/v1/rooms/{room}/messages", json={"body": "beep", "client_id": "b1"})
        assert sent.json()["author"] == bot
        api_site.run({"op": "deactivate", "user": owner})
        assert (await robot.get("/api/v1/me")).status_code == 401  # a bot stops with its owner


@pytest.fixture(scope="module")
def limited_pair(daphne_factory):
    """Two processes with small API rate limits (3 requests, then one per 50 s; webhooks: 2, then one per 50 s)."""
    env = {"CHAT_API_BURST": 3, "CHAT_API_RATE_PER_SECOND": 0.02, "CHAT_API_WEBHOOK_BURST": 2,
           "CHAT_API_WEBHOOK_RATE_PER_SECOND": 0.02}
    return daphne_factory(**env), daphne_factory(**env)


async def test_rate_limit_per_token_and_user_holds_across_processes(limited_pair, api_site):
    name, token = api_site.user("rl")
    first, second = limited_pair
    async with client(first, token) as a, client(second, token) as b:
        answers = [await http.get("/api/v1/me") for http in (a, b, a, b)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == "rate_limited" and refused.json()["retry_after"] > 0
    assert int(refused.headers["Retry-After"]) >= 1
    other_token = api_site.tokens(name)[name]  # the same user's other token: the user's bucket is empty too
    async with client(second, other_token) as c:
        assert (await c.get("/api/v1/me")).status_code == 429


async def test_webhook_posts_are_rate_limited(limited_pair, api_site, chat_site):
    owner, token = api_site.user("own")
    first, second = limited_pair
    bot = f"bot{uuid.uuid4().hex[:8]}"
    async with session_client(first, chat_site.login(owner)[owner]) as page, client(first, token) as api:
        room = (await api.post("/api/v1/rooms", json={"name": "alerts"})).json()["room"]
        await page_post(page, action="create_bot", username=bot)
        _, html = await page_post(page, action="create_webhook", bot=bot, room=room)
        secret = re.search(r"/api/v1/hooks/(wh_[0-9a-f]{8}_[A-Za-z0-9_-]{43})", html).group(1)
    async with client(first) as a, client(second) as b:  # two processes, one bucket per webhook
        answers = [await http.post(f"/api/v1/hooks/{secret}", json={"text": f"alert {i}"})
                   for i, http in enumerate((a, b, a))]
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert answers[-1].json()["code"] == "rate_limited" and int(answers[-1].headers["Retry-After"]) >= 1
