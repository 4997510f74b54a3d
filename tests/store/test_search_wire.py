"""The search index's fast write path (pyignite_seam.key_encoder, aput_all_encoded) against pyignite's own."""

import uuid

import pytest

from ignite_store.backends import pyignite_seam
from ignite_store.backends.ignite_client import Pairs, SearchKey
from ignite_store.backends.ignite_search import put_index_rows

VALUES = [("r-1", "회의", 12345678901), ("x" * 64, "y" * 32, 1), ("a", "b\x00c", -5), ("r" * 200, "t", 2**62),
          ("é", "ǆ", 0)]


@pytest.mark.unit
@pytest.mark.parametrize("values", VALUES)
@pytest.mark.parametrize("compact", [True, False])
def test_key_bytes_are_pyignites_bytes(values, compact):
    room, term, seq = values
    expected = pyignite_seam.binary_object_bytes(SearchKey(ROOM=room, TERM=term, SEQ=seq), compact)[0]
    assert pyignite_seam.key_encoder(SearchKey)(values, compact) == expected


def test_fast_rows_are_the_rows_pyignite_writes(live_settings):
    from ignite_store import get_store

    store = get_store()
    assert store.fast_codec
    room = f"t-{uuid.uuid4().hex[:12]}"
    rows = [(room, "plain", 1, 111), (room, "both", 2, 222)]

    async def write(client):
        cache = await client.get_cache(store.schema.search_cache)
        await cache.put_all(Pairs((SearchKey(ROOM=r, TERM=t, SEQ=s), at) for r, t, s, at in rows))  # pyignite
        await put_index_rows(store._session, client, store.schema.search_cache,
                             [(room, "both", 2, 333), (room, "fast", 3, 444)])  # the fast path
        async with store._session.tx(client) as tx:  # inside a transaction too
            await put_index_rows(store._session, client, store.schema.search_cache, [(room, "tx", 4, 555)])
            await tx.commit()
        async with store._session.tx(client):  # rolled back: the row was written in the transaction
            await put_index_rows(store._session, client, store.schema.search_cache, [(room, "gone", 5, 666)])

    store._sync(store._arun(write, retry=False))
    found = store._sql(f"SELECT TERM, SEQ, CREATED_AT FROM {store.schema.search_table} WHERE ROOM = ? ORDER BY SEQ",
                       [room])
    # the same key from both paths is one row (same bytes, same hash, same partition), overwritten
    assert found == [["plain", 1, 111], ["both", 2, 333], ["fast", 3, 444], ["tx", 4, 555]]
