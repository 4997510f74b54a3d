"""manage.py search_reindex: rebuilds the block index of rooms whose blocks were never merged."""

import io
import uuid

from django.conf import settings
from django.core.management import call_command

from ignite_store import Message, get_store
from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.backends.ignite_search_index import BLOCK_SEQS, DIRTY


def test_reindex_merges_the_blocks_of_messages_stored_without_the_merge(live_settings):
    room = f"t-{uuid.uuid4().hex[:12]}"
    config = settings.IGNITE_STORE["default"]
    unmerged = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    try:
        unmerged.append(room, "ana", "a hidden gem 보석함", "c-1")
        unmerged.append(room, "ana", "gone gem", "c-2")
        unmerged.delete(room, 2, by="staff")
        # the block's last seq, as an import brings it: block 0 is complete
        unmerged.import_message(Message(id=uuid.uuid4().hex, room=room, seq=BLOCK_SEQS - 1, author="ana",
                                        body="closing words", client_id="c-last", created_at=1_700_000_000_000))
    finally:
        unmerged.close()
    store = get_store()
    table = store.schema.search_blocks_table
    assert store._sql(f"SELECT COUNT(*) FROM {table} WHERE ROOM = ? AND TERM = 'gem'", [room]) == [[0]]
    assert [h.message.seq for h in store.search([room], "gem").hits] == [1]  # exact before: scanned
    out = io.StringIO()
    call_command("search_reindex", room=room, stdout=out)
    assert "Indexed 2 messages." in out.getvalue()  # the tombstone is not read
    assert store._sql(f"SELECT TERM FROM {table} WHERE ROOM = ? AND BLOCK = 0 ORDER BY TERM", [room]) == [
        ["closing"], ["gem"], ["hidden"], ["words"], ["보석"], ["석함"]]
    dirty = store.schema.search_dirty_table
    assert store._sql(f"SELECT COUNT(*) FROM {dirty} WHERE ROOM = ? AND TERM = ?", [room, DIRTY]) == [[0]]
    assert store._sql(f"SELECT MARK FROM {table} WHERE ROOM = ? AND TERM = '' AND BLOCK = -1", [room]) == [[1]]
    assert [h.message.seq for h in store.search([room], "gem").hits] == [1]
    assert [h.message.seq for h in store.search([room], "보석").hits] == [1]
