"""Access control as a property: over random sequences of room operations by three users on two
Daphne processes, nobody receives a frame of a private room or DM while not a member, and members
can read everything (docs/protocol.md, "Rooms"; chat/access.py).

Each example creates its own private rooms and a DM, then runs random operations: invite, remove,
leave, join, send, history, catch-up, typing, read and reconnect (to the other process), and the message
changes of issue 13: edit, react, a send that @mentions the target, history around a seq and the catch-up
of changes (so `update`, `changes`, `mention` frames and pages around a seq are covered too). Every frame
every socket receives is logged with the time it arrived. Membership is tracked from the answers: a
user is a member from the moment an invite is sent until the answer to their removal arrives; a frame
of a room outside those windows is a leak. Messages stored before a removal may still be in flight for
a moment, so a `message` frame whose seq was already stored at the removal counts only after 2 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

TIMEOUT = 10.0
USERS = ("pa0", "pa1", "pa2")
IN_FLIGHT_SECONDS = 2.0
ROOM_FRAMES_ALLOWED_OUTSIDE = ("error", "removed")

operations = st.lists(
    st.tuples(
        st.sampled_from(["invite", "remove", "leave", "join", "send", "history", "catchup", "typing", "read",
                         "reconnect", "edit", "react", "mention", "around", "changes"]),
        st.integers(0, 2),  # actor
        st.integers(0, 2),  # room: private 0, private 1, the DM of pa0 and pa1
        st.integers(0, 2),  # target user
    ),
    min_size=10, max_size=30,
)


class Client:
    """One user's socket, with every frame it received and when."""

    def __init__(self, user: str, cookie: str):
        self.user, self.cookie = user, cookie
        self.log: list[tuple[float, dict]] = []
        self.queue: asyncio.Queue = asyncio.Queue()
        self.ws = None
        self.reader: asyncio.Task | None = None

    async def open(self, server) -> None:
        self.ws = await connect(server.ws_url, origin=server.origin, additional_headers={"Cookie": self.cookie},
                                proxy=None, compression=None, open_timeout=TIMEOUT)
        self.queue = asyncio.Queue()
        self.reader = asyncio.get_running_loop().create_task(self._read(self.ws, self.queue))
        await self.expect("rooms")

    async def _read(self, ws, queue) -> None:
        async for text in ws:
            frame = json.loads(text)
            self.log.append((time.monotonic(), frame))
            queue.put_nowait(frame)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, TIMEOUT)

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, *types: str, room: str | None = None) -> dict:
        """The next frame of one of `types` (for `room`, when given); other frames stay in the log."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = await self.queue.get()
                if frame["type"] in types and (room is None or frame.get("room") in (room, None)
                                               or frame["type"] == "created"):
                    return frame


def room_of(frame: dict) -> str | None:
    if frame["type"] in ("message", "update"):
        return frame["message"]["room"]
    if frame["type"] in ("room", "created"):
        return frame["room"]["room"]
    return frame.get("room")


class Model:
    """Membership windows per (user, room) as the test saw them."""

    def __init__(self):
        self.since: dict[tuple[str, str], float] = {}  # current members: from when
        self.windows: list[tuple[str, str, float, float]] = []  # past memberships: user, room, from, until
        self.removed_at_seq: list[tuple[str, str, float, int]] = []  # user, room, when, last seq stored then
        self.last_seq: dict[str, int] = {}

    def grant(self, user: str, room: str, at: float) -> None:
        self.since.setdefault((user, room), at)

    def revoke(self, user: str, room: str, asked: float, answered: float) -> None:
        start = self.since.pop((user, room), None)
        if start is not None:
            self.windows.append((user, room, start, answered))
            self.removed_at_seq.append((user, room, answered, self.last_seq.get(room, 0)))

    def member_at(self, user: str, room: str, at: float) -> bool:
        start = self.since.get((user, room))
        if start is not None and at >= start:
            return True
        return any(u == user and r == room and s <= at <= e for u, r, s, e in self.windows)

    def in_flight(self, user: str, room: str, at: float, frame: dict) -> bool:
        if frame["type"] not in ("message", "update", "mention"):
            return False
        seq = frame["message"]["seq"]
        return any(u == user and r == room and at <= t + IN_FLIGHT_SECONDS and seq <= s
                   for u, r, t, s in self.removed_at_seq)


async def run_example(ops, servers, cookies) -> None:
    clients = {user: Client(user, cookies[user]) for user in USERS}
    where = {user: i % 2 for i, user in enumerate(USERS)}
    for user, client in clients.items():
        await client.open(servers[where[user]])
    owner = clients["pa0"]
    model, rooms, secrets_of = Model(), [], {}
    tag = uuid.uuid4().hex[:8]
    for i in range(2):
        asked = time.monotonic()
        await owner.send(type="create_room", name=f"secret {tag} {i}", kind="private")
        created = await owner.expect("created", "error")
        assert created["type"] == "created", created
        rooms.append(created["room"]["room"])
        model.grant("pa0", rooms[-1], asked)
    asked = time.monotonic()
    await owner.send(type="open_dm", user="pa1")  # re-opened by every example: both are members again
    created = await owner.expect("created", "error")
    assert created["type"] == "created", created
    rooms.append(created["room"]["room"])
    model.grant("pa0", rooms[-1], asked)
    model.grant("pa1", rooms[-1], asked)
    joined: dict[str, set[str]] = {user: set() for user in USERS}

    try:
        await run_operations(ops, clients, servers, where, rooms, model, secrets_of, joined)
    finally:
        for client in clients.values():
            if client.ws is not None:
                await client.ws.close()
    check_no_leaks(clients, rooms, model, secrets_of)
    await check_members_read_everything(clients, servers, model)


async def run_operations(ops, clients, servers, where, rooms, model, secrets_of, joined) -> None:
    for step, (op, actor_index, room_index, target_index) in enumerate(ops):
        try:
            await run_operation(op, actor_index, room_index, target_index, clients, servers, where, rooms, model,
                                secrets_of, joined)
        except TimeoutError as e:
            raise AssertionError(f"step {step} {op} by {USERS[actor_index]} in room {room_index} "
                                 f"(target {USERS[target_index]}) got no answer") from e
    await asyncio.sleep(0.5)  # let the last live frames arrive
    for client in clients.values():
        await client.close()


async def run_operation(op, actor_index, room_index, target_index, clients, servers, where, rooms, model,
                        secrets_of, joined) -> None:
    actor, target, room = USERS[actor_index], USERS[target_index], rooms[room_index]
    client = clients[actor]
    if op == "invite":
        asked = time.monotonic()
        await client.send(type="invite", room=room, user=target)
        answer = await client.expect("invited", "error", room=room)
        if answer["type"] == "invited":
            model.grant(target, room, asked)
    elif op in ("remove", "leave"):
        leaving = op == "leave" or target == actor  # removing yourself is leaving
        victim = actor if leaving else target
        asked = time.monotonic()
        if leaving:
            await client.send(type="leave_room", room=room)
            answer = await client.expect("removed", "error", room=room)
        else:
            await client.send(type="remove_member", room=room, user=target)
            answer = await client.expect("member_removed", "error", room=room)
        if answer["type"] != "error" and (leaving or answer.get("changed")):
            model.revoke(victim, room, asked, time.monotonic())
            joined[victim].discard(room)
    elif op == "join":
        await client.send(type="join", room=room)
        answer = await client.expect("joined", "error", room=room)
        if answer["type"] == "joined":
            joined[actor].add(room)
    elif op in ("send", "mention"):
        body = f"private {room} {uuid.uuid4().hex}"
        if op == "mention":
            body = f"@{target} {body}"
        await client.send(type="send", room=room, body=body, client_id=uuid.uuid4().hex)
        answer = await client.expect("ack", "error", room=room)
        if answer["type"] == "ack":
            model.last_seq[room] = max(model.last_seq.get(room, 0), answer["seq"])
            secrets_of[body] = room
    elif op == "edit":
        body = f"private edit {room} {uuid.uuid4().hex}"
        secrets_of[body] = room  # before asking: the update may arrive before the answer
        await client.send(type="edit", room=room, seq=max(1, model.last_seq.get(room, 0)), body=body,
                          client_id=uuid.uuid4().hex)
        await client.expect("changed", "error", room=room)
    elif op == "react":
        await client.send(type="react", room=room, seq=max(1, model.last_seq.get(room, 0)), emoji="👀")
        await client.expect("changed", "error", room=room)
    elif op == "around":
        await client.send(type="history", room=room, around=max(1, model.last_seq.get(room, 0)))
        await client.expect("history", "error", room=room)
    elif op == "changes":
        await client.send(type="catchup", room=room, after_change=0)
        await client.expect("changes", "error", room=room)
    elif op == "history":
        await client.send(type="history", room=room)
        await client.expect("history", "error", room=room)
    elif op == "catchup":
        await client.send(type="catchup", room=room, after=0)
        await client.expect("catchup", "error", room=room)
    elif op == "typing":
        await client.send(type="typing", room=room)
    elif op == "read":
        await client.send(type="read", room=room, seq=model.last_seq.get(room, 0))
    elif op == "reconnect":
        await client.close()
        where[actor] = 1 - where[actor]
        await client.open(servers[where[actor]])
        joined[actor].clear()


def check_no_leaks(clients, rooms, model, secrets_of) -> None:
    """Nobody received a frame of a room (or a private body) while not a member."""
    for user, client in clients.items():
        for at, frame in client.log:
            room = room_of(frame)
            if frame["type"] in ROOM_FRAMES_ALLOWED_OUTSIDE:
                continue
            for body, secret_room in secrets_of.items():
                if body in json.dumps(frame, ensure_ascii=False) and room is None:
                    room = secret_room
            if room in rooms:
                assert model.member_at(user, room, at) or model.in_flight(user, room, at, frame), (
                    f"{user} got a frame of {room} while not a member: {frame}")



async def check_members_read_everything(clients, servers, model) -> None:
    """Members can read everything that was stored."""
    for (user, room) in list(model.since):
        client = clients[user]
        await client.open(servers[0])
        await client.send(type="join", room=room, after=0)
        assert (await client.expect("joined", "error", room=room))["type"] == "joined"
        seqs = []
        while len(seqs) < model.last_seq.get(room, 0):
            page = await client.expect("catchup", room=room)
            seqs += [m["seq"] for m in page["messages"]]
            if not page["has_more"]:
                break
        assert seqs == list(range(1, model.last_seq.get(room, 0) + 1))
        await client.close()


def test_non_members_never_receive_private_frames(daphne_pair, chat_site):
    cookies = {name: f"sessionid={key}" for name, key in chat_site.login(*USERS).items()}

    # No shrinking: each example runs against real servers, and a failure names its step.
    @settings(max_examples=int(os.environ.get("ACCESS_EXAMPLES", "6")), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(operations)
    def check(ops):
        asyncio.run(run_example(ops, daphne_pair, cookies))

    check()
