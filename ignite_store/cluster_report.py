"""Turn rows of Ignite's SYS views into the plain cluster report that admin pages and ignite_status show.

Pure functions, no driver: the backend fetches the rows (SYS.NODES, SYS.BASELINE_NODES, SYS.CACHES,
SYS.CACHE_GROUPS, SYS.PARTITION_STATES, ...) and this module decides what is healthy.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

HEALTHY = "healthy"
DEGRADED = "degraded"
UNREACHABLE = "unreachable"
EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, UNREACHABLE: 2}
STATE_NAMES = {0: "INACTIVE", 1: "ACTIVE", 2: "ACTIVE_READ_ONLY"}
_REPLICATED_BACKUPS = 2**31 - 1  # what SYS.CACHES reports as backups of a REPLICATED cache


def format_duration(ms: int | None) -> str:
    """Render milliseconds as '3d 4h', '2h 5m', '4m 10s' or '-'."""
    if ms is None:
        return "-"
    seconds = int(ms) // 1000
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s"


def _nodes(views: dict) -> list[dict]:
    ports = {str(node_id): value for node_id, value in views["ports"]}
    uptimes = {str(node_id): uptime for node_id, uptime in views["metrics"]}
    nodes: list[dict[str, Any]] = []
    for node_id, consistent_id, version, is_client, order, addresses in views["nodes"]:
        node_id = str(node_id)
        port = ports.get(node_id)
        nodes.append(
            {
                "id": node_id,
                "consistent_id": str(consistent_id),
                "addresses": (addresses or "").strip("[]").replace(" ", "").split(",") if addresses else [],
                "client_port": int(port) if port and str(port).isdigit() else None,
                "version": str(version or "").split("#")[0],
                "order": int(order),
                "is_client": bool(is_client),
                "uptime_ms": int(uptimes[node_id]) if uptimes.get(node_id) is not None else None,
            }
        )
    nodes.sort(key=lambda node: node["order"])
    return nodes


def _caches(views: dict) -> list[dict]:
    partitions = {group_id: count for group_id, _, count, _, _ in views["groups"]}
    caches = [
        {
            "name": name,
            "group": group_name or name,
            "group_id": group_id,
            "mode": mode,
            "atomicity": atomicity,
            "backups": None if backups == _REPLICATED_BACKUPS else int(backups),
            "write_sync": write_sync,
            "loss_policy": loss_policy,
            "sql_schema": (schema or "").strip('"') or None,
            "partitions": partitions.get(group_id),
        }
        for name, group_id, group_name, mode, atomicity, backups, write_sync, loss_policy, schema in views["caches"]
    ]
    caches.sort(key=lambda cache: cache["name"])
    return caches


def _partition_groups(views: dict, caches: list[dict], nodes: list[dict], baseline_size: int) -> list[dict]:
    """Per cache group: primaries/backups per node, partitions short of a copy, lost partitions."""
    names = {node["id"]: node["consistent_id"] for node in nodes}
    servers = sum(1 for node in nodes if not node["is_client"])
    # A REPLICATED group wants a copy on every server (a baseline node that left still counts).
    # A PARTITIONED group wants backups + 1 copies whatever the topology: with baseline
    # auto-adjust a dead node soon leaves the baseline, yet its backups are still missing.
    topology = max(baseline_size, servers)
    rows_by_group: dict[int, list] = defaultdict(list)
    for group_id, partition, node_id, state, is_primary in views["partitions"]:
        rows_by_group[group_id].append((int(partition), str(node_id), state, bool(is_primary)))
    groups = []
    for group_id, group_name, count, backups, mode in views["groups"]:
        members = [cache["name"] for cache in caches if cache["group_id"] == group_id]
        if not members:
            continue
        copies_wanted = topology if backups >= _REPLICATED_BACKUPS else int(backups) + 1
        owning: dict[int, int] = defaultdict(int)
        placed: set[int] = set()
        lost: set[int] = set()
        moving = 0
        per_node: dict[str, dict] = {}
        for partition, node_id, state, is_primary in rows_by_group.get(group_id, []):
            node = per_node.setdefault(
                node_id, {"id": node_id, "consistent_id": names.get(node_id, node_id), "primary": 0, "backup": 0}
            )
            if state == "LOST":
                lost.add(partition)
                continue
            placed.add(partition)
            if state == "MOVING":
                moving += 1
            if state == "OWNING":
                owning[partition] += 1
                node["primary" if is_primary else "backup"] += 1
        lost |= {p for p in range(int(count)) if p not in placed}
        without_backup = sorted(
            p for p in range(int(count)) if p not in lost and owning.get(p, 0) < copies_wanted and copies_wanted > 1
        )
        groups.append(
            {
                "group": group_name,
                "group_id": group_id,
                "caches": members,
                "mode": mode,
                "partitions": int(count),
                "backups": None if backups >= _REPLICATED_BACKUPS else int(backups),
                "copies_wanted": copies_wanted,
                "nodes": sorted(per_node.values(), key=lambda n: n["consistent_id"]),
                "without_backup": without_backup,
                "lost": sorted(lost),
                "moving": moving,
            }
        )
    groups.sort(key=lambda group: group["group"])
    return groups


def build_report(*, state: int, views: dict, messages: dict, chat_caches: list[str]) -> dict:
    """Assemble the cluster report and classify it healthy or degraded, listing every problem found."""
    nodes = _nodes(views)
    baseline_nodes: list[dict[str, Any]] = sorted(
        ({"consistent_id": str(cid), "online": bool(online)} for cid, online in views["baseline"]),
        key=lambda node: node["consistent_id"],
    )
    offline = [node["consistent_id"] for node in baseline_nodes if not node["online"]]
    baseline: dict[str, Any] = {
        "total": len(baseline_nodes),
        "online": len(baseline_nodes) - len(offline),
        "offline": offline,
        "nodes": baseline_nodes,
    }
    caches = _caches(views)
    partitions = _partition_groups(views, caches, nodes, baseline["total"])
    state_name = STATE_NAMES.get(state, str(state))

    servers = sum(1 for node in nodes if not node["is_client"])
    problems = []
    if state_name != "ACTIVE":
        problems.append(f"cluster state is {state_name}")
    if offline:
        problems.append(f"{len(offline)} of {baseline['total']} baseline nodes offline: {', '.join(offline)}")
    missing = [name for name in chat_caches if name not in {cache["name"] for cache in caches}]
    if missing:
        problems.append(f"chat caches missing (run manage.py ignite_init): {', '.join(missing)}")
    for group in partitions:
        if group["lost"]:
            problems.append(f"{group['group']}: {len(group['lost'])} lost partitions")
        if group["without_backup"]:
            short = f" (backups={group['backups']}, {servers} server nodes)" if servers < group["copies_wanted"] else ""
            problems.append(f"{group['group']}: {len(group['without_backup'])} partitions without a backup{short}")
    if messages.get("error"):
        problems.append(f"messages could not be counted: {messages['error']}")

    return {
        "status": DEGRADED if problems else HEALTHY,
        "problems": problems,
        "state": state_name,
        "nodes": nodes,
        "baseline": baseline,
        "caches": caches,
        "partitions": partitions,
        "messages": messages,
    }
