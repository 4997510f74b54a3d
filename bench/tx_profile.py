"""What an append costs Ignite on one node and on two (backups=1, FULL_SYNC), per transaction kind.

    .venv/bin/python -m bench.tx_profile [--seconds 6] [--rounds 2] [--warmup 20] [--variants any,primary]

Starts a one-node and a two-node cluster (bench.servers) and appends from this process through the store
API (20 rooms, 1 and 200 appends in flight), with pessimistic and with optimistic serializable
transactions (the store's `transactions` option). For each run: appends/s, Ignite's CPU-s per 1,000
appends (all nodes), and what crossed the network between the nodes per append, from each node's
`SYS.METRICS` (`communication.tcp.*`): messages by type and bytes. The message types are Ignite's
(GridIoMessageFactory): near lock, near/DHT prepare and finish, gets. Writes bench/results/<time>-tx.json.
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

from .env import log

MESSAGE_TYPES = {
    30: "dht lock req", 31: "dht lock resp", 32: "dht finish req", 33: "dht finish resp",
    34: "dht prepare req", 35: "dht prepare resp", 49: "near get req", 50: "near get resp",
    51: "near lock req", 52: "near lock resp", 53: "near finish req", 54: "near finish resp",
    55: "near prepare req", 56: "near prepare resp", 116: "near single get req", 117: "near single get resp",
    -27: "one-phase commit ack",
}
ROOMS = [f"tx-r{i:02d}" for i in range(20)]
# Store options compared side by side (--variants). "any": transactions start on the node the client happens
# to use; "primary": partition-aware client, each batch split by its rooms' primary node and started there.
VARIANTS = {"any": {"partition_aware": False}, "primary": {"partition_aware": True}}


def node_metrics(addresses: list[tuple[str, int]]) -> dict[str, int]:
    """The summed communication counters of every node (SYS views are node-local: one store per node, each
    connected to that node only)."""
    from ignite_store.backends.ignite import IgniteMessageStore

    total: dict[str, int] = {}
    for address in addresses:
        store = IgniteMessageStore([address], partition_aware=False, timeout=10.0)
        try:
            for name, value in store._sql("SELECT NAME, VALUE FROM SYS.METRICS WHERE NAME LIKE 'communication.tcp.%'"):
                if value and str(value).lstrip("-").isdigit():
                    total[name] = total.get(name, 0) + int(value)
        finally:
            store.close()
    return total


async def append_load(store, concurrency: int, seconds: float) -> int:
    tag, done = uuid.uuid4().hex[:6], 0
    stop = time.perf_counter() + seconds

    async def loop(k: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < stop:
            i += 1
            await store.aappend(ROOMS[k % len(ROOMS)], "bench", "x" * 80, f"{tag}-{k}-{i}")
            done += 1

    await asyncio.gather(*(loop(k) for k in range(concurrency)))
    return done


def run(cluster, kind: str, concurrency: int, seconds: float, options: dict | None = None) -> dict:
    """One measured load on `cluster`; its figures per append."""
    from bench import servers
    from ignite_store.backends.ignite import IgniteMessageStore

    addresses = [tuple(a) for a in cluster.client_addresses()]
    store = IgniteMessageStore(addresses, backups=1, transactions=kind, **(options or {}))

    async def measure() -> tuple[int, float, float, dict[str, int]]:
        try:
            await append_load(store, concurrency, 1.5)  # warm-up: connections, JIT
            before = await asyncio.to_thread(node_metrics, addresses)
            cpu0 = sum(servers.cpu_seconds(pid) for pid in cluster.pids())
            t0 = time.perf_counter()
            done = await append_load(store, concurrency, seconds)
            wall = time.perf_counter() - t0
            cpu = sum(servers.cpu_seconds(pid) for pid in cluster.pids()) - cpu0
            after = await asyncio.to_thread(node_metrics, addresses)
        finally:
            await store.aclose()
        return done, wall, cpu, {name: after[name] - before.get(name, 0) for name in after}

    done, wall, cpu, delta = asyncio.run(measure())
    per = max(done, 1)
    by_type = {}
    for name, count in delta.items():
        prefix = "communication.tcp.sentMessagesByType."
        if name.startswith(prefix) and count > 0:
            kind_id = int(name[len(prefix):])
            by_type[MESSAGE_TYPES.get(kind_id, f"type {kind_id}")] = round(count / per, 2)
    return {"load_avg": round(os.getloadavg()[0], 2), "appends": done, "rate": round(done / wall),
            "ignite_cpu_s_per_1000": round(cpu * 1000 / per, 3),
            "messages_per_append": round(delta.get("communication.tcp.sentMessagesCount", 0) / per, 2),
            "bytes_per_append": round(delta.get("communication.tcp.sentBytes", 0) / per),
            "messages_by_type_per_append": dict(sorted(by_type.items(), key=lambda kv: -kv[1]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tx_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", default="1,200")
    parser.add_argument("--kinds", default="pessimistic,optimistic")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of load per cluster, variant and kind "
                        "before the measured rounds")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"store option sets, run alternately, order flipped each round: {VARIANTS}")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-tx-profile")
    import django

    django.setup()
    from bench import servers
    from ignite_store.backends.ignite import IgniteMessageStore

    home = Path(tempfile.mkdtemp(prefix="bench-tx-"))
    clusters = {}
    rows = []
    try:
        for shape, count in (("1 node", 1), ("2 nodes", 2)):
            clusters[shape] = servers.start_cluster(home / shape.replace(" ", ""), count, heap="1g", region_mb=512,
                                                    rest=False)
            schema = IgniteMessageStore([tuple(a) for a in clusters[shape].client_addresses()], backups=1)
            schema.ensure_schema()
            schema.close()
        variants = args.variants.split(",")
        if args.warmup:  # the JIT: without it the first minute of each cluster measures the compiler
            for shape, cluster in clusters.items():
                for variant in variants:
                    for kind in args.kinds.split(","):
                        warm = run(cluster, kind, 200, args.warmup, VARIANTS[variant])
                        log(f"warm-up {shape} {variant} {kind}: {warm}")
        for rnd in range(args.rounds):
            for kind in args.kinds.split(","):
                for shape, cluster in clusters.items():
                    for concurrency in (int(c) for c in args.concurrency.split(",")):
                        for variant in variants if rnd % 2 == 0 else variants[::-1]:
                            row = {"round": rnd, "shape": shape, "transactions": kind, "variant": variant,
                                   "in_flight": concurrency,
                                   **run(cluster, kind, concurrency, args.seconds, VARIANTS[variant])}
                            log(json.dumps(row))
                            rows.append(row)
    finally:
        for cluster in clusters.values():
            cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
    out = Path(__file__).resolve().parent / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-tx.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"command": " ".join(["python -m bench.tx_profile", *(argv or sys.argv[1:])]),
                               "load_avg_at_end": [round(x, 2) for x in os.getloadavg()], "rows": rows}, indent=1))
    log(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
