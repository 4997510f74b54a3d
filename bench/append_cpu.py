"""CPU-seconds per 1,000 appends in the process that calls `aappend`, with and without the pyignite seam.

    .venv/bin/python -m bench.append_cpu                     # A/B, 3 rounds, interleaved, + a cProfile of each
    .venv/bin/python -m bench.append_cpu --repeats 5 --modes c200,c20 --no-profile

Starts its own Ignite node (free loopback ports, temporary directory), creates the chat schema, then runs
each workload in fresh subprocesses, alternating "off" (the store's `fast_codec=False`: plain pyignite)
and "on" (`fast_codec=True`, ignite_store/backends/pyignite_seam.py) in the same run. The machine is shared: read the
on/off ratios, not the absolute figures. Modes:
  c200    200 aappend loops in flight over 20 rooms (group commit batches of ~10)
  c20     20 loops over 20 rooms (batches of ~1)
  single  one loop, one room: a single-message batch after another
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = {"c200": (200, 20), "c20": (20, 20), "single": (1, 1)}  # mode -> (loops in flight, rooms)


# ---------------------------------------------------------------- child: one measured workload


async def _workload(mode: str, appends: int, warmup: int, profile: bool) -> dict:
    import ignite_store

    store = ignite_store.get_store()
    concurrency, room_count = MODES[mode]
    tag = uuid.uuid4().hex[:8]
    rooms = [f"cpu-{tag}-{i}" for i in range(room_count)]
    batches: list[int] = []
    commit = store._commit_batch

    async def counted(*args):  # batch sizes, so both variants are seen to batch alike; (room,) batch
        batches.append(len(args[-1]))
        return await commit(*args)

    store._commit_batch = counted
    body = "benchmark body ü 🙂 " + "x" * 60

    async def run(total: int) -> None:
        left = total

        async def loop(k: int) -> None:
            nonlocal left
            room, n = rooms[k % room_count], 0
            while left > 0:
                left -= 1
                n += 1
                await store.aappend(room, f"user{k}", f"{body} {n}", f"c{tag}-{k}-{n}-{left}")

        await asyncio.gather(*(loop(k) for k in range(concurrency)))

    await run(warmup)  # connection, binary types registered, caches warm
    batches.clear()
    profiler = cProfile.Profile() if profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    await run(appends)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    result = {
        "mode": mode, "appends": appends, "cpu_s": round(cpu, 4), "wall_s": round(wall, 4),
        "cpu_per_1000": round(cpu * 1000 / appends, 4), "batches": len(batches),
        "mean_batch": round(statistics.fmean(batches), 2) if batches else 0,
    }
    if profiler:
        result["profile"] = _summarise(profiler)
    await store.aclose()
    return result


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if filename.startswith(str(ROOT)):
        return filename[len(str(ROOT)) + 1:].split("/", 1)[0]
    if "/lib/python" in filename:
        return filename.rsplit("/lib/python", 1)[1].split("/")[1].removesuffix(".py")
    return "builtins" if filename == "~" else filename


def _summarise(profiler: cProfile.Profile, top: int = 15) -> dict:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = sum(row[2] for row in stats.stats.values()) or 1.0
    by_package: Counter = Counter()
    rows = []
    for (filename, line, name), (_cc, calls, tottime, _cumtime, _callers) in stats.stats.items():
        by_package[_package(filename)] += tottime
        rows.append((tottime, calls, f"{name} ({_package(filename)}:{Path(filename).name}:{line})"))
    rows.sort(reverse=True)
    return {
        "packages": {k: round(100 * v / total, 1) for k, v in by_package.most_common(8)},
        "top": [{"self_pct": round(100 * t / total, 1), "calls": c, "function": f} for t, c, f in rows[:top]],
    }


def child(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.IGNITE_STORE["default"]["OPTIONS"]["fast_codec"] = args.speedups == "on"
    import ignite_store

    if ignite_store.get_store().fast_codec != (args.speedups == "on"):
        raise SystemExit("the pyignite seam did not install")
    result = asyncio.run(_workload(args.mode, args.appends, args.warmup, args.cprofile))
    result["speedups"] = args.speedups
    print(json.dumps(result))


# ---------------------------------------------------------------- parent: server, A/B, report


def _env(nodes: str) -> dict:
    return {**os.environ, "IGNITE_NODES": nodes, "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40)}


def _run_child(nodes: str, mode: str, speedups: str, appends: int, warmup: int, profile: bool) -> dict:
    env = _env(nodes)
    cmd = [sys.executable, "-m", "bench.append_cpu", "--child", "--mode", mode, "--speedups", speedups,
           "--appends", str(appends), "--warmup", str(warmup)] + (["--cprofile"] if profile else [])
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"child {mode}/{speedups} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ensure_schema(nodes: str) -> None:
    env = _env(nodes)
    code = "import django; django.setup(); import ignite_store; ignite_store.get_store().ensure_schema()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=300)


def _print_profile(label: str, result: dict) -> None:
    prof = result["profile"]
    print(f"\n### cProfile, {result['mode']}, speedups {label}: self time by package")
    print(", ".join(f"{k} {v} %" for k, v in prof["packages"].items()))
    print("| self % | calls | function |\n|---|---|---|")
    for row in prof["top"]:
        print(f"| {row['self_pct']} | {row['calls']} | `{row['function']}` |")


def parent(args: argparse.Namespace) -> int:
    from bench.servers import start_cluster

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    counts = {"c200": args.appends, "c20": args.appends // 2, "single": args.appends // 6}
    with tempfile.TemporaryDirectory(prefix="append-cpu-") as home:
        cluster = start_cluster(Path(home), 1, heap="1g", region_mb=256, rest=False)
        try:
            nodes = cluster.nodes_env()
            _ensure_schema(nodes)
            results: dict[tuple[str, str], list[dict]] = {}
            for rnd in range(args.repeats):
                for mode in modes:
                    # interleaved, and the order flips each round so neither variant always goes first
                    order = ("off", "on") if rnd % 2 == 0 else ("on", "off")
                    for variant in order:
                        r = _run_child(nodes, mode, variant, counts[mode], args.warmup, False)
                        results.setdefault((mode, variant), []).append(r)
                        print(f"round {rnd + 1} {mode:6} {variant:3}: {r['cpu_per_1000']:.3f} CPU-s/1k appends, "
                              f"wall {r['wall_s']:.2f} s, mean batch {r['mean_batch']}", flush=True)
            print("\n| mode | CPU-s per 1,000 appends, off (median) | on (median) | off/on | per round off/on "
                  "| mean batch off / on |")
            print("|---|---|---|---|---|---|")
            for mode in modes:
                off, on = results[(mode, "off")], results[(mode, "on")]
                med_off = statistics.median(r["cpu_per_1000"] for r in off)
                med_on = statistics.median(r["cpu_per_1000"] for r in on)
                rounds = ", ".join(f"{a['cpu_per_1000'] / b['cpu_per_1000']:.2f}" for a, b in zip(off, on, strict=True))
                batch = (f"{statistics.fmean(r['mean_batch'] for r in off):.1f} / "
                         f"{statistics.fmean(r['mean_batch'] for r in on):.1f}")
                print(f"| {mode} | {med_off:.3f} | {med_on:.3f} | {med_off / med_on:.2f}x | {rounds} | {batch} |")
            if args.profile:
                for variant in ("off", "on"):
                    _print_profile(variant, _run_child(nodes, modes[0], variant, counts[modes[0]], args.warmup, True))
        finally:
            cluster.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the parent (A/B driver) or one child workload."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="c200,c20,single")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--appends", type=int, default=3000, help="appends per c200 run (c20: half, single: 1/6)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=sorted(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--speedups", choices=("off", "on"), default="off", help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
