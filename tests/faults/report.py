"""Print the figures of the last runs (var/faults/*.json) as the Markdown tables of docs/reliability.md.

    .venv/bin/python -m tests.faults.report              # every scenario's table
    .venv/bin/python -m tests.faults.report --summary    # the summary table
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPORT_DIR = Path(__file__).resolve().parents[2] / "var" / "faults"
ROWS = [
    ("sent", "messages sent (distinct client_id)"), ("attempts", "send frames (with retries)"),
    ("acked", "acked"), ("acked_lost", "acked but lost"), ("stored_duplicates", "stored twice"),
    ("phantoms", "stored, never sent"), ("stored_unacked", "stored, ack lost with the connection"),
    ("error_frames", "error frames (codes)"), ("unanswered", "attempts never answered on a live socket"),
    ("attempts_lost_with_connection", "attempts lost with their connection (retried)"),
    ("missed_by_clients", "messages missed by a client"), ("delivered_duplicates", "delivered twice"),
    ("gaps_detected", "gaps detected by seq"), ("filled_from_ignite", "messages filled from Ignite"),
    ("wire_duplicates_dropped", "wire duplicates dropped by seq"), ("reconnects", "client reconnects"),
    ("first_new_ack_after_fault_s", "first ack of a new send after the fault (s)"),
    ("longest_ack_gap_s", "longest gap between acks (s)"), ("ack_p50_ms", "ack latency p50 (ms)"),
    ("ack_max_ms", "ack latency max (ms)"),
]


def table(figures: dict) -> str:
    """One scenario's figures as a two-column Markdown table (known rows first, then the rest)."""
    lines = ["| figure | value |", "|---|---|"]
    done = {"scenario", "at", "violations", "error_codes", "daphne_rss_growth_kb_samples"}
    for key, label in ROWS:
        if key in figures:
            value = figures[key]
            if key == "error_frames" and figures.get("error_codes"):
                value = f"{value} ({', '.join(figures['error_codes'])})"
            lines.append(f"| {label} | {value} |")
            done.add(key)
    for key, value in figures.items():
        if key not in done:
            lines.append(f"| {key.replace('_', ' ')} | {value} |")
    return "\n".join(lines)


def load(scenario: str) -> dict[str, dict]:
    """{"short": figures, "long": figures} of one scenario, whichever were run."""
    found = {}
    for variant in ("short", "long"):
        path = REPORT_DIR / f"{scenario}_{variant}.json"
        if path.exists():
            found[variant] = json.loads(path.read_text())
    return found


def side_by_side(scenario: str) -> str:
    """One table, a column per variant (short / long) of `scenario`."""
    runs = load(scenario)
    if not runs:
        return "(not run yet)"
    variants = list(runs)
    keys: list[str] = []
    for key, _ in ROWS:
        if any(key in f for f in runs.values()):
            keys.append(key)
    skip = {"scenario", "at", "violations", "error_codes", "daphne_rss_growth_kb_samples"}
    for figures in runs.values():
        keys += [k for k in figures if k not in keys and k not in skip]
    labels = dict(ROWS)
    head = "| figure | " + " | ".join(f"{v} (run {runs[v]['at']} UTC)" for v in variants) + " |"
    lines = [head, "|---|" + "---|" * len(variants)]
    for key in keys:
        cells = []
        for v in variants:
            value = runs[v].get(key, "")
            if key == "error_frames" and runs[v].get("error_codes"):
                value = f"{value} ({', '.join(runs[v]['error_codes'])})"
            if isinstance(value, list):
                value = "<br>".join(str(x).replace("|", "/") for x in value) or "-"
            cells.append(str(value))
        lines.append(f"| {labels.get(key, key.replace('_', ' '))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The recovery figure of each scenario (docs/reliability.md, "Summary"): (key, label).
RECOVERY = {
    "daphne_kill": ("max_reconnect_s", "clients moved in ≤ {} s"),
    "redis_restart": ("fanout_resumed_after_s_max", "live fan-out back ≤ {} s"),
    "ignite_kill_one": ("rejoin_s", "node restarted by the test, rejoined in {} s"),
    "ignite_supervised": ("rejoined_baseline_after_s", "supervisor restart; in the baseline {} s after the kill"),
    "ignite_kill_all": ("restart_s", "cluster restarted in {} s"),
    "ignite_partition": ("rejoined_after_restore_s", "rejoined {} s after the link came back (supervisor)"),
    "slow_consumer": ("server_dropped_socket_after_s", "slow socket dropped after {} s"),
}


def summary() -> str:
    """The summary table: scenario, sent, acked, lost, duplicated, missed, recovery time (every run kept)."""
    lines = ["| scenario | run (UTC) | sent | acked | acked lost | duplicated | missed by clients | recovery "
             "| REST sends acked | changes sent / applied | views ≠ Ignite | mention counts / read markers ≠ "
             "| removals: late frames |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(REPORT_DIR.glob("*.json")):
        f = json.loads(path.read_text())
        if "sent" not in f:
            continue
        prefix = next((p for p in RECOVERY if f["scenario"].startswith(p)), None)
        key, label = RECOVERY.get(prefix, (None, ""))
        recovery = label.format(f[key]) if key and f.get(key) is not None else "-"
        lines.append(f"| {f['scenario']} | {f['at']} | {f['sent']} | {f['acked']} | {f['acked_lost']} | "
                     f"{f['stored_duplicates'] + f.get('delivered_duplicates', 0)} | {f['missed_by_clients']} | "
                     f"{recovery} | {_mixed(f)} |")
    return "\n".join(lines)


def _mixed(f: dict) -> str:
    """The mixed-load columns of the summary (issue 17): "-" where a run had no such load."""
    def cell(*keys: str, sep: str = " / ") -> str:
        return sep.join(str(f[k]) for k in keys) if all(k in f for k in keys) else "-"

    return " | ".join([cell("rest_acked"), cell("change_ops", "change_ops_applied"), cell("messages_diverged"),
                       cell("mention_counts_diverged", "read_markers_diverged"),
                       f"{f['churn_removals']}: {f['churn_violations']}" if "churn_removals" in f else "-"])


def main(names: list[str]) -> None:
    if names == ["--summary"]:
        print(summary())
        return
    for path in sorted(REPORT_DIR.glob("*.json")):
        if names and path.stem not in names:
            continue
        figures = json.loads(path.read_text())
        print(f"#### {figures['scenario']} (run {figures['at']} UTC)\n\n{table(figures)}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
