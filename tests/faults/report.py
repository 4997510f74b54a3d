"""Print the figures of the last runs (var/faults/*.json) as the Markdown tables of docs/reliability.md.

    .venv/bin/python -m tests.faults.report
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


def main(names: list[str]) -> None:
    for path in sorted(REPORT_DIR.glob("*.json")):
        if names and path.stem not in names:
            continue
        figures = json.loads(path.read_text())
        print(f"#### {figures['scenario']} (run {figures['at']} UTC)\n\n{table(figures)}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
