"""The admin's Rooms page: every kind of room, members, archive/unarchive and member removal."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from ignite_store import Room, get_store, run_sync
from tests.ops.helpers import dead_address, store_at

URL = "admin:ignite_store_rooms"


def make_room(room_id: str, kind: str, members: dict[str, str], *, name: str | None = None) -> Room:
    room = Room(room_id, name or room_id.upper(), kind, "", next(iter(members)), 1_700_000_000_000)
    run_sync(get_store().acreate_room(room, members))
    return room


def row_of(response, room_id: str) -> dict:
    return next(row for row in response.context["rows"] if row["room"].id == room_id)


@pytest.mark.django_db
def test_staff_see_every_kind_with_members_activity_and_state(staff_client, live_settings, room):
    private, dm = f"{room}-p", f"{room}-d"
    make_room(room, "public", {"ana": "owner", "bob": "member", "cy": "member"}, name=f"Salon {room} ☕")
    make_room(private, "private", {"ana": "owner"})
    make_room(dm, "direct", {"ana": "member", "bob": "member"})
    get_store().append(room, "ana", "hello", "k1")
    run_sync(get_store().aupdate_room(private, archived=True))

    response = staff_client.get(reverse(URL), {"q": room})
    html = response.content.decode()
    public_row = row_of(response, room)
    assert (public_row["room"].kind, public_row["members"], public_row["last_seq"]) == ("public", 3, 1)
    assert public_row["last_activity"] is not None and f"Salon {room} ☕" in html
    assert row_of(response, private)["room"].archived and "Unarchive" in html
    dm_row = row_of(response, dm)
    assert dm_row["room"].kind == "direct" and dm_row["members"] == 2 and dm_row["last_activity"] is None

    only_dms = staff_client.get(reverse(URL), {"q": room, "kind": "direct"}).context["rows"]
    assert [row["room"].id for row in only_dms] == [dm]
    assert "Invalid filter" in staff_client.get(reverse(URL), {"kind": "club"}).content.decode()


@pytest.mark.django_db
def test_archive_and_unarchive(staff_client, live_settings, room):
    make_room(room, "public", {"ana": "owner"})
    back = reverse(URL) + f"?q={room}"
    done = staff_client.post(reverse(URL), {"action": "archive", "room": room, "back": back})
    assert done.status_code == 302 and done["Location"] == back
    assert run_sync(get_store().aget_room(room)).archived
    page = staff_client.get(back)
    assert row_of(page, room)["room"].archived and f"Archived {room.upper()}." in page.content.decode()

    staff_client.post(reverse(URL), {"action": "unarchive", "room": room})
    assert not run_sync(get_store().aget_room(room)).archived

    missing = staff_client.post(reverse(URL), {"action": "archive", "room": f"{room}-none"}, follow=True)
    assert "No room" in missing.content.decode()
    offsite = staff_client.post(reverse(URL), {"action": "unarchive", "room": room, "back": "//evil.example/"})
    assert offsite["Location"] == reverse(URL)


@pytest.mark.django_db
def test_room_actions_need_csrf_and_staff(django_user_model, plain_client, live_settings, room):
    make_room(room, "public", {"ana": "owner"})
    staff = django_user_model.objects.create_user("op", password="x", is_staff=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(reverse(URL), {"action": "archive", "room": room}).status_code == 403
    refused = plain_client.post(reverse(URL), {"action": "archive", "room": room})
    assert refused.status_code == 302 and reverse("admin:login") in refused["Location"]
    assert not run_sync(get_store().aget_room(room)).archived


@pytest.mark.django_db
def test_members_page_lists_roles_and_removes(staff_client, live_settings, room):
    make_room(room, "private", {"ana": "owner", "bob": "admin", "cy": "member"})
    members_url = reverse(URL) + f"?room={room}"
    response = staff_client.get(members_url)
    assert [(r["membership"].user, r["membership"].role) for r in response.context["rows"]] == [
        ("ana", "owner"), ("bob", "admin"), ("cy", "member")]
    assert "Remove" in response.content.decode() and "private" in response.content.decode()

    done = staff_client.post(reverse(URL), {"action": "remove", "room": room, "user": "cy", "back": members_url})
    assert done["Location"] == members_url
    assert run_sync(get_store().amembership(room, "cy")) is None
    after = staff_client.get(members_url)
    assert [r["membership"].user for r in after.context["rows"]] == ["ana", "bob"]
    assert "Removed cy from" in after.content.decode()
    again = staff_client.post(reverse(URL), {"action": "remove", "room": room, "user": "cy"}, follow=True)
    assert "cy was not a member" in again.content.decode().lower()  # the admin capitalises messages

    assert staff_client.get(reverse(URL), {"room": f"{room}-none"}).status_code == 404
    assert staff_client.get(reverse(URL), {"room": "Not A Room!"}).status_code == 404


@pytest.mark.django_db
def test_members_page_and_actions_when_ignite_is_unreachable(staff_client, live_settings):
    room = f"adm-{uuid.uuid4().hex[:8]}"
    with store_at([dead_address()], timeout=2.0):
        page = staff_client.get(reverse(URL), {"room": room})
        done = staff_client.post(reverse(URL), {"action": "archive", "room": room}, follow=True)
    assert page.status_code == 200 and "The Ignite cluster is unavailable" in page.content.decode()
    assert "The Ignite cluster is unavailable" in done.content.decode()
