"""Load the page's ES modules (static/) in Chromium without any chat server: a fake origin serves them."""

from __future__ import annotations

from tests.fixtures.daphne import BASE_DIR

ORIGIN = "http://modules.test"
STATIC = BASE_DIR / "static"


def module_page(browser, script: str):
    """A new page whose module `script` ran (it imports from /static/... and sets window.ready)."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda d: (page.errors.append(f"dialog {d.message}"), d.dismiss()))
    html = f'<!doctype html><meta charset="utf-8"><div id="out" style="white-space: pre-wrap"></div>' \
           f'<script type="module">{script}\nwindow.ready = true;</script>'

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            route.fulfill(body=html, content_type="text/html")
        else:
            route.fulfill(path=str(STATIC / path.removeprefix("/static/")), content_type="text/javascript")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.ready === true")
    return page
