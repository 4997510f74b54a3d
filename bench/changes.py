"""The change log over the WebSocket (issue 13): `python -m bench.changes [--quick] [--old PATH]`.

Starts its own Ignite node, Redis and one Daphne process (bench.servers) in a temporary directory, then:
- catch-up of changes after an outage, at each size of --sizes (default 100 and 1,000 changes: how the
  cost grows over 10x, issue 18): a room whose messages were each edited or reacted to once (through the
  store), and a client that reconnects with `join` `after_change: 0`: time from sending `join` to holding
  every `changes` frame (target for 1,000: p99 <= 100 ms); beside it the store API's `achanges` and, for
  reference, the same number of plain messages by `join` `after: 0` and by `aafter`;
- edit and reaction rates: one client edits its own message (or toggles a reaction) back to back over the
  socket, one change in flight, as fast as `changed` answers come; and 20 clients at once in 20 rooms.
With `--old PATH` (a checkout of an older commit, e.g. `git archive <commit> | tar -x -C PATH`) a second
Daphne runs that code against the same Ignite, Redis and users, and every figure is measured on both,
alternating old and new sample by sample (catch-up) or run by run (rates), so both see the same load.
Writes bench/results/<time>-changes.json; the figures go into docs/performance.md "Message changes".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

from .env import log
from .harness import one_node, save_result
from .loadgen import percentiles

RATE_KINDS = ("edit", "react")


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


async def one_catchup(url: str, origin: str, cookie: str, join: dict, frame_type: str, expected: int) -> tuple:
    """(seconds from sending `join` to the last page, frames) of one reconnecting client."""
    ws = await _open(url, origin, cookie)
    try:
        t0 = time.perf_counter()
        await ws.send(orjson.dumps(join).decode())
        seen: set[int] = set()
        frames = 0
        while True:
            frame = await _until(ws, frame_type)
            frames += 1
            seen.update(m["seq"] for m in frame["messages"])
            if not frame["has_more"]:
                break
        elapsed = time.perf_counter() - t0
    finally:
        await ws.close()
    if len(seen) != expected:
        raise RuntimeError(f"got {len(seen)} messages, expected {expected}")
    return elapsed, frames


async def catchups(targets: dict[str, str], origin_of, pids: dict[str, int], cookie: str, join: dict,
                   frame_type: str, samples: int, expected: int) -> dict:
    """Catch-up latency and the Daphne's CPU per catch-up (connect included) on every target, alternating
    targets sample by sample."""
    from .servers import cpu_seconds

    times: dict[str, list[float]] = {name: [] for name in targets}
    cpu = dict.fromkeys(targets, 0.0)
    frames: dict[str, int] = {}
    for i in range(samples):
        order = list(targets) if i % 2 == 0 else list(targets)[::-1]
        for name in order:
            before = cpu_seconds(pids[name])
            elapsed, count = await one_catchup(targets[name], origin_of(name), cookie, join, frame_type, expected)
            await asyncio.sleep(0.01)  # the close's own work lands in this sample
            cpu[name] += cpu_seconds(pids[name]) - before
            times[name].append(elapsed)
            frames[name] = count
    return {name: {"latency": percentiles(times[name]), "frames": frames[name],
                   "daphne_cpu_ms": round(1000 * cpu[name] / samples, 1)} for name in targets}


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


def fill(store, room: str, user: str, count: int, *, changed: bool) -> None:
    """`count` messages, each edited or reacted to once when `changed`, through the store (not measured)."""
    from ignite_store import run_sync

    async def go() -> None:
        gate = asyncio.Semaphore(50)

        async def one(i: int) -> None:
            async with gate:
                seq = (await store.aappend(room, user, f"message {i} " + "x" * 80, f"f-{i}")).message.seq
                if not changed:
                    return
                if i % 2:
                    await store.aedit(room, seq, f"message {i} edited " + "y" * 80, f"e-{i}", author=user)
                else:
                    await store.areact(room, seq, "🎉", user=user)

        await asyncio.gather(*(one(i) for i in range(count)))

    run_sync(go())


def store_reads(store, sizes: list[int], samples: int) -> dict:
    """The store API in this process: achanges of each size's room, and aafter of as many plain messages."""
    from ignite_store import run_sync

    async def go() -> dict:
        out = {}
        for size in sizes:
            changes, after = [], []
            for _ in range(samples):
                t0 = time.perf_counter()
                page = await store.achanges(f"changes-{size}", 0, 1000)
                while page.has_more:
                    page = await store.achanges(f"changes-{size}", page.upto, 1000)
                changes.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await store.aafter(f"plain-{size}", 0, size)
                after.append(time.perf_counter() - t0)
            out[size] = {"achanges": percentiles(changes), "aafter": percentiles(after)}
        return out

    return run_sync(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.changes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples and shorter rate runs")
    parser.add_argument("--sizes", default="100,1000", help="changed messages per catch-up room")
    parser.add_argument("--old", type=Path, help="checkout of an older commit to run side by side")
    parser.add_argument("--rounds", type=int, default=2, help="rate runs per target and kind")
    parser.add_argument("--parts", default="catchup,rates", help="what to measure: catchup, rates or both")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    samples, seconds = (20, 3.0) if args.quick else (100, 8.0)
    sizes = [int(size) for size in args.sizes.split(",")]

    started, daphnes = time.time(), {}
    result: dict = {}
    with one_node("chat-bench-changes-", keep=args.keep) as stack:
        trees = {"new": None, **({"old": args.old.resolve()} if args.old else {})}
        for name, tree in trees.items():
            daphnes[name] = stack.daphne(f"changes-{name}", tree=tree)
        cookie = f"sessionid={stack.site.login(['bench'])['bench']}"
        urls = {name: f"ws://127.0.0.1:{d.port}/ws/chat/" for name, d in daphnes.items()}
        pids = {name: d.proc.pid for name, d in daphnes.items()}

        def origin_of(name: str) -> str:
            return f"http://127.0.0.1:{daphnes[name].port}"

        stack.setup_django()
        from ignite_store import get_store
        from tests.fixtures.rooms import ensure_public_rooms

        rate_rooms = [f"rate-{i}" for i in range(20)]
        ensure_public_rooms(*(f"{kind}-{size}" for kind in ("changes", "plain") for size in sizes), *rate_rooms,
                            members={"bench": "owner"})
        store = get_store()
        for size in sizes:
            t0 = time.monotonic()
            fill(store, f"changes-{size}", "bench", size, changed=True)
            fill(store, f"plain-{size}", "bench", size, changed=False)
            log(f"{size} changed and {size} plain messages stored in {time.monotonic() - t0:.1f}s")
        parts = set(args.parts.split(","))
        if "catchup" in parts:
            result["store"] = store_reads(store, sizes, samples)
            log(f"store: {result['store']}")
        for size in sizes if "catchup" in parts else ():
            result[f"catchup_changes_{size}"] = asyncio.run(catchups(
                urls, origin_of, pids, cookie, {"type": "join", "room": f"changes-{size}", "after_change": 0},
                "changes", samples, size))
            result[f"catchup_messages_{size}"] = asyncio.run(catchups(
                urls, origin_of, pids, cookie, {"type": "join", "room": f"plain-{size}", "after": 0}, "catchup",
                samples, size))
            log(f"catch-up {size}: changes {result[f'catchup_changes_{size}']}, "
                f"messages {result[f'catchup_messages_{size}']}")
        for kind in RATE_KINDS if "rates" in parts else ():
            for clients in (1, 20):
                runs: dict[str, list] = {name: [] for name in urls}
                for rnd in range(args.rounds):
                    for name in list(urls) if rnd % 2 == 0 else list(urls)[::-1]:
                        runs[name].append(asyncio.run(change_rate(urls[name], origin_of(name), cookie,
                                                                  rate_rooms[:clients], seconds, kind)))
                result[f"{kind}_{clients}"] = runs
                log(f"{kind} x{clients}: " + "; ".join(
                    f"{name} {[run['per_second'] for run in rs]}/s p50 {[run['latency']['p50'] for run in rs]} ms"
                    for name, rs in runs.items()))
    save_result("changes", result, started, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
