"""CPU-seconds per 1,000 history pages (50 messages) read with `alatest`, `abefore` and `aafter`.

    .venv/bin/python -m bench.reads_cpu --child                 # against IGNITE_NODES (schema created)
    .venv/bin/python -m bench.reads_cpu --child --sync          # the sync API: latest, get, append

With --sync: CPU-seconds (every thread of the process) and wall milliseconds per call of the sync API
that the admin views and management commands use.

One process, one event loop: fills a room with 500 messages, warms up, then times each read kind
back to back. Driven by an A/B script that starts the node (e.g. bench.append_cpu's parent); the
machine is shared, so compare variants run interleaved, not absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid


async def _workload(reads: int) -> dict:
    import ignite_store

    store = ignite_store.get_store()
    room = f"reads-{uuid.uuid4().hex[:8]}"
    await asyncio.gather(*(store.aappend(room, "ann", f"history body ü 🙂 {i} " + "x" * 60, f"r{i}")
                           for i in range(500)))
    kinds = {
        "latest": lambda i: store.alatest(room, 50),
        "before": lambda i: store.abefore(room, 51 + i % 400, 50),
        "after": lambda i: store.aafter(room, i % 400, 50),
    }
    result: dict = {"fast_codec": getattr(store, "fast_codec", None)}
    for name, read in kinds.items():
        for i in range(50):  # warm up
            await read(i)
        cpu0 = time.process_time()
        for i in range(reads):
            page = await read(i)
            assert len(page.messages) == 50
        result[name] = round((time.process_time() - cpu0) * 1000 / reads, 4)
    await store.aclose()
    return result


def _sync_workload(calls: int) -> dict:
    import ignite_store

    store = ignite_store.get_store()
    room = f"sync-{uuid.uuid4().hex[:8]}"
    for i in range(100):
        store.append(room, "ann", f"history body {i} " + "x" * 60, f"s{i}")
    kinds = {
        "sync latest": lambda i: store.latest(room, 50),
        "sync get": lambda i: store.get(room, 1 + i % 100),
        "sync append": lambda i: store.append(room, "ann", "sync body " + "x" * 60, f"t{i}"),
    }
    result: dict = {"fast_codec": getattr(store, "fast_codec", None)}
    for name, call in kinds.items():
        for i in range(20):
            call(-1 - i)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(calls):
            call(i)
        result[name] = round((time.process_time() - cpu0) * 1000 / calls, 4)
        result[name + " wall"] = round((time.perf_counter() - wall0) * 1000 / calls, 4)
    store.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Run one measured child (the driver passes --child)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--sync", action="store_true", help="measure the sync API instead")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    result = _sync_workload(args.reads // 2) if args.sync else asyncio.run(_workload(args.reads))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
