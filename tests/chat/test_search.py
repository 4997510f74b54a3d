"""The `search` frame through the real consumer: rooms authorized at query time, results, bad input."""

from __future__ import annotations

import time

import pytest

from ignite_store import Room, get_store

from .helpers import open_socket, recv, send, unique

pytestmark = pytest.mark.usefixtures("live_settings")


async def private_room(owner: str, *members: str) -> str:
    room = unique("s")
    await get_store().acreate_room(
        Room(id=room, name=f"Room {room}", kind="private", topic="", creator=owner, created_at=int(time.time() * 1000)),
        {owner: "owner", **{m: "member" for m in members}},
    )
    return room


async def search(comm, **frame) -> dict:
    await send(comm, type="search", **frame)
    return await recv(comm, "search_results", "error")


async def test_members_find_across_their_rooms_outsiders_find_nothing():
    ana, bob, eve = unique("ana"), unique("bob"), unique("eve")
    shared, own = await private_room(ana, bob), await private_room(bob)
    store = get_store()
    await store.aappend(shared, ana, "회의록을 올렸어요: Budget plan", "c1")
    await store.aappend(own, bob, "내일 회의를 합시다", "c2")
    await store.aappend(shared, ana, "the budget is fine", "c3")

    comm, _ = await open_socket(bob)
    found = await search(comm, query="회의")
    assert [(r["room"], r["seq"]) for r in found["results"]] == [(own, 1), (shared, 1)]
    first = found["results"][1]
    assert first["author"] == ana and first["room_name"] == f"Room {shared}" and first["created_at"] > 0
    assert [first["snippet"][s:e] for s, e in first["hits"]] == ["회의"]
    assert found["cursor"] is None
    phrase = await search(comm, query='"budget plan"')
    assert [(r["room"], r["seq"]) for r in phrase["results"]] == [(shared, 1)]
    await comm.disconnect()

    outsider, _ = await open_socket(eve)
    assert (await search(outsider, query="회의"))["results"] == []
    refused = await search(outsider, query="budget", room=shared)
    assert (refused["type"], refused["code"], refused["ref"]) == ("error", "forbidden", "search")
    await outsider.disconnect()


async def test_a_removed_member_stops_finding_the_room():
    ana, bob = unique("ana"), unique("bob")
    room = await private_room(ana, bob)
    await get_store().aappend(room, ana, "the quarterly numbers", "c1")
    comm, _ = await open_socket(bob)
    assert len((await search(comm, query="quarterly"))["results"]) == 1
    assert len((await search(comm, query="quarterly", room=room))["results"]) == 1
    await get_store().aremove_member(room, bob)
    assert (await search(comm, query="quarterly"))["results"] == []
    assert (await search(comm, query="quarterly", room=room))["code"] == "forbidden"
    await comm.disconnect()


async def test_filters_and_cursor_pages():
    ana, bob = unique("ana"), unique("bob")
    room = await private_room(ana, bob)
    store = get_store()
    for i in range(5):
        await store.aappend(room, ana if i % 2 else bob, f"release note {i}", f"c{i}")
    comm, _ = await open_socket(ana)
    by_ana = await search(comm, query="release", author=ana)
    assert [r["seq"] for r in by_ana["results"]] == [4, 2]
    pages, cursor = [], None
    for _ in range(5):
        page = await search(comm, query="release", room=room, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([r["seq"] for r in page["results"]])
        cursor = page["cursor"]
        if cursor is None:
            break
    assert pages == [[5, 4], [3, 2], [1]]
    future = await search(comm, query="release", since=int(time.time() * 1000) + 60_000)
    assert future["results"] == []
    await comm.disconnect()


@pytest.mark.parametrize("frame,field", [
    ({"query": ""}, "query"), ({"query": "   "}, "query"), ({"query": "a"}, "query"), ({"query": "가"}, "query"),
    ({"query": "%"}, "query"), ({"query": "_"}, "query"), ({"query": "x" * 500}, "query"), ({}, "query"),
    ({"query": "ok", "limit": 0}, "limit"), ({"query": "ok", "limit": 51}, "limit"),
    ({"query": "ok", "cursor": "nope"}, "cursor"), ({"query": "ok", "room": "Bad Room"}, "room"),
    ({"query": "ok", "since": -1}, "since"), ({"query": "ok", "author": 7}, "author"),
])
async def test_bad_searches_are_invalid_with_the_field(frame, field):
    comm, _ = await open_socket(unique("u"))
    answer = await search(comm, **frame)
    assert (answer["type"], answer["code"], answer["ref"], answer["field"]) == ("error", "invalid", "search", field)
    await comm.disconnect()


async def test_regex_and_wildcard_characters_are_literal():
    ana = unique("ana")
    room = await private_room(ana)
    await get_store().aappend(room, ana, "100% done (a|b) [x]", "c1")
    comm, _ = await open_socket(ana)
    assert [r["seq"] for r in (await search(comm, query="100%"))["results"]] == [1]
    assert [r["seq"] for r in (await search(comm, query="(a|b) 100"))["results"]] == [1]
    assert (await search(comm, query=".*"))["code"] == "invalid"
    await comm.disconnect()
