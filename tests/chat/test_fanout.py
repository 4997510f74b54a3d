"""Outbox and RoomHub delivery rules, without servers."""

import asyncio

import pytest

from chat.fanout import Outbox, RoomHub, group_name

pytestmark = pytest.mark.unit


async def test_outbox_writes_in_order():
    written = []

    async def write(text):
        written.append(text)

    outbox = Outbox(write, lambda: None, maxsize=10)
    for i in range(5):
        outbox.deliver(f"e{i}")
    await outbox.put("own")
    await asyncio.sleep(0.01)
    assert written == ["e0", "e1", "e2", "e3", "e4", "own"]
    await outbox.aclose()


async def test_slow_consumer_overflows_once_without_blocking_others():
    stuck = asyncio.Event()
    overflowed = []
    fast_written = []

    async def never_returns(text):
        await stuck.wait()

    async def fast(text):
        fast_written.append(text)

    slow = Outbox(never_returns, lambda: overflowed.append(1), maxsize=3, username="slow")
    quick = Outbox(fast, lambda: None, maxsize=3, username="quick")
    hub = RoomHub(layer=None)
    hub.rooms["r"] = {slow, quick}
    for i in range(10):
        hub.dispatch("r", f"e{i}")
        await asyncio.sleep(0)
    assert overflowed == [1]  # closed once, not once per event
    assert slow.closed and not quick.closed
    assert fast_written == [f"e{i}" for i in range(10)]
    await slow.aclose()
    await quick.aclose()


async def test_dispatch_skips_the_named_user():
    got = {"ana": [], "bob": []}

    def writer(name):
        async def write(text):
            got[name].append(text)

        return write

    hub = RoomHub(layer=None)
    hub.rooms["r"] = {Outbox(writer("ana"), lambda: None, 5, "ana"), Outbox(writer("bob"), lambda: None, 5, "bob")}
    hub.dispatch("r", "typing", skip="ana")
    hub.dispatch("other-room", "nobody")
    await asyncio.sleep(0.01)
    assert got == {"ana": [], "bob": ["typing"]}
    for outbox in hub.rooms["r"]:
        await outbox.aclose()


def test_group_names_are_channel_layer_safe_and_spread_rooms_over_the_shards():
    assert group_name("lobby") == group_name("@김민지") == "chat.all"
    groups = {group_name(f"room-{i}", 8) for i in range(200)} | {group_name("@김민지", 8)}
    assert groups == {f"chat.s{i}" for i in range(8)}
    assert group_name("lobby", 8) == group_name("lobby", 8)
