"""The scenarios of docs/performance.md, each measured beside its reference in the same run."""

from __future__ import annotations

import asyncio
import contextlib
import time

from . import servers
from .env import CpuMeter, Env, log, per_1000, server_pids
from .loadgen import Swarm, Target, catchup_once, open_idle, percentiles


def chat_target(daphnes) -> Target:
    return Target("chat", [d.ws_url for d in daphnes], [d.origin for d in daphnes])


def seed_target(peer) -> Target:
    origin = f"http://127.0.0.1:{peer.port}"
    return Target("seed", [f"ws://127.0.0.1:{peer.port}"], [origin])


def passes(step: dict, metric: str) -> bool:
    """Every message delivered (and acked) and the delivery percentile within 250 ms."""
    value = step["delivery"][metric]
    return bool(step["all_delivered"]) and value is not None and value <= 250.0


async def create_rooms(env: Env, cluster, rooms: list[str]) -> None:
    """Create the chat's rooms (public) in the store: joining a room that does not exist is refused."""
    result = (await env.workers("create_rooms", {"rooms": rooms}, 1, cluster))[0]
    log(f"rooms: {result['created']} created of {result['rooms']}")


# ---------------------------------------------------------------- storage limit

async def storage_limit(env: Env, cluster, procs: int, levels: list[int], seconds: float, rooms: list[str],
                        variant: dict | None = None) -> dict:
    """aappend in a tight loop from `procs` processes at several concurrencies; the limit is the best rate.

    `variant` is passed to bench.worker storage (e.g. options such as partition_aware).
    """
    runs = [await _storage_run(env, cluster, procs, c, seconds, rooms, variant or {}) for c in levels]
    best = max(runs, key=lambda r: r["rate"])
    return {**best, "levels": runs, "variant": variant or {}}


async def _storage_run(env: Env, cluster, procs: int, concurrency: int, seconds: float, rooms: list[str],
                       variant: dict) -> dict:
    pids = server_pids(env, cluster)
    meter = CpuMeter(pids).start()
    results = await env.workers("storage", {"rooms": rooms, "concurrency": concurrency, "seconds": seconds,
                                            **variant}, procs, cluster)
    cpu = meter.stop()
    appends = sum(r["appends"] for r in results)
    rate = round(sum(r["rate"] for r in results), 1)
    cpu["cpu_s"].update({f"worker{i}": r["cpu_s"] for i, r in enumerate(results)})
    lat = [r["latency"] for r in results]
    log(f"storage limit ({procs} proc x {concurrency}{' ' + str(variant) if variant else ''}): {rate} appends/s, "
        f"p99 {max(x['p99'] or 0 for x in lat)} ms")
    return {"processes": procs, "concurrency": concurrency, "rate": rate, "appends": appends,
            "errors": sum(r["errors"] for r in results), "latency_per_process": lat, "cpu": cpu,
            "cpu_s_per_1000": per_1000(cpu, appends)}


# ---------------------------------------------------------------- step search (scenarios 1, 2, 6)

async def _seed_size(cluster, cache: str) -> int | None:
    try:
        answer = await asyncio.to_thread(servers.rest_call, cluster.http_port(0), cmd="size", cacheName=cache)
        return int(answer["response"])
    except Exception:
        return None


async def rate_search(label: str, swarm: Swarm, rates: list[float], seconds: float, pids: dict, *,
                      metric: str = "p99", patience: int = 1, seed_cache: tuple | None = None,
                      senders: list[int] | None = None) -> dict:
    """Step the offered rate up; the best rate is the highest that passes (stop after `patience` failures)."""
    steps, best, failures = [], None, 0
    # Warm-up, not recorded: first subscriptions, connections to Ignite and Redis, JIT of the JVM.
    await swarm.run(min(rates[0], 20.0), 2.0, senders=senders, tag=f"w{label[:2]}-", drain=2.0)
    for rate in rates:
        before = await _seed_size(*seed_cache) if seed_cache else None
        meter = CpuMeter(pids).start()
        step = await swarm.run(rate, seconds, senders=senders, tag=f"{label[:2]}{int(rate)}-")
        step["cpu"] = meter.stop()
        step["cpu_s_per_1000"] = per_1000(step["cpu"], step["sent"])
        if seed_cache:
            after = await _seed_size(*seed_cache)
            stored = None if before is None or after is None else after - before
            step["stored"] = stored
            step["lost_by_overwrite"] = None if stored is None else step["sent"] - stored
        step["pass"] = passes(step, metric)
        steps.append(step)
        lost = f", lost {step['lost_by_overwrite']}" if seed_cache else ""
        log(f"{label}: {rate:g} msg/s -> delivered {step['messages_fully_delivered']}/{step['sent']}, "
            f"{metric} {step['delivery'][metric]} ms, ack p99 {step['ack']['p99']} ms, "
            f"lag {step['generator_lag_ms']} ms{lost} -> {'pass' if step['pass'] else 'FAIL'}")
        if step["pass"]:
            best, failures = rate, 0
        else:
            failures += 1
            if failures >= patience:
                break
        await asyncio.sleep(1.0)
    return {"label": label, "metric": metric, "best_rate": best, "steps": steps,
            "marginal_cpu_s_per_1000": marginal_cpu(steps)}


def marginal_cpu(steps: list[dict]) -> dict | None:
    """CPU-s per 1,000 messages as the slope between the lowest and the highest passing step.

    Steps last equally long, so fixed background work (Ignite's housekeeping, idle sockets) cancels out."""
    passing = sorted((st for st in steps if st.get("pass")), key=lambda st: st["offered_rate"])
    if len(passing) < 2 or passing[-1]["sent"] <= passing[0]["sent"]:
        return None
    low, high = passing[0], passing[-1]
    extra = high["sent"] - low["sent"]
    return {name: round((used - low["cpu"]["cpu_s"].get(name, 0.0)) * 1000 / extra, 3)
            for name, used in high["cpu"]["cpu_s"].items()}


async def persisted_chat(env: Env, cluster, daphnes, cfg: dict, label: str) -> dict:
    """Scenario 1 (and 6): `clients` clients in `rooms` rooms, every client a sender."""
    rooms = [f"{label}-r{i:02d}" for i in range(cfg["rooms"])]
    await create_rooms(env, cluster, rooms)
    swarm = Swarm(chat_target(daphnes), rooms, cfg["clients"], env.cookies)
    t0 = time.monotonic()
    await swarm.connect()
    log(f"{label}: {cfg['clients']} clients joined {len(rooms)} rooms in {time.monotonic() - t0:.1f}s")
    try:
        result = await rate_search(label, swarm, cfg["rates"], cfg["seconds"], server_pids(env, cluster, daphnes),
                                   patience=cfg["patience"])
        if cfg.get("profile_dir"):
            result["profile"] = await _profiled_step(swarm, result, daphnes[0], cfg, label)
        return result
    finally:
        await swarm.close()


async def _profiled_step(swarm: Swarm, result: dict, daphne, cfg: dict, label: str) -> dict:
    """One more step, not counted, at the first failing rate, with py-spy sampling the (first) Daphne."""
    from .profile import Profiler, summarise

    failing = [st["offered_rate"] for st in result["steps"] if not st["pass"]]
    rate = failing[0] if failing else result["steps"][-1]["offered_rate"]
    path = cfg["profile_dir"] / f"{label}-daphne-{int(rate)}.collapsed"
    t0 = time.monotonic()
    async with Profiler(daphne.pid, path):
        step = await swarm.run(rate, cfg["seconds"], tag=f"p{label[:2]}-")
    summary = summarise(path, seconds=time.monotonic() - t0)
    log(f"{label}: profile at {rate:g} msg/s: busy {summary.get('busy_percent_of_one_core')}% of a core, "
        f"{summary.get('self_by_package_percent', summary)}")
    return {"rate": rate, "delivery_p99": step["delivery"]["p99"], "ack_p99": step["ack"]["p99"], **summary}


async def peer_chat(env: Env, cluster, target: Target, pids: dict, cfg: dict, label: str) -> dict:
    """Scenario 1's load against a peer that speaks the chat's protocol without sessions (no rooms to create)."""
    rooms = [f"{label}-r{i:02d}" for i in range(cfg["rooms"])]
    swarm = Swarm(target, rooms, cfg["clients"], [])
    await swarm.connect()
    try:
        return await rate_search(label, swarm, cfg["rates"], cfg["seconds"], pids, patience=cfg["patience"])
    finally:
        await swarm.close()


def lossless_target(peer) -> Target:
    return Target("chat", [f"ws://127.0.0.1:{peer.port}/"], [f"http://127.0.0.1:{peer.port}"])


async def seed_chat(env: Env, cluster, peer, cfg: dict, label: str, cache: str) -> dict:
    """The seed design under the same load: same clients, rooms (URL paths) and rates."""
    rooms = [f"{label}-r{i:02d}" for i in range(cfg["rooms"])]
    swarm = Swarm(seed_target(peer), rooms, cfg["clients"], [])
    await swarm.connect()
    try:
        return await rate_search(label, swarm, cfg["rates"], cfg["seconds"],
                                 server_pids(env, cluster, peer=peer), patience=cfg["patience"],
                                 seed_cache=(cluster, cache))
    finally:
        await swarm.close()


async def fanout(env: Env, cluster, target_kind: str, server, cfg: dict, label: str, cache: str = "") -> dict:
    """Scenario 2: N clients in one room, a few senders at a fixed rate; raise N until p95 > 250 ms."""
    steps, best = [], None
    for n in cfg["clients"]:
        room = f"{label}-n{n}"
        if target_kind == "chat":
            await create_rooms(env, cluster, [room])
            # Few distinct users: each user's first join publishes a presence event to the whole room.
            swarm = Swarm(chat_target([server]), [room], n, env.cookies[:20])
            pids = server_pids(env, cluster, [server])
        else:
            swarm = Swarm(seed_target(server), [room], n, [])
            pids = server_pids(env, cluster, peer=server)
        try:
            await swarm.connect()
            result = await rate_search(f"{label} N={n}", swarm, [cfg["rate"]], cfg["seconds"], pids, metric="p95",
                                       senders=list(range(min(cfg["senders"], n))),
                                       seed_cache=(cluster, cache) if target_kind == "seed" else None)
        except Exception as exc:  # connecting N clients may itself fail at the limit
            log(f"{label} N={n}: {exc!r}")
            steps.append({"clients": n, "pass": False, "error": repr(exc)})
            break
        finally:
            await swarm.close()
        step = {"clients": n, **result["steps"][0]}
        steps.append(step)
        if not step["pass"]:
            break
        best = n
        await asyncio.sleep(1.0)
    return {"label": label, "rate": cfg["rate"], "senders": cfg["senders"], "best_clients": best, "steps": steps}


# ---------------------------------------------------------------- history and catch-up (scenarios 3, 4)

async def history(env: Env, cluster, cfg: dict) -> dict:
    """Scenario 3: fill one room with `history_messages`, then time pages and catch-up at the store API.

    The fill is bench.worker's bulk loader (server-side SQL, minutes for 1,000,000) unless
    cfg["history_fill"] == "store", which appends through the store API (about an hour for 1,000,000).
    """
    room = "hist"
    count = cfg["history_messages"]
    method = cfg.get("history_fill", "bulk")
    t0 = time.monotonic()
    filled = await (_fill_through_store(env, cluster, cfg, room, count) if method == "store"
                    else _bulk_fill(env, cluster, room, count))
    fill_seconds = time.monotonic() - t0
    await create_rooms(env, cluster, [room])  # scenario 4 joins it over the WebSocket
    pages = (await env.workers("history", {"room": room, "samples": cfg["history_samples"]}, 1, cluster))[0]
    store_catchup = (await env.workers("catchup", {"room": room, "count": 1000, "page": 200,
                                                   "samples": cfg["history_samples"] // 4 or 5}, 1, cluster))[0]
    log(f"history at {pages['room_messages']}: latest-50 p50 {pages['latest50_async']['p50']} "
        f"p99 {pages['latest50_async']['p99']} ms; before-cursor p99 {pages['before_deep_async']['p99']} ms; "
        f"store catch-up 1000 p50 {store_catchup['time']['p50']} p99 {store_catchup['time']['p99']} ms")
    return {"room": room, "messages": pages["room_messages"], "fill_method": method,
            "fill_seconds": round(fill_seconds, 1), "fill_rate": round(filled / fill_seconds, 1) if filled else None,
            "pages": pages, "store_catchup": store_catchup}


async def _bulk_fill(env: Env, cluster, room: str, count: int) -> int:
    """BENCH ONLY bulk loader (bench.worker.bulk_fill), 200,000 messages per worker call for progress."""
    t0, added, last = time.monotonic(), 0, 0
    while last < count:
        result = (await env.workers("bulk_fill", {"room": room, "total": min(count, last + 200_000)}, 1,
                                    cluster))[0]
        if result["last_seq"] <= last:
            raise RuntimeError("history bulk fill made no progress")
        added, last = added + result["appended"], result["last_seq"]
        rate = added / (time.monotonic() - t0) if added else 0.0
        eta = f", ETA {(count - last) / rate / 60:.1f} min" if rate else ""
        log(f"history (bulk loader): {last:,}/{count:,} messages, {rate:.0f}/s{eta}")
    return added


async def _fill_through_store(env: Env, cluster, cfg: dict, room: str, count: int) -> int:
    """Append `count` messages through the store API (aappend) from `fill_processes` workers."""
    t0 = time.monotonic()
    procs, filled, fills = cfg["fill_processes"], 0, []
    while filled < count:  # in chunks, to report progress and an ETA on long fills
        chunk = min(count - filled, 50_000)
        fills += await env.workers("fill", {"room": room, "count": max(1, -(-chunk // procs)),
                                            "concurrency": cfg["fill_concurrency"]}, procs, cluster)
        done = sum(f["appended"] for f in fills)
        if done == filled:
            raise RuntimeError("history fill made no progress")
        filled = done
        rate = filled / (time.monotonic() - t0)
        log(f"history: {filled:,}/{count:,} messages, {rate:.0f}/s, ETA {(count - filled) / rate / 60:.1f} min")
    return filled


async def catchup(env: Env, daphne, samples: int, room: str = "hist") -> dict:
    """Scenario 4: a client that missed 1,000 messages reconnects (join with `after`)."""
    last = await _last_seq(daphne, env.cookies[0], room)
    runs = []
    for i in range(samples):
        runs.append(await catchup_once(daphne.ws_url, daphne.origin, env.cookies[i % len(env.cookies)], room,
                                       max(0, last - 1000), min(1000, last)))
    times = [r["from_join_ms"] / 1000 for r in runs]
    full = [r["from_connect_ms"] / 1000 for r in runs]
    result = {"messages": runs[0]["messages"], "pages": runs[0]["pages"], "from_join": percentiles(times),
              "from_connect": percentiles(full)}
    log(f"catch-up of {result['messages']} over WebSocket: p50 {result['from_join']['p50']} ms after join")
    return result


async def _last_seq(daphne, cookie: str, room: str) -> int:
    import orjson
    from websockets.asyncio.client import connect

    async with connect(daphne.ws_url, origin=daphne.origin, additional_headers={"Cookie": cookie}) as ws:
        await ws.recv()
        await ws.send(orjson.dumps({"type": "join", "room": room}).decode())
        while True:
            frame = orjson.loads(await ws.recv())
            if frame.get("type") == "joined":
                return int(frame["last_seq"])


# ---------------------------------------------------------------- idle connections (scenario 5)

async def idle(env: Env, cluster, daphne, peer, count: int, seconds: float) -> dict:
    """Scenario 5: `count` idle authenticated sockets on one Daphne, beside the same on the seed peer."""
    out = {}
    for name, target in (("chat", daphne), ("seed", peer)):
        pid = target.pid
        await asyncio.sleep(1.0)
        rss0 = servers.rss_mb(pid)
        t0 = time.monotonic()
        if name == "chat":
            sockets = await open_idle(daphne.ws_url, daphne.origin, env.cookies, count)
        else:
            sockets = await open_idle(f"ws://127.0.0.1:{peer.port}/idle", f"http://127.0.0.1:{peer.port}", [""],
                                      count, hello=False)
        opened = time.monotonic() - t0
        await asyncio.sleep(2.0)
        rss1 = servers.rss_mb(pid)
        cpu0 = servers.cpu_seconds(pid)
        await asyncio.sleep(seconds)
        cpu = servers.cpu_seconds(pid) - cpu0
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        out[name] = {"connections": len(sockets), "open_seconds": round(opened, 1), "rss_before_mb": round(rss0, 1),
                     "rss_after_mb": round(rss1, 1),
                     "kb_per_connection": round((rss1 - rss0) * 1024 / max(1, len(sockets)), 1),
                     "idle_cpu_percent_of_core": round(cpu / seconds * 100, 2), "window_s": seconds}
        log(f"idle {name}: {len(sockets)} sockets, {out[name]['kb_per_connection']} KiB each, "
            f"{out[name]['idle_cpu_percent_of_core']}% of a core")
    return out
