"""Retention: chat_prune deletes messages older than N days; --dry-run only counts."""

from __future__ import annotations

import io
import time
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ignite_store import Message, get_store

DAY_MS = 86_400_000


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("chat_prune", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_prune_older_than_days(live_settings):
    store = get_store()
    room = f"p-{uuid.uuid4().hex[:10]}"
    now = int(time.time() * 1000)
    for seq in (1, 2, 3):  # 40 days old, as an import would bring them
        store.import_message(Message(id=uuid.uuid4().hex, room=room, seq=seq, author="ana", body=f"old {seq}",
                                     client_id=f"old-{seq}", created_at=now - 40 * DAY_MS))
    fresh = store.append(room, "ana", "fresh", "fresh-1").message
    assert fresh.seq == 4

    before = store.prune(now - 30 * DAY_MS, dry_run=True)
    assert before >= 3
    assert f"Would delete {before} messages older than 30 days." in prune("--older-than", "30", "--dry-run")
    assert [m.seq for m in store.iter_messages(room=room)] == [1, 2, 3, 4]

    assert f"Deleted {before} messages" in prune("--older-than", "30")
    assert [m.seq for m in store.iter_messages(room=room)] == [4]
    assert store.last_seq(room) == 4  # sequences are never reused
    assert store.append(room, "ana", "next", "fresh-2").message.seq == 5
    # The pruned messages' idempotency keys went with them: the client id is free again.
    assert store.append(room, "ana", "reuse", "old-1").message.seq == 6


def test_prune_without_retention_or_days_is_an_error(live_settings):
    with pytest.raises(CommandError, match="No retention configured"):
        prune()


@pytest.mark.django_db
def test_prune_deletes_the_search_rows_of_the_runs_it_empties(live_settings):
    from ignite_store.backends.ignite_search_index import DIRTY, RUN_SEQS

    store = get_store()
    room = f"p-{uuid.uuid4().hex[:10]}"
    now = int(time.time() * 1000)
    later = 2 * RUN_SEQS + 1
    for seq, at, body in [(1, now - 40 * DAY_MS, "ancient lore"), (2, now - 40 * DAY_MS, "ancient myth"),
                          (later, now, "recent lore")]:
        store.import_message(Message(id=uuid.uuid4().hex, room=room, seq=seq, author="ana", body=body,
                                     client_id=f"c-{seq}", created_at=at))

    def rows():
        return store._sql(f"SELECT RUN FROM {store.schema.search_runs_table} WHERE ROOM = ? ORDER BY RUN", [room])

    def dirty():
        return store._sql(f"SELECT BLOCK FROM {store.schema.search_dirty_table} WHERE ROOM = ? AND TERM = ? "
                          "ORDER BY BLOCK", [room, DIRTY])

    # imports mark their seqs dirty; the merge indexes the complete runs 0 and 1 (1 is empty: no row) and
    # clears their dirty seqs
    assert rows() == [] and dirty() == [[1], [2], [later]]
    store.reindex_search(room)
    assert rows() == [[0]] and dirty() == [[later]]
    prune("--older-than", "30")
    assert rows() == [] and dirty() == [[later]]  # run 0 is empty now: its row went with it
    assert [h.message.seq for h in store.search([room], "lore").hits] == [later]
