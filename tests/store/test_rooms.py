"""The rooms and memberships half of the store contract, against a real Ignite node."""

import asyncio
import time

import pytest

from ignite_store import InvalidMessage, Membership, Room, run_sync


def new_room(room_id, kind="public", name=None, creator="ana"):
    return Room(id=room_id, name=name or room_id, kind=kind, topic="", creator=creator,
                created_at=int(time.time() * 1000))


async def test_create_is_idempotent_by_id_and_writes_both_membership_sides(store, room):
    created, was_new = await store.acreate_room(new_room(room, "private", name="  개발팀  "), {"ana": "owner"})
    assert was_new and created.name == "개발팀" and created.kind == "private"
    again, was_new = await store.acreate_room(new_room(room, "public", name="other"), {"bob": "owner"})
    assert not was_new and again == created  # the first one stays, bob was not added
    assert await store.aget_room(room) == created
    assert [m.user for m in await store.amembers(room)] == ["ana"]
    mine = {r.room.id: r for r in await store.auser_rooms("ana")}
    assert mine[room].membership.role == "owner" and mine[room].last_seq == 0
    assert room not in {r.room.id for r in await store.auser_rooms("bob")}


async def test_membership_add_remove_and_read_marker(store, room):
    await store.acreate_room(new_room(room), {"ana": "owner"})
    change = await store.aadd_member(room, "bob")
    assert change.changed and change.membership.role == "member"
    assert not (await store.aadd_member(room, "bob", "admin")).changed  # existing membership unchanged
    for i in range(5):
        await store.aappend(room, "ana", f"m{i}", f"c{i}")
    bob = {r.room.id: r for r in await store.auser_rooms("bob")}[room]
    assert (bob.last_seq, bob.membership.last_read_seq, bob.unread) == (5, 0, 5)
    assert await store.amark_read({(room, "bob"): 3}) == {(room, "bob"): 3}
    assert await store.amark_read({(room, "bob"): 2}) == {(room, "bob"): 3}  # forward only
    assert (await store.amembership(room, "bob")).last_read_seq == 3
    removed = await store.aremove_member(room, "bob")
    assert removed.changed and removed.membership.last_read_seq == 3
    assert await store.amembership(room, "bob") is None
    assert [m.user for m in await store.amembers(room)] == ["ana"]
    assert room not in {r.room.id for r in await store.auser_rooms("bob")}
    assert await store.amark_read({(room, "bob"): 5}) == {}  # not a member: nothing stored
    assert not (await store.aremove_member(room, "bob")).changed


async def test_add_member_to_a_missing_room_stores_nothing(store, room):
    change = await store.aadd_member(room, "bob")
    assert change.membership is None and not change.changed
    assert await store.amembership(room, "bob") is None


async def test_update_room_and_listing(store, room):
    await store.acreate_room(new_room(room, name="Équipe Alpha"), {"ana": "owner"})
    await store.acreate_room(new_room(room + "-p", "private", name="Équipe secrète"), {"ana": "owner"})
    public = await store.alist_rooms(kind="public", search="équipe")
    assert [r.id for r, _, _ in public if r.id.startswith(room)] == [room]
    updated = await store.aupdate_room(room, topic="planning", archived=True)
    assert updated.topic == "planning" and updated.archived
    assert room not in {r.id for r, _, _ in await store.alist_rooms(kind="public", search="équipe")}
    assert room in {r.id for r, _, _ in await store.alist_rooms(search="équipe", include_archived=True)}
    assert await store.aupdate_room(room + "-missing", topic="x") is None
    renamed = await store.aupdate_room(room, name="Équipe Bêta")
    assert renamed.name == "Équipe Bêta"
    mine = {r.room.id: r.room for r in await store.auser_rooms("ana")}
    assert (mine[room].name, mine[room].topic, mine[room].archived) == ("Équipe Bêta", "planning", True)
    assert await store.amember_counts([room, room + "-p"]) == {room: 1, room + "-p": 1}


async def test_a_user_with_500_rooms_lists_them_in_one_call(store, room):
    user = f"u{room}"
    for start in range(0, 500, 50):
        await asyncio.gather(*(store.acreate_room(new_room(f"{room}-{i}"), {user: "member"})
                               for i in range(start, start + 50)))
    mine = await store.auser_rooms(user)
    assert len(mine) == 500 and {r.room.id for r in mine} == {f"{room}-{i}" for i in range(500)}


@pytest.mark.parametrize("bad", [
    dict(name=""), dict(name="   "), dict(name="x" * 81), dict(name="a\x00b"), dict(name="a\u202eb"),
    dict(kind="secret"), dict(id="Not A Slug"), dict(topic="t" * 251),
])
async def test_invalid_rooms_store_nothing(store, room, bad):
    fields = {**new_room(room).to_dict(), **bad}
    with pytest.raises(InvalidMessage):
        await store.acreate_room(Room(**fields), {"ana": "owner"})
    assert await store.aget_room(room) is None


async def test_invalid_role_is_refused(store, room):
    await store.acreate_room(new_room(room), {"ana": "owner"})
    with pytest.raises(InvalidMessage):
        await store.aadd_member(room, "bob", "god")


def test_sync_bridge_runs_store_coroutines(store, room):
    created, was_new = run_sync(store.acreate_room(new_room(room), {"ana": "owner"}))
    assert was_new and run_sync(store.aget_room(room)) == created
    assert run_sync(store.amembership(room, "ana")) == Membership(room, "ana", "owner", created.created_at)


async def test_import_membership_moves_marker_forward_only(store, room):
    await store.acreate_room(new_room(room), {"ana": "owner"})
    assert await store.aimport_membership(Membership(room, "bob", "member", 1, 7, "all"))
    assert not await store.aimport_membership(Membership(room, "bob", "member", 1, 4, "all"))
    assert (await store.amembership(room, "bob")).last_read_seq == 7
    page = await store.amemberships_page((room, ""), 10)
    assert [(m.room, m.user) for m in page if m.room == room] == [(room, "ana"), (room, "bob")]


async def test_access_reads_the_room_and_the_membership(store, room):
    await store.acreate_room(new_room(room, "private", name="Plans"), {"ana": "owner"})
    settings_row, membership = await store.aaccess(room, "ana")
    assert (settings_row.name, settings_row.kind, membership.role) == ("Plans", "private", "owner")
    settings_row, membership = await store.aaccess(room, "bob")
    assert (settings_row.name, membership) == ("Plans", None)
    assert await store.aaccess(room + "-missing", "ana") == (None, None)
    await store.aupdate_room(room, archived=True)
    assert (await store.aaccess(room, "ana"))[0].archived  # the member's copy follows the room


async def test_notification_level_is_kept_on_the_user_side(store, room):
    await store.acreate_room(new_room(room), {"ana": "owner"})
    assert (await store.aset_notify(room, "ana", "mentions")).notify == "mentions"
    assert {r.room.id: r.membership.notify for r in await store.auser_rooms("ana")}[room] == "mentions"
    assert await store.aset_notify(room, "bob", "none") is None
    with pytest.raises(InvalidMessage):
        await store.aset_notify(room, "ana", "loud")
