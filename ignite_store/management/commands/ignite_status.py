"""Show the Ignite cluster's health: nodes, state, baseline, caches, partitions, message counts.

Exit status for monitoring: 0 healthy, 1 degraded, 2 unreachable (the message goes to stderr).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from ignite_store import stores
from ignite_store.cluster_report import EXIT_CODES, UNREACHABLE, format_duration
from ignite_store.errors import StoreError
from ignite_store.server.jvm import quiet_pyignite
from ignite_store.server.supervisor import read_state


def table(headers: list[str], rows: list[list]) -> list[str]:
    """Left-aligned plain-text columns, two spaces apart."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]


def format_report(report: dict) -> str:
    """The human-readable status page printed by ignite_status."""
    lines = [f"Ignite cluster: {report['status'].upper()} (state {report['state']})"]
    for problem in report["problems"]:
        lines.append(f"  ! {problem}")
    nodes = report["nodes"]
    lines += ["", f"Nodes ({len(nodes)} in topology)"]
    lines += table(
        ["CONSISTENT ID", "NODE ID", "ADDRESS", "VERSION", "UPTIME", "ROLE"],
        [
            [
                n["consistent_id"],
                n["id"][:8],
                ",".join(f"{a}:{n['client_port']}" if n["client_port"] else a for a in n["addresses"]) or "-",
                n["version"],
                format_duration(n["uptime_ms"]),
                "client" if n["is_client"] else "server",
            ]
            for n in nodes
        ],
    )
    baseline = report["baseline"]
    offline = f" (offline: {', '.join(baseline['offline'])})" if baseline["offline"] else ""
    lines += ["", f"Baseline: {baseline['online']}/{baseline['total']} online{offline}", "", "Caches"]
    lines += table(
        ["NAME", "MODE", "ATOMICITY", "BACKUPS", "WRITE SYNC", "PARTITIONS"],
        [
            [c["name"], c["mode"], c["atomicity"], "all" if c["backups"] is None else c["backups"],
             c["write_sync"], c["partitions"]]
            for c in report["caches"]
        ],
    )
    lines += ["", "Partitions (OWNING copies per node)"]
    rows = []
    for group in report["partitions"]:
        spread = ", ".join(f"{n['consistent_id']} {n['primary']}p/{n['backup']}b" for n in group["nodes"]) or "-"
        rows.append([group["group"], group["partitions"], spread, len(group["without_backup"]), len(group["lost"])])
    lines += table(["GROUP", "PARTS", "PRIMARY/BACKUP PER NODE", "NO BACKUP", "LOST"], rows)
    if report.get("restarts"):
        lines += ["", *format_restarts(report["restarts"])]
    messages = report["messages"]
    if messages.get("error"):
        lines += ["", f"Messages: unknown ({messages['error']})"]
    else:
        lines += ["", f"Messages: {messages['total']} in {messages['rooms']} rooms"]
    return "\n".join(lines)


def format_restarts(restarts: list[dict]) -> list[str]:
    """The restarts table of the status page."""
    return ["Restarts by the node supervisor (ignite_node supervise)", *table(
        ["NODE", "RESTARTS", "LAST", "REASON", "OK"],
        [[r.get("node", "-"), r.get("restarts", 0), r.get("last", {}).get("at", "-"),
          r.get("last", {}).get("reason", "-"), "yes" if r.get("last", {}).get("ok") else "no"] for r in restarts])]


def local_restarts() -> list[dict]:
    """The supervisor records of the local nodes (settings.IGNITE_SERVER's home), oldest node first."""
    conf = getattr(settings, "IGNITE_SERVER", None) or {}
    home = Path(conf.get("HOME", "")) if conf.get("HOME") else None
    if home is None or not home.is_dir():
        return []
    records = [read_state(path) for path in sorted(home.glob("node-*")) if path.is_dir()]
    return [r for r in records if r.get("restarts") or r.get("last")]


@contextlib.contextmanager
def _quiet(enabled: bool):
    """Silence pyignite's per-node tracebacks and the store's retry notes (the one-line verdict says it
    all), then restore the levels."""
    if not enabled:
        yield
        return
    store_logger = logging.getLogger("ignite_store")
    level = store_logger.level
    store_logger.setLevel(logging.WARNING)
    try:
        with quiet_pyignite():
            yield
    finally:
        store_logger.setLevel(level)


class Command(BaseCommand):
    help = "Show the Ignite cluster's health. Exit 0 healthy, 1 degraded, 2 unreachable."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON (for monitoring).")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        try:
            with _quiet(options["verbosity"] < 2):
                report = stores[options["store"]].cluster_info()
        except StoreError as exc:  # StoreUnavailable mostly; any failure to read the views counts
            self._unreachable(exc, options)
        report["restarts"] = local_restarts()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True, default=str))
        else:
            self.stdout.write(format_report(report))
        code = EXIT_CODES[report["status"]]
        if code:
            self.stderr.write(f"Ignite cluster is {report['status']}: {'; '.join(report['problems'])}")
            raise SystemExit(code)

    def _unreachable(self, exc: Exception, options: dict):
        restarts = local_restarts()  # what the supervisor did is worth knowing most when nothing answers
        if options["json"]:
            self.stdout.write(json.dumps({"status": UNREACHABLE, "error": str(exc), "restarts": restarts}, indent=2))
        elif restarts:
            self.stdout.write("\n".join(format_restarts(restarts)))
        self.stderr.write(f"Ignite cluster is unreachable: {exc}")
        raise SystemExit(EXIT_CODES[UNREACHABLE])
