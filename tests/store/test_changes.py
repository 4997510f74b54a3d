"""The change log (issue 13) against a real Ignite node, on the fast codec and on plain pyignite:
edits, deletes, reactions, replies, pages around a seq, mentions, and the migration of older tables."""

import asyncio
import uuid

import pytest

from ignite_store import ChangeRefused, InvalidMessage
from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.backends.ignite_schema import Schema


def post(store, room, body="hello", author="ana", **kwargs):
    return store.append(room, author, body, f"c-{uuid.uuid4().hex[:10]}", **kwargs).message


def refused(code, call, *args, **kwargs):
    with pytest.raises(ChangeRefused) as info:
        call(*args, **kwargs)
    assert info.value.code == code


# ---------------------------------------------------------------- edits
def test_edit_replaces_the_body_and_keeps_the_versions(store, room):
    message = post(store, room, "frist")
    first = store.edit(room, message.seq, "first", "e-1", author="ana")
    assert (first.changed, first.created, first.change_seq) == (True, True, 1)
    assert first.message.body == "first" and first.message.change_seq == 1
    assert first.message.edited_at >= message.created_at
    second = store.edit(room, message.seq, "first!", "e-2", author="ana")
    assert second.change_seq == 2
    stored = store.get(room, message.seq)
    assert (stored.body, stored.change_seq, stored.edited_at) == ("first!", 2, second.message.edited_at)
    assert stored.to_dict()["edited_at"] == stored.edited_at
    versions = store.versions(room, message.seq)
    assert [(v.body, v.replaced_by) for v in versions] == [("frist", 1), ("first", 2)]
    assert versions[0].edited_at == message.created_at
    assert store.last_change_seq(room) == 2 and store.last_seq(room) == 1


def test_an_edit_retried_with_its_client_id_changes_once(store, room):
    message = post(store, room, "draft")
    first = store.edit(room, message.seq, "final", "e-1", author="ana")
    again = store.edit(room, message.seq, "final", "e-1", author="ana")
    assert (again.change_seq, again.changed, again.created) == (first.change_seq, True, False)
    assert again.message == first.message
    assert store.last_change_seq(room) == 1 and len(store.versions(room, message.seq)) == 1


def test_edit_refusals_store_nothing(store, room):
    message = post(store, room, "mine")
    refused("not_author", store.edit, room, message.seq, "theirs", "e-1", author="bob")
    refused("edit_window_closed", store.edit, room, message.seq, "late", "e-2", author="ana", window_seconds=0)
    refused("no_such_message", store.edit, room, 99, "nothing", "e-3", author="ana")
    with pytest.raises(InvalidMessage) as info:
        store.edit(room, message.seq, "  ", "e-4", author="ana")
    assert info.value.field == "body"
    store.delete(room, message.seq, by="mod")
    refused("message_deleted", store.edit, room, message.seq, "back", "e-5", author="ana")
    assert store.last_change_seq(room) == 1  # only the deletion
    assert store.versions(room, message.seq) == []


def test_edit_window_in_seconds_and_forever(store, room):
    message = post(store, room, "now")
    assert store.edit(room, message.seq, "within", "e-1", author="ana", window_seconds=600).changed
    assert store.edit(room, message.seq, "always", "e-2", author="ana", window_seconds=-1).changed
    assert not store.edit(room, message.seq, "always", "e-3", author="ana").changed  # same body: no change


# ---------------------------------------------------------------- deletes
def test_delete_own_leaves_a_tombstone_once(store, room):
    message = post(store, room, "oops")
    refused("not_author", store._sync, store.adelete_own(room, message.seq, "d-0", author="bob"))
    result = store._sync(store.adelete_own(room, message.seq, "d-1", author="ana"))
    assert result.changed and result.change_seq == 1
    assert result.message.deleted and result.message.body == ""
    retry = store._sync(store.adelete_own(room, message.seq, "d-1", author="ana"))
    assert (retry.change_seq, retry.created) == (1, False)
    again = store._sync(store.adelete_own(room, message.seq, "d-2", author="ana"))
    assert (again.changed, again.change_seq) == (False, None)
    assert store.last_change_seq(room) == 1


def test_moderation_goes_through_the_change_log(store, room):
    message = post(store, room, "spam")
    store.react(room, message.seq, "👍", user="bob")
    deleted = store.delete(room, message.seq, by="mod")
    assert deleted.deleted and deleted.change_seq == 2 and deleted.reactions == ()
    assert store.delete(room, 42, by="mod") is None
    assert [m.seq for m in store.changes(room, 0, 100).messages] == [message.seq]


# ---------------------------------------------------------------- reactions
def test_reactions_are_sets_per_user_and_emoji(store, room):
    message = post(store, room)
    assert store.react(room, message.seq, "👍", user="bob").change_seq == 1
    assert store.react(room, message.seq, "👍", user="ana").change_seq == 2
    repeat = store.react(room, message.seq, "👍", user="bob")
    assert (repeat.changed, repeat.change_seq) == (False, None)
    result = store.react(room, message.seq, "🎉", user="bob")
    assert result.message.to_dict()["reactions"] == [
        {"emoji": "👍", "count": 2, "users": ["ana", "bob"]}, {"emoji": "🎉", "count": 1, "users": ["bob"]},
    ]
    assert store.react(room, message.seq, "👍", user="bob", add=False).change_seq == 4
    assert not store.react(room, message.seq, "👍", user="bob", add=False).changed
    gone = store.react(room, message.seq, "🎉", user="bob", add=False)
    assert [r.emoji for r in gone.message.reactions] == ["👍"]
    with pytest.raises(InvalidMessage):
        store.react(room, message.seq, "two words", user="bob")


def test_at_most_twenty_distinct_emoji(store, room):
    message = post(store, room)
    for i in range(20):
        store.react(room, message.seq, f"e{i}", user="ana")
    refused("too_many_reactions", store.react, room, message.seq, "one-more", user="ana")
    assert store.react(room, message.seq, "e3", user="bob").changed  # an existing emoji is still fine
    assert len(store.get(room, message.seq).reactions) == 20
    assert store.last_change_seq(room) == 21


def test_concurrent_edits_and_reactions_from_several_clients(store, room, live_settings):
    """Four store instances (four connections) change one message at once: every change is applied,
    and the change seqs handed out are exactly 1..N."""
    from django.conf import settings

    config = settings.IGNITE_STORE["default"]
    message = post(store, room, "v0")
    users = [f"u{i}" for i in range(8)]

    async def scenario():
        clients = [IgniteMessageStore(config["NODES"], **{**config.get("OPTIONS", {}),
                                                          "fast_codec": store.fast_codec}) for _ in range(4)]
        try:
            jobs = []
            for i, user in enumerate(users):
                client = clients[i % 4]
                jobs.append(client.areact(room, message.seq, "👍", user=user))
                jobs.append(client.areact(room, message.seq, f"x{i}", user=user))
                jobs.append(client.aedit(room, message.seq, f"v{i + 1}", f"edit-{i}", author="ana"))
            return await asyncio.gather(*jobs)
        finally:
            for client in clients:
                await client.aclose()

    results = store._sync(scenario())
    seqs = sorted(r.change_seq for r in results)
    assert seqs == list(range(1, len(results) + 1))
    final = store.get(room, message.seq)
    assert final.change_seq == len(results) == store.last_change_seq(room)
    reactions = {r.emoji: r.users for r in final.reactions}
    assert reactions["👍"] == tuple(sorted(users)) and len(reactions) == 9
    assert len(store.versions(room, message.seq)) == len(users)
    assert final.body in {f"v{i + 1}" for i in range(8)}


def test_changes_of_several_rooms_in_one_batch(store, room):
    """Changes queued together commit in one transaction (ignite_changes): per room the change seqs are
    gap-free in order of arrival, later changes see the earlier ones, a refusal or a repeated client id
    leaves the rest of the batch be."""
    rooms = [f"{room}-{i}" for i in range(3)]
    firsts = {r: post(store, r, "v0") for r in rooms}

    async def scenario():
        jobs = []
        for r in rooms:
            seq = firsts[r].seq
            jobs += [store.aedit(r, seq, "v1", "e-1", author="ana"), store.areact(r, seq, "👍", user="bob"),
                     store.aedit(r, seq, "v2", "e-2", author="ana"), store.aedit(r, seq, "v2", "e-2", author="ana"),
                     store.aedit(r, seq, "theirs", "e-3", author="bob"), store.areact(r, 99, "👍", user="bob"),
                     store.areact(r, seq, "👍", user="bob")]
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = store._sync(scenario())
    for i, r in enumerate(rooms):
        edit1, react, edit2, edit2_again, theirs, missing, react_again = results[i * 7:(i + 1) * 7]
        assert [edit1.change_seq, react.change_seq, edit2.change_seq] == [1, 2, 3]
        assert (edit2_again.change_seq, edit2_again.created, edit2_again.changed) == (3, False, True)
        assert isinstance(theirs, ChangeRefused) and theirs.code == "not_author"
        assert isinstance(missing, ChangeRefused) and missing.code == "no_such_message"
        assert (react_again.changed, react_again.change_seq) == (False, None)
        stored = store.get(r, firsts[r].seq)
        assert (stored.body, stored.change_seq, [x.emoji for x in stored.reactions]) == ("v2", 3, ["👍"])
        assert [v.body for v in store.versions(r, firsts[r].seq)] == ["v0", "v1"]
        assert store.last_change_seq(r) == 3 and store.last_seq(r) == 1
        assert edit2.message.body == "v2" and react.message.body == "v1"


# ---------------------------------------------------------------- catch-up of changes
def test_changes_after_a_cursor_are_the_current_state_in_change_order(store, room):
    messages = [post(store, room, f"m{i}") for i in range(5)]
    store.react(room, messages[3].seq, "👍", user="bob")       # 1
    store.edit(room, messages[1].seq, "m1!", "e-1", author="ana")  # 2
    store.delete(room, messages[3].seq, by="mod")              # 3
    store.edit(room, messages[0].seq, "m0!", "e-2", author="ana")  # 4
    page = store.changes(room, 0, 100)
    assert [(m.seq, m.change_seq) for m in page.messages] == [(2, 2), (4, 3), (1, 4)]
    assert (page.has_more, page.last_change_seq) == (False, 4)
    assert page.messages[1].deleted and page.messages[1].body == ""
    # A page covers a range of change seqs: change 1 (the reaction) was superseded by the deletion (3).
    first = store.changes(room, 0, 2)
    assert [m.seq for m in first.messages] == [2] and first.has_more and first.upto == 2
    rest = store.changes(room, first.upto, 2)
    assert [m.seq for m in rest.messages] == [4, 1] and not rest.has_more and rest.upto == 4
    only_superseded = store.changes(room, 0, 1)
    assert only_superseded.messages == [] and only_superseded.has_more and only_superseded.upto == 1
    assert store.changes(room, 4, 10).messages == [] and store.changes(room, 4, 10).last_change_seq == 4
    empty = store.changes(room + "-none", 0, 10)
    assert (empty.messages, empty.has_more, empty.last_change_seq) == ([], False, 0)


# ---------------------------------------------------------------- replies and pages around a seq
def test_replies_name_an_existing_message_and_preview_its_current_state(store, room):
    original = post(store, room, "the original " + "x" * 200)
    reply = store.append(room, "bob", "a reply", "r-1", reply_to=original.seq).message
    assert reply.reply_to == original.seq and reply.reply_preview.excerpt == original.body[:140]
    refused("no_such_message", store.append, room, "bob", "to nothing", "r-2", reply_to=99)
    assert store.last_seq(room) == 2
    store.edit(room, original.seq, "edited original", "e-1", author="ana")
    (page_reply,) = [m for m in store.latest(room, 1).messages]
    assert page_reply.reply_preview.excerpt == "edited original"  # from outside the page, current state
    assert page_reply.to_dict()["reply_preview"] == {"seq": 1, "author": "ana", "excerpt": "edited original",
                                                     "deleted": False}
    store.delete(room, original.seq, by="mod")
    refused("no_such_message", store.append, room, "bob", "to a tombstone", "r-3", reply_to=original.seq)
    assert store.after(room, 0, 10).messages[1].reply_preview.deleted is True
    assert store.last_seq(room) == 2


def test_history_around_a_seq(store, room):
    for i in range(30):
        post(store, room, f"m{i}")
    page = store.around(room, 15, 10)
    assert [m.seq for m in page.messages] == list(range(10, 20))
    assert (page.has_more, page.has_newer) == (True, True)
    start = store.around(room, 2, 10)
    assert [m.seq for m in start.messages] == list(range(1, 11)) and not start.has_more and start.has_newer
    end = store.around(room, 29, 10)
    assert [m.seq for m in end.messages] == list(range(21, 31)) and end.has_more and not end.has_newer
    assert store.around(room + "-none", 5, 10).messages == []


# ---------------------------------------------------------------- mentions
def test_mention_counts_are_cleared_by_reading_and_by_deletion(store, room):
    from ignite_store import Room

    store._sync(store.acreate_room(Room(room, room, "public", "", "ana", 1), {"ana": "owner", "bob": "member"}))
    post(store, room, "hi @bob", mentions=("bob",))
    second = post(store, room, "@bob again", mentions=("bob",))
    post(store, room, "@room everyone", mentions_room=True, notified=("ana", "bob"))
    post(store, room, "nothing for bob")

    def count(user):
        (mine,) = [my for my in store._sync(store.auser_rooms(user)) if my.room.id == room]
        return mine.mentions

    assert count("bob") == 3 and count("ana") == 1
    stored = store.get(room, 3)
    assert stored.mentions == () and stored.mentions_room and store.get(room, 1).mentions == ("bob",)
    store.delete(room, second.seq, by="mod")
    assert count("bob") == 2
    store._sync(store.amark_read({(room, "bob"): 2}))
    assert count("bob") == 1
    store._sync(store.amark_read({(room, "bob"): 4}))
    assert count("bob") == 0 and count("ana") == 1


def test_plain_messages_carry_no_optional_fields(store, room):
    message = post(store, room, "plain")
    assert set(message.to_dict()) == {"id", "room", "seq", "author", "body", "client_id", "created_at", "deleted"}
    assert set(store.latest(room, 1).messages[0].to_dict()) == set(message.to_dict())


# ---------------------------------------------------------------- migration of older tables
OLD_SHAPE = {
    "MESSAGES": ("(ROOM VARCHAR, SEQ BIGINT, ID VARCHAR, AUTHOR VARCHAR, BODY VARCHAR, CLIENT_ID VARCHAR, "
                 "CREATED_AT BIGINT, DELETED BOOLEAN, DELETED_BY VARCHAR, PRIMARY KEY (ROOM, SEQ))",
                 "ChatMessageKey", "ChatMessage", "ROOM"),
    "ROOMS": ("(ROOM VARCHAR PRIMARY KEY, LAST_SEQ BIGINT, LAST_AT BIGINT)", None, "ChatRoom", None),
    "IDEMPOTENCY": ("(ROOM VARCHAR, CLIENT_ID VARCHAR, SEQ BIGINT, PRIMARY KEY (ROOM, CLIENT_ID))",
                    "ChatIdempotencyKey", "ChatIdempotency", "ROOM"),
}


def test_ensure_schema_adds_the_change_log_to_older_tables(store, live_settings):
    from django.conf import settings

    prefix = f"OLD{uuid.uuid4().hex[:8].upper()}"
    schema = Schema(prefix=prefix, backups=0)
    for name, (columns, key_type, value_type, affinity) in OLD_SHAPE.items():
        parts = ["template=partitioned", "backups=0", "atomicity=transactional", "write_synchronization_mode=full_sync",
                 f"cache_name={schema.cache(name)}", f"value_type={value_type}"]
        parts += [f"key_type={key_type}"] if key_type else []
        parts += [f"affinity_key={affinity}"] if affinity else []
        store._sql(f'CREATE TABLE {schema.table(name)} {columns} WITH "{",".join(parts)}"')
    room = "old-room"
    store._sql(f"INSERT INTO {schema.table('MESSAGES')} (ROOM, SEQ, ID, AUTHOR, BODY, CLIENT_ID, CREATED_AT, DELETED) "
               "VALUES (?, 1, 'id-1', 'ana', 'from before', 'c-1', 1000, FALSE)", [room])
    store._sql(f"INSERT INTO {schema.table('ROOMS')} (ROOM, LAST_SEQ, LAST_AT) VALUES (?, 1, 1000)", [room])
    store._sql(f"INSERT INTO {schema.table('IDEMPOTENCY')} (ROOM, CLIENT_ID, SEQ) VALUES (?, 'c-1', 1)", [room])

    config = settings.IGNITE_STORE["default"]
    old = IgniteMessageStore(config["NODES"], **{**config.get("OPTIONS", {}), "table_prefix": prefix,
                                                 "fast_codec": store.fast_codec})
    try:
        problems = old.check_schema()
        assert f"missing {schema.messages_table}.CHANGE_SEQ" in problems
        assert f"missing {schema.rooms_table}.LAST_CHANGE_SEQ" in problems
        created = old.ensure_schema()
        assert f"{schema.messages_table}.REACTIONS" in created and f"{schema.messages_table}_CHANGE_IDX" in created
        assert old.check_schema() == [] and old.ensure_schema() == []
        before = old.get(room, 1)
        assert (before.body, before.change_seq, before.reactions) == ("from before", 0, ())
        assert old.latest(room, 10).messages == [before]
        assert old.append(room, "ana", "after", "c-2").message.seq == 2
        assert old.react(room, 1, "👍", user="bob").change_seq == 1
        assert old.edit(room, 1, "edited", "e-1", author="ana").change_seq == 2
        assert [m.seq for m in old.changes(room, 0, 10).messages] == [1]
        assert old.append(room, "ana", "again", "c-1").created is False  # the old idempotency row still serves
    finally:
        old.close()
        for name in [*OLD_SHAPE, "VERSIONS", "USER_MENTIONS", "ROOM_INFO", "MEMBERS", "USER_ROOMS"]:
            store._sql(f"DROP TABLE IF EXISTS {schema.table(name)}")


def test_an_edit_rereads_its_mentions(store, room):
    """Members the new body names get a mention row (and are named once in `mentioned`); members it no longer
    names lose theirs; the MENTIONS column follows the body."""
    from ignite_store import Room

    members = {"ana": "owner", "bob": "member", "cy": "member"}
    store._sync(store.acreate_room(Room(room, room, "public", "", "ana", 1), members))
    message = post(store, room, "hi @bob", mentions=("bob",), notified=())

    def counts():
        found = {}
        for user in members:
            (mine,) = [my for my in store._sync(store.auser_rooms(user)) if my.room.id == room]
            found[user] = mine.mentions
        return found

    assert counts() == {"ana": 0, "bob": 1, "cy": 0}
    edited = store.edit(room, message.seq, "hi @cy", "e-1", author="ana", mentions=("cy",))
    assert edited.mentioned == ("cy",) and edited.message.mentions == ("cy",)
    assert counts() == {"ana": 0, "bob": 0, "cy": 1}
    again = store.edit(room, message.seq, "hi @cy", "e-1", author="ana", mentions=("cy",))
    assert (again.created, again.mentioned) == (False, ())
    both = store.edit(room, message.seq, "hi @cy and @bob", "e-2", author="ana", mentions=("cy", "bob"))
    assert both.mentioned == ("bob",) and counts() == {"ana": 0, "bob": 1, "cy": 1}
    everyone = store.edit(room, message.seq, "@room", "e-3", author="ana", mentions_room=True, notified=("bob", "cy"))
    assert everyone.mentioned == () and everyone.message.mentions_room and everyone.message.mentions == ()
    plain = store.edit(room, message.seq, "nobody", "e-4", author="ana")
    assert plain.mentioned == () and not plain.message.mentions_room
    assert counts() == {"ana": 0, "bob": 0, "cy": 0}
    assert store.get(room, message.seq).to_dict().keys() >= {"change_seq", "edited_at"}

