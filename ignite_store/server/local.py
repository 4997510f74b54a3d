"""Run real Apache Ignite server nodes on this host: `manage.py ignite_node` and the test fixtures use it.

Node i of a LocalCluster listens on client_port+i, discovery_port+i and communication_port+i,
all on 127.0.0.1, and keeps its config, log, pid file and persistent data in home/node-<i>/.
"""

from __future__ import annotations

import builtins
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from .jvm import (  # noqa: F401  (ClusterError, find_free_port_base: part of this module's API)
    JVM_FLAGS,
    LOOPBACK,
    STARTUP_CLASS,
    ClusterError,
    find_free_port_base,
    log_tail,
    port_is_free,
    quiet_pyignite,
)
from .membership import START_MARKER, MembershipMixin
from .supervisor import NodeSupervisor, losing_island
from .tls import TlsConfig, tls_from_settings

logger = logging.getLogger(__name__)
SERVER_DIR = Path(__file__).resolve().parent
DEFAULT_LIB_DIR = SERVER_DIR / "lib"
TEMPLATE = SERVER_DIR / "node.xml.tmpl"


@dataclass(frozen=True)
class NodeInfo:
    """What `LocalCluster.list()` reports about one node."""

    index: int
    pid: int | None
    alive: bool
    client_port: int
    discovery_port: int
    communication_port: int
    home: Path


class LocalCluster(MembershipMixin):
    """Start, stop and inspect Ignite server JVMs that share one home directory and port bases."""

    def __init__(
        self,
        home: Path | str,
        *,
        client_port: int = 10800,
        discovery_port: int = 47500,
        communication_port: int = 47100,
        max_nodes: int = 10,
        heap: str = "1g",
        data_region_mb: int = 512,
        wal_mode: str = "LOG_ONLY",
        wal_segment_mb: int = 16,
        rest_port: int = 0,
        authentication: bool = False,
        username: str | None = None,
        password: str | None = None,
        baseline_auto_adjust: bool = True,
        baseline_auto_adjust_timeout_ms: int = 10000,
        lib_dir: Path | str = DEFAULT_LIB_DIR,
        start_timeout: float = 120.0,
        stop_timeout: float = 30.0,
        die_with_parent: bool = False,
        tls: TlsConfig | None = None,
    ) -> None:
        self.home = Path(home)
        self.client_port = client_port
        self.discovery_port = discovery_port
        self.communication_port = communication_port
        self.max_nodes = max_nodes
        self.heap = heap
        self.data_region_mb = data_region_mb
        self.wal_mode = wal_mode
        self.wal_segment_mb = wal_segment_mb
        self.rest_port = rest_port
        self.authentication = authentication
        # Ignite's built-in superuser until someone changes its password.
        self.username = username or ("ignite" if authentication else None)
        self.password = password or ("ignite" if authentication else None)
        self.baseline_auto_adjust = baseline_auto_adjust
        self.baseline_auto_adjust_timeout_ms = baseline_auto_adjust_timeout_ms
        self.lib_dir = Path(lib_dir)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        # Tests set this so a killed pytest leaves no orphan JVMs; `manage.py ignite_node start` must not.
        self.die_with_parent = die_with_parent
        # TLS on the thin-client port (and optionally between nodes); None = plain TCP.
        self.tls = tls
        self.last_start_seconds: dict[int, float] = {}
        self._procs: dict[int, subprocess.Popen] = {}

    @classmethod
    def from_settings(cls, **overrides) -> LocalCluster:
        """Build from settings.IGNITE_SERVER (credentials from IGNITE_STORE['default'] OPTIONS)."""
        from django.conf import settings

        conf = settings.IGNITE_SERVER
        options = settings.IGNITE_STORE.get("default", {}).get("OPTIONS", {})
        kwargs = dict(
            home=Path(conf["HOME"]),
            client_port=conf["CLIENT_PORT"],
            discovery_port=conf["DISCOVERY_PORT"],
            communication_port=conf["COMMUNICATION_PORT"],
            max_nodes=conf["MAX_NODES"],
            heap=conf["HEAP"],
            data_region_mb=conf["DATA_REGION_MB"],
            wal_mode=conf["WAL_MODE"],
            wal_segment_mb=conf.get("WAL_SEGMENT_MB", 16),
            rest_port=conf["REST_PORT"],
            authentication=conf["AUTHENTICATION"],
            username=options.get("username"),
            password=options.get("password"),
            baseline_auto_adjust=conf["BASELINE_AUTO_ADJUST"],
            baseline_auto_adjust_timeout_ms=conf["BASELINE_AUTO_ADJUST_TIMEOUT_MS"],
            lib_dir=Path(conf["LIB_DIR"]),
            start_timeout=conf["START_TIMEOUT"],
        )
        kwargs["tls"] = tls_from_settings(conf, options)
        kwargs.update(overrides)
        return cls(**kwargs)

    # ------------------------------------------------------------------ layout
    def node_dir(self, i: int) -> Path:
        """Home of node i: config, log, pid file and work directory."""
        return self.home / f"node-{i}"

    def consistent_id(self, i: int) -> str:
        """The node's stable identity in the baseline (survives restarts)."""
        return f"node-{i}"

    def ports(self, i: int) -> tuple[int, int, int]:
        """(client, discovery, communication) ports of node i."""
        self._check_index(i)
        return self.client_port + i, self.discovery_port + i, self.communication_port + i

    def _check_index(self, i: int) -> None:
        if not 0 <= i < self.max_nodes:
            raise ClusterError(f"node index {i} is outside 0..{self.max_nodes - 1} (max_nodes={self.max_nodes})")

    def _pid_file(self, i: int) -> Path:
        return self.node_dir(i) / "node.pid"

    def log_path(self, i: int) -> Path:
        """stdout+stderr of node i (Ignite's detailed log is under work/log/)."""
        return self.node_dir(i) / "node.log"

    def http_port(self, i: int) -> int:
        """Node i's HTTP REST port (when rest_port is set; the binary REST port is rest_port + i)."""
        return self.rest_port + self.max_nodes + i

    # ------------------------------------------------------------------ config
    def render_config(self, i: int) -> Path:
        """Write home/node-<i>/node.xml for node i and return its path."""
        client, disco, comm = self.ports(i)
        last = self.discovery_port + self.max_nodes - 1
        # Ignite starts the binary REST connector (11211, and Jetty on 8080 when ignite-rest-http is on the
        # classpath) unless the configuration is explicitly null.
        rest_block = '    <property name="connectorConfiguration"><null/></property>\n'
        if self.rest_port:
            rest_block = (
                '    <property name="connectorConfiguration">\n'
                '      <bean class="org.apache.ignite.configuration.ConnectorConfiguration">\n'
                f'        <property name="host" value="{LOOPBACK}"/>\n'
                f'        <property name="port" value="{self.rest_port + i}"/>\n'
                '        <property name="portRange" value="0"/>\n'
                "      </bean>\n"
                "    </property>\n"
            )
        segment = self.wal_segment_mb * 1024 * 1024
        region = self.data_region_mb * 1024 * 1024
        values = {
            "instance_name": f"chat-{self.consistent_id(i)}-{client}",
            "consistent_id": self.consistent_id(i),
            "work_dir": str((self.node_dir(i) / "work").resolve()),
            "authentication": "true" if self.authentication else "false",
            "rest_block": rest_block,
            "node_ssl_block": self.tls.node_properties() if self.tls else "",
            "client_ssl_block": self.tls.client_connector_properties() if self.tls else "",
            "wal_mode": self.wal_mode,
            "wal_segment_bytes": segment,
            "wal_segments": 4,
            "max_wal_archive_bytes": segment * 16,
            "region_initial_bytes": min(region, 64 * 1024 * 1024),
            "region_max_bytes": region,
            "client_port": client,
            "discovery_port": disco,
            "communication_port": comm,
            "discovery_addresses": f"{LOOPBACK}:{self.discovery_port}..{last}",
        }
        path = self.node_dir(i) / "node.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        # The file may hold keystore passwords: readable by the owner only, from its first byte.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(Template(TEMPLATE.read_text()).substitute(values))
        path.chmod(0o600)
        return path

    def _classpath(self) -> str:
        if not any(self.lib_dir.glob("ignite-core-*.jar")):
            raise ClusterError(f"Ignite jars are missing in {self.lib_dir}: run `make jars` first")
        return f"{self.lib_dir.resolve()}/*"

    def _java(self) -> str:
        java = shutil.which("java")
        if not java:
            raise ClusterError("`java` (JDK 17) is not on PATH")
        return java

    # ------------------------------------------------------------------ processes
    def pid(self, i: int) -> int | None:
        """The pid recorded for node i, or None."""
        try:
            return int(self._pid_file(i).read_text().strip())
        except (OSError, ValueError):
            return None

    def is_alive(self, i: int) -> bool:
        """True when node i's JVM is running (pid file checked against /proc to survive pid reuse)."""
        proc = self._procs.get(i)
        if proc is not None:
            # Our own child: poll() is exact (and reaps it); /proc may show a half-exec'd java launcher.
            return proc.poll() is None
        pid = self.pid(i)
        if pid is None:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
            return False
        # An empty cmdline means the process is mid-exec or mid-exit (memory gone, sockets maybe not yet).
        return not cmdline or str(self.node_dir(i).resolve() / "node.xml").encode() in cmdline

    def _launch(self, i: int) -> None:
        classpath, java = self._classpath(), self._java()
        if not self._wait_ports_free(i, time.monotonic() + 3):
            busy = [port for port in self.ports(i) if not port_is_free(port)]
            raise ClusterError(f"node {i}: port(s) {busy} on {LOOPBACK} already in use")
        if self.tls and not Path(self.tls.keystore).is_file():
            raise ClusterError(f"TLS keystore {self.tls.keystore} does not exist")
        config = self.render_config(i)
        # Jetty (ignite-rest-http) reads its address from system properties only (default 8080).
        http = [f"-DIGNITE_JETTY_PORT={self.http_port(i)}", f"-DIGNITE_JETTY_HOST={LOOPBACK}"] if self.rest_port else []
        command = [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_FLAGS, *http,
            f"-DIGNITE_HOME={self.node_dir(i).resolve()}",
            "-cp", classpath, STARTUP_CLASS, str(config.resolve()),
        ]
        with open(self.log_path(i), "ab") as log:
            log.write(f"{START_MARKER}{i} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.node_dir(i), start_new_session=True,
                preexec_fn=_kill_me_with_parent if self.die_with_parent else None,
            )
        self._procs[i] = proc
        self._pid_file(i).write_text(str(proc.pid))

    def _wait_ready(self, i: int, deadline: float) -> None:
        from pyignite.exceptions import AuthenticationError

        port = self.ports(i)[0]
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.is_alive(i):
                raise ClusterError(
                    f"node {i} exited during start; tail of {self.log_path(i)}:\n{log_tail(self.log_path(i))}"
                )
            try:
                with quiet_pyignite():
                    client = self._connect([port], timeout=3.0)
                    try:
                        client.get_cluster().get_state()
                    finally:
                        client.close()
                return
            except AuthenticationError:
                return  # the node answered the handshake; _activate sorts out the credentials
            except Exception as exc:  # pyignite raises several unrelated types while the node boots
                last_error = exc
                time.sleep(0.3)
        raise ClusterError(
            f"node {i} did not accept thin-client connections on {LOOPBACK}:{port} within "
            f"{self.start_timeout:.0f}s ({last_error!r}); tail of {self.log_path(i)}:\n{log_tail(self.log_path(i))}"
        )

    # ------------------------------------------------------------------ cluster operations
    def start(self, count: int = 1) -> list[int]:
        """Make nodes 0..count-1 run, the cluster active and every running node part of the baseline.

        Nodes already alive are left alone. Returns the indices that were launched.
        """
        if count < 1 or count > self.max_nodes:
            raise ClusterError(f"count must be within 1..{self.max_nodes}, got {count}")
        self.home.mkdir(parents=True, exist_ok=True)
        launched = [i for i in range(count) if not self.is_alive(i)]
        started_at = time.monotonic()
        deadline = started_at + self.start_timeout
        try:
            for i in launched:
                self._launch(i)
            for i in launched:
                self._wait_ready(i, deadline)
                self.last_start_seconds[i] = time.monotonic() - started_at
            self._wait_topology(deadline)
            self._activate()
            self._sync_baseline(deadline)
        except BaseException:
            for i in launched:  # leave nothing half-started behind
                self._terminate(i, graceful=False)
            raise
        return launched

    def start_node(self, i: int) -> bool:
        """Start node i alone (joining whatever runs); True when it was launched, False when already alive."""
        self._check_index(i)
        if self.is_alive(i):
            return False
        self.home.mkdir(parents=True, exist_ok=True)
        started_at = time.monotonic()
        deadline = started_at + self.start_timeout
        try:
            self._launch(i)
            self._wait_ready(i, deadline)
            self.last_start_seconds[i] = time.monotonic() - started_at
            self._wait_topology(deadline)
            self._activate()
            self._sync_baseline(deadline)
        except BaseException:
            self._terminate(i, graceful=False)
            raise
        return True

    def stop(self, i: int | None = None) -> list[int]:
        """Stop node i, or every node (SIGTERM, then SIGKILL after stop_timeout). Returns the stopped indices."""
        indices = [i] if i is not None else self._known_indices()
        alive = [n for n in indices if self.is_alive(n)]
        for n in alive:
            self._signal(n, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for n in alive:
            while self.is_alive(n) and time.monotonic() < deadline:
                time.sleep(0.1)
            self._terminate(n, graceful=False)
        return alive

    def kill(self, i: int) -> None:
        """SIGKILL node i (fault tests): no checkpoint, no graceful leave."""
        self._check_index(i)
        self._terminate(i, graceful=False)

    def list(self) -> list[NodeInfo]:
        """Every node that has a home directory, alive or not."""
        result = []
        for i in self._known_indices():
            client, disco, comm = self.ports(i)
            result.append(NodeInfo(i, self.pid(i), self.is_alive(i), client, disco, comm, self.node_dir(i)))
        return result

    def client_addresses(self) -> builtins.list[tuple[str, int]]:
        """Thin-client (host, port) of every running node."""
        return [(LOOPBACK, self.ports(i)[0]) for i in self._known_indices() if self.is_alive(i)]

    def wipe(self) -> None:
        """Stop every node and delete the home directory (all persisted data)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    # ------------------------------------------------------------------ supervision
    def topology_view(self, i: int, timeout: float = 5.0) -> frozenset[str] | None:
        """Consistent ids of the server nodes node i sees (asking node i alone); None when it does not answer."""
        if not self.is_alive(i):
            return None
        try:
            with quiet_pyignite():
                client = self._connect([self.ports(i)[0]], timeout=timeout)
                try:
                    with client.sql("SELECT CONSISTENT_ID FROM SYS.NODES WHERE IS_CLIENT = FALSE") as cursor:
                        return frozenset(str(row[0]) for row in cursor)
                finally:
                    client.close()
        except Exception:
            return None

    def in_losing_island(self, i: int) -> bool:
        """True when node i runs in an island of its own that loses against the other nodes' (a split brain)."""
        views = {self.consistent_id(n): self.topology_view(n) for n in self._known_indices() if self.is_alive(n)}
        return losing_island(views, self.consistent_id(i))

    def supervisor(self, i: int, *, split: bool = True, **options) -> NodeSupervisor:
        """A NodeSupervisor that restarts node i when it exited or (`split`) is cut off; state in node_dir(i)."""
        self._check_index(i)
        return NodeSupervisor(self.consistent_id(i), lambda: self.is_alive(i), lambda: self.start_node(i),
                              lambda: self.kill(i), self.node_dir(i),
                              split=(lambda: self.in_losing_island(i)) if split else None, **options)

    def supervise(self, count: int, stop, interval: float = 2.0, **options) -> None:
        """Keep nodes 0..count-1 running until `stop` (a threading.Event) is set: `ignite_node supervise`."""
        supervisors = [self.supervisor(i, **options) for i in range(count)]
        while not stop.wait(interval):
            for supervisor in supervisors:
                try:
                    supervisor.check()
                except Exception:  # one node's trouble must not stop the others' supervision
                    logger.exception("supervising %s failed", supervisor.name)

    # ------------------------------------------------------------------ internals
    def _known_indices(self) -> builtins.list[int]:  # `list` is a method of this class
        return [i for i in range(self.max_nodes) if self.node_dir(i).is_dir()]

    def _signal(self, i: int, sig: int) -> None:
        pid = self.pid(i)
        if pid is None or not self.is_alive(i):
            return
        try:
            os.killpg(pid, sig)  # the JVM leads its own session (start_new_session)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)

    def _terminate(self, i: int, *, graceful: bool) -> None:
        if graceful:
            self._signal(i, signal.SIGTERM)
        else:
            self._signal(i, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.is_alive(i) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc = self._procs.pop(i, None)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._pid_file(i).unlink(missing_ok=True)
        # A JVM's leader thread turns zombie before its other threads have closed the sockets; wait for
        # the ports so that a restart right away does not find them busy.
        self._wait_ports_free(i, time.monotonic() + 15)

    def _wait_ports_free(self, i: int, deadline: float) -> bool:
        while not all(port_is_free(port) for port in self.ports(i)):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True


def _kill_me_with_parent() -> None:
    """In the forked child: ask Linux to SIGKILL it when the parent dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 == PR_SET_PDEATHSIG
