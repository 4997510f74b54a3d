"""manage.py search_reindex: rebuilds the run index of rooms whose runs were never merged."""

import io
import uuid

from django.conf import settings
from django.core.management import call_command

from ignite_store import Message, get_store
from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.backends.ignite_search_index import DIRTY, FILTER_WORDS, RUN_SEQS, term_filter


def test_reindex_merges_the_runs_of_messages_stored_without_the_merge(live_settings):
    room = f"t-{uuid.uuid4().hex[:12]}"
    config = settings.IGNITE_STORE["default"]
    unmerged = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    try:
        unmerged.append(room, "ana", "a hidden gem 보석함", "c-1")
        unmerged.append(room, "ana", "gone gem", "c-2")
        unmerged.delete(room, 2, by="staff")
        # the run's last seq, as an import brings it: run 0 is complete
        unmerged.import_message(Message(id=uuid.uuid4().hex, room=room, seq=RUN_SEQS - 1, author="ana",
                                        body="closing words", client_id="c-last", created_at=1_700_000_000_000))
    finally:
        unmerged.close()
    store = get_store()
    runs, dirty = store.schema.search_runs_table, store.schema.search_dirty_table
    columns = ", ".join(f"W{i}" for i in range(FILTER_WORDS))

    def run_zero() -> list[int] | None:
        rows = store._sql(f"SELECT {columns} FROM {runs} WHERE ROOM = ? AND RUN = 0", [room])
        return [w % 2**64 for w in rows[0]] if rows else None

    def holds(words: list[int], term: str) -> bool:
        word, mask = term_filter(term)
        return words[word] & mask == mask

    assert run_zero() is None
    assert [h.message.seq for h in store.search([room], "gem").hits] == [1]  # exact before: scanned
    out = io.StringIO()
    call_command("search_reindex", room=room, stdout=out)
    assert "Indexed 2 messages." in out.getvalue()  # the tombstone is not read
    words = run_zero()
    assert all(holds(words, term) for term in ["closing", "gem", "hidden", "words", "보석", "석함"])
    assert not holds(words, "gone")
    assert store._sql(f"SELECT COUNT(*) FROM {dirty} WHERE ROOM = ? AND TERM = ?", [room, DIRTY]) == [[0]]
    assert store._sql(f"SELECT MARK FROM {dirty} WHERE ROOM = ? AND TERM = '' AND BLOCK = -1", [room]) == [[1]]
    assert [h.message.seq for h in store.search([room], "gem").hits] == [1]
    assert [h.message.seq for h in store.search([room], "보석").hits] == [1]
