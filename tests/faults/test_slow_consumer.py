"""Scenario 6: a client that stops reading must not slow the others nor grow the server without bound.

docs/protocol.md / chat/consumers.py: a socket whose outbox overflows (CHAT_OUTBOX_MAX_FRAMES) is
closed with 4008 (slow consumer); it catches up from Ignite on reconnect.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import finish, record_figures, run_clients
from .harness import check, stored_history
from .servers import rss_kb

CLOSE_SLOW_CONSUMER = 4008
SHORT = {"senders": 3, "rate": 6.0, "body": 3000, "baseline": 8.0, "seconds": 20.0}
LONG = {"senders": 6, "rate": 5.0, "body": 3800, "baseline": 20.0, "seconds": 60.0}
TCP_ESTABLISHED = 1


async def open_stalled(server, cookie: str, room: str):
    """A client with a tiny receive buffer that joins `room` and then never reads again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    ws = await connect(server.ws_url, sock=sock, origin=server.origin, additional_headers={"Cookie": cookie},
                       proxy=None, compression=None, max_queue=1, open_timeout=10)
    assert json.loads(await ws.recv())["type"] == "hello"
    await ws.send(json.dumps({"type": "join", "room": room}))
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "joined":
            return ws, sock, frame["last_seq"]


def percentile(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1) if values else None


@pytest.fixture(scope="module", params=[pytest.param(SHORT, id="short"),
                                        pytest.param(LONG, id="long", marks=pytest.mark.slow)])
async def slow_run(request, fault_rig):
    """Run the scenario once per profile: a baseline phase, then the same load with a stalled member."""
    profile = request.param
    server = await asyncio.to_thread(fault_rig.start_daphne, CHAT_OUTBOX_MAX_FRAMES=100)
    room = f"slow-{uuid.uuid4().hex[:8]}"
    clients = fault_rig.clients(profile["senders"], [room], [server], rate=profile["rate"], first_user=16)
    for client in clients:
        client.body_size = profile["body"]
    store = fault_rig.store()
    try:
        await run_clients(clients)
        await asyncio.sleep(profile["baseline"])
        stalled_from = time.monotonic()
        stalled, sock, seen = await open_stalled(server, fault_rig.cookies["fu20"], room)
        rss_start = rss_kb(server.proc.pid)
        samples, dropped_at = [], None
        while time.monotonic() - stalled_from < profile["seconds"]:
            await asyncio.sleep(1.0)
            samples.append(rss_kb(server.proc.pid) - rss_start)
            try:
                state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
            except OSError:  # the transport already closed the socket: the server dropped us
                state = None
            if dropped_at is None and state != TCP_ESTABLISHED:
                dropped_at = round(time.monotonic() - stalled_from, 1)
        await finish(clients, store, [room])
        report = await asyncio.to_thread(check, store, clients, [room])
        try:
            async with asyncio.timeout(30):
                async for _ in stalled:  # drain what reached it, then see how it was closed
                    pass
        except (ConnectionClosed, TimeoutError):
            pass
        caught = await _catch_up(server, fault_rig.cookies["fu20"], room, seen)
        stored = [m.seq for m in await asyncio.to_thread(stored_history, store, room) if m.seq > seen]
        acks = [(r.first_sent, r.acked_at - r.first_sent) for c in clients for r in c.sends.values() if r.acked_at]
        result = {
            **report.figures,
            "ack_p90_ms_before_stall": percentile([lat for t, lat in acks if t < stalled_from], 0.9),
            "ack_p90_ms_while_stalled": percentile([lat for t, lat in acks if t >= stalled_from], 0.9),
            "ack_p99_ms_before_stall": percentile([lat for t, lat in acks if t < stalled_from], 0.99),
            "ack_p99_ms_while_stalled": percentile([lat for t, lat in acks if t >= stalled_from], 0.99),
            "close_code": stalled.close_code, "server_dropped_socket_after_s": dropped_at,
            "daphne_rss_growth_kb_max": max(samples, default=0), "daphne_rss_growth_kb_samples": samples,
            "caught_up": len(caught), "to_catch_up": len(stored),
        }
        record_figures(f"slow_consumer_{'short' if profile is SHORT else 'long'}", result)
        yield {"report": report, "figures": result, "caught": caught, "stored": stored}
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        store.close()
        server.kill()


async def test_slow_consumer_does_not_hurt_the_others(slow_run):
    slow_run["report"].assert_ok()  # the other members lost nothing, got everything once, in order
    figures = slow_run["figures"]
    # p90, not p99: a few hundred acks on a shared 2-core box make p99 one scheduler hiccup.
    assert figures["ack_p90_ms_while_stalled"] <= 2 * figures["ack_p90_ms_before_stall"] + 100, figures


async def test_slow_consumer_catches_up_on_reconnect(slow_run):
    assert slow_run["caught"] == slow_run["stored"] and slow_run["stored"]


async def test_slow_consumer_closed_with_documented_code(slow_run):
    """4008 for a client that reads within SLOW_CONSUMER_CLOSE_SECONDS; else the TCP cut then (1006).

    Found failing first (1006 from Daphne's ping timeout after ~15 s, the outbox never filled);
    fixed by the back-pressure on send (chat/daphne_server.py). docs/protocol.md, "Close codes".
    """
    figures = slow_run["figures"]
    dropped = figures["server_dropped_socket_after_s"]
    if dropped is None:  # the stalled client read again before the grace period ended: it sees 4008
        assert figures["close_code"] == CLOSE_SLOW_CONSUMER, figures["close_code"]
    else:  # it never read: cut after the grace period, not earlier (e.g. by a ping timeout)
        grace = settings.CHAT["SLOW_CONSUMER_CLOSE_SECONDS"]
        assert figures["close_code"] == 1006 and grace <= dropped <= grace + 20, (figures["close_code"], dropped)


async def _catch_up(server, cookie: str, room: str, after: int) -> list[int]:
    async with connect(server.ws_url, origin=server.origin, additional_headers={"Cookie": cookie}, proxy=None,
                       open_timeout=10, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "join", "room": room, "after": after}))
        seqs: list[int] = []
        async with asyncio.timeout(60):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "catchup":
                    seqs += [m["seq"] for m in frame["messages"]]
                    if not frame["has_more"]:
                        return seqs
