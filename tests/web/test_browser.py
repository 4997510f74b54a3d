"""The chat page in headless Chromium against live Daphne + Redis + Ignite (users sign up through the page)."""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, screenshot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


def log(page, room):
    return page.locator(f'[role="log"][data-room="{room}"]')


def bodies(page, room) -> list[str]:
    """The confirmed message bodies of a room, in the order shown."""
    return log(page, room).locator('.msg[data-status="confirmed"] .msg-body').all_inner_texts()


def seqs(page, room) -> list[int]:
    """The seqs of the rows of a room, in the order shown."""
    return log(page, room).locator(".msg[data-seq]").evaluate_all("els => els.map(e => Number(e.dataset.seq))")


def send(page, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def open_room(page, base_url: str, room: str) -> None:
    page.goto(f"{base_url}/room/{room}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    expect(log(page, room).locator(".log-top")).to_have_attribute("data-state", "start", timeout=TIMEOUT_MS)


def seed(room: str, count: int, author: str = "seed") -> None:
    from ignite_store import get_store

    store = get_store()
    for i in range(1, count + 1):
        store.append(room, author, f"seeded message {i}", f"seed-{uuid.uuid4().hex[:12]}")


def start_again(cluster) -> None:
    """Restart a stopped cluster (a JVM that dies while starting on this busy box gets a second try)."""
    from ignite_store.server.local import ClusterError

    for attempt in range(3):
        try:
            cluster.start(1)
            return
        except ClusterError:
            if attempt == 2:
                raise


def test_two_users_chat_with_presence_typing_unread_and_history(live_settings, web, new_user, room):
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    open_room(ana, web.url, room)
    open_room(bo, web.url, room)

    expect(ana.locator(f'#presence-list li[data-user="{bo.username}"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(bo.locator(f'#presence-list li[data-user="{ana.username}"]')).to_be_visible()

    bo.locator("#message-input").press_sequentially("hello", delay=30)
    expect(ana.locator("#typing")).to_have_text(f"{bo.username} is typing…", timeout=TIMEOUT_MS)

    send(bo, "hi Ana, the notes are at https://example.com/notes.")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    send(ana, "Hi Bo!\nSecond line")
    for page in (ana, bo):
        expect(log(page, room).locator('.msg[data-status="confirmed"]')).to_have_count(2, timeout=TIMEOUT_MS)
    assert bodies(ana, room) == bodies(bo, room) == ["hi Ana, the notes are at https://example.com/notes.",
                                                      "Hi Bo!\nSecond line"]
    link = bo.locator(".msg-body a").first
    expect(link).to_have_attribute("href", "https://example.com/notes")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    expect(ana.locator("#typing")).to_have_text("")  # a message ends the typing line

    # Shift+Enter makes a new line instead of sending.
    ana.fill("#message-input", "draft")
    ana.press("#message-input", "Shift+Enter")
    assert ana.input_value("#message-input") == "draft\n"
    ana.fill("#message-input", "")

    # Unread counts: Ana moves to another room while Bo keeps talking in this one.
    other = f"{room}-x"
    ana.fill("#room-input", other)
    ana.press("#room-input", "Enter")
    expect(log(ana, other)).to_be_visible()
    send(bo, "are you there?")
    send(bo, "ping")
    badge = ana.locator(f'.room-item[data-room="{room}"] .unread')
    expect(badge).to_have_text("2", timeout=TIMEOUT_MS)
    ana.click(f'.room-item[data-room="{room}"]')
    expect(badge).to_have_count(0)

    # Invalid room names are refused with a message, nothing is joined.
    ana.fill("#room-input", "Bad Room!")
    ana.press("#room-input", "Enter")
    expect(ana.locator("#join-error")).to_contain_text("a-z, 0-9")

    ana.reload()
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(4, timeout=TIMEOUT_MS)
    assert bodies(ana, room)[-2:] == ["are you there?", "ping"]
    assert seqs(ana, room) == [1, 2, 3, 4]
    expect(ana.locator(f'.room-item[data-room="{other}"]')).to_be_visible()  # rooms are remembered
    screenshot(ana, "desktop-chat")

    bo.set_viewport_size(PHONE)
    expect(bo.locator("#menu-btn")).to_be_visible()
    screenshot(bo, "phone-chat")
    bo.click("#menu-btn")
    expect(bo.locator("#sidebar")).to_be_visible()
    bo.wait_for_timeout(400)  # let the drawer finish sliding in
    screenshot(bo, "phone-sidebar")
    bo.keyboard.press("Escape")
    assert not ana.errors and not bo.errors


def test_scrolling_up_loads_older_pages_without_jumping(live_settings, web, new_user, room):
    seed(room, 130)
    ana = new_user(web.url, "ana")
    ana.goto(f"{web.url}/room/{room}/")
    rows = log(ana, room).locator(".msg")
    expect(rows).to_have_count(50, timeout=TIMEOUT_MS)
    assert seqs(ana, room) == list(range(81, 131))
    scroller = log(ana, room)
    assert scroller.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight") < 50  # newest at the bottom

    # Older rows are added above without moving what is on screen.
    anchor = '.msg[data-seq="81"] .msg-body'
    before = scroller.evaluate(
        "(el, sel) => { el.scrollTop = 0; return el.querySelector(sel).getBoundingClientRect().top; }", anchor
    )
    expect(rows).to_have_count(100, timeout=TIMEOUT_MS)
    after = scroller.locator(anchor).evaluate("el => el.getBoundingClientRect().top")
    assert abs(after - before) < 2, (before, after)
    assert scroller.evaluate("el => el.scrollTop") > 0

    for _ in range(5):
        if scroller.locator('.log-top[data-state="start"]').count():
            break
        scroller.evaluate("el => { el.scrollTop = 0; }")
        ana.wait_for_timeout(400)
    expect(scroller.locator('.log-top[data-state="start"]')).to_be_visible(timeout=TIMEOUT_MS)
    assert seqs(ana, room) == list(range(1, 131))
    assert bodies(ana, room)[0] == "seeded message 1"
    assert not ana.errors


def test_messages_sent_during_a_server_restart_arrive_once_in_order(live_settings, web, new_user, room):
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    open_room(ana, web.url, room)
    open_room(bo, web.url, room)
    send(ana, "before the restart")
    expect(log(bo, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)

    web.stop()
    for page in (ana, bo):
        expect(page.locator("#conn-state")).not_to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    seed(room, 3, author="carol")  # stored through another server while ours is down
    send(bo, "typed while offline")
    expect(log(bo, room).locator('.msg[data-status="pending"]')).to_have_count(1)
    screenshot(bo, "desktop-reconnecting")
    web.start()

    expected = ["before the restart", "seeded message 1", "seeded message 2", "seeded message 3",
                "typed while offline"]
    for page in (ana, bo):
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=45_000)
        expect(log(page, room).locator('.msg[data-status="confirmed"]')).to_have_count(5, timeout=TIMEOUT_MS)
        assert bodies(page, room) == expected
        assert seqs(page, room) == [1, 2, 3, 4, 5]
    send(ana, "after the restart")  # live delivery works again
    expect(log(bo, room).locator(".msg")).to_have_count(6, timeout=TIMEOUT_MS)
    assert seqs(bo, room) == [1, 2, 3, 4, 5, 6]
    assert not ana.errors and not bo.errors


def test_html_in_messages_is_shown_as_text(live_settings, web, new_user, room):
    ana = new_user(web.url, "ana")
    dialogs = []
    ana.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_room(ana, web.url, room)
    payloads = [
        "<script>window.__pwned = 1; alert('script')</script>",
        '<img src=x onerror="window.__pwned = 2; alert(\'img\')">',
        "javascript:alert(3) and <b>bold</b> <a href=\"javascript:alert(4)\">x</a>",
    ]
    for text in payloads:
        send(ana, text)
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(3, timeout=TIMEOUT_MS)
    ana.reload()  # and again when it comes back as history
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(3, timeout=TIMEOUT_MS)
    ana.wait_for_timeout(500)
    assert bodies(ana, room) == payloads
    message_bodies = log(ana, room).locator(".msg-body")
    assert message_bodies.locator("script, img, b, a").count() == 0
    assert ana.evaluate("window.__pwned") is None
    assert dialogs == []
    assert not ana.errors


def test_a_send_that_fails_while_ignite_is_down_succeeds_on_retry(live_settings, cluster_factory, web_server_factory,
                                                                  new_user, room):
    from ignite_store.backends.ignite import IgniteMessageStore

    cluster = cluster_factory(1)
    private = IgniteMessageStore(cluster.client_addresses(), timeout=5.0)
    try:
        private.ensure_schema()
    finally:
        private.close()
    server = web_server_factory(nodes=cluster.client_addresses(), IGNITE_TIMEOUT=3)
    ana = new_user(server.url, "ana")
    open_room(ana, server.url, room)
    send(ana, "stored before the outage")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)

    cluster.stop()
    send(ana, "sent while Ignite is down")
    failed = log(ana, room).locator('.msg[data-status="failed"]')
    expect(failed).to_have_count(1, timeout=30_000)
    client_id = failed.get_attribute("data-client-id")
    expect(failed.locator(".retry-btn")).to_be_visible()
    screenshot(ana, "desktop-failed-send")

    start_again(cluster)
    deadline = time.monotonic() + 90
    row = log(ana, room).locator(f'.msg[data-client-id="{client_id}"]')
    while time.monotonic() < deadline:
        if row.get_attribute("data-status") == "failed":
            row.locator(".retry-btn").click()
        if row.get_attribute("data-status") == "confirmed":
            break
        ana.wait_for_timeout(1000)
    expect(row).to_have_attribute("data-status", "confirmed")
    expect(row).to_have_attribute("data-seq", "2")
    assert bodies(ana, room) == ["stored before the outage", "sent while Ignite is down"]
    assert not ana.errors
