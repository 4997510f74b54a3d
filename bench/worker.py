"""Store-level tasks run in their own process: `python -m bench.worker TASK JSON-ARGS` prints one JSON line.

The environment (IGNITE_NODES, DJANGO_*) comes from the bench; each task uses only the public store
API (ignite_store.get_store()), as the chat consumers do.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def storage(args: dict) -> dict:
    """The storage limit: aappend in a tight loop, `concurrency` loops over `rooms`, for `seconds`."""
    from bench.loadgen import percentiles
    from ignite_store.connection import StoreHandler

    # clients > 1: that many independent backends (one AioClient connection each), appends spread over
    # them; measures what a per-process connection pool would gain (the default is one AioClient per loop).
    # options: store OPTIONS overrides (e.g. {"partition_aware": true}) for side-by-side variants.
    handler = StoreHandler()
    if args.get("options"):
        from django.conf import settings

        conf = settings.IGNITE_STORE["default"]
        handler = StoreHandler({"default": {**conf, "OPTIONS": {**conf.get("OPTIONS", {}), **args["options"]}}})
    stores = [handler.create_connection("default") for _ in range(args.get("clients", 1))]
    rooms = args["rooms"]
    for store in stores:
        await store.alast_seq(rooms[0])  # connect before the clock starts
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + args["seconds"]
    tag = uuid.uuid4().hex[:8]

    async def loop(k: int) -> None:
        nonlocal errors
        room = rooms[k % len(rooms)]
        store = stores[k % len(stores)]
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            t0 = time.perf_counter()
            try:
                await store.aappend(room, "bench", f"storage limit {n} " + "x" * 60, f"s{tag}-{k}-{n}")
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)

    cpu0, t0 = _cpu(), time.perf_counter()
    await asyncio.gather(*(loop(k) for k in range(args["concurrency"])))
    elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
    return {"appends": len(latencies), "seconds": round(elapsed, 3), "errors": errors,
            "rate": round(len(latencies) / elapsed, 1), "latency": percentiles(latencies),
            "cpu_s": round(cpu, 3), "clients": len(stores), "concurrency": args["concurrency"],
            "options": args.get("options") or {}}


async def fill(args: dict) -> dict:
    """Append `count` messages to one room with `concurrency` loops (the store API only)."""
    from ignite_store import get_store

    store = get_store()
    room, count = args["room"], args["count"]
    tag = uuid.uuid4().hex[:8]
    next_n = 0
    done = 0
    t0 = time.perf_counter()

    async def loop() -> None:
        nonlocal next_n, done
        while next_n < count:
            n = next_n
            next_n += 1
            for _attempt in range(5):  # the same client_id: a retry after a lost answer stores once
                try:
                    await store.aappend(room, "filler", f"history {n} " + "y" * 80, f"f{tag}-{n}")
                    done += 1
                    break
                except Exception:
                    await asyncio.sleep(0.2)

    await asyncio.gather(*(loop() for _ in range(args["concurrency"])))
    elapsed = time.perf_counter() - t0
    return {"appended": done, "seconds": round(elapsed, 2), "rate": round(done / elapsed, 1)}


async def create_rooms(args: dict) -> dict:
    """Create `rooms` as public rooms owned by "bench" (idempotent): a socket can only join a room that exists."""
    from ignite_store import get_store
    from ignite_store.types import Room

    store = get_store()
    now = time.time_ns() // 1_000_000
    gate = asyncio.Semaphore(50)  # Ignite allows 100 open transactions per connection

    async def one(slug: str) -> bool:
        async with gate:
            room = Room(id=slug, name=slug, kind="public", topic="", creator="bench", created_at=now)
            return (await store.acreate_room(room, {"bench": "owner"}))[1]

    created = await asyncio.gather(*(one(slug) for slug in args["rooms"]))
    return {"rooms": len(created), "created": sum(created)}


# ---------------------------------------------------------------- bench-only bulk loader
# Scenario 3 needs a room of 1,000,000 messages; through aappend that takes about an hour. This loader
# writes the rows with server-side SQL instead (BENCH ONLY: it bypasses the store's append transaction
# and must never run against a room that is in use): MERGE ... SELECT FROM SYSTEM_RANGE generates each
# chunk of messages and their idempotency keys inside Ignite, then the room counter is set. The rows are
# the ones aappend would have stored (same tables and binary types, contiguous seqs, one idempotency key
# per message), so reads, later appends and retries of a filler client id behave as after a real fill.
# MERGE makes a chunk idempotent: the store's retry after a timed-out chunk rewrites the same rows.

_BULK_MESSAGES = (
    "MERGE INTO {table} (ROOM, SEQ, ID, AUTHOR, BODY, CLIENT_ID, CREATED_AT, DELETED, DELETED_BY) "
    "SELECT ?, X, REPLACE(CAST(RANDOM_UUID() AS VARCHAR), '-', ''), 'filler', "
    "'history ' || X || ' ' || REPEAT('y', 80), ? || X, ? + X, FALSE, NULL FROM SYSTEM_RANGE(?, ?)"
)
_BULK_KEYS = "MERGE INTO {table} (ROOM, CLIENT_ID, SEQ) SELECT ?, ? || X, X FROM SYSTEM_RANGE(?, ?)"


async def bulk_fill(args: dict) -> dict:
    """BENCH ONLY: grow `room` to `total` messages (from its current counter) with server-side SQL."""
    from django.conf import settings

    from ignite_store.connection import StoreHandler

    conf = settings.IGNITE_STORE["default"]
    # A chunk of 50,000 rows takes seconds: a long timeout, and a store of its own for it.
    handler = StoreHandler({"default": {**conf, "OPTIONS": {**conf.get("OPTIONS", {}), "timeout": 600.0}}})
    store = handler.create_connection("default")
    room, total, chunk = args["room"], args["total"], args.get("chunk", 50_000)
    first = store.last_seq(room) + 1
    prefix = f"fb{uuid.uuid4().hex[:8]}-"
    start_ms = time.time_ns() // 1_000_000 - total  # one message a millisecond, the last one now
    t0 = time.perf_counter()
    for low in range(first, total + 1, chunk):
        high = min(total, low + chunk - 1)
        store._sql(_BULK_MESSAGES.format(table=store.messages_table), [room, prefix, start_ms, low, high])
        store._sql(_BULK_KEYS.format(table=store.idempotency_table), [room, prefix, low, high])
    if first <= total:
        store._sql(f"MERGE INTO {store.rooms_table} (ROOM, LAST_SEQ, LAST_AT) VALUES (?, ?, ?)",
                   [room, total, start_ms + total])
    elapsed = time.perf_counter() - t0
    added = max(0, total - first + 1)
    store.close()
    return {"appended": added, "last_seq": max(total, first - 1), "seconds": round(elapsed, 2),
            "rate": round(added / elapsed, 1) if elapsed else None}


def _timed(samples: int, call) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


async def _atimed(samples: int, call) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t0)
    return out


async def history(args: dict) -> dict:
    """Latest-50 and a page before a deep cursor, sync and async API, with a cost breakdown."""
    from bench.loadgen import percentiles
    from ignite_store import get_store

    store = get_store()
    room, samples, limit = args["room"], args["samples"], 50
    last = store.last_seq(room)
    deep = max(limit + 1, last // 10)  # a cursor 90% of the way back into the past
    for _ in range(50):  # warm up connections, the query plan cache and the JVM's JIT for these queries
        store.latest(room, limit)
        store.before(room, deep, limit)
        await store.alatest(room, limit)
        await store.abefore(room, deep, limit)
    result = {"room_messages": last, "deep_cursor": deep}
    result["latest50_sync"] = percentiles(_timed(samples, lambda: store.latest(room, limit)))
    result["before_deep_sync"] = percentiles(_timed(samples, lambda: store.before(room, deep, limit)))
    result["latest50_async"] = percentiles(await _atimed(samples, lambda: store.alatest(room, limit)))
    result["before_deep_async"] = percentiles(await _atimed(samples, lambda: store.abefore(room, deep, limit)))
    # Breakdown: the counter read alone, a 1-row range query, and the 50-row query (parse cost grows with rows).
    result["last_seq_sync"] = percentiles(_timed(samples, lambda: store.last_seq(room)))
    result["page1_sync"] = percentiles(_timed(samples, lambda: store.before(room, deep, 1)))
    result["page100_sync"] = percentiles(_timed(samples, lambda: store.before(room, deep, 100)))
    cpu0 = _cpu()
    t0 = time.perf_counter()
    n = max(20, samples // 2)
    for _ in range(n):
        store.before(room, deep, limit)
    result["before_deep_cpu_ms_per_call"] = round((_cpu() - cpu0) / n * 1000, 2)
    result["before_deep_wall_ms_per_call"] = round((time.perf_counter() - t0) / n * 1000, 2)
    return result


async def catchup(args: dict) -> dict:
    """Catch-up of `count` messages at the store API: aafter in pages of `page` (as chat.service does)."""
    from bench.loadgen import percentiles
    from ignite_store import get_store

    store = get_store()
    room, count, page = args["room"], args["count"], args["page"]
    last = await store.alast_seq(room)
    after0 = max(0, last - count)
    times = []
    for _ in range(args["samples"]):
        t0 = time.perf_counter()
        after, got = after0, 0
        while True:
            result = await store.aafter(room, after, page)
            got += len(result.messages)
            if not result.messages or not result.has_more:
                break
            after = result.messages[-1].seq
        times.append(time.perf_counter() - t0)
    return {"messages": got, "page": page, "time": percentiles(times)}


TASKS = {"storage": storage, "fill": fill, "bulk_fill": bulk_fill, "history": history, "catchup": catchup,
         "create_rooms": create_rooms}


def main() -> None:
    task, args = sys.argv[1], json.loads(sys.argv[2])
    _setup()
    result = asyncio.run(TASKS[task](args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
