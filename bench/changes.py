"""The change log over the WebSocket (issue 13): `python -m bench.changes [--quick]`.

Starts its own Ignite node, Redis and one Daphne process (bench.servers) in a temporary directory, then:
- catch-up of changes after an outage: a room with 1,000 changed messages (edits and reactions through
  the store), and a client that reconnects with `join` `after_change: 0`: time from sending `join` to
  holding every `changes` page (target: p99 <= 100 ms);
- edit and reaction rates: one client edits its own messages (and reacts) back to back over the socket,
  as fast as `changed` answers come (one in flight), and with 20 clients at once in 20 rooms.
Writes bench/results/<time>-changes.json; the lead copies figures into docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

from .env import log
from .loadgen import percentiles

RESULTS = Path(__file__).resolve().parent / "results"


async def _open(url: str, origin: str, cookie: str):
    ws = await connect(url, origin=origin, additional_headers={"Cookie": cookie}, max_size=2**24,
                       ping_interval=None, compression=None)
    await ws.recv()  # hello
    return ws


async def _until(ws, *types: str) -> dict:
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] in types:
            return frame
        if frame["type"] == "error":
            raise RuntimeError(f"refused: {frame}")


async def catchup_of_changes(url, origin, cookie, room: str, samples: int, expected: int) -> dict:
    out, pages = [], 0
    for _ in range(samples):
        ws = await _open(url, origin, cookie)
        try:
            t0 = time.perf_counter()
            await ws.send(orjson.dumps({"type": "join", "room": room, "after_change": 0}).decode())
            seen: set[int] = set()
            while True:
                frame = await _until(ws, "changes")
                pages += 1
                seen.update(m["change_seq"] for m in frame["messages"])
                if not frame["has_more"]:
                    break
            out.append(time.perf_counter() - t0)
            if len(seen) != expected:
                raise RuntimeError(f"got {len(seen)} changed messages, expected {expected}")
        finally:
            await ws.close()
    return {"latency": percentiles(out), "pages_per_catchup": pages / samples, "changed_messages": expected}


async def change_rate(url, origin, cookie, rooms: list[str], seconds: float, kind: str) -> dict:
    """Clients (one per room) each with one change in flight for `seconds`: changes per second, latency."""
    latencies: list[float] = []

    async def client(room: str) -> int:
        ws = await _open(url, origin, cookie)
        try:
            await ws.send(orjson.dumps({"type": "join", "room": room}).decode())
            await _until(ws, "joined")
            await ws.send(orjson.dumps({"type": "send", "room": room, "body": "target",
                                        "client_id": uuid.uuid4().hex}).decode())
            seq = (await _until(ws, "ack"))["seq"]
            done, end, i = 0, time.monotonic() + seconds, 0
            while time.monotonic() < end:
                i += 1
                if kind == "edit":
                    frame = {"type": "edit", "room": room, "seq": seq, "body": f"version {i}",
                             "client_id": uuid.uuid4().hex}
                else:
                    frame = {"type": "react" if i % 2 else "unreact", "room": room, "seq": seq, "emoji": "👍"}
                t0 = time.perf_counter()
                await ws.send(orjson.dumps(frame).decode())
                await _until(ws, "changed")
                latencies.append(time.perf_counter() - t0)
                done += 1
            return done
        finally:
            await ws.close()

    t0 = time.monotonic()
    total = sum(await asyncio.gather(*(client(room) for room in rooms)))
    elapsed = time.monotonic() - t0
    return {"clients": len(rooms), "changes": total, "per_second": round(total / elapsed, 1),
            "latency": percentiles(latencies)}


def fill_changes(room: str, user: str, count: int) -> None:
    """`count` messages, each edited or reacted to once, through the store (not what is measured)."""
    from ignite_store import get_store, run_sync

    store = get_store()

    async def fill() -> None:
        gate = asyncio.Semaphore(50)

        async def one(i: int) -> None:
            async with gate:
                seq = (await store.aappend(room, user, f"message {i} " + "x" * 80, f"f-{i}")).message.seq
                if i % 2:
                    await store.aedit(room, seq, f"message {i} edited " + "y" * 80, f"e-{i}", author=user)
                else:
                    await store.areact(room, seq, "🎉", user=user)

        await asyncio.gather(*(one(i) for i in range(count)))

    run_sync(fill())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.changes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples and shorter rate runs")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    samples, seconds = (10, 3.0) if args.quick else (50, 10.0)

    from . import servers

    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-changes-"))
    started, cluster, redis, daphne = time.time(), None, None, None
    try:
        redis = servers.start_redis(workdir)
        site = servers.Site.create(workdir / "site", redis.url)
        cluster = servers.start_cluster(workdir / "ignite", 1, heap="1g", region_mb=512, rest=False)
        nodes = cluster.nodes_env()
        site.init_store(nodes)
        daphne = servers.start_daphne(site, nodes, "changes")
        cookie = f"sessionid={site.login(['bench'])['bench']}"
        url, origin = f"ws://127.0.0.1:{daphne.port}/ws/chat/", f"http://127.0.0.1:{daphne.port}"
        os.environ.update({**site.env, "IGNITE_NODES": nodes})
        import django

        django.setup()
        from tests.fixtures.rooms import ensure_public_rooms

        rooms = [f"rate-{i}" for i in range(20)]
        ensure_public_rooms("changes", *rooms, members={"bench": "owner"})
        t0 = time.monotonic()
        fill_changes("changes", "bench", args.changes)
        log(f"{args.changes} changed messages stored in {time.monotonic() - t0:.1f}s")
        result = {
            "catchup": asyncio.run(catchup_of_changes(url, origin, cookie, "changes", samples, args.changes)),
            "edit_1": asyncio.run(change_rate(url, origin, cookie, rooms[:1], seconds, "edit")),
            "react_1": asyncio.run(change_rate(url, origin, cookie, rooms[:1], seconds, "react")),
            "edit_20": asyncio.run(change_rate(url, origin, cookie, rooms, seconds, "edit")),
            "react_20": asyncio.run(change_rate(url, origin, cookie, rooms, seconds, "react")),
        }
        for name, figures in result.items():
            log(f"{name}: {figures}")
    finally:
        for server in (daphne, cluster, redis):
            if server is not None:
                server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result.update({"started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                   "duration_s": round(time.time() - started, 1),
                   "command": "python -m bench.changes " + " ".join(argv if argv is not None else sys.argv[1:]),
                   "load_avg_at_end": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()})
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-changes.json"
    path.write_text(json.dumps(result, indent=1))
    log(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
