"""Daphne's CPU per message, old code against new, side by side: scenario 1 with the server of two checkouts.

    git worktree add --detach ../old-tree 27a2a95
    .venv/bin/python -m bench.daphne_ab --old ../old-tree --rounds 3 --rates 100,400 --seconds 10

One Redis and one set of users serve the whole run; each (round, checkout) gets a fresh Ignite node with
that checkout's schema and a Daphne started from that checkout, and this tree's load generator sends
scenario 1 (200 clients in 20 rooms, every client a sender) at each rate. The order of old and new flips
each round. Daphne's marginal CPU per 1,000 messages is the slope between two rates (`--slope`; default the
lowest and the highest: fixed background work cancels out); the summary gives its median per checkout, the
ratio, and each run's highest passing rate (scenario 1's rate, side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from . import servers
from .env import Env, log, server_pids
from .loadgen import Swarm
from .scenarios import chat_target, create_rooms, marginal_cpu, rate_search
from .servers import BASE_DIR


async def one_run(env: Env, tree: Path, is_this_tree: bool, label: str, rates: list[float], seconds: float,
                  clients: int, rooms: int, extra_env: dict, slope: tuple[float, float]) -> dict:
    """Scenario 1 against a Daphne of `tree` on a fresh node; the steps and Daphne's marginal CPU."""
    home = env.workdir / f"ignite-{label}"
    cluster = servers.start_cluster(home, 1, heap=env.heap, region_mb=env.region_mb, rest=False)
    daphne = None
    try:
        env.site.init_store(cluster.nodes_env(), tree=tree)
        names = [f"ab-r{i:02d}" for i in range(rooms)]
        if is_this_tree or (tree / "ignite_store" / "backends" / "ignite_rooms.py").exists():
            await create_rooms(env, cluster, names)  # checkouts before rooms have none to create: any name joins
        daphne = servers.start_daphne(env.site, cluster.nodes_env(), label, tree=tree, **extra_env)
        swarm = Swarm(chat_target([daphne]), names, clients, env.cookies)
        await swarm.connect()
        try:
            result = await rate_search(label, swarm, rates, seconds, server_pids(env, cluster, [daphne]),
                                       patience=len(rates))
        finally:
            await swarm.close()
        # The CPU slope between the two rates of `slope`, whether those steps passed or not.
        marginal = marginal_cpu([{**s, "pass": True} for s in result["steps"] if s["offered_rate"] in slope]) or {}
        return {"label": label, "tree": str(tree), "best_rate": result["best_rate"],
                "daphne_marginal_cpu_s_per_1000": marginal.get("daphne0"),
                "ignite_marginal_cpu_s_per_1000": marginal.get("ignite0"),
                "daphne_cpu_s_per_1000": {str(s["offered_rate"]): s["cpu_s_per_1000"]["daphne0"]
                                          for s in result["steps"]},
                "delivery_p99_ms": {str(s["offered_rate"]): s["delivery"]["p99"] for s in result["steps"]},
                "passed": [s["pass"] for s in result["steps"]]}
    finally:
        if daphne is not None:
            daphne.stop()
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


async def main_async(args) -> dict:
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    rates = [float(r) for r in args.rates.split(",")]
    slope = tuple(float(r) for r in args.slope.split(",")) if args.slope else (rates[0], rates[-1])
    extra_env = {"new": dict(item.split("=", 1) for item in args.env or []),
                 "old": dict(item.split("=", 1) for item in args.old_env or [])}
    with tempfile.TemporaryDirectory(prefix="daphne-ab-") as tmp:
        env = Env(Path(tmp), heap="1g", region_mb=512)
        rows = []
        try:
            env.start_base(args.clients)
            for rnd in range(args.rounds):
                order = ["old", "new"] if rnd % 2 == 0 else ["new", "old"]
                for side in order:
                    row = await one_run(env, trees[side], trees[side] == BASE_DIR, f"{side}{rnd}", rates,
                                        args.seconds, args.clients, args.rooms, extra_env[side], slope)
                    row.update(side=side, round=rnd, load_avg=[round(x, 2) for x in os.getloadavg()])
                    log(json.dumps(row))
                    rows.append(row)
        finally:
            env.close()
    summary = {}
    for side in trees:
        values = [r["daphne_marginal_cpu_s_per_1000"] for r in rows if r["side"] == side
                  and r["daphne_marginal_cpu_s_per_1000"] is not None]
        summary[side] = {"median_daphne_marginal": round(statistics.median(values), 3) if values else None,
                         "runs": values, "best_rates": [r["best_rate"] or 0 for r in rows if r["side"] == side]}
    if summary["old"]["median_daphne_marginal"] and summary["new"]["median_daphne_marginal"]:
        summary["ratio_new_to_old"] = round(summary["new"]["median_daphne_marginal"]
                                            / summary["old"]["median_daphne_marginal"], 3)
    return {"started": args.started, "rates": rates, "slope": slope, "seconds": args.seconds, "rows": rows,
            "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="checkout of the old commit")
    parser.add_argument("--new", type=Path, default=BASE_DIR, help="checkout of the new code (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rates", default="100,400")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--slope", help="LOW,HIGH: the two rates of the marginal CPU (default: the lowest and highest)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--env", action="append", help="NAME=VALUE for the new side's Daphne (repeatable)")
    parser.add_argument("--old-env", action="append", help="NAME=VALUE for the old side's Daphne (repeatable)")
    args = parser.parse_args(argv)
    args.started = time.strftime("%Y-%m-%d %H:%M:%S")
    result = asyncio.run(main_async(args))
    out = BASE_DIR / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-daphne-ab.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["summary"], indent=1))
    log(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
