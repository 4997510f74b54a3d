"""Processes the fault scenarios may kill: a restartable redis-server and ignite_status runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.servers import RedisServer, redis_ping  # noqa: F401 (used by the scenarios)

BASE_DIR = Path(__file__).resolve().parents[2]


def ignite_status(env: dict, nodes: list[tuple[str, int]]) -> int:
    """Exit status of `manage.py ignite_status` against `nodes`: 0 healthy, 1 degraded, 2 unreachable."""
    env = {**env, "IGNITE_NODES": ",".join(f"{h}:{p}" for h, p in nodes)}
    done = subprocess.run([sys.executable, "manage.py", "ignite_status"], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode


def ignite_status_json(env: dict, nodes: list[tuple[str, int]], server_home) -> dict:
    """`manage.py ignite_status --json` against `nodes`, with the local nodes' home at `server_home`."""
    env = {**env, "IGNITE_NODES": ",".join(f"{h}:{p}" for h, p in nodes), "IGNITE_SERVER_HOME": str(server_home)}
    done = subprocess.run([sys.executable, "manage.py", "ignite_status", "--json"], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"status": "no answer", "exit": done.returncode, "stderr": done.stderr[-2000:]}


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def env_flag(name: str) -> bool:
    """True when the environment variable is set to 1/true/yes."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
