"""One command for every figure: `python -m bench [--quick]` (see docs/performance.md).

Starts its own servers on free loopback ports in a temporary directory, runs the scenarios beside
their references, writes bench/results/<time>.json, docs/performance.md and docs/img/performance.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import scenarios, servers
from .env import Env, log, server_pids

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"

PROFILES = {
    "quick": {
        "clients": 200, "rooms": 20, "rates": [50, 100, 200, 400, 600, 800, 1200, 1600, 2400, 3200, 4800],
        "seconds": 4.0, "patience": 1,
        "storage_seconds": 4.0, "storage_concurrency": [1, 20, 200],
        "fan_clients": [50, 200, 800], "fan_rate": 10, "fan_senders": 5,
        "fan_seconds": 3.0, "history_messages": 5_000, "fill_processes": 2, "fill_concurrency": 2,
        "history_samples": 100, "catchup_samples": 5, "idle": 1000, "idle_seconds": 10.0,
        "heap": "1g", "region_mb": 512,
    },
    "full": {
        "clients": 200, "rooms": 20,
        "rates": [25, 50, 100, 200, 300, 400, 600, 800, 1000, 1200, 1600, 2000, 2400, 3200, 4800],
        "seconds": 10.0, "patience": 2, "storage_seconds": 10.0, "storage_concurrency": [1, 20, 200],
        "fan_clients": [50, 100, 200, 400, 800, 1200, 1600, 2400, 3200], "fan_rate": 10, "fan_senders": 5,
        "fan_seconds": 8.0, "history_messages": 1_000_000, "fill_processes": 2, "fill_concurrency": 2,
        "history_samples": 400, "catchup_samples": 20, "idle": 5000, "idle_seconds": 60.0,
        "heap": "2g", "region_mb": 2048,
    },
}
ALL = ["1", "2", "3", "4", "5", "6", "7"]


def ensure_requirements() -> None:
    """Install bench/requirements.txt into this interpreter when something is missing."""
    from .profile import py_spy

    try:
        import matplotlib  # noqa: F401

        missing = py_spy() is None
    except ImportError:
        missing = True
    if missing:
        log("installing bench/requirements.txt")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                        str(BENCH_DIR / "requirements.txt")], check=True)


async def run(cfg: dict, wanted: list[str], env: Env, result: dict) -> dict:
    """Run the wanted scenarios, filling result["scenarios"] as they finish (kept if a later one fails)."""
    out = result.setdefault("scenarios", {})
    env.start_base(users=200)
    one = env.cluster("one", 1, rest=True)
    rooms20 = [f"lim-r{i:02d}" for i in range(cfg["rooms"])]
    if any(s in wanted for s in ("1", "6")):
        out["storage_limit_1proc"] = await scenarios.storage_limit(
            env, one, 1, cfg["storage_concurrency"], cfg["storage_seconds"], rooms20)
    if "1" in wanted or "2" in wanted or "5" in wanted:
        peer = env.peer(one, "seedchat")
    daphne = env.daphne(one, "a")
    if "1" in wanted:
        out["chat_1daphne_1node"] = await scenarios.persisted_chat(env, one, [daphne], cfg, "s1")
        out["seed_1node"] = await scenarios.seed_chat(env, one, peer, cfg, "seed1", "seedchat")
        if cfg.get("peers", True):
            out.update(await peers(env, one, cfg, "1node", backups=0))
    if "2" in wanted:
        fan = {"clients": cfg["fan_clients"], "rate": cfg["fan_rate"], "senders": cfg["fan_senders"],
               "seconds": cfg["fan_seconds"]}
        out["fanout_chat"] = await scenarios.fanout(env, one, "chat", daphne, fan, "fan")
        out["fanout_seed"] = await scenarios.fanout(env, one, "seed", peer, fan, "fanseed", "seedchat")
    if "3" in wanted or "4" in wanted:
        out["history"] = await scenarios.history(env, one, cfg)
    if "4" in wanted:
        out["catchup_ws"] = await scenarios.catchup(env, daphne, cfg["catchup_samples"])
    if "5" in wanted:
        idle_daphne = env.daphne(one, "idle")
        out["idle"] = await scenarios.idle(env, one, idle_daphne, peer, cfg["idle"], cfg["idle_seconds"])
        env.stop_daphne(idle_daphne)
    if "6" in wanted:
        second = env.daphne(one, "b")
        out["storage_limit_2proc"] = await scenarios.storage_limit(
            env, one, 2, [max(1, c // 2) for c in cfg["storage_concurrency"]], cfg["storage_seconds"], rooms20)
        out["chat_2daphne_1node"] = await scenarios.persisted_chat(env, one, [daphne, second], cfg, "s6d")
        env.stop_daphne(second)
        env.stop_daphne(daphne)
        two = env.cluster("two", 2)
        out["storage_limit_1proc_2nodes"] = await scenarios.storage_limit(
            env, two, 1, cfg["storage_concurrency"], cfg["storage_seconds"], rooms20)
        # partition awareness (transactions on the rooms' primary) is off by default: docs/performance.md.
        out["storage_limit_1proc_2nodes_partition_aware"] = await scenarios.storage_limit(
            env, two, 1, cfg["storage_concurrency"][:2], cfg["storage_seconds"], rooms20,
            {"options": {"partition_aware": True}})
        daphne2 = env.daphne(two, "c")
        out["chat_1daphne_2nodes"] = await scenarios.persisted_chat(env, two, [daphne2], cfg, "s6n")
        env.stop_daphne(daphne2)
        env.stop_cluster("two")
    if "7" in wanted:
        # The production shape: two nodes, backups=1, FULL_SYNC (a single node cannot lose a node).
        prod = env.cluster("prod", 2, rest=True)
        # Ignite's CPU per append on each shape and transaction kind, side by side (the store's option).
        for kind in ("pessimistic", "optimistic"):
            variant = {"options": {"transactions": kind}}
            out[f"storage_limit_1node_{kind}"] = await scenarios.storage_limit(
                env, one, 1, cfg["storage_concurrency"], cfg["storage_seconds"], rooms20, variant)
            out[f"storage_limit_prod_{kind}"] = await scenarios.storage_limit(
                env, prod, 1, cfg["storage_concurrency"], cfg["storage_seconds"], rooms20, variant)
        for kind in ("pessimistic", "optimistic"):
            daphne_p = env.daphne(prod, f"p{kind[0]}", IGNITE_TRANSACTIONS=kind)
            out[f"chat_1daphne_prod_{kind}"] = await scenarios.persisted_chat(env, prod, [daphne_p], cfg,
                                                                              f"s7{kind[0]}")
            env.stop_daphne(daphne_p)
        out["chat_1daphne_prod"] = out["chat_1daphne_prod_pessimistic"]
        if cfg.get("peers", True):
            out.update(await peers(env, prod, cfg, "prod", backups=1))
        env.stop_cluster("prod")
    return result


async def peers(env: Env, cluster, cfg: dict, shape: str, *, backups: int) -> dict:
    """Scenario 1's load against the two peers a user would weigh: the seed made lossless, the tutorial's consumer."""
    out = {}
    lossless = env.peer(cluster, f"lossless{shape}", script="lossless.js", backups=backups)
    out[f"lossless_{shape}"] = await scenarios.peer_chat(
        env, cluster, scenarios.lossless_target(lossless), server_pids(env, cluster, peer=lossless), cfg,
        f"ll{shape}")
    env.stop_peer(lossless)
    tutorial = env.tutorial(cluster, f"tut{shape}")
    out[f"tutorial_{shape}"] = await scenarios.peer_chat(
        env, cluster, scenarios.chat_target([tutorial]), server_pids(env, cluster, [tutorial]), cfg, f"tu{shape}")
    env.stop_daphne(tutorial)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few minutes: short steps, smaller counts")
    parser.add_argument("--scenarios", default=",".join(ALL), help="comma list of 1..7 (default: all)")
    parser.add_argument("--history-messages", type=int, help="messages in the history room (full: 1,000,000)")
    parser.add_argument("--idle", type=int, help="idle connections for scenario 5 (full: 5,000)")
    parser.add_argument("--rates", help="comma list of offered rates (msg/s) for scenarios 1 and 6")
    parser.add_argument("--profile", action="store_true",
                        help="after scenario 1's search, sample Daphne with py-spy for one more step")
    parser.add_argument("--no-peers", action="store_true",
                        help="scenarios 1 and 7 without the lossless Node peer and the tutorial consumer")
    parser.add_argument("--no-docs", action="store_true", help="write the JSON only, not docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    args = parser.parse_args(argv)

    profile = "quick" if args.quick else "full"
    cfg = dict(PROFILES[profile])
    if args.history_messages:
        cfg["history_messages"] = args.history_messages
    if args.idle:
        cfg["idle"] = args.idle
    if args.rates:
        cfg["rates"] = [float(x) for x in args.rates.split(",")]
    cfg["peers"] = not args.no_peers
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.profile:
        cfg["profile_dir"] = RESULTS / f"{stamp}-profiles"
    ensure_requirements()
    nofile = servers.raise_nofile(2 * cfg["idle"] + 4096)
    if nofile < 2 * cfg["idle"] + 1024:
        log(f"warning: open-file limit is {nofile}; {cfg['idle']} idle sockets may not fit")

    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    env = Env(workdir, heap=cfg["heap"], region_mb=cfg["region_mb"])
    started = time.time()
    log(f"{profile} run, scenarios {','.join(wanted)}, work dir {workdir}")
    result: dict = {"scenarios": {}}
    error = None
    try:
        asyncio.run(run(cfg, wanted, env, result))
    except KeyboardInterrupt:
        error = "interrupted"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log(f"run failed: {error}")
    finally:
        env.close()
        if not args.keep and error is None:
            shutil.rmtree(workdir, ignore_errors=True)
    result.update({
        "profile": profile, "config": cfg, "scenarios_wanted": wanted, "error": error,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "load_avg_at_end": _loadavg(),
                    "open_file_limit": nofile},
        "workdir": str(workdir) if (args.keep or error) else None,
    })
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}-{profile}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    log(f"results: {path}")
    if not args.no_docs and result.get("scenarios"):
        from .report import write_docs

        write_docs(result, path)
    return 1 if error else 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _loadavg() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]


if __name__ == "__main__":
    sys.exit(main())
