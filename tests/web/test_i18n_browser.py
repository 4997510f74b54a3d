"""The whole flow in a Korean browser and in an English one: sign up as 김민지, chat in Hangul, relative times,
translated errors, the language switcher kept per user. Screenshots under test-artifacts/screenshots/."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.fixtures.rooms import ensure_public_rooms

from .conftest import DESKTOP, PASSWORD, screenshot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"

# What each language shows for the same things (the ko column is the committed catalog's).
TEXT = {
    "ko": {"signup_title": "계정 만들기", "connected": "연결됨", "just_now": "방금", "minutes_ago": "3분 전",
           "typing": " 님이 입력 중…", "no_user": "사용자 이름: 그런 사용자가 없어요.", "hint": "줄 바꿈",
           "online": "명 접속 중", "invisible": "보이지 않는 문자"},
    "en": {"signup_title": "Create your account", "connected": "Connected", "just_now": "just now",
           "minutes_ago": "3 minutes ago", "typing": " is typing…", "no_user": "Username: no such user.",
           "hint": "for a new line", "online": "online", "invisible": "invisible character"},
}


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogs():
    """The browser sees the compiled .mo files: `make setup` (or `make messages`) builds them from the .po."""
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        fresh = mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime
        assert fresh, f"{mo} is missing or older than its .po: run `make messages`"


def create_room(room: str, name: str, topic: str) -> None:
    """A public room whose name and topic are Hangul (the directory and the header show them)."""
    from ignite_store import Room, get_store, run_sync

    run_sync(get_store().acreate_room(Room(id=room, name=name, kind="public", topic=topic, creator="system",
                                           created_at=int(time.time() * 1000)), {}))


def sign_up(browser, base_url: str, locale: str, username: str, contexts: list):
    """A new browser context in `locale` (Accept-Language and navigator.language) that signs up `username`."""
    context = browser.new_context(viewport=DESKTOP, locale=locale)
    contexts.append(context)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    return page


def open_room(page, base_url: str, room: str) -> None:
    page.goto(f"{base_url}/room/{room}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "connected", timeout=TIMEOUT_MS)
    expect(page.locator(f'[role="log"][data-room="{room}"] .log-top')).to_have_attribute("data-state", "start",
                                                                                       timeout=TIMEOUT_MS)


@pytest.fixture
def contexts():
    made: list = []
    yield made
    for context in made:
        context.close()


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_korean_name_chats_in_hangul_in_the_browsers_language(live_settings, web, browser, contexts, language):
    text = TEXT[language]
    locale = {"ko": "ko-KR", "en": "en-US"}[language]
    digits = "".join(random.choices("0123456789", k=4))
    minji, seojun = ("김민지", "이서준") if language == "ko" else (f"김민지{digits}", f"이서준{digits}")
    room = f"i18n-{language}-{digits}"
    create_room(room, "개발팀", "주간 회의 · weekly sync")

    # The sign-up page in the browser's language; a Korean name is refused with an invisible character in it.
    context = browser.new_context(viewport=DESKTOP, locale=locale)
    contexts.append(context)
    probe = context.new_page()
    probe.goto(f"{web.url}/accounts/signup/")
    expect(probe.locator("html")).to_have_attribute("lang", language)
    expect(probe.locator("h1")).to_have_text(text["signup_title"])
    probe.fill("#id_username", "민\u200b지")
    probe.fill("#id_password1", PASSWORD)
    probe.fill("#id_password2", PASSWORD)
    probe.click("button[type=submit]")
    expect(probe.locator(".field-errors")).to_contain_text(text["invisible"])
    screenshot(probe, f"i18n-{language}-signup")

    ana = sign_up(browser, web.url, locale, minji, contexts)
    bo = sign_up(browser, web.url, locale, seojun, contexts)
    expect(ana.locator("html")).to_have_attribute("lang", language)
    expect(ana.locator("#conn-state .conn-text")).to_have_text(text["connected"])
    expect(ana.locator("#me-name")).to_have_text(minji)
    expect(ana.locator("#composer-hint")).to_contain_text(text["hint"])
    for page in (ana, bo):
        open_room(page, web.url, room)
    expect(ana.locator(".presence-label")).to_contain_text(text["online"])
    expect(ana.locator("#room-name")).to_have_text("개발팀")

    # Hangul both ways; typing shown with the Korean name.
    bo.locator("#message-input").press_sequentially("안녕")
    expect(ana.locator("#typing")).to_contain_text(f"{seojun}{text['typing']}", timeout=TIMEOUT_MS)
    bo.fill("#message-input", "안녕하세요, 민지 님! 오늘 회의는 세 시예요.")
    bo.press("#message-input", "Enter")
    ana.fill("#message-input", "네, 알겠어요. 자료는 제가 준비할게요 🙂")
    ana.press("#message-input", "Enter")
    long_word = "가나다라마바사아자차카타파하" * 12  # one word longer than the line: it wraps, not overflows
    ana.fill("#message-input", long_word)
    ana.press("#message-input", "Enter")
    for page in (ana, bo):
        rows = page.locator(f'[role="log"][data-room="{room}"] .msg[data-status="confirmed"] .msg-body')
        expect(rows).to_have_count(3, timeout=TIMEOUT_MS)
        expect(rows.nth(0)).to_have_text("안녕하세요, 민지 님! 오늘 회의는 세 시예요.")
        expect(rows.nth(1)).to_have_text("네, 알겠어요. 자료는 제가 준비할게요 🙂")
    first = ana.locator(f'[role="log"][data-room="{room}"] .msg').first
    expect(first.locator(".msg-author")).to_have_text(seojun)
    expect(first.locator(".msg-time")).to_have_text(text["just_now"])
    body = ana.locator(f'[role="log"][data-room="{room}"] .msg-body').nth(2)
    assert body.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "a long Hangul word overflows its row"

    # Three minutes later (Date only; the page's timers keep running) the times say so, through Intl.
    ana.clock.set_fixed_time(time.time() + 180)
    ana.evaluate("async () => (await import('/static/chat/render.js')).refreshTimes(document.querySelector("
                 f"'[role=log][data-room=\"{room}\"] .msg-list'))")
    expect(first.locator(".msg-time")).to_have_text(text["minutes_ago"])

    # An error from the server, in the page's language (the code stays `invalid`).
    ana.click("#new-dm-btn")
    ana.fill("#dm-user", "없는사용자")
    ana.press("#dm-user", "Enter")
    expect(ana.locator("#dm-error")).to_have_text(text["no_user"], timeout=TIMEOUT_MS)
    ana.keyboard.press("Escape")

    path = screenshot(ana, f"i18n-{language}")
    assert path.stat().st_size > 10_000
    assert ana.errors == [] and bo.errors == []


def test_enter_while_composing_hangul_does_not_send(live_settings, web, browser, contexts):
    room = f"i18n-ime-{random.randrange(10**6)}"
    ensure_public_rooms(room)
    page = sign_up(browser, web.url, "ko-KR", f"조합{random.randrange(10**6)}", contexts)
    open_room(page, web.url, room)
    page.fill("#message-input", "한")
    # What Chromium sends for the Enter that ends an IME composition: keydown with isComposing (keyCode 229).
    for init in ("{key: 'Enter', isComposing: true, bubbles: true, cancelable: true}",
                 "{key: 'Enter', keyCode: 229, bubbles: true, cancelable: true}"):
        page.evaluate(f"document.getElementById('message-input').dispatchEvent(new KeyboardEvent('keydown', {init}))")
    page.wait_for_timeout(500)
    expect(page.locator("#message-input")).to_have_value("한")
    expect(page.locator(f'[role="log"][data-room="{room}"] .msg')).to_have_count(0)
    page.press("#message-input", "Enter")  # composition over: Enter sends
    expect(page.locator(f'[role="log"][data-room="{room}"] .msg[data-status="confirmed"]')).to_have_count(
        1, timeout=TIMEOUT_MS)


def test_the_language_switcher_is_kept_for_the_user(live_settings, web, browser, contexts):
    name = f"스위치{random.randrange(10**6)}"
    page = sign_up(browser, web.url, "en-US", name, contexts)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click('.sidebar-foot .lang-btn[value="ko"]')
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#conn-state .conn-text")).to_have_text("연결됨", timeout=TIMEOUT_MS)
    expect(page.locator('.lang-btn[value="ko"]')).to_have_attribute("aria-current", "true")

    # Another device, an English browser: after logging in, the user's choice wins over Accept-Language.
    other = browser.new_context(viewport=DESKTOP, locale="en-US")
    contexts.append(other)
    second = other.new_page()
    second.goto(f"{web.url}/accounts/login/")
    expect(second.locator("html")).to_have_attribute("lang", "en")
    second.fill("#id_username", name)
    second.fill("#id_password", PASSWORD)
    second.click("button[type=submit]")
    second.wait_for_url(f"{web.url}/")
    expect(second.locator("html")).to_have_attribute("lang", "ko")
    expect(second.locator("#logout")).to_have_text("로그아웃")
