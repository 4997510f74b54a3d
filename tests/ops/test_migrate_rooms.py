"""chat_migrate_rooms: named rooms from before room records become public rooms with their authors as members.

Each test works in tables of its own (a fresh table prefix on the session's Ignite node), so the
rooms other tests leave without records are not migrated here, and "nothing left" means nothing.
"""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ignite_store import Room, run_sync
from ignite_store.types import Membership

from .helpers import dead_address, store_at


def run(command: str, *args: str, **options) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def own_tables(live_settings, ignite_cluster):
    """The default store on the session node, with tables of its own (created by ignite_init)."""
    prefix = f"MIG_{uuid.uuid4().hex[:8].upper()}"
    with store_at(ignite_cluster.client_addresses(), table_prefix=prefix) as store:
        run("ignite_init")
        yield store


def test_migrates_named_rooms_once(own_tables):
    store = own_tables
    for i in range(5):
        store.append("lobby", ["ana", "bob", "carla"][i % 3], f"hello {i}", f"l{i}")
    store.append("quiet", "dan", "alone", "q1")
    # A room that already has a record is left alone.
    run_sync(store.acreate_room(Room("modern", "Modern", "private", "", "eve", 1), {"eve": "owner"}))
    store.append("modern", "eve", "new style", "m1")
    first_at = store.get("lobby", 1).created_at

    assert "2 room(s) have messages but no room record" in run("ignite_init")

    dry = run("chat_migrate_rooms", "--dry-run")
    assert "would create public room lobby with 3 member(s)" in dry
    assert "would create public room quiet with 1 member(s)" in dry
    assert "modern" not in dry
    assert run_sync(store.aget_room("lobby")) is None  # the dry run changed nothing

    done = run("chat_migrate_rooms", verbosity=2)
    assert "created public room lobby with 3 member(s)" in done and "members: ana, bob, carla" in done
    assert "Migrated 2 room(s)." in done

    lobby = run_sync(store.aget_room("lobby"))
    assert lobby == Room("lobby", "lobby", "public", "", "system", first_at, False)
    members = run_sync(store.amembers("lobby"))
    assert [(m.user, m.role) for m in members] == [("ana", "member"), ("bob", "member"), ("carla", "member")]
    # Read markers start at the last message: migrated history is not news.
    assert run_sync(store.amembership("lobby", "bob")).last_read_seq == 5
    assert [r.room.id for r in run_sync(store.auser_rooms("dan"))] == ["quiet"]
    assert run_sync(store.amembers("modern")) == [Membership("modern", "eve", "owner", 1)]
    assert run_sync(store.aget_room("modern")).kind == "private"

    # Idempotent: nothing left, and the live chat continues in the migrated room.
    again = run("chat_migrate_rooms")
    assert "nothing to migrate" in again
    assert "no room record" not in run("ignite_init")
    assert store.append("lobby", "ana", "after", "l-after").message.seq == 6
    assert run("chat_migrate_rooms", verbosity=0) == ""


def test_unreachable_store_is_a_command_error(live_settings):
    with store_at([dead_address()], timeout=2.0), pytest.raises(CommandError, match="room migration stopped"):
        run("chat_migrate_rooms")
