"""Cluster membership for LocalCluster: topology, activation, baseline, SQL and the control utility.

pyignite reads and sets the cluster state; the baseline and its auto-adjust settings need Ignite's control
utility (control.sh), which in 2.17 talks to the thin-client port.
"""

from __future__ import annotations

import re
import subprocess
import time

from .jvm import CONTROL_CLASS, JVM_FLAGS, LOOPBACK, ClusterError, quiet_pyignite

_AUTO_ADJUST_SQL = "SELECT NAME, VALUE FROM SYS.DISTRIBUTED_METASTORAGE WHERE NAME LIKE 'distrConf-baselineAutoAdjust%'"
START_MARKER = "\n=== starting node "
# The superuser Ignite creates when authentication is first enabled on a persistent cluster.
DEFAULT_USER, DEFAULT_PASSWORD = "ignite", "ignite"
_TOPOLOGY_RE = re.compile(r"Topology snapshot \[ver=\d+, locNode=\w+, servers=(\d+)")


class MembershipMixin:
    """Cluster-wide operations of LocalCluster (which provides ports, processes, paths and credentials)."""

    def _connect(self, ports: list[int], timeout: float = 5.0, *, credentials: tuple | None = None):
        from pyignite import Client

        username, password = credentials or (self.username, self.password)
        kwargs = self.tls.pyignite_kwargs() if self.tls else {}
        client = Client(timeout=timeout, handshake_timeout=timeout, username=username, password=password, **kwargs)
        client.connect([(LOOPBACK, port) for port in ports])
        return client

    def cluster_state(self) -> str | None:
        """'ACTIVE', 'INACTIVE' or 'ACTIVE_READ_ONLY' as seen by a running node; None when none answers."""
        from pyignite.datatypes.cluster_state import ClusterState

        ports = [port for _, port in self.client_addresses()]
        if not ports:
            return None
        try:
            with quiet_pyignite():
                client = self._connect(ports)
                try:
                    return ClusterState(client.get_cluster().get_state()).name
                finally:
                    client.close()
        except Exception:
            return None

    def baseline(self) -> list[tuple[str, bool]]:
        """[(consistent id, online), ...] of the baseline (empty while inactive or unreachable)."""
        rows = self._sql("SELECT CONSISTENT_ID, ONLINE FROM SYS.BASELINE_NODES", time.monotonic() + 30)
        return [(str(cid), bool(online)) for cid, online in rows]

    def server_count(self) -> int:
        """Server nodes in the topology, asked through SQL (cluster must be active)."""
        return int(self._sql("SELECT COUNT(*) FROM SYS.NODES WHERE IS_CLIENT = FALSE", time.monotonic() + 30)[0][0])

    def control(self, *args: str, timeout: float = 60.0) -> str:
        """Run Ignite's control utility (control.sh) via a running node's thin-client port; return its output."""
        addresses = self.client_addresses()
        if not addresses:
            raise ClusterError("no running node to run the control utility against")
        command = [
            self._java(), "-Xms64m", "-Xmx256m", "-XX:TieredStopAtLevel=1", *JVM_FLAGS,
            "-cp", self._classpath(), CONTROL_CLASS, "--host", LOOPBACK, "--port", str(addresses[0][1]),
        ]
        if self.username:
            command += ["--user", self.username, "--password", self.password or ""]
        if self.tls:
            command += self.tls.control_args()
        command += list(args)
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd=self.home
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"control utility {' '.join(args)} timed out after {timeout:.0f}s") from exc
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise ClusterError(f"control utility {' '.join(args)} failed (exit {done.returncode}):\n{output[-3000:]}")
        return output

    def _sql(self, query: str, retry_until: float | None = None) -> list[list]:
        ports = [port for _, port in self.client_addresses()]
        if not ports:
            raise ClusterError("no running node")
        while True:
            try:
                with quiet_pyignite():
                    client = self._connect(ports, timeout=30.0)
                    try:
                        with client.sql(query, page_size=1000) as cursor:
                            return [list(row) for row in cursor]
                    finally:
                        client.close()
            except Exception as exc:
                # A node that has just joined may refuse SQL for a moment ("Schema SYS not found").
                if retry_until is None or time.monotonic() > retry_until:
                    raise ClusterError(f"SQL {query!r} failed: {exc}") from exc
                time.sleep(0.3)

    def _topology_from_logs(self) -> int:
        # While the cluster is inactive SQL is refused; every node prints its topology snapshots instead.
        best = 0
        for i in self._known_indices():
            if not self.is_alive(i):
                continue
            current_run = self.log_path(i).read_text(errors="replace").rsplit(START_MARKER, 1)[-1]
            matches = _TOPOLOGY_RE.findall(current_run)
            if matches:
                best = max(best, int(matches[-1]))
        return best

    def _wait_topology(self, deadline: float) -> None:
        expected = len(self.client_addresses())
        while True:
            seen = self._topology_from_logs()
            if seen >= expected:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"only {seen} of {expected} running nodes joined one topology in time")
            time.sleep(0.2)

    def _activate(self) -> None:
        """Activate the cluster; with authentication, make the configured user exist (see _admin_connect)."""
        from pyignite.datatypes.cluster_state import ClusterState

        with quiet_pyignite():
            client, as_default = self._admin_connect()
            try:
                cluster = client.get_cluster()
                if cluster.get_state() == ClusterState.INACTIVE:
                    cluster.set_state(ClusterState.ACTIVE)
                if as_default:
                    self._provision_user(client)
            finally:
                client.close()
        if as_default:  # prove the configured credentials work before anything else uses them
            with quiet_pyignite():
                self._connect(self._ports(), timeout=30.0).close()

    def _ports(self) -> list[int]:
        return [port for _, port in self.client_addresses()]

    def _admin_connect(self):
        """(client, as_default): connect with the configured credentials, else with Ignite's default superuser.

        A fresh cluster only knows ignite/ignite; LocalCluster then creates the configured user (or sets the
        configured password of `ignite`) so that `make run` with IGNITE_USERNAME/PASSWORD works first time.
        """
        from pyignite.exceptions import AuthenticationError

        try:
            return self._connect(self._ports(), timeout=60.0), False
        except AuthenticationError as exc:
            if not self.authentication or (self.username, self.password) == (DEFAULT_USER, DEFAULT_PASSWORD):
                raise ClusterError(f"Ignite refused the configured credentials: {exc}") from exc
            try:
                client = self._connect(self._ports(), timeout=60.0, credentials=(DEFAULT_USER, DEFAULT_PASSWORD))
            except AuthenticationError:
                raise ClusterError(
                    f"Ignite refused the configured credentials for user {self.username!r} "
                    "(and the default superuser's password has been changed)"
                ) from exc
            return client, True

    def _provision_user(self, client) -> None:
        """Logged in as ignite/ignite: create the configured user, or give `ignite` the configured password."""
        name = '"' + str(self.username).replace('"', '""') + '"'  # quoted: Ignite upper-cases bare names
        password = "'" + str(self.password or "").replace("'", "''") + "'"
        verb = "ALTER" if self.username == DEFAULT_USER else "CREATE"
        with client.sql(f"{verb} USER {name} WITH PASSWORD {password}") as cursor:
            list(cursor)

    def _sync_baseline(self, deadline: float) -> None:
        settings = dict(self._sql(_AUTO_ADJUST_SQL, deadline))
        enabled = settings.get("distrConf-baselineAutoAdjustEnabled") == "true"
        timeout = settings.get("distrConf-baselineAutoAdjustTimeout")
        wanted_timeout = str(self.baseline_auto_adjust_timeout_ms)
        if self.baseline_auto_adjust and (not enabled or timeout != wanted_timeout):
            self.control("--baseline", "auto_adjust", "enable", "timeout", wanted_timeout, "--yes")
        elif not self.baseline_auto_adjust and enabled:
            self.control("--baseline", "auto_adjust", "disable", "--yes")
        running = {self.consistent_id(i) for i in self._known_indices() if self.is_alive(i)}
        missing = running - {cid for cid, _ in self.baseline()}
        if missing and not self.baseline_auto_adjust:
            self.control("--baseline", "add", ",".join(sorted(missing)), "--yes")
        # Auto-adjust adds joined nodes once the topology has been quiet for the timeout.
        wait_until = max(deadline, time.monotonic() + self.baseline_auto_adjust_timeout_ms / 1000 + 30)
        while missing:
            if time.monotonic() > wait_until:
                raise ClusterError(f"nodes {sorted(missing)} did not join the baseline in time")
            time.sleep(0.5)
            missing = running - {cid for cid, _ in self.baseline()}
