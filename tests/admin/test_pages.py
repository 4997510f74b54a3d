"""The chat-store admin pages through Django's test client, against the real session Ignite node."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ignite_store import get_store
from tests.ops.helpers import dead_address, store_at

PAGES = ["admin:ignite_store_index", "admin:ignite_store_messages", "admin:ignite_store_rooms",
         "admin:ignite_store_cluster"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_non_staff_and_anonymous_are_sent_to_the_admin_login(client, plain_client, name, live_settings):
    response = plain_client.get(reverse(name))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    plain_client.logout()
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_non_staff_cannot_delete(plain_client, live_settings, room):
    message = get_store().append(room, "ana", "keep me", "k1").message
    response = plain_client.post(reverse("admin:ignite_store_messages"),
                                 {"selected": [f"1:{room}"], "confirm": "yes"})
    assert response.status_code == 302
    assert get_store().get(room, 1) == message


@pytest.mark.django_db
def test_admin_index_links_the_pages(staff_client, live_settings):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "Chat store (Apache Ignite)" in html
    for name in PAGES[1:]:
        assert reverse(name) in html


@pytest.mark.django_db
def test_recent_messages_filter_search_and_cursor_pages(staff_client, live_settings, room):
    store = get_store()
    for i in range(55):
        store.append(room, "ana" if i % 5 else "bob", f"note number {i:02d}", f"k{i}")
    url = reverse("admin:ignite_store_messages")

    html = staff_client.get(url, {"room": room}).content.decode()
    assert "note number 54" in html and "note number 05" in html and "note number 04" not in html
    assert 'class="breadcrumbs"' in html
    assert "Older" in html

    response = staff_client.get(url, {"room": room})
    older = staff_client.get(url + response.context["next_url"]).content.decode()
    assert "note number 04" in older and "note number 00" in older and "note number 05" not in older

    by_bob = staff_client.get(url, {"room": room, "author": "bob"}).context["rows"]
    assert [row["message"].seq for row in by_bob] == [51, 46, 41, 36, 31, 26, 21, 16, 11, 6, 1]
    # Text goes through the users' search: whole words, case-insensitive, newest first.
    found = staff_client.get(url, {"room": room, "q": "NUMBER 12"}).context["rows"]
    assert [row["message"].seq for row in found] == [13]
    everywhere = staff_client.get(url, {"q": "Note", "author": "bob"}).context["rows"]
    assert [row["message"].seq for row in everywhere if row["message"].room == room][:3] == [51, 46, 41]
    short = staff_client.get(url, {"room": room, "q": "%"})
    assert "Invalid filter" in short.context["store_error"] and not short.context["rows"]


@pytest.mark.django_db
def test_delete_selected_asks_then_tombstones(staff_client, live_settings, room):
    store = get_store()
    for i in range(3):
        store.append(room, "ana", f"spam {i}", f"k{i}")
    url = reverse("admin:ignite_store_messages")
    confirm = staff_client.post(url, {"selected": [f"1:{room}", f"3:{room}"], "back": f"{url}?room={room}"})
    assert confirm.status_code == 200 and "Yes, delete" in confirm.content.decode()
    assert not store.get(room, 1).deleted

    done = staff_client.post(url, {"selected": [f"1:{room}", f"3:{room}"], "confirm": "yes",
                                   "back": f"{url}?room={room}"})
    assert done.status_code == 302 and done["Location"] == f"{url}?room={room}"
    assert store.get(room, 1).deleted and store.get(room, 1).body == ""
    assert not store.get(room, 2).deleted
    assert store.get(room, 3).deleted
    page = staff_client.get(done["Location"]).content.decode()
    assert "Deleted 2 messages." in page and "spam 1" in page and "spam 0" not in page


@pytest.mark.django_db
def test_staff_see_the_versions_of_an_edited_message(staff_client, live_settings, room):
    store = get_store()
    store.append(room, "ana", "first draft", "k1")
    store.edit(room, 1, "second draft", "e1", author="ana")
    store.edit(room, 1, "final text", "e2", author="ana")
    url = reverse("admin:ignite_store_messages")
    listing = staff_client.get(url, {"room": room})
    assert "(edited: versions)" in listing.content.decode()
    page = staff_client.get(url, {"room": room, "versions": f"1:{room}"})
    assert [v["body"] for v in page.context["history"]["versions"]] == ["first draft", "second draft"]
    html = page.content.decode()
    assert "first draft" in html and "second draft" in html and "final text" in html


@pytest.mark.django_db
def test_rooms_page_lists_rooms_without_a_record_apart(staff_client, live_settings, room):
    for i in range(4):
        get_store().append(room, "ana", f"m{i}", f"k{i}")
    response = staff_client.get(reverse("admin:ignite_store_rooms"))
    assert not any(row["room"].id == room for row in response.context["rows"])
    row = next(row for row in response.context["legacy"] if row["info"].room == room)
    assert row["info"].message_count == 4 and row["info"].last_seq == 4
    assert row["present"] == 0  # presence from the session's redis: nobody connected
    html = response.content.decode()
    assert room in html and "chat_migrate_rooms" in html


@pytest.mark.django_db
def test_cluster_page_draws_the_partitions(staff_client, live_settings):
    response = staff_client.get(reverse("admin:ignite_store_cluster"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "Partitions of chat_messages" in html
    report = response.context["report"]
    assert report["state"] == "ACTIVE"
    assert report["nodes"][0]["consistent_id"] in html
    assert {"chat_messages", "chat_rooms", "chat_idempotency"} <= {c["name"] for c in report["caches"]}


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES[1:])
def test_pages_show_a_banner_when_ignite_is_unreachable(staff_client, live_settings, name):
    with store_at([dead_address()], timeout=2.0):
        response = staff_client.get(reverse(name))
    assert response.status_code == 200
    assert "The Ignite cluster is unavailable" in response.content.decode()


@pytest.mark.django_db
def test_delete_when_ignite_is_unreachable_shows_an_error(staff_client, live_settings):
    url = reverse("admin:ignite_store_messages")
    with store_at([dead_address()], timeout=2.0):
        response = staff_client.post(url, {"selected": ["1:nowhere"], "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    assert "The Ignite cluster is unavailable" in response.content.decode()
