"""The load generator: real WebSocket clients (asyncio + websockets), open loop at a target rate.

Every body carries the sender's index, a sequence number and the send time (perf_counter, same
process), so send->ack and send->delivery are measured without clock skew. Two targets speak
different protocols: the chat (docs/protocol.md: hello, join, send -> ack + message) and the seed
peer (raw text broadcast, room = URL path, no ack).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
from websockets.asyncio.client import connect

PAD = "x" * 60  # bodies of about 100 bytes, as in the reference measurements


def percentiles(values: list[float]) -> dict:
    """p50/p95/p99/max (ms) of latencies in seconds; None values when there are none."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000, 2)

    return {"n": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99),
            "max": round(ordered[-1] * 1000, 2)}


@dataclass
class Target:
    """Where clients connect: the chat on some Daphne processes, or the seed peer."""

    kind: str  # "chat" or "seed"
    urls: list[str]  # one per server process; clients are spread round robin
    origins: list[str]


@dataclass
class Client:
    index: int
    room: str
    ws: object = None
    reader: asyncio.Task | None = None


@dataclass
class Stats:
    sent: dict[str, float] = field(default_factory=dict)  # token -> send time
    room_of: dict[str, str] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    deliveries: list[float] = field(default_factory=list)
    delivered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    send_failures: int = 0
    last_delivery: float = 0.0
    closed: int = 0


class Swarm:
    """A set of connected clients, each in one room."""

    def __init__(self, target: Target, rooms: list[str], count: int, cookies: list[str]):
        self.target = target
        self.clients = [Client(i, rooms[i % len(rooms)]) for i in range(count)]
        self.cookies = cookies
        self.members: dict[str, int] = defaultdict(int)
        for client in self.clients:
            self.members[client.room] += 1
        self.stats = Stats()

    async def connect(self, concurrency: int = 50) -> None:
        """Connect (and join) every client; raise if any fails."""
        gate = asyncio.Semaphore(concurrency)

        async def one(client: Client) -> None:
            async with gate:
                await self._connect(client)

        await asyncio.gather(*(one(c) for c in self.clients))

    async def _connect(self, client: Client) -> None:
        server = client.index % len(self.target.urls)
        url, origin = self.target.urls[server], self.target.origins[server]
        # Peers that speak the chat's protocol without sessions get no cookies.
        headers = {"Cookie": self.cookies[client.index % len(self.cookies)]} if self.cookies else {}
        if self.target.kind == "seed":
            url = f"{url}/{client.room}"
        ws = await connect(url, origin=origin, additional_headers=headers, max_size=2**22, open_timeout=60,
                           ping_interval=None, compression=None, max_queue=None)
        client.ws = ws
        if self.target.kind == "chat":
            hello = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
            if hello.get("type") != "hello":
                raise RuntimeError(f"expected hello, got {hello}")
            # The rooms frame follows hello; it and any room/member frames are read and skipped below.
            await ws.send(orjson.dumps({"type": "join", "room": client.room}).decode())
            while True:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("type") == "joined":
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(f"join refused: {frame}")
        client.reader = asyncio.get_running_loop().create_task(self._read(client))

    async def _read(self, client: Client) -> None:
        chat = self.target.kind == "chat"
        try:
            async for text in client.ws:
                now = time.perf_counter()
                stats = self.stats  # replaced by reset() at every step
                if chat:
                    frame = orjson.loads(text)
                    kind = frame.get("type")
                    if kind == "message":
                        token = frame["message"]["client_id"]
                    elif kind == "ack":
                        sent = stats.sent.get(frame["client_id"])
                        if sent is not None:
                            stats.acks.append(now - sent)
                        continue
                    elif kind == "error":
                        stats.errors[frame.get("code", "?")] += 1
                        continue
                    else:
                        continue
                else:
                    token = text.split("|", 1)[0]
                sent = stats.sent.get(token)
                if sent is not None:
                    stats.deliveries.append(now - sent)
                    stats.delivered[token] += 1
                    stats.last_delivery = now
        except Exception:
            pass
        finally:
            self.stats.closed += 1

    def reset(self) -> None:
        self.stats = Stats()

    async def run(self, rate: float, seconds: float, senders: list[int] | None = None, drain: float = 3.0,
                  tag: str = "m") -> dict:
        """Send `rate` msg/s for `seconds` (open loop, round robin over `senders`); measure."""
        self.reset()
        stats = self.stats
        senders = senders if senders is not None else list(range(len(self.clients)))
        total = max(1, int(rate * seconds))
        interval = 1.0 / rate
        chat = self.target.kind == "chat"
        start = time.perf_counter()
        late = 0.0
        for n in range(total):
            due = start + n * interval
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                late = max(late, now - due)
            client = self.clients[senders[n % len(senders)]]
            token = f"{tag}{n}-{client.index}"
            sent_at = time.perf_counter()
            stats.sent[token] = sent_at
            stats.room_of[token] = client.room
            body = f"{token}|{sent_at:.6f}|{PAD}"
            text = orjson.dumps({"type": "send", "room": client.room, "body": body, "client_id": token}).decode() \
                if chat else body
            try:
                await client.ws.send(text)
            except Exception:
                stats.send_failures += 1
        send_seconds = time.perf_counter() - start
        expected = sum(self.members[stats.room_of[t]] for t in stats.sent)
        deadline = time.perf_counter() + drain
        while time.perf_counter() < deadline and len(stats.deliveries) < expected:  # noqa: ASYNC110 (bounded poll)
            await asyncio.sleep(0.05)
        got = len(stats.deliveries)
        complete = sum(1 for t in stats.sent if stats.delivered.get(t, 0) >= self.members[stats.room_of[t]])
        span = max(stats.last_delivery - start, send_seconds) if got else send_seconds
        return {
            "offered_rate": rate,
            "sent": len(stats.sent),
            "send_seconds": round(send_seconds, 3),
            "generator_lag_ms": round(late * 1000, 1),
            "acks": len(stats.acks),
            "ack": percentiles(stats.acks),
            "expected_deliveries": expected,
            "deliveries": got,
            "delivery": percentiles(stats.deliveries),
            "messages_fully_delivered": complete,
            "all_delivered": complete == len(stats.sent) and (not chat or len(stats.acks) == len(stats.sent)),
            "throughput_msg_s": round(len(stats.sent) / span, 1),
            "deliveries_per_s": round(got / span, 1),
            "errors": dict(stats.errors),
            "send_failures": stats.send_failures,
            "closed_sockets": stats.closed,
        }

    async def close(self) -> None:
        for client in self.clients:
            if client.ws is not None:
                with contextlib.suppress(Exception):
                    await client.ws.close()
            if client.reader is not None:
                client.reader.cancel()
        await asyncio.gather(*(c.reader for c in self.clients if c.reader), return_exceptions=True)


async def catchup_once(url: str, origin: str, cookie: str, room: str, after: int, expected: int) -> dict:
    """Reconnect as a client that last saw `after`: time from connect to holding `expected` messages."""
    start = time.perf_counter()
    async with connect(url, origin=origin, additional_headers={"Cookie": cookie}, max_size=2**24,
                       ping_interval=None, compression=None) as ws:
        connected = time.perf_counter()
        await ws.recv()  # hello
        joined_sent = time.perf_counter()
        await ws.send(orjson.dumps({"type": "join", "room": room, "after": after}).decode())
        seqs: set[int] = set()
        pages = 0
        while len(seqs) < expected:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("type") == "catchup":
                pages += 1
                seqs.update(m["seq"] for m in frame["messages"])
                if not frame.get("has_more"):
                    break
            elif frame.get("type") == "error":
                raise RuntimeError(f"catch-up refused: {frame}")
        done = time.perf_counter()
    return {"messages": len(seqs), "pages": pages, "from_join_ms": round((done - joined_sent) * 1000, 2),
            "from_connect_ms": round((done - start) * 1000, 2),
            "handshake_ms": round((connected - start) * 1000, 2)}


async def open_idle(url: str, origin: str, cookies: list[str], count: int, concurrency: int = 100,
                    hello: bool = True) -> list:
    """Open `count` authenticated sockets that only read the hello (chat) and then stay idle."""
    sockets: list = []
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            cookie = cookies[i % len(cookies)]
            ws = await connect(url, origin=origin, additional_headers={"Cookie": cookie} if cookie else {},
                               open_timeout=120, ping_interval=None, compression=None)
            if hello:
                await asyncio.wait_for(ws.recv(), 120)
            sockets.append(ws)

    await asyncio.gather(*(one(i) for i in range(count)))
    return sockets
