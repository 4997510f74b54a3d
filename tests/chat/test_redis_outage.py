"""Redis (the channel layer) goes away and comes back, under two real Daphnes on a private Redis.

- A quiet room does not stay stale: a message stored while Redis was down reaches every member
  (on both processes) within 2 s of Redis's return, by the `heads` frame and a catch-up
  (chat.fanout.RoomHub's probe, chat.service.ChatSession.resync, the harness client's rule).
- Redis down at connect and join: accepted, degraded (docs/protocol.md, "Redis outages"): the
  connection cap is enforced once Redis is back (the socket one too many is closed with 4029).
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.faults.conftest import record_figures
from tests.faults.harness import LoadClient
from tests.fixtures.servers import RedisServer

from .helpers import unique
from .test_e2e import join, open_client, put, recv

STALE_LIMIT_SECONDS = 2.0
CAP = 2
OUTAGE_ENV = {"CHAT_PRESENCE_TTL_SECONDS": 3, "CHAT_MAX_CONNECTIONS_PER_USER": CAP}


@pytest.fixture(scope="module")
def outage_rig(tmp_path_factory, daphne_factory):
    """A private Redis that the tests kill and restart, and two Daphnes on it."""
    redis = RedisServer(tmp_path_factory.mktemp("outage-redis")).start()
    try:
        servers = [daphne_factory(REDIS_URL=redis.url, **OUTAGE_ENV) for _ in range(2)]
        yield redis, servers
    finally:
        for server in locals().get("servers", []):
            server.stop()
        redis.stop()


async def restart_redis(redis: RedisServer) -> float:
    await asyncio.to_thread(redis.start)
    return time.monotonic()


async def test_a_message_sent_while_redis_was_down_reaches_a_quiet_room_within_2s(outage_rig, chat_site):
    redis, servers = outage_rig
    room = unique("quiet")
    names = [unique("m") for _ in range(4)]
    cookies = {n: f"sessionid={k}" for n, k in chat_site.login(*names).items()}
    sender = await open_client(servers[0], cookies[names[0]])
    await join(sender, room)
    members = [LoadClient(name, cookies[name], [servers[i % 2], servers[(i + 1) % 2]], [room])
               for i, name in enumerate(names[1:])]
    for member in members:
        member.stop_sending()  # listeners only: nothing else happens in the room
    try:
        await asyncio.gather(*(m.start() for m in members))
        await asyncio.sleep(0.5)  # the hubs' probes run
        await asyncio.to_thread(redis.kill)
        await put(sender, type="send", room=room, body="sent during the outage", client_id="quiet-1")
        ack = await recv(sender, "ack")  # stored in Ignite: acked though nobody could be told
        await asyncio.sleep(1.0)
        back = await restart_redis(redis)
        for _ in range(500):  # up to 10 s
            if all(m.last.get(room, 0) >= ack["seq"] for m in members):
                break
            await asyncio.sleep(0.02)
        shown = [m.last.get(room, 0) >= ack["seq"] for m in members]
        stale_s = round(time.monotonic() - back, 2)
        heads_s = [round(m.heads_frames[-1] - back, 2) if m.heads_frames else None for m in members]
        record_figures("stale_quiet_room", {"members": len(members), "processes": 2, "shown_to": sum(shown),
                                            "shown_to_all_after_s": stale_s, "heads_after_s": heads_s})
        assert all(shown), f"not every member caught up within 10 s: {shown}"
        assert stale_s <= STALE_LIMIT_SECONDS, f"the quiet room stayed stale {stale_s} s after Redis returned"
        for member in members:  # from Ignite, exactly once
            assert [seq for seq, _ in member.delivered[room]] == [ack["seq"]]
    finally:
        if not redis.proc or redis.proc.poll() is not None:
            await restart_redis(redis)
        await asyncio.gather(*(m.close() for m in members))
        await sender.close()


async def test_connect_and_join_while_redis_is_down_are_accepted_and_the_cap_applies_when_it_returns(
        outage_rig, chat_site):
    redis, servers = outage_rig
    room, name, other = unique("degraded"), unique("cap"), unique("talker")
    cookies = {n: f"sessionid={k}" for n, k in chat_site.login(name, other).items()}
    talker = await open_client(servers[1], cookies[other])
    await join(talker, room)
    await asyncio.to_thread(redis.kill)
    sockets = []
    try:
        for _ in range(CAP + 1):  # one more than the cap: nobody can count them now
            ws = await open_client(servers[0], cookies[name])
            await put(ws, type="join", room=room)
            joined = await recv(ws, "joined")  # accepted, degraded: no `unavailable`
            assert joined["room"] == room
            sockets.append(ws)
        await put(talker, type="send", room=room, body="during", client_id="d-1")
        during = await recv(talker, "ack")
        await restart_redis(redis)
        # Within a heartbeat (PRESENCE_TTL/3 = 1 s here) of Redis's return the newest one is refused.
        last = sockets[-1]
        refused = await asyncio.wait_for(_error_then_close(last), 10)
        assert refused == ("too_many_connections", 4029)
        for ws in sockets[:-1]:  # the others stay, and catch up what was sent during the outage
            await put(ws, type="catchup", room=room, after=0)
            frame = await recv(ws, "catchup", "heads")
            while frame["type"] != "catchup":
                frame = await recv(ws, "catchup", "heads")
            assert during["seq"] in [m["seq"] for m in frame["messages"]]
        await put(talker, type="send", room=room, body="after", client_id="d-2")
        after = await recv(talker, "ack")
        for ws in sockets[:-1]:  # live fan-out works again for the rooms joined while Redis was down
            message = await recv(ws, "message")
            while message["message"]["seq"] != after["seq"]:
                message = await recv(ws, "message")
    finally:
        if not redis.proc or redis.proc.poll() is not None:
            await restart_redis(redis)
        for ws in [talker, *sockets]:
            await ws.close()


async def _error_then_close(ws) -> tuple[str | None, int | None]:
    code = None
    try:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "error":
                code = frame["code"]
    except ConnectionClosed:
        return code, ws.close_code
