"""A/B of Daphne's event loop: asyncio vs uvloop, side by side in one run (`python -m bench.loop_ab`).

One Ignite node and redis-server are started once; two Daphne processes with the bench's settings,
both through `python -m chatsite.daphne_main`, one with CHAT_EVENT_LOOP=asyncio and one with uvloop.
Each gets its own 200 clients in 20 rooms (scenario 1's shape). Steps at fixed rates alternate
between the two (the order flips every step) and repeat for several rounds, so that the noise of
the shared machine falls on both. Reported: Daphne CPU-seconds per 1,000 messages and the paired
uvloop/asyncio ratio of each (round, rate), and which rates pass (all delivered, p99 <= 250 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import scenarios, servers
from .env import Env, log, server_pids
from .loadgen import Swarm

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = ("asyncio", "uvloop")
TAGS = string.digits + string.ascii_letters


def start_daphne_main(env: Env, cluster, loop: str) -> servers.Daphne:
    """servers.start_daphne's process, launched through chatsite.daphne_main with CHAT_EVENT_LOOP=`loop`."""
    proc_env = {**env.site.env, "IGNITE_NODES": cluster.nodes_env(), "CHAT_EVENT_LOOP": loop}
    listener = servers._listener()
    port = listener.getsockname()[1]
    log_path = env.site.directory / f"daphne-{loop}-{port}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatsite.daphne_main", "--fd", str(listener.fileno()), "-v", "0",
             "--websocket-max-message-size", "32768", "--websocket-max-frame-size", "32768",
             "chatsite.asgi:application"],
            cwd=servers.BASE_DIR, env=proc_env, stdout=out, stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()], start_new_session=True,
        )
    listener.close()
    server = servers.Daphne(proc, port, log_path)
    env.daphnes.append(server)  # stopped by env.close()
    servers._wait_http(port, proc, "/ws/chat/", f"Daphne {loop}", log_path)
    loop_line = next((ln for ln in log_path.read_text().splitlines() if "event loop" in ln), "")
    if loop not in loop_line:
        raise RuntimeError(f"Daphne {loop} reports {loop_line!r}")
    return server


async def run(cfg: dict, env: Env) -> dict:
    """Start the servers, connect both swarms, then alternate fixed-rate steps; the raw steps."""
    env.start_base(users=cfg["clients"])
    cluster = env.cluster("one", 1)
    daphnes = {loop: start_daphne_main(env, cluster, loop) for loop in VARIANTS}
    swarms = {}
    for loop, daphne in daphnes.items():
        rooms = [f"ab-{loop}-r{i:02d}" for i in range(cfg["rooms"])]
        swarms[loop] = Swarm(scenarios.chat_target([daphne]), rooms, cfg["clients"], env.cookies)
        await swarms[loop].connect()
    log(f"{cfg['clients']} clients in {cfg['rooms']} rooms on each Daphne: " +
        ", ".join(f"{loop} pid {d.pid}" for loop, d in daphnes.items()))
    steps = []
    try:
        turn = 0
        for rnd in range(cfg["rounds"]):
            for rate in cfg["rates"]:
                order = VARIANTS if turn % 2 == 0 else VARIANTS[::-1]
                for loop in order:
                    # label[:2] prefixes the client ids, which are idempotency keys: unique per step.
                    label = f"{loop[0]}{TAGS[turn]} {loop} round {rnd}"
                    pids = server_pids(env, cluster, [daphnes[loop]])
                    found = await scenarios.rate_search(label, swarms[loop], [rate], cfg["seconds"], pids)
                    steps.append({"loop": loop, "round": rnd, "rate": rate, **found["steps"][0]})
                turn += 1
    finally:
        for swarm in swarms.values():
            await swarm.close()
    return {"steps": steps, "daphne_pids": {loop: d.pid for loop, d in daphnes.items()}}


def summarise(steps: list[dict], rates: list[float]) -> dict:
    """Per rate: Daphne CPU-s per 1,000 messages of each loop, the paired ratios, passes; and overall."""
    by = {(s["loop"], s["round"], s["rate"]): s for s in steps}
    rounds = sorted({s["round"] for s in steps})
    out: dict = {"rates": {}}
    all_ratios = []
    for rate in rates:
        row: dict = {}
        for loop in VARIANTS:
            mine = [by[(loop, r, rate)] for r in rounds if (loop, r, rate) in by]
            cpu = [s["cpu_s_per_1000"]["daphne0"] for s in mine]
            row[loop] = {
                "daphne_cpu_s_per_1000": cpu,
                "daphne_cpu_median": round(statistics.median(cpu), 3) if cpu else None,
                "passes": f"{sum(s['pass'] for s in mine)}/{len(mine)}",
                "delivery_p99_ms": [s["delivery"]["p99"] for s in mine],
                "other_cpu_s_per_1000": {k: statistics.median(s["cpu_s_per_1000"][k] for s in mine)
                                         for k in ("ignite0", "redis", "loadgen") if mine},
            }
        ratios = [by[("uvloop", r, rate)]["cpu_s_per_1000"]["daphne0"] / by[("asyncio", r, rate)]["cpu_s_per_1000"]
                  ["daphne0"] for r in rounds if ("uvloop", r, rate) in by and ("asyncio", r, rate) in by]
        all_ratios += ratios
        row["ratio_uvloop_over_asyncio"] = [round(x, 3) for x in ratios]
        row["ratio_median"] = round(statistics.median(ratios), 3) if ratios else None
        out["rates"][str(rate)] = row
    for loop in VARIANTS:
        mine = [s for s in steps if s["loop"] == loop]
        best = [max((s["rate"] for s in mine if s["round"] == r and s["pass"]), default=None) for r in rounds]
        cpu = sum(s["cpu"]["cpu_s"]["daphne0"] for s in mine)
        sent = sum(s["sent"] for s in mine)
        out[loop] = {"best_passing_rate_per_round": best,
                     "daphne_cpu_s_per_1000_pooled": round(cpu * 1000 / sent, 3) if sent else None}
    out["ratio_median_all"] = round(statistics.median(all_ratios), 3) if all_ratios else None
    out["ratio_range_all"] = [round(min(all_ratios), 3), round(max(all_ratios), 3)] if all_ratios else None
    pooled = [out[loop]["daphne_cpu_s_per_1000_pooled"] for loop in VARIANTS]
    out["ratio_pooled"] = round(pooled[1] / pooled[0], 3) if all(pooled) else None
    return out


def print_table(summary: dict) -> None:
    """The summary as a Markdown table on stdout."""
    print("\n| msg/s | asyncio Daphne CPU-s/1k (median) | uvloop | uvloop/asyncio per round | median | "
          "passes asyncio | passes uvloop | p99 ms asyncio | p99 ms uvloop |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate, row in summary["rates"].items():
        a, u = row["asyncio"], row["uvloop"]
        print(f"| {rate} | {a['daphne_cpu_median']} | {u['daphne_cpu_median']} | {row['ratio_uvloop_over_asyncio']} "
              f"| {row['ratio_median']} | {a['passes']} | {u['passes']} | {a['delivery_p99_ms']} "
              f"| {u['delivery_p99_ms']} |")
    print(f"\nall steps: median ratio {summary['ratio_median_all']} (range {summary['ratio_range_all']}), "
          f"pooled CPU ratio {summary['ratio_pooled']}")
    for loop in VARIANTS:
        print(f"{loop}: best passing rate per round {summary[loop]['best_passing_rate_per_round']}, "
              f"pooled {summary[loop]['daphne_cpu_s_per_1000_pooled']} CPU-s/1k")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loop_ab", description=__doc__)
    parser.add_argument("--rates", default="300,500,700", help="comma list of fixed rates (msg/s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each step")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    args = parser.parse_args(argv)
    if args.rounds * len(args.rates.split(",")) > len(TAGS):
        parser.error(f"at most {len(TAGS)} steps per loop")
    cfg = {"clients": 200, "rooms": 20, "rates": [float(x) for x in args.rates.split(",")],
           "rounds": args.rounds, "seconds": args.seconds}
    servers.raise_nofile(4096)
    workdir = Path(tempfile.mkdtemp(prefix="chat-loop-ab-"))
    env = Env(workdir, heap="1g", region_mb=512)
    started = time.time()
    log(f"loop A/B {cfg}, work dir {workdir}")
    result: dict = {"config": cfg, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    error = None
    try:
        result.update(asyncio.run(run(cfg, env)))
        result["summary"] = summarise(result["steps"], cfg["rates"])
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log(f"run failed: {error}")
    finally:
        env.close()
        if not args.keep and error is None:
            shutil.rmtree(workdir, ignore_errors=True)
    result.update({"error": error, "duration_s": round(time.time() - started, 1)})
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-loop-ab.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    log(f"results: {path}")
    if "summary" in result:
        print_table(result["summary"])
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
