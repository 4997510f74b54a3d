"""chat_export -> ignite_init -> chat_import into an empty cluster gives the identical history."""

from __future__ import annotations

import io
import json
import time
import uuid

import pytest
from django.core.management import call_command

from ignite_store import get_store

from .helpers import store_at


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_export_import_roundtrip_into_an_empty_cluster(live_settings, cluster_factory, tmp_path):
    source = get_store()
    rooms = [f"x-{uuid.uuid4().hex[:10]}", f"y-{uuid.uuid4().hex[:10]}"]
    for room in rooms:
        for i in range(25):
            source.append(room, "ana" if i % 2 else "bob", f"{room} message {i} — ünïcode ✓", f"k{i}")
    source.delete(rooms[0], 3, by="moderator")
    dump = tmp_path / "history.jsonl"
    run("chat_export", str(dump))
    expected = list(source.iter_messages())
    lines = dump.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected) >= 50
    assert json.loads(lines[0]).keys() == expected[0].to_dict().keys()

    target_cluster = cluster_factory(count=1)
    with store_at(target_cluster.client_addresses()) as target:
        dry = run("ignite_init", "--dry-run")
        assert "would fix: missing" in dry
        assert "created" in run("ignite_init")
        assert "nothing created" in run("ignite_init")

        assert f"Imported {len(expected)} messages, skipped 0" in run("chat_import", str(dump))
        assert list(target.iter_messages()) == expected
        assert target.get(rooms[0], 3).deleted
        for room in rooms:
            assert target.last_seq(room) == source.last_seq(room) == 25

        # Idempotent: a second run stores nothing; the room counters continue after imported seqs.
        assert f"Imported 0 messages, skipped {len(expected)}" in run("chat_import", str(dump))
        assert list(target.iter_messages()) == expected
        assert target.append(rooms[1], "ana", "after import", "new-1").message.seq == 26
        # The imported client ids are known: re-sending one does not store it twice.
        again = target.append(rooms[1], "ana", "ignored", "k4")
        assert not again.created and again.message.seq == 5


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
