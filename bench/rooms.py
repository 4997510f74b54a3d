"""Rooms and membership at the store API: `python -m bench.rooms` (see docs/performance.md).

Starts its own Ignite node (bench.servers, as `python -m bench` does) in a temporary directory and
measures, in one process, what a socket's connect and join cost in the store:
- connect: `auser_rooms(user)` (the rooms frame after hello) for a user with 500 rooms, beside 50;
- join of a room with 10,000 members: `aget_room` + `amembership` + `aadd_member` (a new member)
  + `alast_seq`, the store calls of chat.service's join of a public room;
- the membership check alone: `amembership` of a member and of a non-member of that room.
Writes bench/results/<time>-rooms.json; the figures are copied into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time

from .env import log
from .harness import one_node, save_result
from .loadgen import percentiles

CONCURRENCY = 50  # Ignite allows 100 open transactions per client connection


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _timed(samples: int, call) -> tuple[dict, float]:
    """p50/p95/p99/max of `samples` sequential calls, and this process's CPU ms per call."""
    out = []
    cpu0 = _cpu()
    for i in range(samples):
        t0 = time.perf_counter()
        await call(i)
        out.append(time.perf_counter() - t0)
    return percentiles(out), round((_cpu() - cpu0) / samples * 1000, 3)


async def _bounded(items, call) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item) -> None:
        async with gate:
            await call(item)

    await asyncio.gather(*(one(item) for item in items))


def _room(slug: str):
    from ignite_store.types import Room

    return Room(id=slug, name=slug, kind="public", topic="", creator="bench", created_at=time.time_ns() // 1_000_000)


async def user_rooms(store, counts: list[int], samples: int) -> dict:
    """A user in `count` rooms (one message each): auser_rooms until the list is in hand."""
    out = {}
    for count in counts:
        user = f"many{count}"
        slugs = [f"ur{count}-{i:04d}" for i in range(count)]
        t0 = time.monotonic()
        await _bounded(slugs, lambda s, user=user: store.acreate_room(_room(s), {"bench": "owner", user: "member"}))
        await _bounded(slugs, lambda s: store.aappend(s, "bench", "hello", f"c-{s}"))
        setup = time.monotonic() - t0
        got = await store.auser_rooms(user)
        if len(got) != count:
            raise RuntimeError(f"auser_rooms({user}) returned {len(got)} rooms, expected {count}")
        for _ in range(20):  # warm up the query plans and the JVM's JIT
            await store.auser_rooms(user)
        lat, cpu = await _timed(samples, lambda _i, user=user: store.auser_rooms(user))
        out[str(count)] = {"rooms": count, "setup_s": round(setup, 1), "latency": lat, "client_cpu_ms_per_call": cpu,
                           **await _user_rooms_parts(store, user, samples)}
        log(f"auser_rooms, {count} rooms: p50 {lat['p50']} ms, p99 {lat['p99']} ms, client CPU {cpu} ms/call; "
            f"parts {out[str(count)].get('parts')}")
    return out


async def _user_rooms_parts(store, user: str, samples: int) -> dict:
    """BENCH ONLY breakdown of auser_rooms: its two SQL queries timed alone (the backend's internals)."""
    rooms = getattr(store, "_rooms", None)
    if rooms is None:  # another backend: no breakdown
        return {}
    from ignite_store.backends import ignite_rooms

    memberships = (f"SELECT ROOM, ROLE, JOINED_AT, LAST_READ_SEQ, NOTIFY FROM {rooms.user_rooms_table} "
                   "WHERE USERNAME = ?")
    slugs = sorted(row[0] for row in await rooms._sql(memberships, [user]))[:ignite_rooms.IN_CHUNK]
    marks = ", ".join("?" * len(slugs))
    settings = (f"SELECT {ignite_rooms.ROOM_COLUMNS}, c.LAST_SEQ, c.LAST_AT FROM {rooms.info_table} i "
                f"LEFT JOIN {rooms.counters_table} c ON c.ROOM = i.ROOM WHERE i.ROOM IN ({marks})")
    first, first_cpu = await _timed(samples, lambda _i: rooms._sql(memberships, [user]))
    second, second_cpu = await _timed(samples, lambda _i: rooms._sql(settings, slugs))
    return {"parts": {"memberships_query": first, "memberships_client_cpu_ms": first_cpu,
                      "settings_in_query": second, "settings_client_cpu_ms": second_cpu}}


async def big_room(store, members: int, samples: int) -> dict:
    """A public room of `members` members: the join path of a new member, and the membership check."""
    room = f"big{members}"
    await store.acreate_room(_room(room), {"bench": "owner"})
    t0 = time.monotonic()
    await _bounded(range(members), lambda i: store.aadd_member(room, f"m{i:05d}", "member"))
    fill = time.monotonic() - t0
    log(f"{room}: {members:,} members added in {fill:.1f}s ({members / fill:.0f}/s, {CONCURRENCY} at a time)")
    for i in range(20):  # warm up, on users that are then members
        await store.aget_room(room)
        await store.amembership(room, f"warm{i}")
        await store.aadd_member(room, f"warm{i}", "member")
        await store.alast_seq(room)

    parts: dict[str, list[float]] = {"aget_room": [], "amembership": [], "aadd_member": [], "alast_seq": []}

    async def join(i: int) -> None:
        user = f"new{i:05d}"
        for name, call in (("aget_room", lambda: store.aget_room(room)),
                           ("amembership", lambda: store.amembership(room, user)),
                           ("aadd_member", lambda: store.aadd_member(room, user, "member")),
                           ("alast_seq", lambda: store.alast_seq(room))):
            t = time.perf_counter()
            await call()
            parts[name].append(time.perf_counter() - t)

    join_lat, join_cpu = await _timed(samples, join)
    member_lat, member_cpu = await _timed(samples, lambda i: store.amembership(room, f"m{(i * 37) % members:05d}"))
    stranger_lat, _ = await _timed(samples, lambda i: store.amembership(room, f"nobody{i:05d}"))
    counts = await store.amember_counts([room])
    log(f"join of {room} ({counts.get(room)} members at the end): p50 {join_lat['p50']} ms, p99 {join_lat['p99']} ms; "
        f"amembership p50 {member_lat['p50']} ms, p99 {member_lat['p99']} ms")
    return {"room": room, "members": members, "members_at_end": counts.get(room), "fill_s": round(fill, 1),
            "fill_rate": round(members / fill, 1), "join": join_lat, "join_client_cpu_ms": join_cpu,
            "join_parts": {name: percentiles(values) for name, values in parts.items()},
            "amembership_member": member_lat, "amembership_member_client_cpu_ms": member_cpu,
            "amembership_non_member": stranger_lat}


async def measure(args) -> dict:
    from ignite_store import get_store

    store = get_store()
    await store.alast_seq("warmup")  # connect before any clock starts
    gc.freeze()  # as the Daphne process does once the application is loaded (chat.daphne_server)
    result = {"user_rooms": await user_rooms(store, args.rooms, args.samples),
              "big_room": await big_room(store, args.members, args.samples)}
    await store.aclose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rooms", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", default="50,500", help="comma list: rooms of the connecting user")
    parser.add_argument("--members", type=int, default=10_000, help="members of the joined room")
    parser.add_argument("--samples", type=int, default=200, help="timed calls per figure")
    parser.add_argument("--heap", default="1g")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    args = parser.parse_args(argv)
    args.rooms = [int(x) for x in args.rooms.split(",")]

    started = time.time()
    with one_node("chat-bench-rooms-", heap=args.heap, redis=False, keep=args.keep) as stack:
        stack.setup_django()
        result = asyncio.run(measure(args))
    result["samples"] = args.samples
    save_result("rooms", result, started, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
