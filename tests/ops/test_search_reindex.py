"""manage.py search_reindex: messages stored without index rows become searchable."""

import io
import uuid

from django.conf import settings
from django.core.management import call_command

from ignite_store import get_store
from ignite_store.backends.ignite import IgniteMessageStore


def test_reindex_makes_unindexed_messages_searchable(live_settings):
    room = f"t-{uuid.uuid4().hex[:12]}"
    config = settings.IGNITE_STORE["default"]
    unindexed = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    try:
        unindexed.append(room, "ana", "a hidden gem 보석함", "c-1")
        unindexed.append(room, "ana", "gone gem", "c-2")
        unindexed.delete(room, 2, by="staff")
    finally:
        unindexed.close()
    store = get_store()
    assert store.search([room], "gem").hits == []
    out = io.StringIO()
    call_command("search_reindex", room=room, stdout=out)
    assert "Indexed 1 messages." in out.getvalue()
    assert [h.message.seq for h in store.search([room], "gem").hits] == [1]
    assert [h.message.seq for h in store.search([room], "보석").hits] == [1]
