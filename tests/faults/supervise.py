"""Run the project's NodeSupervisor for one node of a test cluster in a process of its own.

    python -m tests.faults.supervise CONFIG.json      (stops on SIGTERM)

The scenario's load clients run in the pytest process; a supervisor thread there (its pyignite calls,
a JVM start) would compete with them for the GIL. CONFIG holds LocalCluster's constructor arguments,
`index` and `interval`. The node it starts must outlive it: die_with_parent is off here.
"""

from __future__ import annotations

import inspect
import json
import signal
import sys
import threading
from pathlib import Path


def cluster_options(cluster) -> dict:
    """LocalCluster's constructor arguments as JSON-able values (TLS not supported here)."""
    from ignite_store.server.local import LocalCluster

    names = [n for n in inspect.signature(LocalCluster.__init__).parameters if n not in ("self", "tls")]
    options = {name: getattr(cluster, name) for name in names}
    return {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}


def main(config_path: str) -> None:
    import logging

    from ignite_store.server.local import LocalCluster

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = json.loads(Path(config_path).read_text())
    cluster = LocalCluster(**{**config["cluster"], "die_with_parent": False})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    supervisor = cluster.supervisor(config["index"], min_backoff=1.0, split=config.get("split", True))
    print("supervising", supervisor.name, flush=True)
    supervisor.run(stop, config["interval"])


if __name__ == "__main__":
    main(sys.argv[1])
