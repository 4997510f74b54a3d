"""The chat page in headless Chromium against live Daphne + Redis + Ignite (users sign up through the page)."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.fixtures.rooms import ensure_public_rooms

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


def make_room(room: str, members: dict | None = None, nodes: list | None = None) -> str:
    """Create `room` as a public room (rooms exist before anyone opens them); `members`: user -> role."""
    ensure_public_rooms(room, members=members, nodes=nodes)
    return room


def open_room(page, base_url: str, room: str) -> None:
    page.goto(f"{base_url}/room/{room}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    expect(log(page, room).locator(".log-top")).to_have_attribute("data-state", "start", timeout=TIMEOUT_MS)


def seed(room: str, count: int, author: str = "seed") -> None:
    from ignite_store import get_store

    make_room(room)
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
    make_room(room)
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

    # Unread counts: Ana moves to another room (found in the directory) while Bo keeps talking in this one.
    other = make_room(f"{room}-x")
    ana.click("#browse-btn")
    ana.fill("#directory-query", other)
    ana.locator(f'.directory-item[data-room="{other}"] button').click()
    expect(log(ana, other)).to_be_visible(timeout=TIMEOUT_MS)
    expect(ana.locator("#room-name")).to_have_text(other)
    send(bo, "are you there?")
    send(bo, "ping")
    badge = ana.locator(f'.room-item[data-room="{room}"] .unread')
    expect(badge).to_have_text("2", timeout=TIMEOUT_MS)
    ana.click(f'.room-item[data-room="{room}"]')
    expect(log(ana, room).locator(".new-divider")).to_have_count(1)  # above "are you there?"
    assert log(ana, room).locator(".msg:has(.new-divider) .msg-body").inner_text() == "are you there?"
    expect(badge).to_have_count(0)

    # A name the server refuses is explained in the dialog, nothing is created.
    ana.click("#create-btn")
    ana.fill("#create-name", "bad\u200bname")
    ana.press("#create-name", "Enter")
    expect(ana.locator("#create-error")).to_contain_text("Name: must not contain control or invisible characters",
                                                          timeout=TIMEOUT_MS)
    ana.keyboard.press("Escape")

    ana.reload()
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(4, timeout=TIMEOUT_MS)
    assert bodies(ana, room)[-2:] == ["are you there?", "ping"]
    assert seqs(ana, room) == [1, 2, 3, 4]
    expect(ana.locator(f'.room-item[data-room="{other}"]')).to_be_visible()  # the server keeps the rooms
    assert ana.evaluate("Object.keys(localStorage).filter(k => /:(rooms|read)$/.test(k))") == []
    screenshot(ana, "desktop-chat")

    bo.set_viewport_size(PHONE)
    expect(bo.locator("#menu-btn")).to_be_visible()
    screenshot(bo, "phone-chat")
    bo.click("#menu-btn")
    expect(bo.locator("#sidebar")).to_be_visible()
    bo.wait_for_timeout(400)  # let the drawer finish sliding in
    screenshot(bo, "phone-sidebar")
    bo.keyboard.press("Escape")
    bo.set_viewport_size({"width": 1280, "height": 800})

    # A name in the online list starts a direct message.
    ana.click(f'#presence-list [data-dm="{bo.username}"]')
    expect(ana.locator("#room-name")).to_have_text(bo.username, timeout=TIMEOUT_MS)
    assert re.search(r"/room/dm-[0-9a-f]+/$", ana.url)
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
    make_room(room)
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
    make_room(room)
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
    make_room(room, nodes=cluster.client_addresses())
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


# ---------------------------------------------------------------- rooms that belong to people
def active_room(page) -> str:
    """The id of the room open on the page (its sidebar item is the current one)."""
    item = page.locator('.room-item[aria-current="page"]')
    expect(item).to_have_count(1, timeout=TIMEOUT_MS)
    return item.get_attribute("data-room")


def create_room(page, name: str, kind: str = "public", topic: str = "") -> str:
    """Create a room through the dialog; return its id once it is open."""
    page.click("#create-btn")
    page.fill("#create-name", name)
    page.check(f'#create-dialog input[name="kind"][value="{kind}"]')
    page.fill("#create-topic", topic)
    page.click("#create-submit")
    expect(page.locator("#create-dialog")).not_to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#room-name")).to_have_text(name)
    room = active_room(page)
    expect(log(page, room).locator(".log-top")).to_have_attribute("data-state", "start", timeout=TIMEOUT_MS)
    return room


def record_frames(page) -> None:
    """Keep every frame the page's socket receives in window.__frames."""
    page.evaluate("() => { window.__frames = [];"
                  " window.chatApp.socket.addEventListener('frame', (e) => window.__frames.push(e.detail)); }")


def test_a_private_room_is_seen_by_its_members_only(live_settings, web, new_user):
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    cy = new_user(web.url, "cy")
    name = f"Plans {uuid.uuid4().hex[:6]}"
    room = create_room(ana, name, kind="private", topic="<b>not bold</b>")
    expect(ana.locator(f'#room-list .room-item[data-room="{room}"] .lock')).to_have_count(1)
    expect(ana.locator("#room-topic")).to_have_text("<b>not bold</b>")
    send(ana, "the plan is secret")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)

    # The owner invites Bo from the members dialog.
    ana.click("#room-actions-btn")
    expect(ana.locator("#archive-btn")).to_be_visible()  # an owner may archive
    ana.click("#members-btn")
    expect(ana.locator(f'#members-list li[data-user="{ana.username}"] .member-role')).to_have_text("owner",
                                                                                                   timeout=TIMEOUT_MS)
    ana.fill("#invite-user", bo.username)
    ana.press("#invite-user", "Enter")
    expect(ana.locator(f'#members-list li[data-user="{bo.username}"]')).to_be_visible(timeout=TIMEOUT_MS)
    ana.fill("#invite-user", "nobody-" + uuid.uuid4().hex[:6])
    ana.press("#invite-user", "Enter")
    expect(ana.locator("#members-error")).to_have_text("Username: no such user.", timeout=TIMEOUT_MS)
    ana.keyboard.press("Escape")

    item = bo.locator(f'#room-list .room-item[data-room="{room}"]')
    expect(item).to_contain_text(name, timeout=TIMEOUT_MS)
    expect(item.locator(".unread")).to_have_text("1", timeout=TIMEOUT_MS)
    item.click()
    expect(log(bo, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    assert bodies(bo, room) == ["the plan is secret"]
    expect(item.locator(".unread")).to_have_count(0)
    bo.click("#room-actions-btn")
    expect(bo.locator("#archive-btn")).to_be_hidden()  # a member may not
    bo.keyboard.press("Escape")

    # Cy sees it nowhere, and a join forced over the socket is refused.
    expect(cy.locator(f'.room-item[data-room="{room}"]')).to_have_count(0)
    cy.click("#browse-btn")
    cy.fill("#directory-query", name)
    expect(cy.locator("#directory-status")).to_contain_text("No public room", timeout=TIMEOUT_MS)
    expect(cy.locator(".directory-item")).to_have_count(0)
    cy.keyboard.press("Escape")
    record_frames(cy)
    cy.evaluate("room => window.chatApp.socket.send({type: 'join', room})", room)
    cy.evaluate("room => window.chatApp.socket.send({type: 'history', room})", room)
    cy.wait_for_function(
        "room => window.__frames.some(f => f.type === 'error' && f.ref === 'join' && f.room === room"
        " && f.code === 'forbidden')", arg=room, timeout=TIMEOUT_MS)
    cy.wait_for_timeout(500)
    assert not cy.evaluate("room => window.__frames.some(f => f.type === 'message' || f.type === 'history'"
                           " && f.room === room)", room)
    expect(cy.locator(".msg")).to_have_count(0)

    # Removed from the room, Bo loses it at once.
    ana.click("#room-actions-btn")
    ana.click("#members-btn")
    ana.locator(f'#members-list li[data-user="{bo.username}"] button', has_text="Remove").click()
    expect(ana.locator(f'#members-list li[data-user="{bo.username}"]')).to_have_count(0, timeout=TIMEOUT_MS)
    expect(item).to_have_count(0, timeout=TIMEOUT_MS)
    expect(log(bo, room)).to_have_count(0)
    assert not ana.errors and not bo.errors and not cy.errors


def test_a_direct_message_shows_under_direct_messages_with_a_badge(live_settings, web, new_user):
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    ana.click("#new-dm-btn")
    ana.fill("#dm-user", bo.username)
    ana.press("#dm-user", "Enter")
    expect(ana.locator("#room-name")).to_have_text(bo.username, timeout=TIMEOUT_MS)
    room = active_room(ana)
    assert room.startswith("dm-")
    expect(ana.locator(f'#dm-list .room-item[data-room="{room}"]')).to_be_visible()
    expect(bo.locator(f'.room-item[data-room="{room}"]')).to_have_count(0)  # nothing said yet

    send(ana, "hi Bo, just between us")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    item = bo.locator(f'#dm-list .room-item[data-room="{room}"]')
    expect(item).to_have_text(re.compile(rf"{ana.username}\s*1"), timeout=TIMEOUT_MS)
    expect(item.locator(".unread")).to_have_text("1")
    expect(bo.locator("#room-list .room-item")).to_have_count(0)
    item.click()
    expect(log(bo, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    expect(item.locator(".unread")).to_have_count(0)
    send(bo, "sure")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(2, timeout=TIMEOUT_MS)

    # Both sections of the sidebar, with a badge on the conversation (the screenshot in the docs).
    create_room(ana, "Design review", kind="private", topic="Mockups for the new onboarding")
    launch = create_room(ana, "Product launch", topic="Everything about the May release")
    send(ana, "The press kit is ready: https://example.com/press")
    expect(log(ana, launch).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    send(bo, "one more thing")
    expect(ana.locator(f'#dm-list .room-item[data-room="{room}"] .unread')).to_have_text("1", timeout=TIMEOUT_MS)
    screenshot(ana, "desktop-rooms")

    # An unknown user is explained in the picker.
    ana.click("#new-dm-btn")
    ana.fill("#dm-user", "nobody-" + uuid.uuid4().hex[:6])
    ana.press("#dm-user", "Enter")
    expect(ana.locator("#dm-error")).to_have_text("Username: no such user.", timeout=TIMEOUT_MS)
    ana.keyboard.press("Escape")
    assert not ana.errors and not bo.errors


def test_reading_on_one_device_clears_the_badge_on_the_other(live_settings, web, new_user, room):
    desk = new_user(web.url, "dee")
    phone = new_user(web.url, viewport=PHONE, login_as=desk.username)
    bo = new_user(web.url, "bo")
    quiet = make_room(f"{room}-quiet", {desk.username: "member"})
    busy = make_room(room, {desk.username: "member", bo.username: "member"})
    for page in (desk, phone):
        open_room(page, web.url, quiet)
        expect(page.locator(f'.room-item[data-room="{busy}"]')).to_have_count(1)
    open_room(bo, web.url, busy)

    send(bo, "news for Dee")
    for page in (desk, phone):
        expect(page.locator(f'.room-item[data-room="{busy}"] .unread')).to_have_text("1", timeout=TIMEOUT_MS)
    expect(phone.locator("#menu-unread")).to_have_text("1")

    phone.click("#menu-btn")
    phone.click(f'.room-item[data-room="{busy}"]')
    expect(log(phone, busy).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    expect(phone.locator("#sidebar")).not_to_be_in_viewport()  # the drawer closed
    expect(phone.locator(f'.room-item[data-room="{busy}"] .unread')).to_have_count(0)
    expect(desk.locator(f'.room-item[data-room="{busy}"] .unread')).to_have_count(0, timeout=TIMEOUT_MS)
    expect(desk.locator("title")).not_to_have_text(re.compile(r"^\(\d"))

    # The marker is the server's: a reload on the desktop still shows it read (stored within a second).
    desk.wait_for_timeout(1500)
    desk.reload()
    expect(desk.locator(f'.room-item[data-room="{busy}"]')).to_have_count(1, timeout=TIMEOUT_MS)
    expect(desk.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    expect(desk.locator(f'.room-item[data-room="{busy}"] .unread')).to_have_count(0)
    assert not desk.errors and not phone.errors and not bo.errors


def test_a_room_named_in_hangul(live_settings, web, new_user):
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    name = "개발팀"
    room = create_room(ana, name, topic="주간 회의")
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", room)
    expect(ana.locator(f'.room-item[data-room="{room}"] .room-name')).to_have_text(name)
    expect(ana.locator("#room-topic")).to_have_text("주간 회의")
    assert name in ana.title()
    send(ana, "안녕하세요, 팀!")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)

    bo.click("#browse-btn")
    bo.fill("#directory-query", "개발")
    found = bo.locator(f'.directory-item[data-room="{room}"]')
    expect(found).to_contain_text(name, timeout=TIMEOUT_MS)
    found.get_by_role("button", name=f"Join {name}").click()
    expect(bo.locator("#room-name")).to_have_text(name, timeout=TIMEOUT_MS)
    expect(log(bo, room).locator('.msg[data-status="confirmed"]')).to_have_count(1, timeout=TIMEOUT_MS)
    assert bodies(bo, room) == ["안녕하세요, 팀!"]
    expect(bo.locator(f'#room-list .room-item[data-room="{room}"] .room-name')).to_have_text(name)
    send(bo, "반갑습니다")
    expect(log(ana, room).locator('.msg[data-status="confirmed"]')).to_have_count(2, timeout=TIMEOUT_MS)

    assert not ana.errors and not bo.errors


def test_an_archived_room_leaves_every_sidebar(live_settings, web, new_user):
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    name = f"Old project {uuid.uuid4().hex[:4]}"
    room = create_room(ana, name)
    bo.click("#browse-btn")
    bo.fill("#directory-query", name)
    bo.locator(f'.directory-item[data-room="{room}"] button').click()
    expect(bo.locator("#room-name")).to_have_text(name, timeout=TIMEOUT_MS)
    ana.click("#room-actions-btn")
    ana.click("#archive-btn")
    ana.click("#confirm-ok")
    for page in (ana, bo):
        expect(page.locator(f'.room-item[data-room="{room}"]')).to_have_count(0, timeout=TIMEOUT_MS)
    expect(bo.locator("#toasts")).to_contain_text(f"{name} was archived.")
    assert not ana.errors and not bo.errors


def test_muting_a_room_is_kept_by_the_server(live_settings, web, new_user):
    ana = new_user(web.url, "ana")
    room = create_room(ana, f"Noisy {uuid.uuid4().hex[:6]}")
    ana.click("#room-actions-btn")
    expect(ana.locator("#mute-btn")).to_have_text("Mute room")
    expect(ana.locator("#notify-all-btn")).to_have_attribute("aria-checked", "true")
    ana.click("#mute-btn")
    item = ana.locator(f'#room-list .room-item[data-room="{room}"]')
    expect(item).to_have_attribute("data-muted", "true", timeout=TIMEOUT_MS)
    ana.reload()  # the level lives with the membership in Ignite, not in the browser
    expect(ana.locator(f'#room-list .room-item[data-room="{room}"]')).to_have_attribute("data-muted", "true",
                                                                                       timeout=TIMEOUT_MS)
    ana.click(f'#room-list .room-item[data-room="{room}"]')
    ana.click("#room-actions-btn")
    expect(ana.locator("#mute-btn")).to_have_attribute("aria-checked", "true")
    expect(ana.locator("#notify-all-btn")).to_have_attribute("aria-checked", "false")
    ana.click("#notify-all-btn")
    expect(ana.locator(f'#room-list .room-item[data-room="{room}"]')).not_to_have_attribute("data-muted", "true",
                                                                                           timeout=TIMEOUT_MS)
    assert not ana.errors
