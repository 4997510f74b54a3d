"""The search index's fast write path (pyignite_seam.key_encoder, aput_all_encoded) against pyignite's own, and
its run filters (pure)."""

import uuid

import pytest

from ignite_store.backends import pyignite_seam
from ignite_store.backends.ignite_client import Pairs, SearchBlockKey
from ignite_store.backends.ignite_search_index import (
    FILTER_WORDS,
    TERM_BITS,
    as_long,
    put_rows,
    query_filter,
    run_filter,
    term_filter,
)
from ignite_store.search_text import index_terms

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
def test_a_term_sets_a_few_bits_of_one_column_the_same_in_every_process():
    # Stored filters depend on this hash: a change would make every index miss terms until search_reindex.
    assert term_filter("update") == (21, 71468257902602) and term_filter("회의") == (2, 4507997690658848)
    for term in ["a1", "zephyrine", "회의", "x" * 32, "ǆ"]:
        word, mask = term_filter(term)
        assert 0 <= word < FILTER_WORDS and 1 <= bin(mask).count("1") <= TERM_BITS and mask < 2**64


@pytest.mark.unit
def test_a_run_filter_holds_every_term_of_its_bodies_and_a_query_asks_for_all_of_them():
    bodies = ["Alpha beta", "회의록을 공유합니다", "gamma_delta"]
    words = [w % 2**64 for w in run_filter(bodies)]
    assert len(words) == FILTER_WORDS and all(-2**63 <= w < 2**63 for w in run_filter(bodies))
    terms = set().union(*(index_terms(body) for body in bodies))
    assert {"alpha", "beta", "회의", "의록", "gamma", "delta"} <= terms
    for term in terms:
        word, mask = term_filter(term)
        assert words[word] & mask == mask
    need = query_filter(["alpha", "회의"])
    assert all(words[word] & mask == mask for word, mask in need.items())
    assert sum(bin(mask).count("1") for mask in need.values()) <= 2 * TERM_BITS
    assert not any(words[word] & mask != mask for word, mask in query_filter(sorted(terms)).items())
    missing = query_filter(["zanzibar"])
    assert any(words[word] & mask != mask for word, mask in missing.items())
    assert run_filter([]) == [0] * FILTER_WORDS and as_long(2**63) == -2**63 and as_long(5) == 5


@pytest.mark.unit
def test_the_bodies_kept_to_merge_are_bounded_and_forgotten_when_merged():
    from ignite_store.backends.ignite_search_index import SearchIndex

    index = SearchIndex(None, None, recent_max=100)  # type: ignore[arg-type]  # no I/O below
    index._remember("a", [(seq, f"a{seq}") for seq in range(1, 65)])
    assert index._recent_bodies("a", 0, 64) == [(seq, f"a{seq}") for seq in range(1, 64)]
    assert index._recent_bodies("a", 64, 128) is None  # seqs 65..127 were not appended here
    index._remember("b", [(seq, "b") for seq in range(1, 60)])  # 123 > 100: "a", the oldest room, goes
    assert index._recent_bodies("a", 0, 64) is None and index._recent_count == 59
    index._forget("b", 30)
    assert index._recent_count == 30 and index._recent_bodies("b", 30, 60) is not None


@pytest.mark.unit
@pytest.mark.parametrize("compact", [True, False])
def test_run_rows_are_encoded_as_pyignite_encodes_them(compact):
    from ignite_store.backends.ignite_client import SearchRun, SearchRunKey
    from ignite_store.backends.ignite_search_index import FILTER_COLUMNS, _encode_run

    words = run_filter(["Alpha beta", "회의록을 공유합니다"])
    key = pyignite_seam.binary_object_bytes(SearchRunKey(ROOM="r-1", RUN=12), compact)[0]
    value = pyignite_seam.binary_object_bytes(SearchRun(**dict(zip(FILTER_COLUMNS, words, strict=True))), compact)[0]
    assert _encode_run(("r-1", 12, words), compact) == key + value
