"""Sample a server process with py-spy during a step and summarise where its time goes."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    """`async with Profiler(pid, path):` records collapsed stacks of `pid` into `path` while the block runs."""

    def __init__(self, pid: int, path: Path, rate: int = 100):
        self.pid, self.path, self.rate = pid, path, rate
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Profiler:
        exe = py_spy()
        if exe:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.proc = await asyncio.create_subprocess_exec(
                exe, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--format", "raw", "--nonblocking",
                "--output", str(self.path), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await asyncio.sleep(0.5)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()


def summarise(path: Path, top: int = 15, seconds: float | None = None, rate: int = 100) -> dict:
    """Self and inclusive sample shares per function, and per package, from a collapsed-stack file."""
    if not path.exists():
        return {"error": "no profile (py-spy missing or not permitted)"}
    own: Counter = Counter()
    incl: Counter = Counter()
    packages: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
        packages[_package(frames[-1])] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter) -> list:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    # Frames on (almost) every stack are the server's main loop: they say nothing about where time goes.
    incl = Counter({name: n for name, n in incl.items() if n < 0.6 * total})

    # py-spy records only non-idle samples: their count against the wall time tells how busy the process was.
    busy = round(100 * total / (seconds * rate), 1) if seconds else None
    return {"samples": total, "busy_percent_of_one_core": busy, "self_percent": share(own),
            "inclusive_percent": share(incl), "self_by_package_percent": share(packages),
            "collapsed_stacks": str(path)}


def _package(frame: str) -> str:
    # py-spy frames look like "function (package/module.py:123)" or "function (<frozen runpy>:88)"
    location = frame.rsplit("(", 1)[-1].rstrip(")")
    if location.startswith("<"):
        return "stdlib"
    return location.split("/", 1)[0] if "/" in location else location.split(":", 1)[0]
