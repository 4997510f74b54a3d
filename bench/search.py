"""Search (issue 14): query latency at growing sizes, and what the index adds to an append.

    .venv/bin/python -m bench.search                        # sizes 10k,100k; append A/B; table printed
    .venv/bin/python -m bench.search --sizes 10000,100000,1000000 --repeats 50
    .venv/bin/python -m bench.search --sizes 10000 --no-append

Starts its own Ignite node (free loopback ports, a temporary directory). For each size N it loads
(bench/search_corpus.py, big put_all batches straight into Ignite, index rows included) one room of
N messages and 200 rooms of N/200, appends to each room through the store what leaves it an unmerged
tail as steady appends would (0 to 511 messages above its last merge), then times first pages of 20
through `store.asearch`, one query at a time: a rare and a common word and Hangul words in the big room, and
the same words by a user of 20 of the 200 rooms (a different 20 each time). The append A/B runs fresh child
processes alternating
`search_index` off and on (IGNITE_STORE option: whether completed runs are merged into the index) and
reports client CPU and the Ignite node's CPU per 1,000 appends and the append rate side by side. Each child
appends `--appends` messages over 20 rooms (by default 1,024 per room: every room completes 16 runs, or a
block in a tree before the run index, so the merge's cost is in the figures; the rooms are first filled to
staggered points of their runs, so they complete them one after another) and waits for the merges it started
before it stops its clock. A first round of every variant warms the node up and is not counted (the first
children ran 2–4x slower than the rest).
`--baseline-tree DIR` adds a third variant: the same child run from another checkout (e.g. the commit
before, with its own index on). The machine is shared: read ratios and orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = {  # label -> query
    "rare word": "zephyrine",
    "common word": "update",
    "Hangul, common (회의)": "회의",
    "Hangul, rare (예산안)": "예산안",
    "two words": "update zephyrine",
    "phrase": '"update zephyrine"',
}


def _setup(nodes: str, **options) -> object:
    os.environ.update(IGNITE_NODES=nodes, DJANGO_SETTINGS_MODULE="chatsite.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    import django

    django.setup()
    from django.conf import settings

    settings.IGNITE_STORE["default"]["OPTIONS"].update(options)
    import ignite_store

    return ignite_store.get_store()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------- query latency


async def _time(store, rooms_of, query: str, repeats: int) -> dict:
    samples, found = [], 0
    for i in range(repeats):
        rooms = rooms_of(i)
        t0 = time.perf_counter()
        page = await store.asearch(rooms, query, limit=20)
        samples.append((time.perf_counter() - t0) * 1000)
        found = max(found, len(page.hits))
    return {"p50": round(_pct(samples, 0.5), 1), "p99": round(_pct(samples, 0.99), 1),
            "max": round(max(samples), 1), "over_150": sum(1 for s in samples if s > 150), "hits": found}


class _Progress:
    """The loader's progress, logged each time another `step` messages are in."""

    def __init__(self, log, total: int, step: int, offset: int = 0):
        self.log, self.total, self.step, self.offset, self.reported = log, total, step, offset, offset // step

    def __call__(self, done: int) -> None:
        done += self.offset
        if done // self.step > self.reported:
            self.reported = done // self.step
            self.log(f"  loaded {done:,} of {self.total:,}, load average {os.getloadavg()[0]:.1f}")


async def _sizes(store, sizes: list[int], repeats: int, log) -> dict:
    from bench.search_corpus import Corpus, load
    from ignite_store.backends.ignite import IgniteMessageStore

    loader = IgniteMessageStore(store.nodes, timeout=120.0)  # big put_all batches outlast the 5 s timeout
    corpus, results, start_at = Corpus(), {}, 1_700_000_000_000
    for size in sizes:
        one, many = f"one-{size}", [f"multi-{size}-{i:03d}" for i in range(200)]
        t0 = time.perf_counter()
        step = max(10_000, size // 10)
        await load(loader, {one: size}, corpus, start_at=start_at, on_progress=_Progress(log, 2 * size, step))
        await load(loader, {room: size // 200 for room in many}, corpus, start_at=start_at,
                   on_progress=_Progress(log, 2 * size, step, offset=size))
        await _append_tails(store, [one, *many], corpus)
        loaded = time.perf_counter() - t0
        log(f"size {size}: loaded {2 * size} messages (+ index rows) in {loaded:.0f} s, "
            f"load average {os.getloadavg()[0]:.1f}")
        rng = random.Random(size)
        twenties = [rng.sample(many, 20) for _ in range(repeats)]
        row: dict = {"load_s": round(loaded), "one_room": {}, "user_20_of_200": {}}
        for label, query in QUERIES.items():
            await store.asearch([one], query)  # warm: plans cached, connection up
            row["one_room"][label] = await _time(store, lambda i, r=one: [r], query, repeats)
            row["user_20_of_200"][label] = await _time(store, lambda i, t=twenties: t[i], query, repeats)
            log(f"  {label}: one room {row['one_room'][label]}, 20 of 200 rooms {row['user_20_of_200'][label]}, "
                f"load average {os.getloadavg()[0]:.1f}")
        results[size] = row
    await loader.aclose()
    return results


async def _append_tails(store, rooms: list[str], corpus) -> None:
    """Append to each room, through the store, what leaves it an unmerged tail as steady appends would (the
    loader merged every complete run): 0 to one merge interval more, spread over the rooms; then wait for
    the merges those appends started."""
    from ignite_store.backends.ignite_search_index import MERGE_EVERY_RUNS, RUN_SEQS

    interval = MERGE_EVERY_RUNS * RUN_SEQS

    async def tail(k: int, room: str) -> None:
        for n in range(k * 97 % interval):
            await store.aappend(room, f"u{n % 50:02d}", corpus.body(10_000_000 + k * interval + n), f"tail-{k}-{n}")

    await asyncio.gather(*(tail(k, room) for k, room in enumerate(rooms)))
    await store._search_index.drain()


# ---------------------------------------------------------------- append cost (child processes)


async def _appends(store, appends: int, loops: int, rooms: int, ignite_pid: int = 0) -> dict:
    from bench.search_corpus import Corpus

    try:
        from ignite_store.backends.ignite_search_index import RUN_SEQS as UNIT  # noqa: N811
    except ImportError:  # a baseline tree before the run index: its blocks of 1,024 seqs
        UNIT = 1024  # noqa: N806
    corpus, tag = Corpus(seed=7), uuid.uuid4().hex[:8]
    names = [f"app-{tag}-{i}" for i in range(rooms)]

    async def run(total: int) -> None:
        left = total

        async def loop(k: int) -> None:
            nonlocal left
            n = 0
            while left > 0:
                left -= 1
                n += 1
                await store.aappend(names[k % rooms], f"user{k}", corpus.body(k * 100_000 + n), f"c{tag}-{k}-{n}")

        await asyncio.gather(*(loop(k) for k in range(loops)))

    await run(200)  # warm-up
    # Rooms staggered through their units of merge (room k starts k/rooms of a unit further on), so that in
    # the timed run they complete them one after another, as a steady load would, not all at once.
    step = max(1, UNIT // rooms)

    async def stagger(k: int) -> None:
        for n in range(k * step):
            await store.aappend(names[k], "warm", corpus.body(n), f"w{tag}-{k}-{n}")

    await asyncio.gather(*(stagger(k) for k in range(rooms)))
    from bench.servers import cpu_seconds

    ignite0 = cpu_seconds(ignite_pid) if ignite_pid else 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await run(appends)
    index = getattr(store, "_search_index", None)  # absent from a baseline tree before the block index
    if index is not None:
        await index.drain()  # the merges this child's appends started: their cost is the index's
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    ignite = cpu_seconds(ignite_pid) - ignite0 if ignite_pid else None
    await store.aclose()
    return {"cpu_per_1000": round(cpu * 1000 / appends, 4), "rate": round(appends / wall, 1),
            "merged": getattr(index, "merged_runs", getattr(index, "merged_blocks", None)),
            "ignite_timed_per_1000": None if ignite is None else round(ignite * 1000 / appends, 3)}


def _append_child(args: argparse.Namespace) -> None:
    store = _setup(args.nodes, search_index=args.index == "on", timeout=30.0)
    loops, rooms = (200, 20) if args.mode == "c200" else (20, 20)
    print(json.dumps(asyncio.run(_appends(store, args.appends, loops, rooms, args.ignite_pid))))


def _append_ab(nodes: str, ignite_pid: int, rounds: int, appends: int, log, baseline: Path | None = None) -> dict:
    from bench.servers import cpu_seconds

    variants = ("off", "on", "base") if baseline else ("off", "on")
    results: dict = {}
    for rnd in range(-1, rounds):  # round -1: the node's warm-up, not counted
        for mode in ("c200", "c20"):
            order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]  # rotated each round
            for index in order:
                count = appends
                ignite_cpu = cpu_seconds(ignite_pid)
                tree = baseline if index == "base" else ROOT
                out = subprocess.run(
                    [sys.executable, "-m", "bench.search", "--append-child", "--nodes", nodes,
                     "--index", "off" if index == "off" else "on", "--mode", mode, "--appends", str(count),
                     *(["--ignite-pid", str(ignite_pid)] if tree == ROOT else [])],
                    cwd=tree, capture_output=True, text=True, timeout=1200,
                )
                if out.returncode != 0:
                    raise RuntimeError(f"append child failed:\n{out.stderr[-3000:]}")
                r = json.loads(out.stdout.strip().splitlines()[-1])
                # the node's CPU over the timed appends (and the merges they started), measured by the child;
                # a baseline tree's child does not measure it: then over the whole child (200 warm-up appends)
                whole = round((cpu_seconds(ignite_pid) - ignite_cpu) * 1000 / count, 3)
                r["ignite_per_1000"] = r.get("ignite_timed_per_1000") or whole
                if rnd >= 0:
                    results.setdefault((mode, index), []).append(r)
                log(f"round {rnd + 1 or 'warm-up'} {mode} index {index}: {r['cpu_per_1000']} CPU-s/1k, Ignite "
                    f"{r['ignite_per_1000']} CPU-s/1k, {r['rate']} appends/s, load {os.getloadavg()[0]:.1f}")
    summary = {}
    for mode in ("c200", "c20"):
        if baseline:
            base = results[(mode, "base")]
            summary[f"{mode} baseline"] = {
                "ignite_base": statistics.median(r["ignite_per_1000"] for r in base),
                "rate_base": statistics.median(r["rate"] for r in base),
                "cpu_base": statistics.median(r["cpu_per_1000"] for r in base)}
        off, on = results[(mode, "off")], results[(mode, "on")]
        cpu_off = statistics.median(r["cpu_per_1000"] for r in off)
        cpu_on = statistics.median(r["cpu_per_1000"] for r in on)
        rate_off = statistics.median(r["rate"] for r in off)
        rate_on = statistics.median(r["rate"] for r in on)
        ignite_off = statistics.median(r["ignite_per_1000"] for r in off)
        ignite_on = statistics.median(r["ignite_per_1000"] for r in on)
        summary[mode] = {"cpu_off": cpu_off, "cpu_on": cpu_on, "cpu_ratio": round(cpu_on / cpu_off, 2),
                         "ignite_off": ignite_off, "ignite_on": ignite_on,
                         "ignite_ratio": round(ignite_on / ignite_off, 2),
                         "rate_off": rate_off, "rate_on": rate_on, "rate_ratio": round(rate_on / rate_off, 2)}
    return summary


# ---------------------------------------------------------------- report


def _table(sizes: dict, appends: dict | None) -> str:
    lines = ["| size | query | one room p50 / p99 ms (hits) | user's 20 of 200 rooms p50 / p99 ms (hits) |",
             "|---|---|---|---|"]
    for size, row in sizes.items():
        for label in QUERIES:
            one, many = row["one_room"][label], row["user_20_of_200"][label]
            lines.append(f"| {int(size):,} | {label} | {one['p50']} / **{one['p99']}** ({one['hits']}) "
                         f"| {many['p50']} / **{many['p99']}** ({many['hits']}) |")
    if appends:
        lines += ["", "| appends | client CPU-s per 1,000, no index | with index | ratio "
                  "| Ignite CPU-s per 1,000, no index | with index | ratio "
                  "| appends/s, no index | with index | ratio |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for mode, s in appends.items():
            if "ignite_base" in s:
                lines.append(f"| {mode} | | {s['cpu_base']} | | | {s['ignite_base']} | | | {s['rate_base']} | |")
                continue
            lines.append(f"| {mode} | {s['cpu_off']} | {s['cpu_on']} | {s['cpu_ratio']}x | {s['ignite_off']} "
                         f"| {s['ignite_on']} | {s['ignite_ratio']}x | {s['rate_off']} | {s['rate_on']} "
                         f"| {s['rate_ratio']}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one append child) and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--no-append", dest="append", action="store_false")
    parser.add_argument("--append-rounds", type=int, default=3)
    parser.add_argument("--appends", type=int, default=20 * 1024, help="appends per child (20 rooms)")
    parser.add_argument("--baseline-tree", type=Path, help="also run the append child from this checkout")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--region-mb", type=int, default=3072)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--append-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--nodes", help=argparse.SUPPRESS)
    parser.add_argument("--index", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("c200", "c20"), help=argparse.SUPPRESS)
    parser.add_argument("--ignite-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.append_child:
        _append_child(args)
        return 0

    from bench.servers import start_cluster

    def log(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as home:
        cluster = start_cluster(Path(home), 1, heap=args.heap, region_mb=args.region_mb, rest=False)
        try:
            nodes = cluster.nodes_env()
            store = _setup(nodes)  # the configured timeout (5 s): the search's own time limit is half of it
            store.ensure_schema()
            if args.baseline_tree:
                subprocess.run([sys.executable, "-c", "import django; django.setup(); import ignite_store; "
                                "ignite_store.get_store().ensure_schema()"], cwd=args.baseline_tree, check=True,
                               env={**os.environ}, timeout=300)
            appends = (_append_ab(nodes, cluster.pid(0), args.append_rounds, args.appends, log, args.baseline_tree)
                       if args.append else None)
            by_size = asyncio.run(_sizes(store, sizes, args.repeats, log))
        finally:
            cluster.stop()
    table = _table(by_size, appends)
    print("\n" + table)
    if args.json:
        args.json.write_text(json.dumps({"sizes": by_size, "appends": appends}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
