"""Old code against new, interleaved: bench children from two checkouts against one Ignite node.

    git worktree add --detach ../old-tree 27a2a95 && cp bench/reads_cpu.py ../old-tree/bench/
    .venv/bin/python -m bench.ab_trees --old ../old-tree --rounds 6 --jobs "append c20,reads,sync"

Each child is `python -m <bench module> --child ...` run with this venv's interpreter and the
checkout as its working directory (so it imports that checkout's code); the order of old and new
flips each round. Prints the per-child figures and a table of medians and per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPEND = ["bench.append_cpu", "--child", "--speedups", "on", "--warmup", "200"]
JOBS = {  # name -> (child arguments, result keys)
    "append c200": ([*APPEND, "--mode", "c200", "--appends", "3000"], ["cpu_per_1000"]),
    "append c20": ([*APPEND, "--mode", "c20", "--appends", "1500"], ["cpu_per_1000"]),
    "append single": ([*APPEND, "--mode", "single", "--appends", "500"], ["cpu_per_1000"]),
    "reads": (["bench.reads_cpu", "--child", "--reads", "1000"], ["latest", "before", "after"]),
    "sync": (["bench.reads_cpu", "--child", "--sync", "--reads", "1000"],
             ["sync latest", "sync get", "sync append"]),
}


def _env(nodes: str) -> dict:
    return {**os.environ, "IGNITE_NODES": nodes, "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40)}


def _child(tree: Path, nodes: str, args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-m", *args], cwd=tree, env=_env(nodes), capture_output=True,
                         text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(f"{tree}: {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Start a node, run the chosen jobs from both checkouts alternately, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="checkout of the old commit")
    parser.add_argument("--new", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", default=",".join(JOBS))
    args = parser.parse_args(argv)
    from bench.servers import start_cluster

    jobs = [name.strip() for name in args.jobs.split(",") if name.strip()]
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ab-trees-") as home:
        cluster = start_cluster(Path(home), 1, heap="1g", region_mb=256, rest=False)
        try:
            nodes = cluster.nodes_env()
            code = "import django; django.setup(); import ignite_store; ignite_store.get_store().ensure_schema()"
            subprocess.run([sys.executable, "-c", code], cwd=args.new, env=_env(nodes), check=True, timeout=300)
            for rnd in range(args.rounds):
                for name in jobs:
                    child_args, keys = JOBS[name]
                    order = [("old", args.old), ("new", args.new)]
                    for label, tree in order if rnd % 2 == 0 else order[::-1]:
                        out = _child(tree, nodes, child_args)
                        for key in keys:
                            results.setdefault((f"{name} {key}", label), []).append(out[key])
                        print(rnd + 1, label, name, {key: out[key] for key in keys}, flush=True)
        finally:
            cluster.stop()
    print("\n| workload | old (median) | new (median) | new/old | per round new/old |\n|---|---|---|---|---|")
    for workload in dict.fromkeys(w for w, _ in results):
        old, new = results[(workload, "old")], results[(workload, "new")]
        ratios = ", ".join(f"{b / a:.2f}" for a, b in zip(old, new, strict=True))
        print(f"| {workload} | {statistics.median(old):.3f} | {statistics.median(new):.3f} | "
              f"{statistics.median(new) / statistics.median(old):.2f} | {ratios} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
