"""The real servers of one benchmark run: Ignite nodes, redis-server, Daphne processes and the Node seed peer.

Everything listens on 127.0.0.1, on ports chosen at run time, with its data in the run's temporary directory.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ignite_store.server.local import ClusterError, LocalCluster, find_free_port_base
from tests.fixtures.daphne import DAPHNE_COMMAND
from tests.fixtures.daphne import DaphneServer as Daphne
from tests.fixtures.servers import RedisServer, start_on_free_ports

BASE_DIR = Path(__file__).resolve().parents[1]
PEER_DIR = Path(__file__).resolve().parent / "peers"
MAX_NODES = 2
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- process accounting

def cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of a process and its reaped children (from /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:13]) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file soft limit (children inherit it); return the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard if hard != resource.RLIM_INFINITY else wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _stop_proc(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ---------------------------------------------------------------- Ignite

class BenchCluster(LocalCluster):
    """A LocalCluster whose nodes may serve Ignite's HTTP REST API (for the seed peer only)."""

    def pids(self) -> list[int]:
        """Pids of the running nodes."""
        return [self.pid(i) for i in range(self.max_nodes) if self.is_alive(i) and self.pid(i)]

    def nodes_env(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in self.client_addresses())


def start_cluster(home: Path, count: int, *, heap: str, region_mb: int, rest: bool) -> BenchCluster:
    """Start `count` nodes on a fresh block of free ports (retrying if another run took one)."""

    def make(path: Path) -> BenchCluster:
        base = find_free_port_base(5 * MAX_NODES)  # client, discovery, communication, REST binary, REST HTTP
        return BenchCluster(
            path, client_port=base, discovery_port=base + MAX_NODES, communication_port=base + 2 * MAX_NODES,
            rest_port=(base + 3 * MAX_NODES) if rest else 0, max_nodes=MAX_NODES, heap=heap,
            data_region_mb=region_mb, wal_segment_mb=16, baseline_auto_adjust=True,
            baseline_auto_adjust_timeout_ms=1000, start_timeout=240.0,
        )

    try:
        return start_on_free_ports(home, count, make)
    except ClusterError as exc:
        raise RuntimeError(f"Ignite cluster did not start: {exc}") from exc


def rest_call(port: int, **params) -> dict:
    """One Ignite HTTP REST call; returns the decoded JSON answer."""
    url = f"http://127.0.0.1:{port}/ignite?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


# ---------------------------------------------------------------- Redis

def start_redis(workdir: Path) -> RedisServer:
    """redis-server without persistence on a free loopback port, room for many clients."""
    return RedisServer(workdir, "--maxclients", "20000").start()


# ---------------------------------------------------------------- Django site (SQLite, users, Daphne)

_LOGIN_CODE = """
import json, sys
import django
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
names = json.loads(sys.stdin.read())
existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
User.objects.bulk_create([User(username=n, password="!bench") for n in names if n not in existing])
out = {}
for user in User.objects.filter(username__in=names):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out[user.username] = session.session_key
print(json.dumps(out))
"""

# Limits raised so that they never cap the offered load (the bench measures the server, not the limiter).
UNLIMITED = {
    "CHAT_SEND_RATE_PER_SECOND": "100000", "CHAT_SEND_BURST": "100000",
    "CHAT_FRAME_RATE_PER_SECOND": "100000", "CHAT_FRAME_BURST": "100000",
    "CHAT_MAX_CONNECTIONS_PER_USER": "10000", "CHAT_OUTBOX_MAX_FRAMES": "100000",
}


@dataclass
class Site:
    """The SQLite file, users and environment shared by the Daphne processes of the run."""

    directory: Path
    env: dict
    sessions: dict = field(default_factory=dict)

    @classmethod
    def create(cls, directory: Path, redis_url: str) -> Site:
        directory.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_SQLITE_PATH": str(directory / "db.sqlite3"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "CHAT_VAR_DIR": str(directory / "var"),
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
            **UNLIMITED,
        }
        site = cls(directory, env)
        site.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"])
        return site

    def run(self, args: list[str], *, input: str | None = None, nodes: str | None = None, timeout=600,
            tree: Path = BASE_DIR) -> str:
        env = dict(self.env)
        if nodes:
            env["IGNITE_NODES"] = nodes
        proc = subprocess.run(args, cwd=tree, env=env, input=input, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, args[:4]))} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout

    def login(self, names: list[str]) -> dict[str, str]:
        """Create users (unusable passwords) with one DB session each; {name: session key}."""
        missing = [n for n in names if n not in self.sessions]
        if missing:
            out = self.run([sys.executable, "-c", _LOGIN_CODE], input=json.dumps(missing))
            self.sessions.update(json.loads(out.strip().splitlines()[-1]))
        return {n: self.sessions[n] for n in names}

    def init_store(self, nodes: str, tree: Path = BASE_DIR) -> None:
        """Create the chat tables in a cluster (manage.py ignite_init of the checkout `tree`)."""
        self.run([sys.executable, "manage.py", "ignite_init"], nodes=nodes, tree=tree)


def _wait_http(port: int, proc: subprocess.Popen, path: str, what: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    _stop_proc(proc)
    raise RuntimeError(f"{what} did not answer within {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def _listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return sock


def start_daphne(site: Site, nodes: str, name: str, *, tree: Path = BASE_DIR, **extra_env) -> Daphne:
    """A Daphne process of the chat on a socket opened here and handed over (--fd): no port race.
    `tree`: the checkout whose code it runs (an older commit's, for side-by-side runs); one from before
    chatsite/daphne_main.py runs plain `python -m daphne`."""
    command = DAPHNE_COMMAND if (tree / "chatsite" / "daphne_main.py").exists() else [sys.executable, "-m", "daphne"]
    return _start_asgi(site, {"IGNITE_NODES": nodes, **{k: str(v) for k, v in extra_env.items()}},
                       [*command, "--websocket-max-message-size", "32768",
                        "--websocket-max-frame-size", "32768"],
                       "chatsite.asgi:application", f"daphne-{name}", "/ws/chat/", tree=tree)


def _start_asgi(site: Site, env: dict, command: list[str], app: str, name: str, probe: str, *,
                tree: Path = BASE_DIR) -> Daphne:
    listener = _listener()
    port = listener.getsockname()[1]
    log_path = site.directory / f"{name}-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*command, "--fd", str(listener.fileno()), "-v", "0", app],
            cwd=tree, env={**site.env, **env}, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()], start_new_session=True,
        )
    listener.close()
    _wait_http(port, proc, probe, name, log_path)
    return Daphne(proc, port, log_path)


# ---------------------------------------------------------------- the seed peer (Node.js)

@dataclass
class Peer:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        _stop_proc(self.proc)


def npm_install() -> None:
    """Install the peer's npm packages into bench/peers/node_modules (once)."""
    if (PEER_DIR / "node_modules" / "ws").is_dir():
        return
    npm = shutil.which("npm")
    if not npm:
        raise RuntimeError("npm is not installed (apt-get install nodejs npm)")
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=PEER_DIR, check=True, timeout=600)


def start_peer(workdir: Path, rest_http_port: int, cache: str, *, script: str = "server.js",
               backups: int = 0) -> Peer:
    """A Node.js peer (bench/peers/`script`) on Ignite's HTTP REST API.

    server.js is the seed design (one put per message keyed by Date.now(), then broadcast);
    lossless.js is the seed made lossless (putifabsent under a unique key, awaited before ack and broadcast).
    """
    npm_install()
    log_path = workdir / f"peer-{cache}.log"
    env = {**os.environ, "PORT": "0", "IGNITE_REST": f"http://127.0.0.1:{rest_http_port}/ignite", "CACHE": cache,
           "BACKUPS": str(backups)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([shutil.which("node") or "node", str(PEER_DIR / script)], cwd=PEER_DIR, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    port = 0
    while not port:  # the peer binds port 0 and prints the port it got
        found = re.search(r"listening (\d+)", log_path.read_text(errors="replace"))
        if found:
            port = int(found.group(1))
        elif proc.poll() is not None or time.monotonic() > deadline:
            _stop_proc(proc)
            raise RuntimeError(f"peer {script} did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        else:
            time.sleep(0.1)
    _wait_http(port, proc, "/", f"peer {script}", log_path, timeout=30)
    return Peer(proc, port, log_path)


def start_tutorial_peer(site: Site, nodes: str, name: str) -> Daphne:
    """The Channels tutorial's consumer with one store call per message (bench/tutorial_peer), under plain Daphne."""
    return _start_asgi(site, {"IGNITE_NODES": nodes, "DJANGO_SETTINGS_MODULE": "bench.tutorial_peer.settings"},
                       [sys.executable, "-m", "daphne"], "bench.tutorial_peer.asgi:application",
                       f"tutorial-{name}", "/")
