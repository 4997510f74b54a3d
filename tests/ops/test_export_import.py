"""chat_export -> ignite_init -> chat_import into an empty cluster gives the identical history, rooms and members."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import uuid

import pytest
from django.core.management import call_command

from ignite_store import Room, get_store, run_sync
from ignite_store.management.commands._rooms import iter_memberships

from .helpers import store_at


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_export_import_roundtrip_into_an_empty_cluster(live_settings, cluster_factory, tmp_path):
    source = get_store()
    rooms = [f"x-{uuid.uuid4().hex[:10]}", f"y-{uuid.uuid4().hex[:10]}"]
    # rooms[0] has a record (private, archived, members with read markers); rooms[1] is a named room of old.
    team = Room(rooms[0], "Équipe ✓", "private", "plans", "ana", 1_700_000_000_000, False)
    run_sync(source.acreate_room(team, {"ana": "owner", "bob": "member"}))
    for room in rooms:
        for i in range(25):
            source.append(room, "ana" if i % 2 else "bob", f"{room} message {i} — ünïcode ✓", f"k{i}")
    source.delete(rooms[0], 3, by="moderator")
    # An edited message keeps its edited_at through export and import (the validated copy once lost it).
    assert run_sync(source.aedit(rooms[1], 2, "edited once", "e-1", author="ana")).changed
    run_sync(source.amark_read({(rooms[0], "bob"): 10}))
    run_sync(source.aupdate_room(rooms[0], archived=True))
    dump = tmp_path / "history.jsonl"
    run("chat_export", str(dump))
    expected = list(source.iter_messages())
    expected_members = list(iter_memberships(source))
    records = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    kinds = [record.get("record", "message") for record in records]
    # Rooms, then memberships, then messages (import creates them in file order).
    assert kinds == sorted(kinds, key=["room", "membership", "message"].index)
    assert kinds.count("message") == len(expected) >= 50
    assert kinds.count("membership") == len(expected_members) >= 2
    message_line = next(record for record in records if "record" not in record)
    # Message lines keep the old shape, plus edited_at and reply_to when set (other tests' rooms may be in
    # the dump, with changes of their own).
    base = {"id", "room", "seq", "author", "body", "client_id", "created_at", "deleted"}
    assert base <= message_line.keys() <= base | {"edited_at", "reply_to"}
    assert {"record": "room", **run_sync(source.aget_room(rooms[0])).to_dict()} in records

    target_cluster = cluster_factory(count=1)
    with store_at(target_cluster.client_addresses()) as target:
        dry = run("ignite_init", "--dry-run")
        assert "would fix: missing" in dry
        assert "created" in run("ignite_init")
        assert "nothing created" in run("ignite_init")

        output = run("chat_import", str(dump))
        assert f"Imported {len(expected)} messages, skipped 0" in output
        assert f"imported {len(expected_members)} memberships, skipped 0" in output
        # Change sequences are not exported: the imported rooms start their change logs afresh.
        assert list(target.iter_messages()) == [dataclasses.replace(m, change_seq=0) for m in expected]
        assert list(iter_memberships(target)) == expected_members
        assert run_sync(target.aget_room(rooms[0])) == Room(rooms[0], "Équipe ✓", "private", "plans", "ana",
                                                           1_700_000_000_000, True)
        assert run_sync(target.amembership(rooms[0], "bob")).last_read_seq == 10
        assert run_sync(target.amembership(rooms[0], "ana")).role == "owner"
        assert run_sync(target.aget_room(rooms[1])) is None  # still a named room: chat_migrate_rooms' job
        assert target.get(rooms[0], 3).deleted
        for room in rooms:
            assert target.last_seq(room) == source.last_seq(room) == 25

        # Idempotent: a second run stores nothing, and a read marker that moved on is not moved back.
        run_sync(target.amark_read({(rooms[0], "bob"): 20}))
        again = run("chat_import", str(dump))
        assert f"Imported 0 messages, skipped {len(expected)}" in again
        assert f"imported 0 memberships, skipped {len(expected_members)}" in again
        # Change sequences are not exported: the imported rooms start their change logs afresh.
        assert list(target.iter_messages()) == [dataclasses.replace(m, change_seq=0) for m in expected]
        assert run_sync(target.amembership(rooms[0], "bob")).last_read_seq == 20
        assert target.append(rooms[1], "ana", "after import", "new-1").message.seq == 26
        # The imported client ids are known: re-sending one does not store it twice.
        again = target.append(rooms[1], "ana", "ignored", "k4")
        assert not again.created and again.message.seq == 5


@pytest.mark.django_db
def test_export_of_one_room_carries_its_record_and_members(live_settings, tmp_path):
    store = get_store()
    room, other = f"r-{uuid.uuid4().hex[:10]}", f"s-{uuid.uuid4().hex[:10]}"
    for name in (room, other):
        members = {"ana": "owner", "zoe": "member"}
        run_sync(store.acreate_room(Room(name, name.upper(), "public", "", "ana", 1), members))
        store.append(name, "ana", "hi", "k1")
    dump = tmp_path / "room.jsonl"
    run("chat_export", str(dump), "--room", room)
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert [(r.get("record", "message"), r.get("room", r.get("id"))) for r in records] == [
        ("room", room), ("membership", room), ("membership", room), ("message", room)]


@pytest.mark.django_db
def test_old_files_import_and_bad_records_name_their_line(live_settings, tmp_path):
    store = get_store()
    room = f"o-{uuid.uuid4().hex[:10]}"
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps({"id": uuid.uuid4().hex, "room": room, "seq": 1, "author": "ana", "body": "from 2024",
                               "client_id": "c1", "created_at": 1_700_000_000_000, "deleted": False}) + "\n")
    assert "Imported 1 messages, skipped 0" in run("chat_import", str(old))
    assert store.get(room, 1).body == "from 2024"

    orphan = tmp_path / "orphan.jsonl"
    orphan.write_text("\n" + json.dumps({"record": "membership", "room": f"n-{uuid.uuid4().hex[:10]}", "user": "ana",
                                         "role": "member"}) + "\n")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="line 2: .*import the room before its memberships"):
        run("chat_import", str(orphan))
    orphan.write_text(json.dumps({"record": "guest", "room": room}) + "\n")
    with pytest.raises(CommandError, match="line 1: unknown record 'guest'"):
        run("chat_import", str(orphan))


@pytest.mark.django_db
def test_export_filters_by_room_and_time(live_settings, tmp_path):
    store = get_store()
    room = f"f-{uuid.uuid4().hex[:10]}"
    for i in range(3):
        store.append(room, "ana", f"m{i}", f"k{i}")
    dump = tmp_path / "room.jsonl"
    run("chat_export", str(dump), "--room", room, "--since", "2000-01-01")
    assert [json.loads(line)["seq"] for line in dump.read_text().splitlines()] == [1, 2, 3]
    run("chat_export", str(dump), "--room", room, "--until", "2000-01-01T00:00:00Z")
    assert dump.read_text() == ""
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    run("chat_export", str(dump), "--room", room, "--until", tomorrow)
    assert len(dump.read_text().splitlines()) == 3


def test_export_rejects_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("chat_export", "--since", "yesterday", stdout=io.StringIO())
