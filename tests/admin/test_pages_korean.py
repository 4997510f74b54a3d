"""The project's admin pages in Korean (Accept-Language: ko), with a Korean author, against the real Ignite node."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ignite_store import get_store
from tests.fixtures.rooms import ensure_public_rooms

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}


@pytest.mark.django_db
def test_messages_rooms_and_members_pages_speak_korean(staff_client, live_settings, room):
    ensure_public_rooms(room, members={"김민지": "owner"})
    get_store().append(room, "김민지", "회의록 올렸어요", "k-ko-1")

    html = staff_client.get(reverse("admin:ignite_store_messages"), {"author": "김민지"}, **KOREAN).content.decode()
    assert '<html lang="ko"' in html and "최근 메시지" in html and "선택한 메시지 삭제" in html
    assert "회의록 올렸어요" in html and "작성자" in html

    html = staff_client.get(reverse("admin:ignite_store_rooms"), {"q": room}, **KOREAN).content.decode()
    assert "저장된 메시지" in html and "공개" in html and "사용 중" in html

    html = staff_client.get(reverse("admin:ignite_store_rooms"), {"room": room}, **KOREAN).content.decode()
    assert f"{room} 멤버" in html and "김민지" in html and "방장" in html and "내보내기" in html

    done = staff_client.post(reverse("admin:ignite_store_rooms"), {"action": "archive", "room": room}, follow=True,
                             **KOREAN).content.decode()
    assert f"{room[1:]} 대화방을 보관했어요." in done  # the admin capitalises the message's first letter
