"""/api/docs renders in Chromium with every request to another host aborted: its assets come from the
server (django-ninja's packaged Swagger UI), not a CDN."""

from __future__ import annotations

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
