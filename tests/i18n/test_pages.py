"""The pages follow Accept-Language, the switcher's choice is kept (session, cookie, the user's Preference)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from chat.models import Preference

pytestmark = [pytest.mark.django_db, pytest.mark.unit]
PASSWORD = "correct-horse-battery-9"


def test_pages_follow_accept_language_and_load_the_catalog_first(client):
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9").content.decode()
    assert '<html lang="ko"' in page and "계정 만들기" in page and 'name="language" value="en"' in page
    assert page.index(reverse("javascript-catalog")) < page.index("</head>")
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en"' in page and "Welcome back" in page
    catalog = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '"just now": "\\ubc29\\uae08"' in catalog and "django.ngettext" in catalog  # 방금, JSON-escaped


def test_the_switcher_keeps_the_choice_and_login_restores_it():
    user = User.objects.create_user("김민지", password=PASSWORD)
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.login(username="김민지", password=PASSWORD)
    response = browser.post(reverse("set_language"), {"language": "ko", "next": "/room/dev/"})
    assert response.status_code == 302 and response["Location"] == "/room/dev/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    assert Preference.objects.get(user=user).language == "ko"
    assert '<html lang="ko"' in browser.get(reverse("chat:index")).content.decode()

    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="en")  # another device, no cookie: the login brings the choice back
    assert '<html lang="en"' in elsewhere.get(reverse("login")).content.decode()
    elsewhere.post(reverse("login"), {"username": "김민지", "password": PASSWORD})
    assert '<html lang="ko"' in elsewhere.get(reverse("chat:index")).content.decode()


def test_the_switcher_refuses_unknown_languages_and_foreign_next(client):
    response = client.post(reverse("set_language"), {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/" and settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert client.get(reverse("set_language")).status_code == 405


def test_the_admin_index_is_korean_with_the_switcher(admin_client):
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="ko"' in page and "채팅 저장소(Apache Ignite)" in page and "최근 메시지" in page
    assert 'class="lang-switch"' in page


@pytest.mark.parametrize(("language", "text"), [("ko", "여기엔 아무것도 없어요"), ("en", "Nothing here")])
def test_not_found_is_a_page_in_the_users_language(client, settings, language, text):
    settings.DEBUG = False
    response = client.get("/room/NOT A ROOM/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code in (302, 404)
    user = User.objects.create_user(f"u-{language}", password=PASSWORD)
    client.force_login(user)
    response = client.get("/room/NOT A ROOM/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404 and text in response.content.decode()
