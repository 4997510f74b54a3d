"""/api/docs renders in Chromium with every request to another host aborted: its assets come from the
server (django-ninja's packaged Swagger UI), not a CDN."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_api_docs_render_offline(browser, web):
    context = browser.new_context()
    requested: list[str] = []
    blocked: list[str] = []

    def only_the_server(route):
        url = route.request.url
        requested.append(url)
        if urlsplit(url).netloc == f"127.0.0.1:{web.port}":
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{web.url}/api/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert "Chat API" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector("[data-path=\"/api/v1/rooms/{room}/messages\"]", timeout=20_000)
        screenshot(page, "api-docs")
        assert blocked == [], blocked
        assert any(url.endswith("/api/v1/openapi.json") for url in requested)
        assert errors == []
    finally:
        context.close()


def test_token_from_the_page_then_curl_and_a_webhook_post_appear_live(web, new_user):
    """As a new user would: create a token on the settings page, post with it and through a webhook,
    and see both live in the open chat page; read the history back with the token."""
    import httpx
    from playwright.sync_api import expect

    page = new_user(web.url, "api")
    page.click("#api-tokens-link")
    page.fill("#token-name", "my script")
    page.click("#create-token")
    token = page.inner_text("#new-token-value")
    page.reload()  # shown once: gone on the next visit
    assert token not in page.content()
    api = httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {token}"}, timeout=20)
    room = api.post("/api/v1/rooms", json={"name": "deploys"}).json()["room"]

    bot = f"ci{uuid.uuid4().hex[:6]}"
    page.fill("#bot-username", bot)
    page.click("#create-bot")
    page.select_option("#webhook-bot", bot)
    page.fill("#webhook-room", room)
    page.fill("#webhook-name", "CI")
    page.click("#create-webhook")
    hook = page.inner_text("#new-webhook-url")

    page.goto(f"{web.url}/room/{room}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=20_000)
    log = page.locator(f'[role="log"][data-room="{room}"]')
    expect(log.locator(".log-top")).to_have_attribute("data-state", "start", timeout=20_000)
    assert api.post(f"/api/v1/rooms/{room}/messages", json={"body": "sent with curl", "client_id": "c1"}).status_code \
        == 201
    assert httpx.post(hook, json={"text": "Build #7 passed"}, timeout=20).status_code == 201
    bodies = log.locator('.msg[data-status="confirmed"] .msg-body')
    expect(bodies).to_have_text(["sent with curl", "Build #7 passed"], timeout=20_000)
    expect(log.locator(".msg").last).to_contain_text(bot)
    screenshot(page, "api-webhook-live")
    history = api.get(f"/api/v1/rooms/{room}/messages").json()["messages"]
    assert [(m["author"], m["body"]) for m in history] == [(page.username, "sent with curl"), (bot, "Build #7 passed")]
    api.close()
