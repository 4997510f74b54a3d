"""Editing, deleting, reacting, replying, mentions and Markdown on the chat page, in headless Chromium against
live Daphne + Redis + Ignite (issue 13)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, screenshot
from .test_browser import TIMEOUT_MS, log, make_room, open_room, send

pytestmark = pytest.mark.browser

# Wraps window.Notification to record what the page shows, and lets a test hide the tab.
NOTIFICATION_SPY = """
window.__notes = [];
window.__hidden = false;
const RealNotification = window.Notification;
if (RealNotification) {
  window.Notification = class extends RealNotification {
    constructor(title, options) {
      window.__notes.push({ title, body: options && options.body });
      super(title, options);
    }
  };
}
Object.defineProperty(document, "visibilityState", { configurable: true,
  get: () => (window.__hidden ? "hidden" : "visible") });
Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden });
"""


def row(page, room, text):
    """The confirmed message row of `room` whose body contains `text`."""
    return log(page, room).locator('.msg[data-status="confirmed"]', has=page.locator(".msg-body", has_text=text))


def action(page, message_row, name):
    """Hover a message and click one of its toolbar buttons."""
    message_row.hover()
    page.locator(f".msg-actions .msg-action-{name}").click()


def test_edit_and_delete_own_message_in_place(live_settings, web, new_user, room):
    make_room(room)
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    open_room(ana, web.url, room)
    open_room(bo, web.url, room)
    send(ana, "hello **wrold**")
    for page in (ana, bo):
        expect(row(page, room, "hello").locator(".md-strong")).to_have_text("wrold", timeout=TIMEOUT_MS)

    # Someone else's message has no edit or delete.
    row(bo, room, "hello").hover()
    expect(bo.locator(".msg-actions .msg-action-reply")).to_be_visible()
    expect(bo.locator(".msg-actions .msg-action-edit")).to_be_hidden()
    expect(bo.locator(".msg-actions .msg-action-delete")).to_be_hidden()

    # Esc cancels, Enter saves.
    action(ana, row(ana, room, "hello"), "edit")
    editor = ana.locator(".msg-editor-input")
    expect(editor).to_have_value("hello **wrold**")
    editor.fill("nothing saved")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(row(ana, room, "hello").locator(".md-strong")).to_have_text("wrold")
    action(ana, row(ana, room, "hello"), "edit")
    ana.locator(".msg-editor-input").fill("hello *world*")
    ana.locator(".msg-editor-input").press("Enter")
    for page in (ana, bo):
        edited = row(page, room, "hello")
        expect(edited.locator(".md-em")).to_have_text("world", timeout=TIMEOUT_MS)
        expect(edited.locator(".edited-mark")).to_have_text("(edited)")
        expect(edited.locator(".edited-mark")).to_have_attribute("title", re.compile(r"^Edited .+"))
    expect(ana.locator(".msg-editor")).to_have_count(0)
    screenshot(ana, "desktop-edited")

    # Delete asks first, then leaves a tombstone for everyone.
    send(ana, "oops, wrong room")
    expect(row(bo, room, "oops")).to_have_count(1, timeout=TIMEOUT_MS)
    action(ana, row(ana, room, "oops"), "delete")
    expect(ana.locator("#confirm-dialog")).to_be_visible()
    ana.click("#confirm-ok")
    for page in (ana, bo):
        tombstone = log(page, room).locator(".msg.deleted .deleted-note")
        expect(tombstone).to_have_text("message deleted", timeout=TIMEOUT_MS)
        expect(log(page, room).get_by_text("oops, wrong room")).to_have_count(0)
    bo.reload()  # and the stored state after a reload
    expect(row(bo, room, "hello").locator(".edited-mark")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(log(bo, room).locator(".msg.deleted")).to_have_count(1)

    # Past the server's edit window (told in `hello`), and with deleting turned off, the toolbar offers neither.
    ana.evaluate("""chatApp.socket.dispatchEvent(new CustomEvent("frame", {detail: {type: "hello",
        limits: {edit_window_seconds: 1, allow_delete_own: false}}}))""")
    ana.wait_for_timeout(1100)
    row(ana, room, "hello").hover()
    expect(ana.locator(".msg-actions .msg-action-reply")).to_be_visible()
    expect(ana.locator(".msg-actions .msg-action-edit")).to_be_hidden()
    expect(ana.locator(".msg-actions .msg-action-delete")).to_be_hidden()
    assert not ana.errors and not bo.errors


def test_reactions_are_counted_for_everyone_and_toggle(live_settings, web, new_user, room):
    make_room(room)
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    open_room(ana, web.url, room)
    open_room(bo, web.url, room)
    send(ana, "ship it?")
    expect(row(bo, room, "ship it?")).to_have_count(1, timeout=TIMEOUT_MS)

    action(bo, row(bo, room, "ship it?"), "react")
    expect(bo.locator(".emoji-picker .emoji-choice")).to_have_count(12)
    bo.locator('.emoji-picker .emoji-choice[data-emoji="🚀"]').click()
    for page in (ana, bo):
        chip = row(page, room, "ship it?").locator('.reaction[data-emoji="🚀"]')
        expect(chip.locator(".reaction-count")).to_have_text("1", timeout=TIMEOUT_MS)
    expect(row(bo, room, "ship it?").locator('.reaction[data-emoji="🚀"]')).to_have_attribute("aria-pressed", "true")
    expect(row(ana, room, "ship it?").locator('.reaction[data-emoji="🚀"]')).to_have_attribute("aria-pressed", "false")

    row(ana, room, "ship it?").locator('.reaction[data-emoji="🚀"]').click()  # ana adds hers
    for page in (ana, bo):
        chip = row(page, room, "ship it?").locator('.reaction[data-emoji="🚀"]')
        expect(chip.locator(".reaction-count")).to_have_text("2", timeout=TIMEOUT_MS)
        names = ["you" if name == page.username else name for name in sorted([ana.username, bo.username])]
        expect(chip).to_have_attribute("title", f"{', '.join(names)} reacted with 🚀")
    screenshot(ana, "desktop-reactions")

    bo.set_viewport_size(PHONE)  # on a phone a tap shows the toolbar
    row(bo, room, "ship it?").locator(".msg-body").click()
    expect(bo.locator(".msg-actions .msg-action-react")).to_be_visible()
    screenshot(bo, "phone-reactions")
    bo.set_viewport_size({"width": 1280, "height": 800})
    row(bo, room, "ship it?").locator('.reaction[data-emoji="🚀"]').click()  # bo takes his back
    for page in (ana, bo):
        chip = row(page, room, "ship it?").locator('.reaction[data-emoji="🚀"]')
        expect(chip.locator(".reaction-count")).to_have_text("1", timeout=TIMEOUT_MS)
    expect(row(bo, room, "ship it?").locator('.reaction[data-emoji="🚀"]')).to_have_attribute("aria-pressed", "false")
    assert not ana.errors and not bo.errors


def test_reply_shows_the_original_and_jumps_to_it_when_not_loaded(live_settings, web, new_user, room):
    from ignite_store import get_store

    make_room(room)
    ana = new_user(web.url, "ana")
    open_room(ana, web.url, room)
    send(ana, "the original question")
    expect(row(ana, room, "the original question")).to_have_count(1, timeout=TIMEOUT_MS)
    store = get_store()
    for i in range(120):
        store.append(room, "seed", f"filler {i}", f"fill-{room}-{i}")

    bo = new_user(web.url, "bo")
    bo.goto(f"{web.url}/room/{room}/")  # loads only the newest page: the original is not on it
    expect(log(bo, room).locator(".msg")).to_have_count(50, timeout=TIMEOUT_MS)
    expect(row(bo, room, "the original question")).to_have_count(0)

    action(ana, row(ana, room, "the original question"), "reply")
    expect(ana.locator(".reply-bar")).to_contain_text("Replying to")
    expect(ana.locator(".reply-bar")).to_contain_text("the original question")
    ana.locator(".reply-bar-cancel").click()
    expect(ana.locator(".reply-bar")).to_be_hidden()
    action(ana, row(ana, room, "the original question"), "reply")
    send(ana, "here is **the answer**")
    expect(ana.locator(".reply-bar")).to_be_hidden()
    reply = row(bo, room, "here is the answer")
    quote = reply.locator(".reply-quote")
    expect(quote.locator(".reply-author")).to_have_text(ana.username, timeout=TIMEOUT_MS)
    expect(quote.locator(".reply-excerpt")).to_have_text("the original question")
    screenshot(bo, "desktop-reply")

    quote.click()
    original = row(bo, room, "the original question")
    expect(original).to_be_in_viewport(timeout=TIMEOUT_MS)
    expect(original).to_have_class(re.compile(r"\bflash\b"))
    # The gap between the page around the original and the newest page is filled in: no hole in the log.
    expect(log(bo, room).locator(".msg")).to_have_count(122, timeout=TIMEOUT_MS)
    assert bo.evaluate(f"[...document.querySelectorAll('#log-{room} .msg')].map(r => +r.dataset.seq)") == list(
        range(1, 123))
    assert not ana.errors and not bo.errors


def ana_and_bo_in_two_rooms(web, new_user, room):
    """ana and bo, members of `room` and `<room>-b`; bo may be notified (spied on) and has `room` open."""
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    other = f"{room}-b"
    make_room(room, members={ana.username: "member", bo.username: "member"})
    make_room(other, members={ana.username: "member", bo.username: "member"})
    bo.context.grant_permissions(["notifications"], origin=web.url)
    bo.context.add_init_script(NOTIFICATION_SPY)
    open_room(bo, web.url, room)
    return ana, bo, other


def test_a_mention_notifies_in_a_hidden_tab_and_badges_the_room(live_settings, web, new_user, room):
    ana, bo, other = ana_and_bo_in_two_rooms(web, new_user, room)
    open_room(ana, web.url, other)

    bo.click("#notify-btn")
    expect(bo.locator("#notify-btn")).to_have_attribute("aria-pressed", "true")
    bo.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")

    # The composer completes names after "@" (people in the room); Enter takes one instead of sending.
    ana.locator("#message-input").press_sequentially(f"@{bo.username[:3]}", delay=20)
    expect(ana.locator("#mention-complete .mention-option")).to_have_text([f"@{bo.username}"], timeout=TIMEOUT_MS)
    ana.press("#message-input", "Enter")
    assert ana.input_value("#message-input") == f"@{bo.username} "
    ana.locator("#message-input").press_sequentially("can you look at this?")
    ana.press("#message-input", "Enter")
    badge = bo.locator(f'.room-item[data-room="{other}"] .mention-badge')
    expect(badge).to_have_text("@1", timeout=TIMEOUT_MS)
    bo.wait_for_function("window.__notes.length === 1", timeout=TIMEOUT_MS)
    note = bo.evaluate("window.__notes[0]")
    assert note == {"title": f"{ana.username} mentioned you in {other}",
                    "body": f"@{bo.username} can you look at this?"}
    assert bo.title().startswith("(1) ")

    # A plain message in a room at "all" notifies too; not once muted.
    open_room(ana, web.url, room)
    send(ana, "lunch?")
    bo.wait_for_function("window.__notes.length === 2", timeout=TIMEOUT_MS)
    assert bo.evaluate("window.__notes[1].title") == f"{ana.username} in {room}"
    bo.evaluate("window.__hidden = false")
    bo.click("#room-actions-btn")
    bo.click("#mute-btn")
    expect(bo.locator(f'.room-item[data-room="{room}"]')).to_have_attribute("data-muted", "true", timeout=TIMEOUT_MS)
    bo.click(f'.room-item[data-room="{other}"]')  # reading it clears the mention badge
    expect(badge).to_have_count(0, timeout=TIMEOUT_MS)
    mentioned = row(bo, other, "can you look")
    expect(mentioned).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mentioned.locator(".mention-me")).to_have_text(f"@{bo.username}")
    bo.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")
    send(ana, "muted chatter")
    send(ana, f"but @{bo.username} this is for you")
    bo.wait_for_function("window.__notes.length === 3", timeout=TIMEOUT_MS)
    assert bo.evaluate("window.__notes[2].title") == f"{ana.username} mentioned you in {room}"
    bo.evaluate("window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    screenshot(bo, "desktop-mentions")
    assert not ana.errors and not bo.errors


def test_a_room_set_to_mentions_only_notifies_only_on_mentions_and_keeps_its_unread_count(
        live_settings, web, new_user, room):
    """The room menu's three notify levels (every message, only @mentions, muted), kept by the server."""
    ana, bo, other = ana_and_bo_in_two_rooms(web, new_user, room)
    bo.click("#room-actions-btn")
    expect(bo.locator("#room-menu [aria-checked='true']")).to_have_text("Every message")
    bo.click("#notify-mentions-btn")
    bo.reload()  # kept with the membership in Ignite
    bo.click(f'.room-item[data-room="{room}"]')
    bo.click("#room-actions-btn")
    expect(bo.locator("#notify-mentions-btn")).to_have_attribute("aria-checked", "true", timeout=TIMEOUT_MS)
    expect(bo.locator("#room-menu [aria-checked='true']")).to_have_count(1)
    bo.keyboard.press("Escape")
    bo.click(f'.room-item[data-room="{other}"]')
    bo.click("#notify-btn")
    bo.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")

    open_room(ana, web.url, room)
    send(ana, "plain chatter")
    send(ana, f"@{bo.username} one for you")
    bo.wait_for_function("window.__notes.length >= 1", timeout=TIMEOUT_MS)
    item = bo.locator(f'.room-item[data-room="{room}"]')
    expect(item.locator(".unread")).to_have_text("2", timeout=TIMEOUT_MS)  # not muted: every message counts
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item).not_to_have_attribute("data-muted", "true")
    bo.wait_for_timeout(500)
    notes = bo.evaluate("window.__notes")
    assert [n["title"] for n in notes] == [f"{ana.username} mentioned you in {room}"], notes
    assert not ana.errors and not bo.errors


def test_markdown_renders_and_stays_safe_in_the_chat(live_settings, web, new_user, room):
    make_room(room)
    ana = new_user(web.url, "ana")
    dialogs = []
    ana.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_room(ana, web.url, room)
    messages = [
        "Deploy steps:\n1. run `make check`\n2. **merge** into _main_\n3. ~~pray~~ watch the graphs",
        "> quoted *advice*\nand my reply with [the docs](https://example.com/docs)",
        "```\n<script>window.__pwned = 1</script>\n<img src=x onerror=\"window.__pwned = 2\">\n```",
        "[click me](javascript:alert(1)) [or me](JaVaScRiPt:alert(2)) [data](data:text/html,<script>alert(3)</script>)"
        " [vb](vbscript:msgbox(4)) [spaced]( java\tscript:alert(5))",
        "```\nunclosed **code** <b>block</b>",
    ]
    for text in messages:
        send(ana, text)
    the_log = log(ana, room)
    expect(the_log.locator('.msg[data-status="confirmed"]')).to_have_count(5, timeout=TIMEOUT_MS)
    for _ in range(2):  # live, then as history after a reload
        expect(the_log.locator(".md-list li")).to_have_count(3)
        expect(the_log.locator(".md-code").first).to_have_text("make check")
        expect(the_log.locator(".md-quote .md-em")).to_have_text("advice")
        expect(the_log.locator(".md-pre").first).to_contain_text("<script>window.__pwned = 1</script>")
        expect(the_log.locator(".md-pre").nth(1)).to_have_text("unclosed **code** <b>block</b>")
        hrefs = the_log.locator(".msg-body a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert hrefs == ["https://example.com/docs"]
        assert the_log.locator(".msg-body script, .msg-body img, .msg-body b").count() == 0
        ana.reload()
        expect(the_log.locator('.msg[data-status="confirmed"]')).to_have_count(5, timeout=TIMEOUT_MS)
    screenshot(ana, "desktop-markdown")
    ana.set_viewport_size(PHONE)
    ana.wait_for_timeout(300)
    screenshot(ana, "phone-markdown")
    assert ana.evaluate("window.__pwned") is None
    assert dialogs == []
    assert not ana.errors


def test_changes_made_while_offline_are_caught_up_on_reconnect(live_settings, web, new_user, room):
    make_room(room)
    ana = new_user(web.url, "ana")
    bo = new_user(web.url, "bo")
    open_room(ana, web.url, room)
    open_room(bo, web.url, room)
    for text in ("to be edited", "to be deleted", "to be liked"):
        send(ana, text)
    expect(log(bo, room).locator('.msg[data-status="confirmed"]')).to_have_count(3, timeout=TIMEOUT_MS)

    bo.evaluate("chatApp.socket.stopped = true; chatApp.socket.ws.close()")  # offline, no reconnect
    bo.wait_for_function("chatApp.socket.ws === null", timeout=TIMEOUT_MS)
    action(ana, row(ana, room, "to be edited"), "edit")
    ana.locator(".msg-editor-input").fill("was edited")
    ana.locator(".msg-editor-input").press("Enter")
    action(ana, row(ana, room, "to be deleted"), "delete")
    ana.click("#confirm-ok")
    action(ana, row(ana, room, "to be liked"), "react")
    ana.locator('.emoji-picker .emoji-choice[data-emoji="👍"]').click()
    expect(row(ana, room, "to be liked").locator(".reaction-count")).to_have_text("1", timeout=TIMEOUT_MS)
    expect(log(ana, room).locator(".msg.deleted")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(row(ana, room, "was edited")).to_have_count(1, timeout=TIMEOUT_MS)
    assert log(bo, room).locator(".msg.deleted").count() == 0  # bo did not see any of it

    bo.evaluate("chatApp.socket.start()")
    expect(bo.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    expect(row(bo, room, "was edited").locator(".edited-mark")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(log(bo, room).locator(".msg.deleted")).to_have_count(1)
    expect(row(bo, room, "to be liked").locator('.reaction[data-emoji="👍"] .reaction-count')).to_have_text("1")
    assert bo.evaluate(f"chatApp.rooms.get('{room}').lastChange") == ana.evaluate(
        f"chatApp.rooms.get('{room}').lastChange") == 3
    assert not ana.errors and not bo.errors
