"""The hub's subscription probe: events lost on the channel layer make every local socket resync once,
and a room joined while Redis is down is subscribed when it is back (chat.fanout.RoomHub). No servers:
the layer below is a stand-in whose Redis can be "down" (calls fail) or "deaf" (the subscription hears nothing)."""

import asyncio

import pytest

from chat.fanout import EVENT_TYPE, RoomHub, group_name

pytestmark = pytest.mark.unit


class FlakyLayer:
    def __init__(self):
        self.queues: dict[str, asyncio.Queue] = {}
        self.members: dict[str, set[str]] = {}  # group -> subscribed channels
        self.sent: list[tuple[str, dict]] = []  # every group_send, in order
        self.gate: asyncio.Event | None = None  # when set: each group_send waits for it (a Redis round trip)
        self.down = False  # every call fails (Redis unreachable)
        self.deaf = False  # calls succeed, nothing reaches the subscription (it is reconnecting)

    @property
    def groups(self) -> set[str]:
        return {group for group, channels in self.members.items() if channels}

    def _check(self):
        if self.down:
            raise ConnectionError("redis is down")

    async def new_channel(self, prefix=""):
        self._check()
        name = f"{prefix}{len(self.queues)}"
        self.queues[name] = asyncio.Queue()
        return name

    async def group_add(self, group, channel):
        self._check()
        self.members.setdefault(group, set()).add(channel)

    async def group_send(self, group, message):
        self._check()
        self.sent.append((group, message))
        if self.gate is not None:
            await self.gate.wait()
        if not self.deaf:
            for channel in self.members.get(group, ()):
                self.queues[channel].put_nowait(message)

    async def group_discard(self, group, channel):
        self.members.get(group, set()).discard(channel)

    async def send(self, channel, message):
        self._check()
        if not self.deaf:
            self.queues[channel].put_nowait(message)

    async def receive(self, channel):
        return await self.queues[channel].get()


class Member:
    def __init__(self, name):
        self.username = name
        self.controls: list[dict] = []
        self.on_control = self.controls.append
        self.resyncs = 0
        self.delivered: list[str] = []
        self.gate: asyncio.Event | None = None  # a resync that waits (its store reads in flight)

    async def on_resync(self):
        self.resyncs += 1
        if self.gate is not None:
            await self.gate.wait()

    def deliver(self, text):
        self.delivered.append(text)


async def settle(hub, rounds=6):
    for _ in range(rounds):
        await hub.probe()
        await asyncio.sleep(0.01)


async def test_no_resync_while_the_subscription_hears_every_probe():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)  # probes driven by the test
    ana = Member("ana")
    await hub.join("r", ana)
    await settle(hub)
    assert ana.resyncs == 0 and hub.resyncs == 0


@pytest.mark.parametrize("fault", ["down", "deaf"])
async def test_lost_probes_resync_every_socket_once_when_heard_again(fault):
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    ana, bob = Member("ana"), Member("bob")
    await hub.join("r1", ana)
    await hub.join("r2", ana)
    await hub.join("r2", bob)
    await settle(hub)
    setattr(layer, fault, True)
    await settle(hub)
    assert ana.resyncs == 0  # nothing to say while nothing is heard
    setattr(layer, fault, False)
    await settle(hub)
    assert ana.resyncs == 1 and bob.resyncs == 1  # once per socket, not per room
    assert hub.resyncs == 1


async def test_room_joined_while_redis_is_down_is_subscribed_later_then_resynced():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    layer.down = True
    ana = Member("ana")
    await hub.join("quiet", ana)  # accepted, degraded
    assert hub.rooms == {"quiet": {ana}} and layer.groups == set()
    await settle(hub)
    assert ana.resyncs == 0
    layer.down = False
    await settle(hub)
    assert layer.groups == {"chat.all"}
    assert ana.resyncs == 1


async def test_leaving_a_room_that_never_got_subscribed_forgets_it():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    layer.down = True
    ana = Member("ana")
    await hub.join("quiet", ana)
    await hub.leave("quiet", ana)
    layer.down = False
    await settle(hub)
    assert hub.rooms == {} and layer.groups == set()


async def test_events_arriving_after_a_loss_wait_until_every_socket_resynced():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    ana = Member("ana")
    await hub.join("r", ana)
    await settle(hub)
    layer.down = True
    await settle(hub, 2)
    layer.down = False
    ana.gate = asyncio.Event()
    # The subscription is back: an event of the room arrives before the probe that reveals the loss.
    layer.queues[hub.channel].put_nowait({"type": EVENT_TYPE, "events": [{"room": "r", "text": "after the outage"}]})
    await settle(hub)
    assert ana.resyncs == 1 and ana.delivered == []  # held while the resync (re-authorization) runs
    ana.gate.set()
    await asyncio.sleep(0.01)
    assert ana.delivered == ["after the outage"]
    layer.queues[hub.channel].put_nowait({"type": EVENT_TYPE, "events": [{"room": "r", "text": "live again"}]})
    await asyncio.sleep(0.01)
    assert ana.delivered == ["after the outage", "live again"]



@pytest.mark.parametrize("fault", ["down", "deaf"])
async def test_the_hub_says_when_it_may_have_lost_events_and_tells_its_listeners_once(fault):
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    losses = []
    hub.on_loss.append(lambda: losses.append(1))
    assert not hub.listening()  # nothing subscribed yet
    ana = Member("ana")
    await hub.join("r", ana)
    await settle(hub)
    assert hub.listening() and losses == []
    setattr(layer, fault, True)
    await settle(hub)
    if fault == "deaf":  # probes go out but never come back: noticed once one is PROBE_LATE old
        hub._unheard_since -= 2
        await settle(hub, 1)
    assert not hub.listening() and losses == [1]  # one loss, one call, however many probes failed
    setattr(layer, fault, False)
    await settle(hub)
    assert hub.listening() and ana.resyncs == 1 and losses == [1]


async def test_events_published_while_a_message_is_in_flight_leave_together_in_order():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    ana = Member("ana")
    await hub.join("r", ana)
    layer.gate = asyncio.Event()
    first = asyncio.ensure_future(hub.publish({"room": "r", "text": "1"}))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # "1" is on its way
    rest = [asyncio.ensure_future(hub.publish({"room": "r", "text": str(i)})) for i in range(2, 6)]
    await asyncio.sleep(0.01)
    assert [m["events"] for _, m in layer.sent] == [[{"room": "r", "text": "1"}]] and not first.done()
    layer.gate.set()
    await asyncio.gather(first, *rest)
    assert [len(m["events"]) for _, m in layer.sent] == [1, 4]  # one Redis message for the four
    await asyncio.sleep(0.01)
    assert ana.delivered == ["1", "2", "3", "4", "5"]


async def test_a_bundle_that_cannot_be_sent_fails_each_of_its_publishers_and_the_next_one_goes():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60)
    ana = Member("ana")
    await hub.join("r", ana)
    layer.down = True
    results = await asyncio.gather(*(hub.publish({"room": "r", "text": t}) for t in "ab"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    layer.down = False
    await hub.publish({"room": "r", "control": {"revoke": "r"}, "text": "c"})
    await asyncio.sleep(0.01)
    assert ana.delivered == ["c"] and ana.controls == [{"revoke": "r"}]


async def test_with_shards_each_group_gets_only_its_rooms_events():
    layer = FlakyLayer()
    hub = RoomHub(layer, probe_seconds=60, shards=4)
    rooms = [f"room-{i}" for i in range(12)]
    members = {room: Member(room) for room in rooms}
    for room in rooms:
        await hub.join(room, members[room])
    await asyncio.gather(*(hub.publish({"room": room, "text": room}) for room in rooms))
    for group, message in layer.sent:
        assert {group_name(e["room"], 4) for e in message["events"]} == {group}
    assert len(layer.sent) == len({group_name(room, 4) for room in rooms})
    await asyncio.sleep(0.01)
    assert all(m.delivered == [room] for room, m in members.items())
    for room in rooms:
        await hub.leave(room, members[room])
    assert hub.rooms == {} and layer.groups == set()  # the last room of each group unsubscribed it
