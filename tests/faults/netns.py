"""Scenario 5 plumbing: Ignite nodes in their own network namespaces on a bridge, and the run inside them.

Layout (every address lives inside a namespace created here; the host gets none):

    ns <tag>-br:  bridge br0, one veth end per namespace below
    ns <tag>-n0:  Ignite node 0 at 10.201.<k>.1
    ns <tag>-n1:  Ignite node 1 at 10.201.<k>.2       (its bridge port is taken down, then up)
    ns <tag>-app: Redis + Daphne on its loopback, the load clients and the checker, at 10.201.<k>.3

`python -m tests.faults.netns CONFIG.json` runs the whole scenario inside <tag>-app and prints the
figures as one JSON line; tests/faults/test_partition.py sets up and removes the namespaces.
The nodes run in memory (no persistence): this scenario is about the network, not restarts.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROLES = ["n0", "n1", "app"]
CLIENT_PORT, DISCOVERY_PORT, COMM_PORT = 10800, 47500, 47100  # private to each namespace: no clash possible


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


def set_link(bridge_ns: str, port: str, *, up: bool) -> None:
    """Set a bridge port of namespace `bridge_ns` up or down (works from inside any namespace)."""
    sh("ip", "-n", bridge_ns, "link", "set", port, "up" if up else "down")


class Namespaces:
    """Create and remove the namespaces, veths and bridge of one run."""

    def __init__(self, tag: str, subnet: int):
        self.tag, self.subnet = tag, subnet
        self.names = {role: f"{tag}-{role}" for role in [*ROLES, "br"]}

    def address(self, role: str) -> str:
        return f"10.201.{self.subnet}.{ROLES.index(role) + 1}"

    def bridge_port(self, role: str) -> str:
        return f"{self.tag}b{role}"[:15]

    def create(self) -> None:
        br = self.names["br"]
        sh("ip", "netns", "add", br)
        sh("ip", "-n", br, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", br, "link", "set", "br0", "up")
        for role in ROLES:
            ns, inner, outer = self.names[role], f"{self.tag}i{role}"[:15], self.bridge_port(role)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer, "netns", br)
            sh("ip", "-n", ns, "addr", "add", f"{self.address(role)}/24", "dev", inner)
            sh("ip", "-n", ns, "link", "set", inner, "up")
            sh("ip", "-n", br, "link", "set", outer, "master", "br0")
            sh("ip", "-n", br, "link", "set", outer, "up")

    def cut(self, role: str, up: bool) -> None:
        """Take `role`'s bridge port down (cut off from everybody) or up again."""
        set_link(self.names["br"], self.bridge_port(role), up=up)

    def remove(self) -> None:
        for ns in self.names.values():  # deleting a namespace deletes its veth ends and the bridge
            sh("ip", "netns", "del", ns, check=False)


# ---------------------------------------------------------------- inside the app namespace

def render_node(home: Path, i: int, addresses: list[str]) -> Path:
    """node.xml of LocalCluster, moved from 127.0.0.1 to the node's namespace address, in memory."""
    from ignite_store.server.local import LocalCluster

    cluster = LocalCluster(home, client_port=CLIENT_PORT - i, discovery_port=DISCOVERY_PORT - i,
                           communication_port=COMM_PORT - i, max_nodes=2, heap="384m", data_region_mb=128)
    path = cluster.render_config(i)  # ports: CLIENT_PORT etc. for every node (one namespace each)
    text = path.read_text().replace("127.0.0.1", addresses[i])
    finder = "".join(f"<value>{a}:{DISCOVERY_PORT}</value>" for a in addresses)
    text = re.sub(r"<value>[0-9.]+:\d+\.\.\d+</value>", finder, text)
    text = text.replace('name="persistenceEnabled" value="true"', 'name="persistenceEnabled" value="false"')
    path.write_text(text)
    return path


def launch_node(home: Path, i: int, namespace: str, addresses: list[str]) -> subprocess.Popen:
    from ignite_store.server import local

    config = render_node(home, i, addresses)
    log = open(config.parent / "node.log", "ab")  # noqa: SIM115 (kept open by the child)
    command = ["ip", "netns", "exec", namespace, "java", "-Xms384m", "-Xmx384m", *local.JVM_FLAGS,
               f"-DIGNITE_HOME={config.parent}", "-cp", f"{Path(local.DEFAULT_LIB_DIR).resolve()}/*",
               local.STARTUP_CLASS, str(config)]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            cwd=config.parent, start_new_session=True)


def start_daphne(home: Path, base_dir: str, env: dict) -> subprocess.Popen:
    """Daphne on the app namespace's loopback (port 8000 is private to the namespace)."""
    with open(home / "daphne.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "chatsite.daphne_main", "-b", "127.0.0.1", "-p", "8000",
                                 "chatsite.asgi:application"], cwd=base_dir, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def snapshots(path: Path) -> list[int]:
    """`servers=N` of every topology snapshot the node logged, in order."""
    return [int(n) for n in re.findall(r"Topology snapshot \[ver=\d+, locNode=\w+, servers=(\d+)",
                                       path.read_text(errors="replace"))]


def servers_in_log(path: Path) -> int:
    """The latest `servers=N` Ignite logged in its topology snapshots (0 when none yet)."""
    found = snapshots(path)
    return found[-1] if found else 0


def new_snapshot(path: Path, seen: int, servers: int) -> bool:
    """True when a snapshot logged after the first `seen` ones shows `servers` servers."""
    return servers in snapshots(path)[seen:]


def wait_for(predicate, timeout: float, step: float = 0.2) -> float | None:
    """Seconds until predicate() was true, or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return None


async def run(config: dict) -> dict:
    """The scenario: load, cut node 1 off, keep loading, restore the link, recover, check."""
    from ignite_store.backends.ignite import IgniteMessageStore
    from ignite_store.server.supervisor import read_state
    from tests.faults.harness import (
        READ_FLUSH_WAIT,
        LoadClient,
        MembershipChurn,
        ack_stall,
        check,
        wait_for_read_markers,
    )
    from tests.faults.servers import RedisServer
    from tests.fixtures.rooms import ensure_public_rooms

    home, addresses, ns = Path(config["home"]), config["addresses"], config["namespaces"]
    figures: dict = {}
    nodes = [launch_node(home, i, ns[i], addresses) for i in range(2)]
    logs = [home / f"node-{i}" / "node.log" for i in range(2)]
    redis = RedisServer(home)
    redis.port = 6379
    redis.start()
    daphne = None
    stop = threading.Event()
    store = IgniteMessageStore([(a, CLIENT_PORT) for a in addresses], timeout=5.0, backups=1)
    try:
        assert wait_for(lambda: servers_in_log(logs[0]) == 2, 180), "the two nodes did not form a cluster"
        assert wait_for(lambda: _try(store.ensure_schema), 60), "schema could not be created"
        env = {**config["env"], "IGNITE_NODES": ",".join(f"{a}:{CLIENT_PORT}" for a in addresses),
               "REDIS_URL": redis.url, "IGNITE_TIMEOUT": "3",
               **{key: str(value) for key, value in config["rig_env"].items()}}
        daphne = start_daphne(home, config["base_dir"], env)
        server = SimpleNamespace(ws_url="ws://127.0.0.1:8000/ws/chat/", origin="http://127.0.0.1:8000")
        assert wait_for(lambda: _port_open(8000), 60), "Daphne did not start"
        supervisors = [_supervisor(home, i, nodes, ns, addresses) for i in range(2)]
        watchers = [threading.Thread(target=sup.run, args=(stop, 1.0), daemon=True) for sup in supervisors]
        for watcher in watchers:
            watcher.start()
        churn_users = config["churn"]
        churn = MembershipChurn(churn_users["owner_cookie"], churn_users["member"], churn_users["member_cookie"],
                                [server])
        await churn.create(list(config["cookies"]))
        rooms = [f"part-{i}" for i in range(4)]
        ensure_public_rooms(*rooms, store=store)
        rooms.append(churn.room)
        clients = []
        for name, cookie in config["cookies"].items():  # the mixed load of tests/faults/conftest.py
            client = LoadClient(f"{name}-p", cookie, [server], rooms, rate=config["rate"])
            client.mutate_every, client.rest_every = config["mutate_every"], config["rest_every"]
            client.rest_token = config["tokens"][name]
            client.mention_users = [other for other in config["cookies"] if other != name]
            clients.append(client)
        await asyncio.gather(*(c.start() for c in clients))
        await churn.start()
        await asyncio.sleep(config["before"])
        cut_at = time.monotonic()
        set_link(config["bridge"], config["bridge_port"], up=False)
        seen = len(snapshots(logs[0]))
        detected = await asyncio.to_thread(wait_for, lambda: new_snapshot(logs[0], seen, 1), 60)
        figures["node0_saw_node1_fail_after_s"] = None if detected is None else round(detected, 1)
        await asyncio.sleep(max(0.0, config["cut_seconds"] - (time.monotonic() - cut_at)))
        restored_at = time.monotonic()
        set_link(config["bridge"], config["bridge_port"], up=True)
        seen = len(snapshots(logs[0]))
        # Nobody restarts anything by hand: the supervisors (started once the cluster formed) do.
        rejoined = await asyncio.to_thread(wait_for, lambda: new_snapshot(logs[0], seen, 2), config["rejoin_wait"])
        figures["rejoined_after_restore_s"] = None if rejoined is None else round(rejoined, 1)
        figures["supervisor_restarts"] = {s.name: s.restarts for s in supervisors}
        figures["supervisor_last"] = {s.name: read_state(s.state_dir).get("last") for s in supervisors}
        figures["node1_view_after_restore"] = _key_lines(logs[1])
        figures["restored_to_recovered_s"] = round(time.monotonic() - restored_at, 1)
        await asyncio.sleep(config["after"])
        await churn.close()
        await asyncio.gather(*(c.drain(60) for c in clients))
        last = {room: await asyncio.to_thread(store.last_seq, room) for room in rooms}
        await asyncio.gather(*(c.sync(last, 30) for c in clients))
        await asyncio.gather(*(c.close() for c in clients))  # freeze the logs before reading Ignite
        await asyncio.to_thread(wait_for_read_markers, store, clients, READ_FLUSH_WAIT)
        report = await asyncio.to_thread(check, store, clients, rooms)
        figures.update(report.figures)
        figures.update(ack_stall(clients, cut_at))
        figures.update(churn.figures())
        figures["violations"] = (report.violations + churn.violations())[:20]
    finally:
        stop.set()
        store.close()
        if daphne is not None:
            daphne.kill()
        redis.stop()
        for proc in nodes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    return figures


def _supervisor(home: Path, i: int, nodes: list, ns: list[str], addresses: list[str]):
    """The project's NodeSupervisor for node i of this layout (its processes are `ip netns exec` children)."""
    from ignite_store.server.supervisor import NodeSupervisor, losing_island

    def start() -> None:
        nodes[i] = launch_node(home, i, ns[i], addresses)

    def kill() -> None:
        if nodes[i].poll() is None:
            nodes[i].kill()
            nodes[i].wait(10)

    def split() -> bool:
        views = {f"node-{n}": topology_view(address) for n, address in enumerate(addresses)}
        return losing_island(views, f"node-{i}")

    return NodeSupervisor(f"node-{i}", lambda: nodes[i].poll() is None, start, kill, home / f"node-{i}",
                          split=split, min_backoff=1.0)


def topology_view(address: str) -> frozenset[str] | None:
    """Consistent ids of the server nodes the node at `address` sees; None when it does not answer."""
    from pyignite import Client

    from ignite_store.server.jvm import quiet_pyignite

    try:
        with quiet_pyignite():
            client = Client(timeout=3.0, handshake_timeout=3.0)
            client.connect([(address, CLIENT_PORT)])
            try:
                with client.sql("SELECT CONSISTENT_ID FROM SYS.NODES WHERE IS_CLIENT = FALSE") as cursor:
                    return frozenset(str(row[0]) for row in cursor)
            finally:
                client.close()
    except Exception:
        return None


def _key_lines(path: Path, keep: int = 4) -> list[str]:
    """The last topology/segmentation lines of a node log (what the cut-off node believed)."""
    pattern = re.compile(r"Topology snapshot|SEGMENTED|segmented|Node FAILED|Node left")
    lines = [line.strip()[:200] for line in path.read_text(errors="replace").splitlines() if pattern.search(line)]
    return lines[-keep:]


def _try(fn) -> bool:
    try:
        fn()
        return True
    except Exception:
        return False


def _port_open(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    import django

    django.setup()
    result = asyncio.run(run(json.loads(Path(sys.argv[1]).read_text())))
    print("FIGURES " + json.dumps(result, default=str), flush=True)
