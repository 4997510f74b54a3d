"""The run index (ignite_search_index) against a real Ignite node: merges of completed runs, the watermark,
words at the edges of runs, edits into indexed runs, pages across runs and the unindexed tail."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ignite_store.backends.ignite_search_index import DIRTY, FILTER_WORDS, RUN_SEQS, term_filter

SPAN = 1024  # 16 runs; the shared room has SPANS of them complete and a tail of TAIL messages not merged
SPANS = 3
TAIL = 40
RUNS = SPANS * SPAN // RUN_SEQS
RARE = {100: "quasar", SPAN + 500: "quasar", 2 * SPAN + 7: "quasar", SPANS * SPAN + 3: "quasar"}
EDGES = {SPAN - 1: "lastofblock edgeword", SPAN: "firstofblock edgeword",
         2 * SPAN - 1: "lastoftwo", SPANS * SPAN + 1: "tailword 회의록"}


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
    """One room of RUNS complete runs and a tail, merged; shared by the tests below (read-only)."""
    from ignite_store import get_store

    store = get_store()
    room = f"runs-{uuid.uuid4().hex[:10]}"
    store._sync(append_until(store, room, SPANS * SPAN - 1 + TAIL))
    store._sync(store._search_index.drain())
    return store, room


def seqs(page):
    return [hit.message.seq for hit in page.hits]


def index_state(store, room):
    """(watermark, {run: its filter's words}, dirty seqs) of a room."""
    columns = ", ".join(f"W{i}" for i in range(FILTER_WORDS))
    mark = store._sql(f"SELECT MARK FROM {store.schema.search_dirty_table} WHERE ROOM = ? AND TERM = '' "
                      "AND BLOCK = -1", [room])
    rows = store._sql(f"SELECT RUN, {columns} FROM {store.schema.search_runs_table} WHERE ROOM = ?", [room])
    dirty = store._sql(f"SELECT BLOCK FROM {store.schema.search_dirty_table} WHERE ROOM = ? AND TERM = ? "
                       "ORDER BY BLOCK", [room, DIRTY])
    return ((mark[0][0] if mark else 0), {row[0]: [w % 2**64 for w in row[1:]] for row in rows},
            [seq for seq, in dirty])


def holds(words: list[int], term: str) -> bool:
    word, mask = term_filter(term)
    return words[word] & mask == mask


def run(seq: int) -> int:
    return seq // RUN_SEQS


def test_appends_merge_completed_runs_and_leave_the_tail(big_room):
    store, room = big_room
    mark, rows, dirty = index_state(store, room)
    assert mark == RUNS and dirty == []
    assert sorted(rows) == list(range(RUNS))  # one row per run of 64 messages, none for the tail
    assert all(holds(words, "filler") for words in rows.values())
    assert holds(rows[run(SPAN - 1)], "lastofblock") and holds(rows[run(SPAN)], "firstofblock")
    assert not holds(rows[run(SPAN)], "lastofblock") and not holds(rows[run(SPAN - 1)], "firstofblock")
    merged_rare = sorted(run(seq) for seq in RARE if seq < SPANS * SPAN)
    assert [r for r, words in sorted(rows.items()) if holds(words, "quasar")] == merged_rare
    assert holds(rows[run(2 * SPAN - 1)], "lastoftwo")
    # a filter is sparse: these runs hold "filler" and "odd" only, ~10 of 8,192 bits
    assert sum(bin(w).count("1") for w in rows[run(300)]) <= 2 * 5


def test_words_at_the_edges_of_runs_and_in_the_tail_are_found(big_room):
    store, room = big_room
    assert seqs(store.search([room], "lastofblock")) == [SPAN - 1]
    assert seqs(store.search([room], "firstofblock")) == [SPAN]
    assert seqs(store.search([room], "edgeword")) == [SPAN, SPAN - 1]
    assert seqs(store.search([room], "lastoftwo")) == [2 * SPAN - 1]
    assert seqs(store.search([room], "tailword")) == [SPANS * SPAN + 1]
    assert seqs(store.search([room], "회의")) == [SPANS * SPAN + 1]
    assert seqs(store.search([room], '"filler odd quasar"')) == sorted((s for s in RARE if s % 2), reverse=True)


def test_a_rare_word_pages_across_runs_and_the_tail(big_room):
    store, room = big_room
    found, cursor = [], None
    for _ in range(10):
        page = store.search([room], "quasar", limit=1, cursor=cursor)
        found += seqs(page)
        cursor = page.cursor
        if cursor is None:
            break
    assert found == sorted(RARE, reverse=True)


def test_a_common_word_pages_from_the_tail_into_the_runs_without_gaps(big_room):
    store, room = big_room
    last = SPANS * SPAN - 1 + TAIL
    found, cursor = [], None
    while len(found) < TAIL + SPAN + 100:
        page = store.search([room], "filler", limit=50, cursor=cursor)
        found += seqs(page)
        cursor = page.cursor
    assert found == list(range(last, last - len(found), -1))


def test_an_edit_into_a_merged_run_is_found_and_its_old_words_are_not(store, room):
    store._sync(append_until(store, room, SPAN + 2))
    store._sync(store._search_index.drain())
    assert index_state(store, room)[0] == SPAN // RUN_SEQS
    assert seqs(store.search([room], "quasar")) == [100]
    store.edit(room, 100, "now about zanzibar", "e-100", author="ana")
    store.edit(room, SPAN + 1, "tail about zanzibar", "e-tail", author="ana")
    mark, rows, dirty = index_state(store, room)
    assert not holds(rows[run(100)], "zanzibar") and dirty == [100, SPAN + 1]
    assert seqs(store.search([room], "zanzibar")) == [SPAN + 1, 100]  # seq 100 read as a dirty seq
    assert seqs(store.search([room], "quasar")) == []
    # an append's merge leaves dirty seqs to every DIRTY_PASS_RUNS-th run; a pass indexes the edited run again
    # and drops its dirty seq (the tail's waits for its run)
    store._sync(store._search_index.merge(room, with_dirty=True))
    mark, rows, dirty = index_state(store, room)
    assert holds(rows[run(100)], "zanzibar") and not holds(rows[run(100)], "quasar") and dirty == [SPAN + 1]
    assert seqs(store.search([room], "zanzibar")) == [SPAN + 1, 100]


def test_a_merge_keeps_a_dirty_seq_edited_again_after_it_read_the_run(store, room):
    """A merge removes only the dirty rows it read, unchanged: an edit after its read stays dirty."""
    store._sync(append_until(store, room, SPAN + 2))
    store._sync(store._search_index.drain())
    first = store.edit(room, 100, "first rewrite", "e-1", author="ana").change_seq
    store.edit(room, 100, "second rewrite mentions zanzibar", "e-2", author="ana")
    mark = index_state(store, room)[0]
    store._sync(store._search_index._merge_span(room, [run(100)], {100: first}, mark))  # it read the first edit
    assert index_state(store, room)[2] == [100]
    assert seqs(store.search([room], "zanzibar")) == [100]
    store.delete(room, SPAN - 1, by="moderator")
    assert seqs(store.search([room], "lastofblock")) == []


def test_with_the_merge_off_searches_scan_and_a_reindex_catches_up(live_settings, room):
    from django.conf import settings

    from ignite_store import get_store
    from ignite_store.backends.ignite import IgniteMessageStore

    config = settings.IGNITE_STORE["default"]
    unmerged = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    try:
        unmerged._sync(append_until(unmerged, room, SPAN + 5))
        unmerged._sync(unmerged._search_index.drain())
    finally:
        unmerged.close()
    store = get_store()
    assert index_state(store, room) == (0, {}, [])
    assert seqs(store.search([room], "quasar")) == [100]  # exact without the index: every seq is scanned
    assert store.reindex_search(room) == SPAN - 1  # runs 0..15 (seqs 1..1023); the rest is the tail
    mark, rows, _ = index_state(store, room)
    assert mark == SPAN // RUN_SEQS and holds(rows[run(100)], "quasar") and not holds(rows[run(200)], "quasar")
    assert seqs(store.search([room], "quasar")) == [100]
    assert seqs(store.search([room], "firstofblock")) == [SPAN]


def test_merges_started_together_run_one_span_at_a_time_and_let_the_loop_turn(live_settings):
    """Under an even load every room completes a run at once: their merges queue, and each builds its
    runs' filters one run per turn of the loop, so the sockets of the process are served in between."""
    from django.conf import settings

    from ignite_store.backends.ignite import IgniteMessageStore
    from ignite_store.backends.ignite_search_index import SearchIndex

    config = settings.IGNITE_STORE["default"]
    unmerged = IgniteMessageStore(config["NODES"], **{**config["OPTIONS"], "search_index": False})
    rooms = [f"burst-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]

    class Watched(SearchIndex):
        """Counts the spans being merged at once."""

        running = most = 0

        async def _merge_span(self, room, span, dirty, mark, **options):
            self.running += 1
            self.most = max(self.most, self.running)
            try:
                return await super()._merge_span(room, span, dirty, mark, **options)
            finally:
                self.running -= 1

    async def scenario():
        await asyncio.gather(*(append_until(unmerged, room, SPAN) for room in rooms))
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
    assert read == [SPAN - 1] * 3 and most == 1
    assert turns >= 3 * (SPAN // RUN_SEQS - 1)


def test_a_merge_of_what_this_process_appended_reads_no_body_and_builds_the_filters_a_reread_would(store, room):
    index = store._search_index
    read_before = index.runs_read
    store._sync(append_until(store, room, SPAN + 2))
    store._sync(index.drain())
    mark, merged, _ = index_state(store, room)
    assert mark == SPAN // RUN_SEQS and index.runs_read == read_before  # every body came from the appends
    assert store.reindex_search(room) == SPAN - 1  # read back from Ignite: the same rows
    assert index_state(store, room)[1] == merged


def test_an_edit_before_its_run_is_merged_from_appended_bodies_stays_findable(store, room):
    """The merge builds a run from the bodies as appended; the edit's dirty seq keeps the new text found until a
    merge with dirty seqs reads the run from Ignite."""
    store._sync(append_until(store, room, 1100))  # 17 runs complete: merged at the 8th and the 16th
    store._sync(store._search_index.drain())
    mark = index_state(store, room)[0]
    assert 16 <= mark <= 17
    edited = mark * RUN_SEQS + 10  # in the first run not merged yet
    store.edit(room, edited, "rewritten about zanzibar", "e-tail", author="ana")
    tag = uuid.uuid4().hex[:8]
    async def more() -> None:
        await asyncio.gather(*(store.aappend(room, "ana", body_of(0), f"m{tag}-{i}") for i in range(500)))

    store._sync(more())
    store._sync(store._search_index.drain())
    mark, rows, dirty = index_state(store, room)
    # merged at the 24th run, no dirty pass (those come with every 16th run): the run as appended
    assert mark >= 24 and not holds(rows[run(edited)], "zanzibar") and dirty == [edited]
    assert seqs(store.search([room], "zanzibar")) == [edited]
    store._sync(store._search_index.merge(room, with_dirty=True))
    mark, rows, dirty = index_state(store, room)
    assert holds(rows[run(edited)], "zanzibar") and dirty == []
    assert seqs(store.search([room], "zanzibar")) == [edited]
