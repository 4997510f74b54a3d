"""ChatSession's rules with its collaborators passed in: no socket, no Ignite, no Redis.

The fakes below keep just enough state for the rules under test; the real store's contract is
tested against Ignite in tests/store.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson
import pytest

from chat.access import Access, Action, Forbidden
from chat.fanout import user_channel
from chat.limits import ChatLimits
from chat.protocol import Join, LeaveRoom, Read, RemoveMember, Send, SetNotify, parse_frame
from chat.readstate import ReadMarkers
from chat.service import ChatSession
from chat.services import ChatServices
from ignite_store import AppendResult, Membership, MembershipChange, Message, Room

pytestmark = pytest.mark.unit


class FakeStore:
    def __init__(self):
        self.rooms: dict[str, Room] = {}
        self.members: dict[tuple[str, str], Membership] = {}
        self.messages: dict[str, list[Message]] = {}
        self.reads: list[dict] = []
        self.gate: asyncio.Event | None = None
        self.access_reads = 0

    def add_room(self, room_id: str, kind: str, *members: str) -> None:
        self.rooms[room_id] = Room(room_id, room_id, kind, "", "owner", 1)
        for i, user in enumerate(members):
            self.members[(room_id, user)] = Membership(room_id, user, "owner" if i == 0 else "member", 1)

    async def aget_room(self, room):
        return self.rooms.get(room)

    async def amembership(self, room, user):
        return self.members.get((room, user))

    async def aaccess(self, room, user):
        self.access_reads += 1
        if self.gate is not None:
            await self.gate.wait()  # a read in flight
        return self.rooms.get(room), self.members.get((room, user))

    async def aadd_member(self, room, user, role="member"):
        if (room, user) in self.members:
            return MembershipChange(self.members[(room, user)], changed=False)
        self.members[(room, user)] = Membership(room, user, role, 2)
        return MembershipChange(self.members[(room, user)], changed=True)

    async def aremove_member(self, room, user):
        removed = self.members.pop((room, user), None)
        return MembershipChange(removed, changed=removed is not None)

    async def alast_seq(self, room):
        return len(self.messages.get(room, []))

    async def aheads(self, room):
        return len(self.messages.get(room, [])), 0

    async def aappend(self, room, author, body, client_id):
        log = self.messages.setdefault(room, [])
        message = Message(f"id{len(log) + 1}", room, len(log) + 1, author, body, client_id, 1000)
        log.append(message)
        return AppendResult(message, created=True)

    async def aset_notify(self, room, user, level):
        current = self.members.get((room, user))
        if current is None:
            return None
        self.members[(room, user)] = replace(current, notify=level)
        return self.members[(room, user)]

    async def amark_read(self, markers):
        self.reads.append(dict(markers))
        return markers


class FakeHub:
    def __init__(self):
        self.rooms: dict[str, set] = {}

    async def join(self, room, outbox):
        self.rooms.setdefault(room, set()).add(outbox)

    async def leave(self, room, outbox):
        self.rooms.get(room, set()).discard(outbox)

    def detach(self, room, outbox):
        self.rooms.get(room, set()).discard(outbox)


class FakePresence:
    async def enter(self, room, user, conn):
        return [user], True

    async def leave(self, room, user, conn):
        return [], True

    async def users(self, room):
        return []


class FakePublisher:
    def __init__(self):
        self.published: list[tuple[str, dict]] = []
        self.controls: list[tuple[str, dict]] = []

    async def publish(self, room, frame, *, skip=None):
        self.published.append((room, frame))

    async def control(self, target, control, *, text=None):
        self.controls.append((target, control))


class FakeUsers:
    async def active(self, username):
        return True


class FakeOutbox:
    def __init__(self):
        self.frames: list[dict] = []
        self.on_control = None

    async def put(self, text):
        self.frames.append(orjson.loads(text))

    def last(self) -> dict:
        return self.frames[-1]


@pytest.fixture
def world():
    store = FakeStore()
    store.add_room("open", "public", "ana")
    store.add_room("secret", "private", "ana")
    limits = ChatLimits(send_rate_per_second=1.0, send_burst=2)
    services = ChatServices(store=store, hub=FakeHub(), presence=FakePresence(), publisher=FakePublisher(),
                            access=Access(store, ttl=60.0), reads=ReadMarkers(store, 0.01), users=FakeUsers(),
                            limits=limits)
    return store, services


def session_of(services, user="bob", session_key="s1", revoked=None):
    return ChatSession(user, "conn-" + user, FakeOutbox(), services, session_key=session_key,
                       on_revoked=revoked.append if revoked is not None else None)


async def test_a_missing_room_and_a_private_room_answer_the_same_forbidden(world):
    store, services = world
    bob = session_of(services)
    await bob.handle(Join("nope"))
    missing = bob.outbox.last()
    await bob.handle(Join("secret"))
    private = bob.outbox.last()
    assert missing == {**private, "room": "nope"}
    assert (private["code"], private["ref"]) == ("forbidden", "join")
    assert services.hub.rooms == {} and ("secret", "bob") not in store.members


async def test_joining_a_public_room_makes_a_member_and_tells_the_room(world):
    store, services = world
    bob = session_of(services)
    await bob.handle(Join("open"))
    joined = next(f for f in bob.outbox.frames if f["type"] == "joined")
    assert (joined["room"], joined["role"], joined["kind"]) == ("open", "member", "public")
    assert store.members[("open", "bob")].role == "member"
    published = dict((room, frame["type"]) for room, frame in services.publisher.published)
    assert published[user_channel("bob")] == "room" and published["open"] in ("member", "presence")


async def test_send_is_stored_then_acked_then_published_and_rate_limited(world):
    store, services = world
    ana = session_of(services, "ana")
    await ana.handle(Join("secret"))
    for i in range(3):
        await ana.handle(Send("secret", f"hi {i}", f"c{i}"))
    acks = [f for f in ana.outbox.frames if f["type"] == "ack"]
    assert [a["seq"] for a in acks] == [1, 2]  # burst 2
    assert ana.outbox.last()["code"] == "rate_limited" and ana.outbox.last()["retry_after"] > 0
    assert [m.body for m in store.messages["secret"]] == ["hi 0", "hi 1"]
    assert [f["message"]["seq"] for room, f in services.publisher.published if f["type"] == "message"] == [1, 2]


async def test_a_revoked_member_is_detached_at_once_and_refused_afterwards(world):
    store, services = world
    store.members[("secret", "bob")] = Membership("secret", "bob", "member", 1)
    bob = session_of(services)
    await bob.handle(Join("secret"))
    assert bob.outbox in services.hub.rooms["secret"]
    del store.members[("secret", "bob")]
    bob.on_control({"revoke": "secret"})  # synchronously, as the hub calls it
    assert bob.outbox not in services.hub.rooms["secret"] and "secret" not in bob.rooms
    await asyncio.sleep(0)
    await bob.handle(Send("secret", "still here?", "late"))
    assert bob.outbox.last()["code"] == "not_joined"
    await bob.handle(Join("secret"))
    assert bob.outbox.last()["code"] == "forbidden"  # the cached grant was forgotten
    assert len(store.messages.get("secret", [])) == 0


async def test_close_control_closes_only_the_matching_session(world):
    _, services = world
    revoked: list[str] = []
    bob = session_of(services, session_key="s1", revoked=revoked)
    bob.on_control({"close": "logged_out", "session": "other"})
    assert revoked == []
    bob.on_control({"close": "logged_out", "session": "s1"})
    bob.on_control({"close": "deactivated"})
    assert revoked == ["logged_out", "deactivated"]


async def test_read_markers_move_forward_are_echoed_and_written_once_per_flush(world):
    store, services = world
    ana = session_of(services, "ana")
    for seq in (3, 7, 5):
        await ana.handle(Read("secret", seq))
    echoes = [f["seq"] for room, f in services.publisher.published if room == user_channel("ana")]
    assert echoes == [3, 7, 5]  # the client keeps the highest
    await services.reads.flush()
    assert store.reads == [{("secret", "ana"): 7}]
    bob = session_of(services)
    await bob.handle(Read("secret", 1))
    assert bob.outbox.last()["code"] == "forbidden"


async def test_only_owners_remove_and_removal_revokes(world):
    store, services = world
    store.members[("secret", "bob")] = Membership("secret", "bob", "member", 1)
    store.members[("secret", "cy")] = Membership("secret", "cy", "member", 1)
    bob = session_of(services)
    await bob.handle(RemoveMember("secret", "cy"))
    assert bob.outbox.last()["code"] == "forbidden" and ("secret", "cy") in store.members
    ana = session_of(services, "ana")
    await ana.handle(RemoveMember("secret", "cy"))
    assert ana.outbox.last() == {"type": "member_removed", "room": "secret", "user": "cy", "changed": True}
    assert (user_channel("cy"), {"revoke": "secret"}) in services.publisher.controls
    await bob.handle(LeaveRoom("secret"))
    assert (user_channel("bob"), {"revoke": "secret"}) in services.publisher.controls


def test_limits_are_a_frozen_object_read_once():
    limits = ChatLimits.from_settings()
    with pytest.raises(AttributeError):
        limits.send_burst = 1  # type: ignore[misc]
    assert replace(limits, send_burst=1).send_burst == 1


def test_room_frames_parse_and_refuse_bad_names():
    assert parse_frame('{"type": "create_room", "name": "  개발팀  ", "kind": "private"}').name == "개발팀"
    for bad in ('{"type": "create_room", "name": ""}', '{"type": "create_room", "name": "a\\u202eb"}',
                '{"type": "create_room", "name": "x", "kind": "direct"}', '{"type": "read", "room": "r", "seq": -1}',
                '{"type": "invite", "room": "r"}', '{"type": "directory", "limit": 0}'):
        with pytest.raises(Exception) as info:
            parse_frame(bad)
        assert info.value.code == "invalid"


async def test_a_stale_grant_is_served_while_it_is_read_again_and_a_forget_wins_over_a_read_in_flight():
    store = FakeStore()
    store.add_room("r", "private", "ana")
    now = [0.0]
    access = Access(store, ttl=2.0, clock=lambda: now[0])
    assert (await access.authorize("ana", "r", Action.WRITE)).role == "owner"
    del store.members[("r", "ana")]
    now[0] = 2.5  # past fresh (1..2 s), inside the stale window: served, re-read in the background
    assert (await access.authorize("ana", "r", Action.WRITE)).role == "owner"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    with pytest.raises(Forbidden):
        await access.authorize("ana", "r", Action.WRITE)  # the re-read saw the removal
    store.members[("r", "ana")] = Membership("r", "ana", "owner", 1)
    store.gate = asyncio.Event()
    reading = asyncio.ensure_future(access.authorize("ana", "r", Action.WRITE, fresh=True))
    await asyncio.sleep(0)
    access.forget(user="ana", room="r")  # a revocation arrives while that read is in flight
    store.gate.set()
    await reading
    assert ("ana", "r") not in access._grants  # the read that began before the forget is not cached


async def test_a_grant_is_trusted_longer_only_while_no_event_can_have_been_lost():
    store = FakeStore()
    store.add_room("r", "private", "ana")
    now, listening = [0.0], [True]
    access = Access(store, ttl=2.0, clock=lambda: now[0], trusted_ttl=30.0, listening=lambda: listening[0])
    await access.authorize("ana", "r", Action.WRITE)
    reads = store.access_reads
    now[0] = 14.0  # past the short TTL, inside the trusted one (15..30 s): no read
    await access.authorize("ana", "r", Action.WRITE)
    assert store.access_reads == reads
    access.forget()  # what the hub does when it notices a loss
    listening[0] = False
    await access.authorize("ana", "r", Action.WRITE)
    assert store.access_reads == reads + 1
    del store.members[("r", "ana")]
    now[0] = 16.5  # the grant read at 14 while not listening: fresh until 15..16, then stale-served and re-read
    await access.authorize("ana", "r", Action.WRITE)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    with pytest.raises(Forbidden):
        await access.authorize("ana", "r", Action.WRITE)


async def test_a_member_mutes_a_room_on_every_device_and_a_stranger_cannot(world):
    store, services = world
    ana = session_of(services, "ana")
    await ana.handle(SetNotify("secret", "none"))
    assert store.members[("secret", "ana")].notify == "none"
    assert (user_channel("ana"), {"type": "notify", "room": "secret", "level": "none"}) in services.publisher.published
    bob = session_of(services)
    await bob.handle(SetNotify("secret", "none"))
    assert bob.outbox.last()["code"] == "forbidden"
    with pytest.raises(Exception) as info:
        parse_frame('{"type": "notify", "room": "secret", "level": "loud"}')
    assert info.value.code == "invalid"


async def test_resync_sends_the_heads_and_drops_a_room_revoked_while_redis_was_down(world):
    store, services = world
    store.members[("secret", "bob")] = Membership("secret", "bob", "member", 1)
    bob = session_of(services)
    await bob.handle(Join("open"))
    await bob.handle(Join("secret"))
    await bob.handle(Send("open", "while the layer was down", "c1"))
    del store.members[("secret", "bob")]  # its revocation was published while Redis was down: lost
    bob.outbox.frames.clear()
    await bob.resync()
    assert bob.outbox.frames == [
        {"type": "removed", "room": "secret", "reason": "revoked"},
        {"type": "heads", "rooms": {"open": {"last_seq": 1, "last_change_seq": 0}}},
    ]
    assert "secret" not in bob.rooms and bob.outbox not in services.hub.rooms.get("secret", ())


async def test_a_marker_noted_while_a_flush_waits_for_the_store_is_written_by_the_next_flush():
    store = FakeStore()
    gate = asyncio.Event()
    written = []

    async def slow_mark_read(markers):
        await gate.wait()  # the store is slow (an optimistic retry, a node failing over)
        written.append(dict(markers))
        return markers

    store.amark_read = slow_mark_read
    reads = ReadMarkers(store, 0.01)
    reads.note("r", "ana", 1)
    await asyncio.sleep(0.03)  # the first flush is waiting for the store
    reads.note("r", "ana", 2)  # a flush is running: nothing new is scheduled now
    gate.set()
    await asyncio.sleep(0.05)
    assert written == [{("r", "ana"): 1}, {("r", "ana"): 2}]
