"""The search index's fast write path (pyignite_seam.key_encoder, aput_all_encoded) against pyignite's own."""

import uuid

import pytest

from ignite_store.backends import pyignite_seam
from ignite_store.backends.ignite_client import Pairs, SearchBlockKey
from ignite_store.backends.ignite_search_index import BLOCK_SEQS, SUB_SEQS, block_rows, put_rows, runs

VALUES = [("r-1", "회의", 12345678901), ("x" * 64, "y" * 32, 1), ("a", "b\x00c", -5), ("r" * 200, "t", 2**62),
          ("é", "ǆ", 0), ("r", "", -1)]


@pytest.mark.unit
@pytest.mark.parametrize("values", VALUES)
@pytest.mark.parametrize("compact", [True, False])
def test_key_bytes_are_pyignites_bytes(values, compact):
    room, term, block = values
    expected = pyignite_seam.binary_object_bytes(SearchBlockKey(ROOM=room, TERM=term, BLOCK=block), compact)[0]
    assert pyignite_seam.key_encoder(SearchBlockKey)(values, compact) == expected


def test_fast_rows_are_the_rows_pyignite_writes(live_settings):
    from ignite_store import get_store

    store = get_store()
    assert store.fast_codec
    room = f"t-{uuid.uuid4().hex[:12]}"

    dirty = store.schema.search_dirty_cache  # transactional: the rollback below is seen

    async def write(client):
        cache = await client.get_cache(dirty)
        await cache.put_all(Pairs((SearchBlockKey(ROOM=room, TERM=t, BLOCK=b), 0)
                                  for t, b in [("plain", 1), ("both", 2)]))  # pyignite
        await put_rows(store._session, client, dirty, [(room, "both", 2, 7), (room, "fast", 3, -2**63)])
        async with store._session.tx(client) as tx:  # inside a transaction too
            await put_rows(store._session, client, dirty, [(room, "tx", 4, 1)])
            await tx.commit()
        async with store._session.tx(client):  # rolled back: the row was written in the transaction
            await put_rows(store._session, client, dirty, [(room, "gone", 5, 1)])

    store._sync(store._arun(write, retry=False))
    found = store._sql(f"SELECT TERM, BLOCK, MARK FROM {store.schema.search_dirty_table} WHERE ROOM = ? "
                       "ORDER BY BLOCK", [room])
    # the same key from both paths is one row (same bytes, same hash, same partition)
    assert found == [["plain", 1, 0], ["both", 2, 7], ["fast", 3, -2**63], ["tx", 4, 1]]


@pytest.mark.unit
def test_block_rows_mark_the_runs_of_each_term_and_runs_reads_them_back():
    base = 3 * BLOCK_SEQS
    rows = block_rows("r", 3, [(base, "Alpha beta"), (base + SUB_SEQS - 1, "alpha"), (base + SUB_SEQS, "alpha"),
                               (base + BLOCK_SEQS - 1, "beta 회의")])
    masks = {term: mark for _, term, _, mark in rows}
    assert masks == {"alpha": 0b11, "beta": 1 - 2**63, "회의": -2**63}  # bit 63 set: a negative long
    assert runs(3, masks["alpha"]) == [(base, base + 2 * SUB_SEQS - 1)]
    assert runs(3, masks["beta"]) == [(base + BLOCK_SEQS - SUB_SEQS, base + BLOCK_SEQS - 1),
                                      (base, base + SUB_SEQS - 1)]
    assert runs(0, 0) == [] and runs(1, -1) == [(BLOCK_SEQS, 2 * BLOCK_SEQS - 1)]
