"""Processes the fault scenarios may kill: a restartable redis-server and ignite_status runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ignite_store.server.local import find_free_port_base

BASE_DIR = Path(__file__).resolve().parents[2]


def redis_ping(port: int) -> bool:
    """True when a redis-server answers PING on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private redis-server on a fixed free port that can be killed and started again on that port."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = find_free_port_base(1)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        """Start (or restart) on the same port; raise RuntimeError if it does not answer."""
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed (run `make redis`)")
        log = self.workdir / "redis.log"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(log), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not redis_ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{tail}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9 (everything in it is lost: subscriptions, presence, connection counts)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop for good."""
        self.kill()


def ignite_status(env: dict, nodes: list[tuple[str, int]]) -> int:
    """Exit status of `manage.py ignite_status` against `nodes`: 0 healthy, 1 degraded, 2 unreachable."""
    env = {**env, "IGNITE_NODES": ",".join(f"{h}:{p}" for h, p in nodes)}
    done = subprocess.run([sys.executable, "manage.py", "ignite_status"], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def env_flag(name: str) -> bool:
    """True when the environment variable is set to 1/true/yes."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
