"""Message search in headless Chromium: search a Korean word and an English phrase across rooms, jump to them."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_browser import TIMEOUT_MS, log, make_room

pytestmark = pytest.mark.browser


def fill(room: str, bodies: dict[int, str], count: int) -> None:
    from ignite_store import get_store

    store = get_store()
    for seq in range(1, count + 1):
        store.append(room, "seed", bodies.get(seq, f"filler line {seq}"), f"s-{uuid.uuid4().hex[:12]}")


def search(page, text: str) -> None:
    page.click("#search-btn")
    page.select_option("#search-room", "")
    page.fill("#search-query", text)
    page.press("#search-query", "Enter")


def test_search_across_rooms_and_jump_to_the_message(live_settings, web, new_user):
    ana = new_user(web.url, "ana")
    notes, plans = f"w-{uuid.uuid4().hex[:10]}", f"w-{uuid.uuid4().hex[:10]}"
    make_room(notes, members={ana.username: "member"})
    make_room(plans, members={ana.username: "member"})
    fill(notes, {5: "회의록 공유합니다 <b>not bold</b>"}, 120)  # seq 5: far above the first page of 50
    fill(plans, {3: "Weekly   SYNC: notes moved", 4: "sync weekly, reversed"}, 10)
    ana.goto(f"{web.url}/room/{plans}/")
    expect(ana.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)

    # A Korean word inside a longer word, in a room that is not open.
    search(ana, "회의")
    hit = ana.locator(f'.search-hit[data-room="{notes}"][data-seq="5"]')
    expect(hit).to_be_visible(timeout=TIMEOUT_MS)
    expect(hit.locator("mark")).to_have_text("회의")
    expect(hit.locator(".search-snippet")).to_contain_text("<b>not bold</b>")  # text, not markup
    screenshot(ana, "search-results")
    hit.click()
    row = log(ana, notes).locator('.msg[data-seq="5"]')
    expect(row).to_have_class(re.compile(r"\bflash\b"), timeout=TIMEOUT_MS)
    expect(row).to_be_in_viewport()
    expect(ana.locator("#room-name")).to_have_text(notes)

    # An English phrase: only the message with the words in that order.
    search(ana, '"weekly sync"')
    hits = ana.locator(".search-hit")
    expect(hits).to_have_count(1, timeout=TIMEOUT_MS)
    expect(hits.first).to_have_attribute("data-room", plans)
    expect(hits.first.locator("mark")).to_have_text(["Weekly   SYNC"])
    hits.first.click()
    expect(log(ana, plans).locator('.msg[data-seq="3"]')).to_be_in_viewport(timeout=TIMEOUT_MS)

    # A query the server refuses is explained in the dialog.
    search(ana, "%")
    expect(ana.locator("#search-status")).to_contain_text("too short", timeout=TIMEOUT_MS)
    assert not ana.errors
