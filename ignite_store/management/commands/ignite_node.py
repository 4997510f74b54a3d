"""Start, stop, list and kill the local Apache Ignite server nodes configured by settings.IGNITE_SERVER."""

from __future__ import annotations

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from ignite_store.server.local import ClusterError, LocalCluster


class Command(BaseCommand):
    help = ("Manage local Ignite server nodes: start [--count N], stop [--index I], list, kill --index I, "
            "supervise [--count N] (start them and restart any that exits or is cut off, until Ctrl-C).")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "list", "kill", "supervise"])
        parser.add_argument("--count", type=int, default=1, help="start: number of nodes (default: %(default)s).")
        parser.add_argument("--index", type=int, default=None, help="stop: one node (default: all); kill: required.")

    def handle(self, *args, **options):
        if options["action"] == "kill" and options["index"] is None:
            raise CommandError("kill needs --index I")
        cluster = LocalCluster.from_settings()
        try:
            getattr(self, f"_{options['action']}")(cluster, options)
        except ClusterError as exc:
            raise CommandError(str(exc)) from exc

    def _start(self, cluster: LocalCluster, options) -> None:
        began = time.monotonic()
        launched = cluster.start(options["count"])
        elapsed = time.monotonic() - began
        if not launched:
            if options["verbosity"] >= 1:
                self.stdout.write(f"All {options['count']} node(s) already running; nothing started.")
            return
        for i in launched:
            port = cluster.ports(i)[0]
            self.stdout.write(
                self.style.SUCCESS(f"node {i} started (pid {cluster.pid(i)}, thin client 127.0.0.1:{port}) ")
                + f"in {cluster.last_start_seconds[i]:.1f}s"
            )
        if options["verbosity"] >= 1:
            self.stdout.write(f"Cluster {cluster.cluster_state()}, ready in {elapsed:.1f}s; logs in {cluster.home}")

    def _supervise(self, cluster: LocalCluster, options) -> None:
        self._start(cluster, options)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        self.stdout.write(f"Supervising {options['count']} node(s); restarts are recorded in "
                          f"{cluster.home}/node-*/supervisor.json (ignite_status shows them). Ctrl-C stops.")
        try:
            cluster.supervise(options["count"], stop)
        except KeyboardInterrupt:
            pass

    def _stop(self, cluster: LocalCluster, options) -> None:
        stopped = cluster.stop(options["index"])
        if stopped:
            self.stdout.write(self.style.SUCCESS(f"stopped node(s) {', '.join(map(str, stopped))}"))
        elif options["verbosity"] >= 1:
            self.stdout.write("No running node to stop.")

    def _kill(self, cluster: LocalCluster, options) -> None:
        index = options["index"]
        if not cluster.is_alive(index):
            raise CommandError(f"node {index} is not running")
        cluster.kill(index)
        self.stdout.write(f"killed node {index} (SIGKILL)")

    def _list(self, cluster: LocalCluster, options) -> None:
        nodes = cluster.list()
        if not nodes:
            self.stdout.write(f"No nodes under {cluster.home}.")
            return
        self.stdout.write(f"{'index':>5}  {'pid':>7}  {'alive':<5}  {'client':>6}  {'discovery':>9}  {'comm':>6}")
        for node in nodes:
            pid = str(node.pid) if node.pid else "-"
            self.stdout.write(
                f"{node.index:>5}  {pid:>7}  {'yes' if node.alive else 'no':<5}  {node.client_port:>6}  "
                f"{node.discovery_port:>9}  {node.communication_port:>6}"
            )
        self.stdout.write(f"cluster state: {cluster.cluster_state() or 'unreachable'}")
        if options["verbosity"] >= 2 and any(node.alive for node in nodes):
            baseline = cluster.baseline() if cluster.cluster_state() == "ACTIVE" else []
            members = ", ".join(f"{cid}{'' if online else ' (offline)'}" for cid, online in baseline)
            self.stdout.write(f"baseline: {members or '-'}")
