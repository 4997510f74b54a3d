"""The block index (ignite_search_index) against a real Ignite node: merges of completed blocks, the watermark,
words at the edges of blocks, edits into indexed blocks, pages across blocks and the unindexed tail."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ignite_store.backends.ignite_search_index import BLOCK_SEQS, DIRTY, SUB_SEQS

BLOCKS = 3  # complete blocks in the shared room; a tail of TAIL messages above them is not merged
TAIL = 40
RARE = {100: "quasar", BLOCK_SEQS + 500: "quasar", 2 * BLOCK_SEQS + 7: "quasar", BLOCKS * BLOCK_SEQS + 3: "quasar"}
EDGES = {BLOCK_SEQS - 1: "lastofblock edgeword", BLOCK_SEQS: "firstofblock edgeword",
         2 * BLOCK_SEQS - 1: "lastoftwo", BLOCKS * BLOCK_SEQS + 1: "tailword 회의록"}


def body_of(seq: int) -> str:
    """A message's body: "filler", "odd" for the odd seqs among the words placed, and their own words."""
    return f"filler {'odd' if seq % 2 else ''} {RARE.get(seq, '')} {EDGES.get(seq, '')}".strip()


async def append_until(store, room: str, last: int) -> None:
    """Append messages until the room's last seq is `last`, each body body_of(its seq): those with a word of
    their own one at a time (their seq is known), the fillers between them concurrently."""
    special = sorted(set(RARE) | set(EDGES))
    seq = 0
    while seq < last:
        target = next((s for s in special if s > seq), last + 1)
        fillers = min(target, last + 1) - seq - 1
        if fillers:
            tag = uuid.uuid4().hex[:8]
            results = await asyncio.gather(*(store.aappend(room, "ana", body_of(0), f"f{tag}-{i}")
                                             for i in range(fillers)))
            seq = max(r.message.seq for r in results)
        if target <= last:
            result = await store.aappend(room, "ana", body_of(target), f"s{target}")
            assert result.message.seq == target
            seq = target


@pytest.fixture(scope="module")
def big_room(live_settings):
    """One room of BLOCKS complete blocks and a tail, merged; shared by the tests below (read-only)."""
    from ignite_store import get_store

    store = get_store()
    room = f"blocks-{uuid.uuid4().hex[:10]}"
    store._sync(append_until(store, room, BLOCKS * BLOCK_SEQS - 1 + TAIL))
    store._sync(store._search_index.drain())
    return store, room


def seqs(page):
    return [hit.message.seq for hit in page.hits]


def index_state(store, room):
    """(watermark, {(term, block): mask}, dirty seqs) of a room."""
    table = store.schema.search_blocks_table
    mark = store._sql(f"SELECT MARK FROM {table} WHERE ROOM = ? AND TERM = '' AND BLOCK = -1", [room])
    rows = store._sql(f"SELECT TERM, BLOCK, MARK FROM {table} WHERE ROOM = ? AND TERM <> ''", [room])
    dirty = store._sql(f"SELECT BLOCK FROM {store.schema.search_dirty_table} WHERE ROOM = ? AND TERM = ? "
                       "ORDER BY BLOCK", [room, DIRTY])
    return ((mark[0][0] if mark else 0), {(term, block): mask % 2**64 for term, block, mask in rows},
            [seq for seq, in dirty])


def bit(seq):
    return 1 << (seq % BLOCK_SEQS) // SUB_SEQS


def test_appends_merge_completed_blocks_and_leave_the_tail(big_room):
    store, room = big_room
    mark, rows, dirty = index_state(store, room)
    assert mark == BLOCKS and dirty == []
    # each row: the runs of SUB_SEQS seqs of its block where the term occurs (the last run: bit 63)
    assert rows[("lastofblock", 0)] == bit(BLOCK_SEQS - 1) == 1 << 63
    assert rows[("firstofblock", 1)] == bit(BLOCK_SEQS) == 1
    assert rows[("edgeword", 0)] == 1 << 63 and rows[("edgeword", 1)] == 1
    assert rows[("quasar", 0)] == bit(100) and rows[("quasar", 1)] == bit(BLOCK_SEQS + 500)
    assert not any(term == "tailword" for term, _ in rows)  # above the watermark: scanned, not indexed
    # one row per distinct term of a block, not per message
    assert [rows[("filler", block)] for block in range(BLOCKS)] == [2**64 - 1] * BLOCKS


def test_words_at_the_edges_of_blocks_and_in_the_tail_are_found(big_room):
    store, room = big_room
    assert seqs(store.search([room], "lastofblock")) == [BLOCK_SEQS - 1]
    assert seqs(store.search([room], "firstofblock")) == [BLOCK_SEQS]
    assert seqs(store.search([room], "edgeword")) == [BLOCK_SEQS, BLOCK_SEQS - 1]
    assert seqs(store.search([room], "lastoftwo")) == [2 * BLOCK_SEQS - 1]
    assert seqs(store.search([room], "tailword")) == [BLOCKS * BLOCK_SEQS + 1]
    assert seqs(store.search([room], "회의")) == [BLOCKS * BLOCK_SEQS + 1]
    assert seqs(store.search([room], '"filler odd quasar"')) == sorted((s for s in RARE if s % 2), reverse=True)


def test_a_rare_word_pages_across_blocks_and_the_tail(big_room):
    store, room = big_room
    found, cursor = [], None
    for _ in range(10):
        page = store.search([room], "quasar", limit=1, cursor=cursor)
        found += seqs(page)
        cursor = page.cursor
        if cursor is None:
            break
    assert found == sorted(RARE, reverse=True)


def test_a_common_word_pages_from_the_tail_into_the_blocks_without_gaps(big_room):
    store, room = big_room
    last = BLOCKS * BLOCK_SEQS - 1 + TAIL
    found, cursor = [], None
    while len(found) < TAIL + BLOCK_SEQS + 100:
        page = store.search([room], "filler", limit=50, cursor=cursor)
        found += seqs(page)
        cursor = page.cursor
    assert found == list(range(last, last - len(found), -1))


def test_an_edit_into_a_merged_block_is_found_and_its_old_words_are_not(store, room):
    store._sync(append_until(store, room, BLOCK_SEQS + 2))
    store._sync(store._search_index.drain())
    assert index_state(store, room)[0] == 1
    assert seqs(store.search([room], "quasar")) == [100]
    store.edit(room, 100, "now about zanzibar", "e-100", author="ana")
    store.edit(room, BLOCK_SEQS + 1, "tail about zanzibar", "e-tail", author="ana")
    mark, rows, dirty = index_state(store, room)
    assert ("zanzibar", 0) not in rows and dirty == [100, BLOCK_SEQS + 1]
    assert seqs(store.search([room], "zanzibar")) == [BLOCK_SEQS + 1, 100]  # seq 100 read as a dirty seq
    assert seqs(store.search([room], "quasar")) == []
    # the next merge indexes the edited block again and drops its dirty seq (the tail's waits for its block)
    store._sync(store._search_index.merge(room))
    mark, rows, dirty = index_state(store, room)
    assert rows[("zanzibar", 0)] == bit(100) and dirty == [BLOCK_SEQS + 1]
    assert seqs(store.search([room], "zanzibar")) == [BLOCK_SEQS + 1, 100]


def test_a_merge_keeps_a_dirty_seq_edited_again_after_it_read_the_block(store, room):
    """A merge removes only the dirty rows it read, unchanged: an edit after its read stays dirty."""
    store._sync(append_until(store, room, BLOCK_SEQS + 2))
    store._sync(store._search_index.drain())
    first = store.edit(room, 100, "first rewrite", "e-1", author="ana").change_seq
    store.edit(room, 100, "second rewrite mentions zanzibar", "e-2", author="ana")
    store._sync(store._search_index._merge_block(room, 0, {100: first}))  # it had read the first edit's row
    assert index_state(store, room)[2] == [100]
    assert seqs(store.search([room], "zanzibar")) == [100]
    store.delete(room, BLOCK_SEQS - 1, by="moderator")
    assert seqs(store.search([room], "lastofblock")) == []


def test_with_the_merge_off_searches_scan_and_a_reindex_catches_up(live_settings, room):
    from django.conf import settings

    from ignite_store import get_store
    from ignite_store.backends.ignite import IgniteMessageStore

    config = settings.IGNITE_STORE["default"]
    unmerged = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    try:
        unmerged._sync(append_until(unmerged, room, BLOCK_SEQS + 5))
        unmerged._sync(unmerged._search_index.drain())
    finally:
        unmerged.close()
    store = get_store()
    assert index_state(store, room) == (0, {}, [])
    assert seqs(store.search([room], "quasar")) == [100]  # exact without the index: every seq is scanned
    assert store.reindex_search(room) == BLOCK_SEQS - 1  # block 0 (seqs 1..1023); the rest is the tail
    mark, rows, _ = index_state(store, room)
    assert mark == 1 and rows[("quasar", 0)] == bit(100)
    assert seqs(store.search([room], "quasar")) == [100]
    assert seqs(store.search([room], "firstofblock")) == [BLOCK_SEQS]


def test_merges_started_together_run_one_block_at_a_time_and_let_the_loop_turn(live_settings):
    """Under an even load every room completes a block at once: their merges queue, and each tokenizes its
    block in slices, so the sockets of the process are served in between."""
    from django.conf import settings

    from ignite_store.backends.ignite import IgniteMessageStore
    from ignite_store.backends.ignite_search_index import MERGE_SLICE, SearchIndex

    config = settings.IGNITE_STORE["default"]
    unmerged = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    rooms = [f"burst-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]

    class Watched(SearchIndex):
        """Counts the blocks being merged at once."""

        running = most = 0

        async def _merge_block(self, room, block, dirty):
            self.running += 1
            self.most = max(self.most, self.running)
            try:
                return await super()._merge_block(room, block, dirty)
            finally:
                self.running -= 1

    async def scenario():
        await asyncio.gather(*(append_until(unmerged, room, BLOCK_SEQS) for room in rooms))
        index = Watched(unmerged._session, unmerged.schema)
        turns, done = 0, False

        async def ticker():
            nonlocal turns
            while not done:
                turns += 1
                await asyncio.sleep(0)

        tick = asyncio.ensure_future(ticker())
        try:
            read = await asyncio.gather(*(index.merge(room) for room in rooms))
        finally:
            done = True
            await tick
        return read, turns, index.most

    try:
        read, turns, most = unmerged._sync(scenario())
    finally:
        unmerged.close()
    assert read == [BLOCK_SEQS - 1] * 3 and most == 1
    assert turns >= 3 * (BLOCK_SEQS - 1) // MERGE_SLICE
