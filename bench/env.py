"""The run's environment: servers started and stopped together, CPU accounting per process, store workers."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import servers
from .servers import BASE_DIR, BenchCluster, Daphne, Peer, RedisServer, Site


@dataclass
class Env:
    """Everything started for one run; `close()` stops all of it."""

    workdir: Path
    heap: str
    region_mb: int
    redis: RedisServer | None = None
    site: Site | None = None
    clusters: dict[str, BenchCluster] = field(default_factory=dict)
    daphnes: list[Daphne] = field(default_factory=list)
    peers: list[Peer] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)

    def start_base(self, users: int) -> None:
        """redis-server, the migrated SQLite site and `users` logged-in users."""
        self.redis = servers.start_redis(self.workdir / "redis")
        self.site = Site.create(self.workdir / "site", self.redis.url)
        names = [f"u{i:04d}" for i in range(users)]
        self.cookies = [f"sessionid={key}" for key in self.site.login(names).values()]

    def cluster(self, name: str, count: int, *, rest: bool = False) -> BenchCluster:
        """Start (once) a cluster of `count` nodes with the chat schema."""
        if name not in self.clusters:
            t0 = time.monotonic()
            cluster = servers.start_cluster(self.workdir / f"ignite-{name}", count, heap=self.heap,
                                            region_mb=self.region_mb, rest=rest)
            self.clusters[name] = cluster
            self.site.init_store(cluster.nodes_env())
            log(f"Ignite cluster {name}: {count} node(s) on {cluster.nodes_env()} in {time.monotonic() - t0:.0f}s")
        return self.clusters[name]

    def stop_cluster(self, name: str) -> None:
        cluster = self.clusters.pop(name, None)
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.home, ignore_errors=True)

    def daphne(self, cluster: BenchCluster, name: str, **env) -> Daphne:
        server = servers.start_daphne(self.site, cluster.nodes_env(), name, **env)
        self.daphnes.append(server)
        return server

    def stop_daphne(self, server: Daphne) -> None:
        server.stop()
        if server in self.daphnes:
            self.daphnes.remove(server)

    def peer(self, cluster: BenchCluster, cache: str, *, script: str = "server.js", backups: int = 0) -> Peer:
        peer = servers.start_peer(self.workdir, cluster.http_port(0), cache, script=script, backups=backups)
        self.peers.append(peer)
        return peer

    def stop_peer(self, peer: Peer) -> None:
        peer.stop()
        if peer in self.peers:
            self.peers.remove(peer)

    def tutorial(self, cluster: BenchCluster, name: str) -> Daphne:
        """The Channels tutorial's consumer (bench/tutorial_peer) on this cluster."""
        server = servers.start_tutorial_peer(self.site, cluster.nodes_env(), name)
        self.daphnes.append(server)
        return server

    def close(self) -> None:
        for peer in self.peers:
            peer.stop()
        for server in self.daphnes:
            server.stop()
        for name in list(self.clusters):
            self.stop_cluster(name)
        if self.redis is not None:
            self.redis.stop()

    # ------------------------------------------------------------ store workers
    async def workers(self, task: str, args: dict, count: int, cluster: BenchCluster) -> list[dict]:
        """Run `count` store-worker processes at once; their JSON results."""
        env = {**self.site.env, "IGNITE_NODES": cluster.nodes_env(), "PYTHONPATH": str(BASE_DIR)}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.worker", task, json.dumps(args), cwd=BASE_DIR, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(count)
        ]
        outs = await asyncio.gather(*(p.communicate() for p in procs))
        results = []
        for proc, (out, err) in zip(procs, outs, strict=True):
            if proc.returncode != 0:
                raise RuntimeError(f"bench.worker {task} failed:\n{err.decode()[-3000:]}")
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results


class CpuMeter:
    """CPU seconds used by named processes between start() and stop()."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.before: dict[str, float] = {}
        self.t0 = 0.0

    def start(self) -> CpuMeter:
        self.before = {name: servers.cpu_seconds(pid) for name, pid in self.pids.items()}
        self.before["loadgen"] = _self_cpu()
        self.t0 = time.monotonic()
        return self

    def stop(self) -> dict:
        after = {name: servers.cpu_seconds(pid) for name, pid in self.pids.items()}
        after["loadgen"] = _self_cpu()
        wall = time.monotonic() - self.t0
        used = {name: round(after[name] - self.before[name], 3) for name in after}
        return {"wall_s": round(wall, 2), "cpu_s": used}


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def per_1000(cpu: dict, messages: int) -> dict:
    """CPU seconds per 1,000 messages for each process (None without messages)."""
    if not messages:
        return {name: None for name in cpu["cpu_s"]}
    return {name: round(value * 1000 / messages, 3) for name, value in cpu["cpu_s"].items()}


def server_pids(env: Env, cluster: BenchCluster, daphnes=(), peer: Peer | None = None) -> dict[str, int]:
    """The processes whose CPU a scenario reports."""
    pids = {f"ignite{i}": pid for i, pid in enumerate(cluster.pids())}
    pids["redis"] = env.redis.proc.pid
    for i, server in enumerate(daphnes):
        pids[f"daphne{i}"] = server.pid
    if peer is not None:
        pids["node_peer"] = peer.pid
    return pids


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)
