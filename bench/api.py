"""The HTTP API against the WebSocket, in one run: `python -m bench.api` (see docs/performance.md, "HTTP API").

Starts its own redis-server, one Ignite node and one Daphne (bench.servers) in a temporary directory,
then, from one client process, times the same operations both ways on the same server and room:
- history read: GET /api/v1/rooms/R/messages?limit=N vs a `history` frame (limit N) answered by `history`,
  at N = 5 and 50 (`--limits`: how the cost grows with the page);
- send: POST /api/v1/rooms/R/messages vs a `send` frame answered by `ack` (the HTTP answer also
  waits for the publish to the room, which the socket does after its ack), with bodies of 10 and 100
  characters (`--bodies`);
one request at a time over a kept-alive connection (closed loop), phases interleaved in rounds so
both see the same machine. Reports p50/p95/p99 and the Daphne process's CPU per operation.
Writes bench/results/<time>-api.json; the figures are copied into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

from .env import log
from .harness import RESULTS, one_node, save_result
from .loadgen import percentiles
from .servers import cpu_seconds

UNLIMITED_API = {"CHAT_API_RATE_PER_SECOND": "100000", "CHAT_API_BURST": "100000",
                 "CHAT_API_SEND_RATE_PER_SECOND": "100000", "CHAT_API_SEND_BURST": "100000"}


async def measure(server, token: str, cookie: str, samples: int, rounds: int, profile_dir: Path | None = None,
                  limits: tuple[int, ...] = (5, 50), bodies: tuple[int, ...] = (10, 100)) -> dict:
    import httpx
    from websockets.asyncio.client import connect

    http = httpx.AsyncClient(base_url=server.origin, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    ws = await connect(server.ws_url, origin=server.origin, additional_headers={"Cookie": cookie}, proxy=None,
                       compression=None, max_size=2**22)

    async def frame(*types: str) -> dict:
        while True:
            got = json.loads(await ws.recv())
            if got["type"] in types:
                return got

    await frame("rooms")
    room = (await http.post("/api/v1/rooms", json={"name": f"bench {uuid.uuid4().hex[:6]}"})).json()["room"]
    await ws.send(json.dumps({"type": "join", "room": room}))
    await frame("joined")
    for i in range(200):  # history to read: 200 messages of ~100 characters
        answer = await http.post(f"/api/v1/rooms/{room}/messages", json={"body": f"seed {i} " + "x" * 90,
                                                                         "client_id": f"seed-{i}"})
        assert answer.status_code == 201, answer.text

    def rest_history(limit: int):
        async def call(i: int) -> None:
            answer = await http.get(f"/api/v1/rooms/{room}/messages", params={"limit": limit})
            assert answer.status_code == 200 and len(answer.json()["messages"]) == limit
        return call

    def ws_history(limit: int):
        async def call(i: int) -> None:
            await ws.send(json.dumps({"type": "history", "room": room, "limit": limit}))
            assert len((await frame("history"))["messages"]) == limit
        return call

    def rest_send(size: int):
        async def call(i: int) -> None:
            answer = await http.post(f"/api/v1/rooms/{room}/messages",
                                     json={"body": f"r{i} ".ljust(size, "y"), "client_id": uuid.uuid4().hex})
            assert answer.status_code == 201
        return call

    def ws_send(size: int):
        async def call(i: int) -> None:
            await ws.send(json.dumps({"type": "send", "room": room, "body": f"w{i} ".ljust(size, "z"),
                                      "client_id": uuid.uuid4().hex}))
            await frame("ack")
        return call

    phases = {}
    for limit in limits:
        phases[f"rest_history_{limit}"], phases[f"ws_history_{limit}"] = rest_history(limit), ws_history(limit)
    for size in bodies:
        phases[f"rest_send_{size}"], phases[f"ws_send_{size}"] = rest_send(size), ws_send(size)
    for call in phases.values():  # warm up both paths
        for i in range(30):
            await call(i)
    latencies: dict[str, list[float]] = {name: [] for name in phases}
    cpu: dict[str, float] = dict.fromkeys(phases, 0.0)
    per_round = max(1, samples // rounds)
    for r in range(rounds):
        order = list(phases.items()) if r % 2 == 0 else list(phases.items())[::-1]
        for name, call in order:
            cpu0 = cpu_seconds(server.pid)
            for i in range(per_round):
                t0 = time.perf_counter()
                await call(i)
                latencies[name].append(time.perf_counter() - t0)
            cpu[name] += cpu_seconds(server.pid) - cpu0
    out: dict = {}
    if profile_dir is not None:  # where a REST request's CPU goes (py-spy on the Daphne process)
        from .profile import Profiler, summarise

        for name in (f"rest_history_{limits[-1]}", f"rest_send_{bodies[-1]}"):
            path = profile_dir / f"{name}.txt"
            t0 = time.monotonic()
            async with Profiler(server.pid, path):
                for i in range(per_round * 2):
                    await phases[name](i)
            out[f"profile_{name}"] = summarise(path, seconds=time.monotonic() - t0)
    await ws.close()
    await http.aclose()
    for name in phases:
        lat = percentiles(latencies[name])
        out[name] = {"latency": lat, "server_cpu_ms_per_op": round(cpu[name] / len(latencies[name]) * 1000, 3)}
        log(f"{name}: p50 {lat['p50']} ms, p99 {lat['p99']} ms, Daphne CPU {out[name]['server_cpu_ms_per_op']} ms/op")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000, help="timed operations per phase")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds the samples are split into")
    parser.add_argument("--heap", default="1g")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    parser.add_argument("--profile", action="store_true", help="also sample the REST phases with py-spy")
    parser.add_argument("--limits", default="5,50", help="history page sizes (comma list)")
    parser.add_argument("--bodies", default="10,100", help="send body lengths in characters (comma list)")
    args = parser.parse_args(argv)
    limits = tuple(int(x) for x in args.limits.split(","))
    bodies = tuple(int(x) for x in args.bodies.split(","))

    started = time.time()
    with one_node("chat-bench-api-", heap=args.heap, keep=args.keep, site_env=UNLIMITED_API) as stack:
        cookie = "sessionid=" + stack.site.login(["bench"])["bench"]
        token = stack.site.run([sys.executable, "manage.py", "api_token", "bench"]).strip().splitlines()[-1]
        daphne = stack.daphne("api")
        profile_dir = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-api-profile" if args.profile else None
        result = asyncio.run(measure(daphne, token, cookie, args.samples, args.rounds, profile_dir, limits, bodies))
    result["samples"] = args.samples
    save_result("api", result, started, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
