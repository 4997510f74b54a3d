"""What the single-purpose benches (api, rooms, changes) share: one Ignite node with a site, and the result file.

    with one_node("chat-bench-api-", keep=args.keep) as stack:
        daphne = stack.daphne("api")
        ...
    save_result("api", result, started, argv)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .env import log

RESULTS = Path(__file__).resolve().parent / "results"
NO_REDIS_URL = "redis://127.0.0.1:1/0"  # for benches that never reach the channel layer


@dataclass
class Stack:
    """The servers of one bench run; everything started through it is stopped when the run ends."""

    workdir: Path
    site: Any = None
    cluster: Any = None
    redis: Any = None
    started: list = field(default_factory=list)

    @property
    def nodes(self) -> str:
        return self.cluster.nodes_env()

    def daphne(self, name: str, *, tree: Path | None = None):
        """A chat Daphne of `tree` (default: this checkout) on this stack's node."""
        from . import servers

        server = servers.start_daphne(self.site, self.nodes, name, tree=tree or servers.BASE_DIR)
        self.started.append(server)
        return server

    def setup_django(self) -> None:
        """Load Django in this process with the site's settings and the node (for direct store calls)."""
        os.environ.update({**self.site.env, "IGNITE_NODES": self.nodes})
        import django

        django.setup()


@contextmanager
def one_node(prefix: str, *, heap: str = "1g", redis: bool = True, keep: bool = False,
             site_env: dict | None = None) -> Iterator[Stack]:
    """Redis (unless `redis=False`), a site and one initialised Ignite node in a temporary directory."""
    from . import servers

    stack = Stack(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        if redis:
            stack.redis = servers.start_redis(stack.workdir / "redis")
        stack.site = servers.Site.create(stack.workdir / "site", stack.redis.url if redis else NO_REDIS_URL)
        stack.site.env.update(site_env or {})
        t0 = time.monotonic()
        stack.cluster = servers.start_cluster(stack.workdir / "ignite", 1, heap=heap, region_mb=512, rest=False)
        stack.site.init_store(stack.nodes)
        log(f"Ignite node on {stack.nodes} in {time.monotonic() - t0:.0f}s")
        yield stack
    finally:
        for server in (*stack.started, stack.cluster, stack.redis):
            if server is not None:
                server.stop()
        if not keep:
            shutil.rmtree(stack.workdir, ignore_errors=True)


def save_result(name: str, result: dict, started: float, argv: list[str] | None) -> Path:
    """Write bench/results/<time>-<name>.json with when, how long, the command line and the load."""
    result.update({"started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                   "duration_s": round(time.time() - started, 1),
                   "command": f"python -m bench.{name} " + " ".join(argv if argv is not None else sys.argv[1:]),
                   "load_avg_at_end": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()})
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}.json"
    path.write_text(json.dumps(result, indent=1))
    log(f"results: {path}")
    return path
