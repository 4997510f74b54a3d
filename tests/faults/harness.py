"""Fault harness: real WebSocket load clients that log everything, and a checker that compares with Ignite.

A LoadClient logs every send (client_id, room, attempts, ack or error codes, attempts lost with the
connection) and every message it delivers to its "application" (deduplicated and ordered by seq, gaps
filled from Ignite with `catchup`, exactly as docs/architecture.md asks clients to). `check()` then
verifies the four properties of issue 6 from the store and those logs and returns the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ignite_store import run_sync

logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would drown the report

OPEN_TIMEOUT = 10.0
# The client's reorder window (docs/protocol.md, "Ordering and gaps"; static/chat/room.js uses the same):
# a live message past last + 1 waits this long for the missing seqs before a catch-up is asked for.
REORDER_SECONDS = 0.3
READ_EVERY = 2.0  # each client moves its read markers to its last delivered seq this often
READ_FLUSH_WAIT = 30.0  # the server writes read markers within READ_FLUSH_SECONDS (1 s), later under load
RETRY_CODES = {"store_unavailable", "rate_limited", "internal", "not_joined"}
HTTP_TIMEOUT = 10.0  # a REST request not answered by then counts as lost with its connection (retried)
CHANGE_KINDS = ("edit", "delete", "react", "unreact")
MENTION_EVERY = 3  # with mention_users set, one new message in three names one of them (@user)


@dataclass
class SendRecord:
    """One message a client wants stored, under one client_id, across all its attempts."""

    client_id: str
    room: str
    body: str
    first_sent: float
    attempts: int = 0
    answered: int = 0  # attempts answered with ack or error
    lost: int = 0  # attempts whose connection died before any answer
    errors: list[str] = field(default_factory=list)
    acked_seq: int | None = None
    acked_id: str | None = None
    acked_at: float | None = None
    last_sent: float = 0.0
    in_flight: bool = False
    via: str = "ws"  # "rest": sent (and retried) with POST /api/v1/rooms/{room}/messages


@dataclass
class ChangeOp:
    """One edit, delete, react or unreact a client sent, and its answer."""

    kind: str
    room: str
    seq: int
    sent_at: float
    body: str | None = None
    emoji: str | None = None
    answered: bool = False
    lost: bool = False  # the connection died before the answer: it may or may not have been applied
    change_seq: int | None = None
    changed: bool | None = None
    error: str | None = None
    via: str = "ws"


class LoadClient:
    """One user's socket: sends at `rate`/s round-robin over `rooms`, reconnects to any of `servers`."""

    def __init__(self, name: str, cookie: str, servers: list, rooms: list[str], *, rate: float = 5.0,
                 retry_after: float = 0.5):
        self.name, self.cookie, self.servers, self.rooms = name, cookie, list(servers), list(rooms)
        self.rate, self.retry_after = rate, retry_after
        self.reorder_seconds = REORDER_SECONDS  # 0: the old rule (catch up at once on seq > last + 1, no timer)
        self.body_size = 0  # pad bodies to this many characters (slow-consumer scenario)
        self.sends: dict[str, SendRecord] = {}
        self.base: dict[str, int] = {}  # last_seq when first joined: everything after must be delivered
        self.last: dict[str, int] = {}  # last contiguous seq delivered
        self.delivered: dict[str, list[tuple[int, str]]] = {r: [] for r in rooms}  # (seq, id) in order
        self.buffered: dict[str, dict[int, dict]] = {r: {} for r in rooms}
        self.catching_up: set[str] = set()
        self.raw_duplicates = 0
        self.gaps_detected = 0  # gaps still open when the reorder window ended (each asked a catch-up)
        self.gaps_reordered = 0  # gaps filled live within the reorder window (no catch-up needed)
        self.catchup_requests = 0  # every catchup frame sent (gap, heads, final sync)
        self.heads_frames: list[float] = []  # when `heads` frames arrived (the channel layer came back)
        self._gap_timers: dict[str, asyncio.TimerHandle] = {}
        self.user: str | None = None  # from `hello`
        self.read_sent: dict[str, int] = {}  # the highest read marker sent per room (re-sent after a rejoin)
        self.read_seen: dict[str, int] = {}  # the highest marker the server told (joined, `read` echoes)
        # Changes (issue 13): every `mutate_every`-th tick edits, reacts to, unreacts or deletes one of the
        # client's own acked messages instead of sending; the client keeps every message's current state
        # and the room's change cursor exactly as docs/protocol.md asks (update / changes / after_change).
        self.mutate_every = 0
        self.state: dict[str, dict[int, dict]] = {r: {} for r in rooms}
        self.change_cursor: dict[str, int] = {}  # highest contiguous change_seq applied
        self.changes_seen: dict[str, set[int]] = {r: set() for r in rooms}
        self.changes_pending: set[str] = set()
        self.change_gaps = 0
        self.ops: list[ChangeOp] = []
        # REST (issue 15 in issue 17's load): with a token, every `rest_every`-th new message and change goes
        # over the HTTP API to one of `servers` (the next one after a failure), retried like socket sends.
        self.rest_token: str | None = None
        self.rest_every = 0
        self._http: httpx.AsyncClient | None = None
        self._rest_server = 0
        # Mentions: with `mention_users`, one new message in MENTION_EVERY names one of them.
        self.mention_users: list[str] = []
        # Socket changes waiting for their answer: edits and deletes by client_id, reactions by (kind, room,
        # seq) in order (a socket's frames are answered in order). An answer that matches none is counted.
        self._ops_in_flight: dict[tuple, list[ChangeOp]] = {}
        self.unmatched_change_answers: list[dict] = []
        self.filled_from_store = 0
        self.live_stamps: list[float] = []  # when messages were delivered from the live fan-out
        self.live_arrivals: list[tuple[float, str, int]] = []  # (time, room, seq) of every live `message`
        self.reconnects = 0
        self.close_codes: list[int | None] = []
        self.connected_at: list[float] = []
        self.ws: ClientConnection | None = None
        self.ready = asyncio.Event()
        self._joined: set[str] = set()
        self._sending = True
        self._stop = False
        self._counter = itertools.count(1)
        self._tasks: list[asyncio.Task] = []
        self._server_index = 0

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect and join every room (raises if the first connection fails)."""
        if self.rest_token:
            self._http = httpx.AsyncClient(headers={"Authorization": f"Bearer {self.rest_token}"},
                                           timeout=HTTP_TIMEOUT, trust_env=False)
        await self._connect()
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._sender()),
                       asyncio.create_task(self._reader())]
        await asyncio.wait_for(self.ready.wait(), OPEN_TIMEOUT)

    def stop_sending(self) -> None:
        """No new messages from now on (retries of unacked ones go on)."""
        self._sending = False

    async def drain(self, seconds: float) -> bool:
        """Wait until every send is acked and every change answered (or lost with its connection); True when
        that happened within `seconds`."""
        self.stop_sending()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if (all(r.acked_seq is not None for r in self.sends.values())
                    and all(op.answered or op.lost for op in self.ops)):
                return True
            await asyncio.sleep(0.1)
        return False

    async def sync(self, last_seqs: dict[str, int], seconds: float) -> bool:
        """Ask for a final catch-up and wait until every room is delivered up to `last_seqs` (and, with
        changes, until a final `changes` catch-up of every room came back)."""
        deadline = time.monotonic() + seconds
        if self.mutate_every and self.ready.is_set():
            for room in self.rooms:
                if room not in self.changes_pending:
                    await self._request_changes(room)
            for _ in range(int(seconds * 10)):
                if not self.changes_pending or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
        asked: set[str] = set()
        while time.monotonic() < deadline:
            behind = [r for r in self.rooms if self.last.get(r, 0) < last_seqs.get(r, 0)]
            if not behind:
                return True
            for room in behind:
                if self.ready.is_set() and room not in asked and room not in self.catching_up:
                    asked.add(room)
                    await self._request_catchup(room)
            await asyncio.sleep(0.1)
            asked = {r for r in asked if r in self.catching_up}
        return False

    async def close(self) -> None:
        """Stop every task and close the socket."""
        self._stop = True
        for timer in self._gap_timers.values():
            timer.cancel()
        tasks = list(self._tasks)  # REST tasks drop out of the list when done
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._http is not None:
            await self._http.aclose()

    # ------------------------------------------------------------ connection
    async def _connect(self) -> None:
        server = self.servers[self._server_index % len(self.servers)]
        self.ready.clear()
        self._joined.clear()
        ws = await connect(server.ws_url, origin=server.origin, additional_headers={"Cookie": self.cookie},
                           proxy=None, compression=None, open_timeout=OPEN_TIMEOUT, max_size=2**22)
        hello = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        assert hello["type"] == "hello", hello
        self.user = hello["user"]
        self.ws = ws
        self.connected_at.append(time.monotonic())
        for room in self.rooms:
            frame: dict = {"type": "join", "room": room}
            if room in self.last:
                frame["after"] = self.last[room]
                self.catching_up.add(room)
            if self.mutate_every and room in self.change_cursor:
                frame["after_change"] = self.change_cursor[room]
                self.changes_pending.add(room)
            await ws.send(json.dumps(frame))

    async def _run(self) -> None:
        while not self._stop:
            ws = self.ws
            try:
                async for raw in ws:
                    await self._on_frame(json.loads(raw))
                self.close_codes.append(ws.close_code)
            except ConnectionClosed:
                self.close_codes.append(ws.close_code)
            self.ready.clear()
            self.catching_up.clear()
            self.changes_pending.clear()
            for pending in self._ops_in_flight.values():
                for op in pending:
                    op.lost = True
            self._ops_in_flight.clear()
            for record in self.sends.values():
                if record.in_flight:
                    record.in_flight = False
                    record.lost += 1
            await self._reconnect()

    async def _reconnect(self) -> None:
        delay = 0.1
        while not self._stop:
            self._server_index += 1  # try the next server first: ours may be the one that died
            try:
                await self._connect()
                self.reconnects += 1
                return
            except Exception:  # refused, reset, timed out: try the next server
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    # ------------------------------------------------------------ frames in
    async def _on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "joined":
            room = frame["room"]
            self.base.setdefault(room, frame["last_seq"])
            self.last.setdefault(room, frame["last_seq"])
            self._joined.add(room)
            self.change_cursor.setdefault(room, frame.get("last_change_seq", 0))
            self._saw_read(room, frame.get("last_read_seq", 0))
            if room in self.read_sent:  # a marker sent to a process that died before storing it: again
                await self._send_read(room, self.read_sent[room])
            if self._joined >= set(self.rooms):
                self.ready.set()
        elif kind == "read":
            self._saw_read(frame["room"], frame["seq"])
        elif kind == "ack":
            record = self.sends.get(frame["client_id"])
            if record is not None and record.acked_seq is None:
                record.acked_seq, record.acked_id, record.acked_at = frame["seq"], frame["id"], time.monotonic()
            if record is not None and record.in_flight:
                record.in_flight, record.answered = False, record.answered + 1
        elif kind == "error" and frame.get("ref") in CHANGE_KINDS:
            op = self._answered_op(frame)
            if op is not None:
                op.answered, op.error = True, frame["code"]
        elif kind == "error":
            record = self.sends.get(frame.get("client_id") or "")
            if record is not None:
                record.errors.append(frame["code"])
                if record.in_flight:
                    record.in_flight, record.answered = False, record.answered + 1
            elif frame.get("ref") in ("catchup", "join") and frame.get("room") in self.catching_up:
                self.catching_up.discard(frame["room"])  # asked again by the gap logic or sync()
        elif kind == "message":
            self.live_arrivals.append((time.monotonic(), frame["message"]["room"], frame["message"]["seq"]))
            self._receive(frame["message"], from_store=False)
            await self._maybe_fill(frame["message"]["room"])
        elif kind == "catchup":
            room = frame["room"]
            for message in frame["messages"]:
                self._receive(message, from_store=True)
            if not frame["has_more"]:
                self.catching_up.discard(room)
                await self._maybe_fill(room)
        elif kind == "heads":
            self.heads_frames.append(time.monotonic())
            for room, head in frame["rooms"].items():
                if room in self.last and head["last_seq"] > self.last[room] and room not in self.catching_up:
                    await self._request_catchup(room)
                if (self.mutate_every and room in self.change_cursor and room not in self.changes_pending
                        and head.get("last_change_seq", 0) > self.change_cursor[room]):
                    await self._request_changes(room)
        elif kind == "update":
            message = frame["message"]
            self._apply(message)
            await self._saw_change(message["room"], message.get("change_seq", 0))
        elif kind == "changes":
            room = frame["room"]
            for message in frame["messages"]:
                self._apply(message)
                self.changes_seen[room].add(message.get("change_seq", 0))
            if not frame["has_more"]:
                # Every change up to the head read is in the state now (pages carry current states).
                self.change_cursor[room] = max(self.change_cursor.get(room, 0), frame["last_change_seq"])
                self.changes_pending.discard(room)
                await self._saw_change(room, 0)
        elif kind == "changed":
            op = self._answered_op(frame)
            if op is not None:
                op.answered, op.change_seq, op.changed = True, frame.get("change_seq"), frame.get("changed")

    def _answered_op(self, frame: dict) -> ChangeOp | None:
        """The change op a `changed` or `error` frame answers (None, and counted, when none waits for it)."""
        key = ("cid", frame["client_id"]) if frame.get("client_id") else (frame["ref"], frame.get("room"),
                                                                            frame.get("seq"))
        pending = self._ops_in_flight.get(key)
        if not pending:
            self.unmatched_change_answers.append(frame)
            return None
        return pending.pop(0)

    def _receive(self, message: dict, *, from_store: bool) -> None:
        room, seq = message["room"], message["seq"]
        if room not in self.last:
            return
        self._apply(message)
        if seq <= self.last[room] or seq in self.buffered[room]:
            if any(s == seq for s, _ in self.delivered[room][-50:]) or seq in self.buffered[room]:
                self.raw_duplicates += 1  # seen twice on the wire; the client shows it once
            return
        self.buffered[room][seq] = message
        while self.last[room] + 1 in self.buffered[room]:
            item = self.buffered[room].pop(self.last[room] + 1)
            self.delivered[room].append((item["seq"], item["id"]))
            self.last[room] = item["seq"]
            self.filled_from_store += from_store
            if not from_store:
                self.live_stamps.append(time.monotonic())

    async def _maybe_fill(self, room: str) -> None:
        """A gap (seq > last + 1) waits REORDER_SECONDS for the missing seqs, then is filled from Ignite."""
        if not self.buffered[room]:
            timer = self._gap_timers.pop(room, None)
            if timer is not None:
                timer.cancel()
                self.gaps_reordered += 1
            return
        if room not in self.catching_up and self.reorder_seconds <= 0:  # the old rule: ask at once
            self.gaps_detected += 1
            await self._request_catchup(room)
            return
        if room not in self.catching_up and room not in self._gap_timers:
            loop = asyncio.get_running_loop()
            self._gap_timers[room] = loop.call_later(self.reorder_seconds,
                                                     lambda: loop.create_task(self._gap_due(room)))

    async def _gap_due(self, room: str) -> None:
        self._gap_timers.pop(room, None)
        if self.buffered[room] and room not in self.catching_up and not self._stop:
            self.gaps_detected += 1
            await self._request_catchup(room)

    async def _request_catchup(self, room: str) -> None:
        self.catchup_requests += 1
        self.catching_up.add(room)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps({"type": "catchup", "room": room, "after": self.last[room]}))

    def _apply(self, message: dict) -> None:
        """Keep the newest state of a message (a higher change_seq wins; equal: the later frame)."""
        states = self.state.get(message["room"])
        if states is None:
            return
        known = states.get(message["seq"])
        if known is None or message.get("change_seq", 0) >= known.get("change_seq", 0):
            states[message["seq"]] = message

    async def _saw_change(self, room: str, change_seq: int) -> None:
        """Advance the change cursor; a gap asks for `changes` at once (static/chat/changes.js first waits the
        300 ms reorder window, docs/protocol.md; asking at once only asks the server more often)."""
        if room not in self.change_cursor:
            return
        seen = self.changes_seen[room]
        if change_seq:
            seen.add(change_seq)
        while self.change_cursor[room] + 1 in seen:
            self.change_cursor[room] += 1
        if any(c > self.change_cursor[room] for c in seen) and room not in self.changes_pending:
            self.change_gaps += 1
            await self._request_changes(room)

    async def _request_changes(self, room: str) -> None:
        self.changes_pending.add(room)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps({"type": "catchup", "room": room, "after_change": self.change_cursor[room]}))

    async def _mutate(self, n: int) -> bool:
        """One change to one of this client's own acked, not deleted messages; False when there is none."""
        mine = [r for r in self.sends.values() if r.acked_seq is not None
                and not self.state[r.room].get(r.acked_seq, {}).get("deleted", True)]
        if not mine:
            return False
        record = mine[n * 7919 % len(mine)]
        room, seq = record.room, record.acked_seq
        kind = ("edit", "react", "edit", "unreact", "react", "delete")[n % 6] if n % 37 else "delete"
        frame: dict = {"type": kind, "room": room, "seq": seq}
        op = ChangeOp(kind, room, seq, time.monotonic())
        if kind == "edit":
            frame["body"] = op.body = f"{self.name} edit {n}"
        if kind in ("edit", "delete"):
            frame["client_id"] = f"{self.name}-x{n}"
        if kind in ("react", "unreact"):
            frame["emoji"] = op.emoji = ("👍", "🎉", "👀")[n % 3]
        self.ops.append(op)
        if self._http is not None and self.rest_every and n % self.rest_every == 0:
            op.via = "rest"
            self._spawn_rest(self._change_rest(op, frame))
            return True
        key = ("cid", frame["client_id"]) if "client_id" in frame else (kind, room, seq)
        self._ops_in_flight.setdefault(key, []).append(op)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(frame))
        return True

    def _saw_read(self, room: str, seq: int) -> None:
        self.read_seen[room] = max(self.read_seen.get(room, 0), seq)

    def read_marker(self, room: str) -> int:
        """What this client shows as its read marker: the highest it sent or was told."""
        return max(self.read_sent.get(room, 0), self.read_seen.get(room, 0))

    # ------------------------------------------------------------ frames out
    async def _reader(self) -> None:
        while not self._stop:
            await asyncio.sleep(READ_EVERY)
            if not self.ready.is_set():
                continue
            for room in self.rooms:
                if self.last.get(room, 0) > self.read_sent.get(room, 0):
                    self.read_sent[room] = self.last[room]
                    await self._send_read(room, self.last[room])

    async def _send_read(self, room: str, seq: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps({"type": "read", "room": room, "seq": seq}))

    async def _sender(self) -> None:
        period = 1.0 / self.rate
        rooms = itertools.cycle(self.rooms)
        while not self._stop:
            await asyncio.sleep(period)
            if not self.ready.is_set():
                continue
            now = time.monotonic()
            retry = next((r for r in self.sends.values() if r.acked_seq is None and not r.in_flight
                          and now - r.last_sent > self.retry_after), None)
            if retry is not None:
                await self._send(retry)
            elif self._sending:
                n = next(self._counter)
                if self.mutate_every and n % self.mutate_every == 0 and await self._mutate(n):
                    continue
                room = next(rooms)
                body = f"{self.name} #{n} "
                if self.mention_users and n % MENTION_EVERY == 0:
                    body += f"@{self.mention_users[n // MENTION_EVERY % len(self.mention_users)]} "
                record = SendRecord(f"{self.name}-{n}", room, body.ljust(self.body_size, "x"), now)
                if self._http is not None and self.rest_every and n % self.rest_every == 1:
                    record.via = "rest"
                self.sends[record.client_id] = record
                await self._send(record)

    async def _send(self, record: SendRecord) -> None:
        record.attempts += 1
        record.in_flight = True
        record.last_sent = time.monotonic()
        if record.via == "rest":
            self._spawn_rest(self._send_rest(record))
            return
        frame = {"type": "send", "room": record.room, "body": record.body, "client_id": record.client_id}
        try:
            await self.ws.send(json.dumps(frame))
        except ConnectionClosed:
            pass  # counted as lost by the reader when it sees the close


    # ------------------------------------------------------------ REST
    def _spawn_rest(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.append(task)
        task.add_done_callback(lambda t: t in self._tasks and self._tasks.remove(t))

    async def _rest(self, method: str, path: str, **kwargs) -> tuple[int, dict] | None:
        """One API request to the current server; None when it got no answer (the next one is tried later)."""
        server = self.servers[self._rest_server % len(self.servers)]
        try:
            answer = await self._http.request(method, server.origin + "/api/v1" + path, **kwargs)
            return answer.status_code, answer.json()
        except (httpx.HTTPError, ValueError):
            self._rest_server += 1
            return None

    async def _send_rest(self, record: SendRecord) -> None:
        """POST the message; 201 stored now, 200 stored by an earlier attempt (the same client_id)."""
        answer = await self._rest("POST", f"/rooms/{record.room}/messages",
                                  json={"body": record.body, "client_id": record.client_id})
        record.in_flight = False
        if answer is None:
            record.lost += 1
            return
        status, data = answer
        record.answered += 1
        if status in (200, 201):
            if record.acked_seq is None:
                record.acked_seq, record.acked_id, record.acked_at = data["seq"], data["id"], time.monotonic()
        else:
            record.errors.append(data.get("code", f"http_{status}"))

    async def _change_rest(self, op: ChangeOp, frame: dict) -> None:
        """The change over HTTP (PATCH edit, DELETE message, PUT/DELETE reaction); answered like `changed`."""
        path = f"/rooms/{op.room}/messages/{op.seq}"
        if op.kind == "edit":
            answer = await self._rest("PATCH", path, json={"body": op.body, "client_id": frame["client_id"]})
        elif op.kind == "delete":
            answer = await self._rest("DELETE", path, params={"client_id": frame["client_id"]})
        else:
            emoji = urllib.parse.quote(op.emoji or "", safe="")
            answer = await self._rest("PUT" if op.kind == "react" else "DELETE", f"{path}/reactions/{emoji}")
        if answer is None:
            op.lost = True
            return
        status, data = answer
        op.answered = True
        if status == 200:
            op.change_seq, op.changed = data["change_seq"], data["changed"]
        else:
            op.error = data.get("code", f"http_{status}")


# ---------------------------------------------------------------- checker

def stored_history(store, room: str) -> list:
    """Every stored message of `room`, ascending seq, straight from Ignite."""
    messages, after = [], 0
    while True:
        page = store.after(room, after, 5000)
        messages += page.messages
        if not page.has_more or not page.messages:
            return messages
        after = page.messages[-1].seq


@dataclass
class Report:
    """Figures and violations of one run."""

    figures: dict
    violations: list[str]

    def assert_ok(self) -> None:
        """Fail with every violation listed."""
        assert not self.violations, "\n".join(self.violations[:40]) + f"\nfigures: {self.figures}"


def check(store, clients: list[LoadClient], rooms: list[str], *, synced: list[LoadClient] | None = None,
          outsiders: set[str] = frozenset()) -> Report:
    """Verify issue 6's properties from Ignite and the client logs.

    `synced` are the clients that stayed subscribed or caught up (default: all); `outsiders` are
    client_ids stored by something other than these clients (e.g. the slow consumer's own sends).
    """
    synced = clients if synced is None else synced
    violations: list[str] = []
    history = {room: stored_history(store, room) for room in rooms}
    sends = {cid: rec for c in clients for cid, rec in c.sends.items()}
    stored_by_cid: dict[tuple[str, str], object] = {}
    duplicates = phantoms = 0
    for room, messages in history.items():
        seqs = [m.seq for m in messages]
        if seqs != list(range(1, len(seqs) + 1)):
            violations.append(f"{room}: stored seqs are not 1..{len(seqs)}: {seqs[:20]}...")
        for m in messages:
            key = (room, m.client_id)
            if key in stored_by_cid:
                duplicates += 1
                violations.append(f"{room}: client_id {m.client_id} stored twice (seq {m.seq})")
            stored_by_cid[key] = m
            rec = sends.get(m.client_id)
            if m.client_id not in outsiders and (rec is None or rec.room != room
                                                 or _sent_body(store, m) not in (rec.body, None)):
                phantoms += 1
                violations.append(f"{room}: seq {m.seq} ({m.client_id!r}) was stored but no client sent it")
    lost = unanswered = stored_unacked = 0
    for rec in sends.values():
        stored = stored_by_cid.get((rec.room, rec.client_id))
        if rec.acked_seq is not None:
            if stored is None:
                lost += 1
                violations.append(f"acked {rec.client_id} (seq {rec.acked_seq}) is not stored")
            elif (stored.seq, stored.id) != (rec.acked_seq, rec.acked_id):
                violations.append(f"acked {rec.client_id} as seq {rec.acked_seq} but stored as {stored.seq}")
        elif stored is not None:
            stored_unacked += 1  # committed, answer lost with the connection: allowed, delivered by seq
        silent = rec.attempts - rec.answered - rec.lost - (1 if rec.in_flight else 0)
        if rec.acked_seq is None and not rec.errors and not rec.lost:
            unanswered += 1
            violations.append(f"{rec.client_id}: never acked, no error frame and no lost connection")
        elif silent > 0:
            unanswered += 1
            violations.append(f"{rec.client_id}: {silent} attempt(s) got no answer on a live socket")
    missed = delivered_dups = 0
    for client in synced:
        for room in rooms:
            got = client.delivered.get(room, [])
            base = client.base.get(room, 0)
            want = [(m.seq, m.id) for m in history[room] if m.seq > base]
            if got != want:
                got_seqs = [s for s, _ in got]
                delivered_dups += len(got_seqs) - len(set(got_seqs))
                missing = sorted({s for s, _ in want} - set(got_seqs))
                missed += len(missing)
                violations.append(f"{client.name}/{room}: delivered {len(got)} of {len(want)} after seq {base}; "
                                  f"missing {missing[:10]}")
    markers_checked = markers_diverged = 0
    for client in clients:
        for room, sent in client.read_sent.items():
            membership = run_sync(store.amembership(room, client.user))
            stored = membership.last_read_seq if membership else None
            markers_checked += 1
            if stored != sent or client.read_marker(room) != stored:
                markers_diverged += 1
                violations.append(f"{client.name}/{room}: read marker sent {sent}, shown "
                                  f"{client.read_marker(room)}, stored {stored}")
    change_figures = check_changes(store, clients, synced, history, violations)
    mention_figures = check_mentions(store, clients, synced, rooms, violations)
    acked = [r for r in sends.values() if r.acked_seq is not None]
    rest = [r for r in sends.values() if r.via == "rest"]
    latencies = sorted(r.acked_at - r.first_sent for r in acked)
    figures = {
        "sent": len(sends),
        "attempts": sum(r.attempts for r in sends.values()),
        "acked": len(acked),
        "rest_sends": len(rest),
        "rest_acked": sum(r.acked_seq is not None for r in rest),
        "error_frames": sum(len(r.errors) for r in sends.values()),
        "error_codes": sorted({code for r in sends.values() for code in r.errors}),
        "attempts_lost_with_connection": sum(r.lost for r in sends.values()),
        "stored": sum(len(v) for v in history.values()),
        "stored_unacked": stored_unacked,
        "acked_lost": lost,
        "stored_duplicates": duplicates,
        "phantoms": phantoms,
        "unanswered": unanswered,
        "missed_by_clients": missed,
        "delivered_duplicates": delivered_dups,
        "wire_duplicates_dropped": sum(c.raw_duplicates for c in clients),
        "gaps_detected": sum(c.gaps_detected for c in clients),
        "gaps_reordered_in_window": sum(c.gaps_reordered for c in clients),
        "catchup_requests": sum(c.catchup_requests for c in clients),
        "filled_from_ignite": sum(c.filled_from_store for c in clients),
        "reconnects": sum(c.reconnects for c in clients),
        **change_figures,
        **mention_figures,
        "read_markers_checked": markers_checked,
        "read_markers_diverged": markers_diverged,
        "ack_p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "ack_max_ms": round(1000 * latencies[-1], 1) if latencies else None,
    }
    return Report(figures, violations)


def _sent_body(store, message) -> str | None:
    """The body a message was sent with: its first version when it was edited since (None: deleted
    without a version kept, nothing to compare)."""
    if not message.change_seq:
        return message.body
    versions = sorted(store.versions(message.room, message.seq), key=lambda v: v.replaced_by)
    if versions:
        return versions[0].body
    return None if message.deleted else message.body


def wait_for_read_markers(store, clients: list[LoadClient], timeout: float) -> float | None:
    """Wait until Ignite holds every read marker the clients sent (the server writes them at most once a
    second, later under load); seconds waited, or None on timeout (check() then reports them)."""
    started = time.monotonic()
    wanted = [(room, client.user, seq) for client in clients for room, seq in client.read_sent.items()]
    while True:
        behind = [(room, user, seq) for room, user, seq in wanted
                  if (getattr(run_sync(store.amembership(room, user)), "last_read_seq", None) or 0) < seq]
        if not behind:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            return None
        wanted = behind
        time.sleep(0.5)


def _view(message: dict) -> tuple:
    """What a reader sees of a message: body, tombstone, reactions (emoji -> users)."""
    reactions = tuple(sorted((r["emoji"], tuple(r["users"])) for r in message.get("reactions") or ()))
    return message["body"], bool(message["deleted"]), reactions


def check_changes(store, clients: list[LoadClient], synced: list[LoadClient], history: dict,
                  violations: list[str]) -> dict:
    """Issue 17's checks of edits, deletions and reactions (clients with mutate_every set); {} when none."""
    ops = [(client, op) for client in clients for op in client.ops]
    if not ops:
        return {}
    stored = {(m.room, m.seq): m for messages in history.values() for m in messages}
    acked = [(c, op) for c, op in ops if op.answered and op.error is None]
    applied = [(c, op) for c, op in acked if op.changed]
    by_change: dict[tuple[str, int], ChangeOp] = {}
    for _, op in applied:
        key = (op.room, op.change_seq or 0)
        if key in by_change:
            violations.append(f"{op.room}: change_seq {op.change_seq} acked twice ({by_change[key].kind}, {op.kind})")
        by_change[key] = op
    for client, op in applied:
        message = stored.get((op.room, op.seq))
        if message is None:
            violations.append(f"{client.name}: acked {op.kind} of a message not stored ({op.room} {op.seq})")
            continue
        if message.change_seq < (op.change_seq or 0):
            violations.append(f"{client.name}: acked {op.kind} change {op.change_seq} is newer than the stored "
                              f"message's change {message.change_seq} ({op.room} {op.seq})")
        if op.kind == "delete" and not (message.deleted and message.body == ""):
            violations.append(f"{client.name}: acked delete of {op.room} {op.seq} is not a tombstone")
        if op.kind == "edit":
            versions = store.versions(op.room, op.seq)
            bodies = [v.body for v in versions] + [message.body]
            count = bodies.count(op.body)
            if count > 1 or (count == 0 and not message.deleted):
                others = sorted((o.change_seq or 0, o.kind, o.body or o.emoji) for _, o in applied
                                if (o.room, o.seq) == (op.room, op.seq))
                violations.append(f"{client.name}: acked edit of {op.room} {op.seq} is stored {count} times "
                                  f"(edit {op.body!r} change {op.change_seq}; stored {message.body!r} change "
                                  f"{message.change_seq}; versions {[(v.replaced_by, v.body) for v in versions]}; "
                                  f"acked changes of the message {others})")
    for client in clients:  # own reactions: the acked ones decide, unless one was lost with a connection
        doubtful = {(op.room, op.seq, op.emoji) for op in client.ops if op.emoji and not op.answered}
        final: dict[tuple[str, int, str], bool] = {}
        for op in sorted((op for op in client.ops if op.emoji and op.answered and op.error is None),
                         key=lambda op: op.sent_at):
            final[(op.room, op.seq, op.emoji)] = op.kind == "react"
        for (room, seq, emoji), on in final.items():
            message = stored.get((room, seq))
            if (room, seq, emoji) in doubtful or message is None or message.deleted:
                continue
            has = any(r.emoji == emoji and client.user in r.users for r in message.reactions)
            if has != on:
                violations.append(f"{client.name}: {room} {seq} {emoji} should be {'on' if on else 'off'}")
    for client in clients:
        violations += [f"{client.name}: an answer matched no change in flight: {frame}"
                       for frame in client.unmatched_change_answers]
    heads = {room: store.last_change_seq(room) for room in history}
    behind = [(c.name, room, c.change_cursor.get(room), head) for c in synced if c.mutate_every
              for room, head in heads.items() if c.change_cursor.get(room, 0) != head]
    violations += [f"{name}/{room}: change cursor {cursor}, the room's last change is {head}"
                   for name, room, cursor, head in behind]
    for room, head in heads.items():
        beyond = [op.change_seq for _, op in applied if op.room == room and (op.change_seq or 0) > head]
        if beyond:
            violations.append(f"{room}: acked change_seqs {beyond} beyond the stored last change {head}")
    diverged = 0
    for client in synced:
        for room, states in client.state.items():
            base = client.base.get(room, 0)
            for seq, seen in states.items():
                message = stored.get((room, seq))
                if seq > base and message is not None and _view(seen) != _view(message.to_dict()):
                    diverged += 1
                    violations.append(f"{client.name}/{room} {seq}: shows {_view(seen)}, stored "
                                      f"{_view(message.to_dict())}")
    return {"change_ops": len(ops), "change_ops_acked": len(acked), "change_ops_applied": len(applied),
            "change_ops_over_rest": sum(op.via == "rest" for _, op in ops),
            "last_change_seqs": sum(heads.values()),
            "change_ops_lost_with_connection": sum(op.lost for _, op in ops),
            "change_errors": sorted({op.error for _, op in ops if op.error}),
            "change_gaps": sum(c.change_gaps for c in clients), "messages_diverged": diverged}


def check_mentions(store, clients: list[LoadClient], synced: list[LoadClient], rooms: list[str],
                   violations: list[str]) -> dict:
    """Each client's mention count per room (messages after its read marker that name it, not deleted, in the
    state it shows) equals the one stored (the room list's `mentions`); {} when no client mentions anyone."""
    if not any(c.mention_users for c in clients):
        return {}
    checked = diverged = total = 0
    for client in synced:
        stored = {entry.room.id: entry.mentions for entry in run_sync(store.auser_rooms(client.user))}
        for room in rooms:
            marker = client.read_marker(room)
            shown = sum(1 for seq, m in client.state.get(room, {}).items()
                        if seq > marker and not m["deleted"] and client.user in (m.get("mentions") or ()))
            checked += 1
            total += stored.get(room, 0)
            if shown != stored.get(room, 0):
                diverged += 1
                violations.append(f"{client.name}/{room}: shows {shown} mentions after its read marker {marker}, "
                                  f"stored {stored.get(room)}")
    return {"mention_counts_checked": checked, "mentions_unread_stored": total, "mention_counts_diverged": diverged}


def reorder_profile(arrivals: list[tuple[float, str, int]], window: float) -> dict:
    """How out of order a live stream arrived, whatever rule the client ran: `gaps` is how many times a
    message arrived past the highest contiguous seq + 1 (each one a catch-up under the rule without a
    window), `open_past_window` how many of those gaps the live stream had not filled `window` later.
    Seqs that never arrived live are left out (they were filled from Ignite after a reconnect)."""
    gaps = open_past_window = 0
    by_room: dict[str, list[tuple[float, int]]] = {}
    for t, room, seq in arrivals:
        by_room.setdefault(room, []).append((t, seq))
    for stream in by_room.values():
        first = min(seq for _, seq in stream) - 1
        # Seqs that never arrived live (sent while the client reconnected, filled from Ignite) are not
        # reordering: count them as there from the start.
        live = {seq for _, seq in stream}
        seen: set[int] = set(range(first + 1, max(live) + 1)) - live
        contiguous, gap_at = first, None
        for t, seq in stream:
            if gap_at is not None and t - gap_at[0] > window:  # nothing filled it before this arrival
                open_past_window += 1
                gap_at = None
            seen.add(seq)
            while contiguous + 1 in seen:
                contiguous += 1
            if gap_at is not None and contiguous >= gap_at[1]:
                gap_at = None  # filled live within the window
            if gap_at is None and seq > contiguous + 1:
                gaps += 1
                gap_at = (t, seq - 1)  # open until everything below this seq arrived
    return {"gaps": gaps, "open_past_window": open_past_window}


def ack_stall(clients: list[LoadClient], fault_at: float) -> dict:
    """Recovery figures: first ack of a message first sent after the fault, and the longest ack gap."""
    acks = sorted(r.acked_at for c in clients for r in c.sends.values() if r.acked_at is not None)
    after = [r.acked_at for c in clients for r in c.sends.values()
             if r.acked_at is not None and r.first_sent >= fault_at]
    gaps = [b - a for a, b in itertools.pairwise(acks)]
    return {
        "first_new_ack_after_fault_s": round(min(after) - fault_at, 2) if after else None,
        "longest_ack_gap_s": round(max(gaps), 2) if gaps else None,
    }


# ---------------------------------------------------------------- membership churn

REVOCATION_DEADLINE = 2.0  # docs/protocol.md: a removed member's sockets stop receiving the room within 2 s


class MembershipChurn:
    """An owner who removes a member from a private room and invites them back, over and over, and that
    member's socket, which logs every frame of the room it receives.

    The check: after each removal was answered, no frame of the room reaches the removed member later
    than REVOCATION_DEADLINE until they are invited again (`violations()`). The member rejoins the room
    when told it is a member again (a `room` frame, or the `rooms` list after a reconnect).
    """

    def __init__(self, owner_cookie: str, member: str, member_cookie: str, servers: list, *, period: float = 1.5):
        self.owner_cookie, self.member, self.member_cookie = owner_cookie, member, member_cookie
        self.servers, self.period = list(servers), period
        self.room: str | None = None
        self.windows: list[tuple[float, float | None]] = []  # (removal answered, next invite sent)
        self.frames: list[tuple[float, str]] = []  # (arrival, type) of the room's frames at the member
        self.removals = self.invites = self.rejoins = self.member_reconnects = 0
        self.removed_frames: list[float] = []
        self._stop = False
        self._tasks: list[asyncio.Task] = []
        self._owner: ClientConnection | None = None
        self._member_ws: ClientConnection | None = None
        self._answers: asyncio.Queue = asyncio.Queue()

    async def create(self, invite: list[str]) -> str:
        """Create the private room (owner's first server) and invite `invite` and the member; return its id."""
        self._owner = await _open(self.servers[0], self.owner_cookie)
        self._tasks.append(asyncio.create_task(self._owner_reader()))
        await self._owner.send(json.dumps({"type": "create_room", "name": f"churn {uuid.uuid4().hex[:6]}",
                                           "kind": "private"}))
        created = await self._answer("created")
        self.room = created["room"]["room"]
        for user in [*invite, self.member]:
            await self._owner.send(json.dumps({"type": "invite", "room": self.room, "user": user}))
            await self._answer("invited")
        return self.room

    async def start(self) -> None:
        """Connect the member (joins the room) and start churning."""
        self._tasks += [asyncio.create_task(self._member_loop()), asyncio.create_task(self._churn())]

    async def close(self) -> None:
        self._stop = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        for ws in (self._owner, self._member_ws):
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _answer(self, kind: str) -> dict:
        deadline = time.monotonic() + 30.0
        while True:
            frame = await asyncio.wait_for(self._answers.get(), max(0.1, deadline - time.monotonic()))
            if frame.get("type") == kind:
                return frame
            if frame.get("type") == "error":
                raise RuntimeError(f"owner got {frame} waiting for {kind}")

    async def _owner_reader(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self._owner:
                frame = json.loads(raw)
                if frame.get("type") in ("created", "invited", "member_removed", "error"):
                    self._answers.put_nowait(frame)
        self._answers.put_nowait({"type": "error", "code": "connection_closed"})  # wakes _answer()

    async def _churn(self) -> None:
        while not self._stop:
            await asyncio.sleep(self.period)
            try:
                await self._owner.send(json.dumps({"type": "remove_member", "room": self.room, "user": self.member}))
                await self._answer("member_removed")
                self.windows.append((time.monotonic(), None))
                self.removals += 1
                await asyncio.sleep(self.period)
                self.windows[-1] = (self.windows[-1][0], time.monotonic())
                await self._owner.send(json.dumps({"type": "invite", "room": self.room, "user": self.member}))
                await self._answer("invited")
                self.invites += 1
            except (RuntimeError, TimeoutError, ConnectionClosed):
                if self.windows and self.windows[-1][1] is None:
                    self.windows[-1] = (self.windows[-1][0], time.monotonic())  # the owner may re-invite now
                await asyncio.sleep(0.5)  # the store or the owner's process is down: try again
                with contextlib.suppress(Exception):
                    if self._owner.close_code is not None:
                        self.servers.append(self.servers.pop(0))
                        self._owner = await _open(self.servers[0], self.owner_cookie)
                        self._tasks.append(asyncio.create_task(self._owner_reader()))

    async def _member_loop(self) -> None:
        index = 0
        while not self._stop:
            try:
                self._member_ws = ws = await _open(self.servers[index % len(self.servers)], self.member_cookie)
                async for raw in ws:
                    await self._member_frame(ws, json.loads(raw))
            except (OSError, ConnectionClosed, TimeoutError, AssertionError):
                pass
            index += 1
            self.member_reconnects += 1
            await asyncio.sleep(0.2)

    async def _member_frame(self, ws: ClientConnection, frame: dict) -> None:
        kind, now = frame.get("type"), time.monotonic()
        room = frame.get("room")
        if isinstance(room, dict):
            room = room.get("room")
        if kind == "message":
            room = frame["message"]["room"]
        if kind == "rooms":
            if any(entry["room"] == self.room for entry in frame["rooms"]):
                await ws.send(json.dumps({"type": "join", "room": self.room}))
            return
        if room != self.room:
            return
        if kind == "room":  # invited again (user channel)
            self.rejoins += 1
            await ws.send(json.dumps({"type": "join", "room": self.room}))
            return
        if kind == "removed":
            self.removed_frames.append(now)
            return
        if kind == "error":
            return  # e.g. a join that raced a removal
        self.frames.append((now, kind))

    def violations(self) -> list[str]:
        """Frames of the room that reached the member after a removal's deadline and before the next invite."""
        found = []
        for removed_at, invited_at in self.windows:
            end = invited_at if invited_at is not None else float("inf")
            late = [(t, kind) for t, kind in self.frames if removed_at + REVOCATION_DEADLINE < t < end]
            found += [f"removed member {self.member} got `{kind}` of {self.room} {t - removed_at:.2f} s after "
                      f"the removal" for t, kind in late]
        return found

    def figures(self) -> dict:
        return {"churn_removals": self.removals, "churn_invites": self.invites,
                "churn_member_frames": len(self.frames), "churn_removed_frames": len(self.removed_frames),
                "churn_member_reconnects": self.member_reconnects, "churn_violations": len(self.violations())}


async def _open(server, cookie: str) -> ClientConnection:
    ws = await connect(server.ws_url, origin=server.origin, additional_headers={"Cookie": cookie}, proxy=None,
                       compression=None, open_timeout=OPEN_TIMEOUT, max_size=2**22)
    hello = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
    assert hello["type"] == "hello", hello
    return ws
