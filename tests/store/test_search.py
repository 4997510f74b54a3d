"""Search through the store (ignite_store/backends/ignite_search.py) against a real Ignite node."""

import asyncio
import uuid

import pytest

from ignite_store import InvalidMessage, Message


def post(store, room, bodies, author="ana"):
    return [store.append(room, author, body, f"c-{uuid.uuid4().hex[:12]}").message for body in bodies]


def seqs(page):
    return [(hit.message.room, hit.message.seq) for hit in page.hits]


def test_korean_inside_words_latin_whole_words_newest_first(store, room):
    post(store, room, ["회의록을 올렸어요", "The PLAN for today", "내일 회의를 합시다", "planet news", "회의 자료"])
    page = store.search([room], "회의")
    assert seqs(page) == [(room, 5), (room, 3), (room, 1)] and page.cursor is None
    first = page.hits[-1]
    assert [first.message.body[s:e] for s, e in first.hits] == ["회의"]
    assert seqs(store.search([room], "plan")) == [(room, 2)]
    assert seqs(store.search([room], "회의록")) == [(room, 1)]


def test_phrases_and_every_word_required(store, room):
    post(store, room, ["weekly sync moved", "sync weekly?", "the weekly, SYNC notes", "weekly only"])
    assert seqs(store.search([room], '"weekly sync"')) == [(room, 3), (room, 1)]
    assert seqs(store.search([room], "sync weekly")) == [(room, 3), (room, 2), (room, 1)]


def test_deleted_messages_never_match(store, room):
    post(store, room, ["secret plan", "another plan"])
    store.delete(room, 1, by="moderator")
    assert seqs(store.search([room], "plan")) == [(room, 2)]
    assert seqs(store.search([room], "secret")) == []


def test_pages_across_rooms_follow_a_cursor_without_repeats(store, room):
    rooms = [room + "-a", room + "-b", room + "-c"]

    async def fill():
        # Concurrent appends land in shared batches: equal created_at across rooms, ordered by room then seq.
        await asyncio.gather(*(store.aappend(r, "ana", f"topic number {i}", f"k{i}") for i in range(6)
                               for r in rooms))

    store._sync(fill())
    expected = sorted(((m.created_at, m.room, m.seq) for r in rooms for m in store.latest(r, 50).messages),
                      reverse=True)
    seen, cursor = [], None
    for _ in range(20):
        page = store.search(rooms + [room + "-empty"], "topic", limit=4, cursor=cursor)
        seen += [(h.message.created_at, h.message.room, h.message.seq) for h in page.hits]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == expected and len(seen) == 18


def test_a_rare_word_far_back_is_found_through_wider_windows(store, room):
    def imported(seq, body):
        return Message(id=uuid.uuid4().hex, room=room, seq=seq, author="ana", body=body, client_id=f"i{seq}",
                       created_at=1_700_000_000_000 + seq)

    assert store.import_message(imported(3, "a zephyrine sighting"))
    assert store.import_message(imported(9000, "nothing to see"))
    page = store.search([room], "zephyrine")
    assert seqs(page) == [(room, 3)] and page.cursor is None


def test_author_and_date_filters(store, room):
    first = post(store, room, ["budget draft"], author="ana")[0]
    post(store, room, ["budget final"], author="bob")
    assert seqs(store.search([room], "budget", author="bob")) == [(room, 2)]
    assert seqs(store.search([room], "budget", until=first.created_at + 1)) == [(room, 1)]
    assert seqs(store.search([room], "budget", since=first.created_at, until=first.created_at)) == []


@pytest.mark.parametrize("kwargs,field", [
    ({"query": ""}, "query"), ({"query": "a"}, "query"), ({"query": "%"}, "query"), ({"query": "_"}, "query"),
    ({"query": "x" * 500}, "query"), ({"query": "ok", "limit": 51}, "limit"), ({"query": "ok", "limit": 0}, "limit"),
    ({"query": "ok", "rooms": ["Bad Room"]}, "room"), ({"query": "ok", "rooms": ["r"] * 1001}, "rooms"),
    ({"query": "ok", "cursor": (1, "r")}, "cursor"), ({"query": "ok", "author": ""}, "author"),
])
def test_bad_queries_are_refused(store, room, kwargs, field):
    args = {"rooms": [room], **kwargs}
    with pytest.raises(InvalidMessage) as info:
        store.search(args.pop("rooms"), args.pop("query"), **args)
    assert info.value.field == field


def test_regex_and_sql_wildcards_are_literal(store, room):
    post(store, room, ["100% sure", "1000 things", "a_b case"])
    assert seqs(store.search([room], "100%")) == [(room, 1)]
    assert seqs(store.search([room], ".* 100")) == [(room, 1)]  # separators, not a pattern
    assert seqs(store.search([room], "a_b case")) == [(room, 3)]  # "_" is no wildcard: words a, b, case


def test_edited_messages_match_on_their_current_body_only(store, room):
    post(store, room, ["the old wording", "unrelated"])
    store.edit(room, 1, "the new phrasing 회의록", "e-1", author="ana")
    assert seqs(store.search([room], "old")) == []
    assert seqs(store.search([room], "phrasing")) == [(room, 1)]
    assert seqs(store.search([room], "회의")) == [(room, 1)]


def test_a_message_deleted_by_its_author_never_matches(store, room):
    post(store, room, ["oops typo here", "typo again"])
    store._sync(store.adelete_own(room, 1, "d-1", author="ana"))
    assert seqs(store.search([room], "typo")) == [(room, 2)]


def test_dense_and_sparse_words_across_rooms_page_in_order(store, room):
    """Windows sized by what the last one held, and each room asked for its share of the page: every hit
    comes once, newest first, whether a word is in every message or one in fifty."""
    rooms = [f"{room}-{i}" for i in range(5)]

    async def fill():
        for i in range(150):  # one message per room per step: created_at interleaves the rooms
            await asyncio.gather(*(store.aappend(r, "ana", f"common words here {'rarely' if i % 50 == 7 else ''}",
                                                 f"k{i}") for r in rooms))

    store._sync(fill())
    everything = sorted(((m.created_at, m.room, m.seq) for r in rooms for m in store.latest(r, 100).messages
                         + store.before(r, 51, 100).messages), reverse=True)
    for query, expected in [("common", everything), ("rarely", [p for p in everything if p[2] % 50 == 8])]:
        seen, cursor = [], None
        for _ in range(60):
            page = store.search(rooms, query, limit=20, cursor=cursor)
            seen += [(h.message.created_at, h.message.room, h.message.seq) for h in page.hits]
            cursor = page.cursor
            if cursor is None:
                break
        assert seen == expected, query


def test_bodies_whose_folding_differs_pass_the_sql_prefilter(store, room):
    """The window's SQL keeps a body when a term appears up to ASCII case or the body holds a character whose
    folding differs: full-width, mathematical (outside the BMP) and German sharp s are all found."""
    post(store, room, ["ＰＬＡＮ ahead", "𝐩𝐥𝐚𝐧 b", "Straße", "PLAN c", "plans d", "Ⓟⓛⓐⓝ"])
    assert seqs(store.search([room], "plan")) == [(room, 6), (room, 4), (room, 2), (room, 1)]
    assert seqs(store.search([room], "strasse")) == [(room, 3)]
