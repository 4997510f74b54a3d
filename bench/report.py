"""Turn a result file into the table and plot of docs/performance.md (between the bench markers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
DOC = BASE_DIR / "docs" / "performance.md"
PLOT = BASE_DIR / "docs" / "img" / "performance.png"
BEGIN, END = "<!-- bench:begin (written by `python -m bench`; edits here are overwritten) -->", "<!-- bench:end -->"

INTRO = """# Performance

Every figure below comes from one command, `make bench` (`.venv/bin/python -m bench`; `--quick` for a
run of a few minutes). The bench starts its own servers on free loopback ports in a temporary
directory: Apache Ignite nodes (LocalCluster; the HTTP REST connector only on the bench's own node, for
the seed peer), redis-server, Daphne processes, and three peers a user would weigh: the seed design's Node.js server
(bench/peers/server.js), the seed made lossless (bench/peers/lossless.js: `ws` + one Ignite REST
put-if-absent per message under a unique key, awaited before the ack and the broadcast) and the Django
Channels tutorial's consumer with one store call per message (bench/tutorial_peer/). Scenario 7 runs
scenario 1 on the production shape: two Ignite nodes, backups=1, FULL_SYNC. CPU per 1,000 messages is
also given as the marginal cost, the slope between the lowest and the highest passing rate, so idle
background work cancels out.
The load generator is asyncio + `websockets`: real authenticated clients (session cookie, Origin
header), open loop at a target rate, with the send time in every body.

The machine has 2 cores shared by every process of the run (load generator included), so absolute
figures move from run to run; each figure is therefore reported beside a reference measured in the
same run, as a ratio, with the CPU-seconds each process spent per 1,000 messages.

"""


def _get(d: dict | None, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def _best(search: dict | None, key: str, steps_key: str = "steps") -> str:
    """The best figure; '≥ x' when even the last step passed (the search did not reach the limit)."""
    if not search:
        return "–"
    best, steps = search.get(key), search.get(steps_key) or []
    if best is None:
        return "none passed"
    return f"≥ {best:g}" if steps and steps[-1].get("pass") else f"{best:g}"


def _ratio(a, b) -> str:
    if a is None or not b:
        return "–"
    return f"{a / b:.2f}×"


def _best_step(search: dict | None) -> dict | None:
    if not search:
        return None
    steps = [s for s in search.get("steps", []) if s.get("offered_rate") == search.get("best_rate")]
    return steps[0] if steps else None


def _cpu_text(per: dict, *, signed: bool = False) -> str:
    """CPU-s per 1,000 messages by process, leaving out the ones too small to print (a slope may be negative)."""
    return ", ".join(f"{k} {v:.2f}" for k, v in per.items()
                     if v is not None and (abs(v) if signed else v) >= 0.005) or "–"


def _cpu_line(step: dict | None) -> str:
    return _cpu_text((step or {}).get("cpu_s_per_1000") or {})


def _marginal(search: dict | None) -> str:
    return _cpu_text(_get(search, "marginal_cpu_s_per_1000") or {}, signed=True)


def tables(result: dict) -> str:
    s = result.get("scenarios", {})
    rows = ["| # | figure | this project | reference (same run) | ratio | target | CPU-s per 1,000 msgs |",
            "|---|---|---|---|---|---|---|"]
    chat, seed = s.get("chat_1daphne_1node"), s.get("seed_1node")
    limit1 = _get(s, "storage_limit_1proc", "rate")
    if chat or seed:
        c, r = _get(chat, "best_rate"), _get(seed, "best_rate")
        bc, bs = _best_step(chat), _best_step(seed)
        seed_lost = sum((st.get("lost_by_overwrite") or 0) for st in (seed or {}).get("steps", []))
        seed_sent = sum(st.get("sent", 0) for st in (seed or {}).get("steps", []))
        chat_lost = sum(st["sent"] - st["messages_fully_delivered"] for st in (chat or {}).get("steps", [])
                        if st.get("pass"))
        rows.append(f"| 1 | persisted chat, highest msg/s with p99 delivery ≤ 250 ms, all delivered | "
                    f"{_best(chat, 'best_rate')} (p99 {_get(bc, 'delivery', 'p99')} ms, "
                    f"ack p99 {_get(bc, 'ack', 'p99')} ms) | seed: {_best(seed, 'best_rate')} "
                    f"(p99 {_get(bs, 'delivery', 'p99')} ms) | {_ratio(c, r)} | ≥ 1.5× | chat: {_cpu_line(bc)}; "
                    f"seed: {_cpu_line(bs)} |")
        rows.append(f"| 1 | messages lost | {chat_lost} in passing steps | seed: {seed_lost} of {seed_sent} "
                    "overwritten (same-ms keys) | – | 0 | – |")
        seed_lossless = None  # the highest rate up to which every step passed and lost nothing
        for st in sorted((seed or {}).get("steps", []), key=lambda st: st["offered_rate"]):
            if not st.get("pass") or st.get("lost_by_overwrite") != 0:
                break
            seed_lossless = st["offered_rate"]
        rows.append(f"| 1 | persisted chat vs the seed's highest rate losing nothing (there and below) | {c} | seed: "
                    f"{seed_lossless if seed_lossless else 'lost messages at every rate'} | "
                    f"{_ratio(c, seed_lossless)} | (the target counts the seed's raw rate, above) | – |")
        levels = ", ".join(f"{lv['concurrency']}: {lv['rate']:g}" for lv in _get(s, "storage_limit_1proc", "levels",
                                                                              default=[]))
        rows.append(f"| 1 | persisted chat vs storage limit (aappend loop, 1 process; appends/s at concurrency "
                    f"{levels}) | {c} | {limit1} appends/s | {_ratio(c, limit1)} | ≥ 0.5× | "
                    f"limit: {_cpu_line(s.get('storage_limit_1proc'))} |")
    c = _get(chat, "best_rate")
    for key, name in (("lossless_1node", "the seed made lossless (Node `ws` + Ignite REST putifabs, awaited)"),
                      ("tutorial_1node", "the Channels tutorial's consumer (group_send + one aappend per message)")):
        peer = s.get(key)
        if peer:
            rows.append(f"| 1 | persisted chat vs {name} | {_best(chat, 'best_rate')} | {_best(peer, 'best_rate')} "
                        f"| {_ratio(c, _get(peer, 'best_rate'))} | report | chat: {_marginal(chat)}; "
                        f"peer: {_marginal(peer)} (marginal) |")
    if chat:
        rows.append(f"| 1 | marginal CPU per 1,000 messages (slope between the lowest and highest passing rate) | "
                    f"{_marginal(chat)} | seed: {_marginal(seed)} | – | Daphne ≤ 0.5× of 27a2a95 | – |")
    prod = s.get("chat_1daphne_prod")
    if prod:
        rows.append(f"| 7 | production shape (2 nodes, backups=1, FULL_SYNC): persisted chat | "
                    f"{_best(prod, 'best_rate')} | 1 node: {_best(chat, 'best_rate')} | "
                    f"{_ratio(_get(prod, 'best_rate'), c)} | report | {_marginal(prod)} (marginal) |")
        for key, name in (("lossless_prod", "the seed made lossless"), ("tutorial_prod", "the tutorial's consumer")):
            peer = s.get(key)
            if peer:
                rows.append(f"| 7 | production shape: chat vs {name} | {_best(prod, 'best_rate')} | "
                            f"{_best(peer, 'best_rate')} | {_ratio(_get(prod, 'best_rate'), _get(peer, 'best_rate'))} "
                            f"| report | peer: {_marginal(peer)} (marginal) |")
    for kind in ("pessimistic", "optimistic"):
        lim1, lim2 = s.get(f"storage_limit_1node_{kind}"), s.get(f"storage_limit_prod_{kind}")
        if lim1 and lim2:
            cpu1 = sum(v for k, v in (lim1.get("cpu_s_per_1000") or {}).items() if k.startswith("ignite") and v)
            cpu2 = sum(v for k, v in (lim2.get("cpu_s_per_1000") or {}).items() if k.startswith("ignite") and v)
            rows.append(f"| 7 | {kind} transactions: Ignite CPU-s per 1,000 appends, 2 nodes (backups=1) vs 1 node "
                        f"(storage limit {lim2['rate']:g} vs {lim1['rate']:g} appends/s) | {cpu2:.2f} | {cpu1:.2f} | "
                        f"{_ratio(cpu2, cpu1)} | ≤ 2.5× | – |")
    opt = s.get("chat_1daphne_prod_optimistic")
    if opt and prod:
        rows.append(f"| 7 | production shape: chat with optimistic vs pessimistic transactions | "
                    f"{_best(opt, 'best_rate')} | {_best(prod, 'best_rate')} | "
                    f"{_ratio(_get(opt, 'best_rate'), _get(prod, 'best_rate'))} | report | {_marginal(opt)} |")
    fc, fs = s.get("fanout_chat"), s.get("fanout_seed")
    if fc or fs:
        rows.append(f"| 2 | fan-out: most clients in one room with p95 ≤ 250 ms ({_get(fc, 'rate')} msg/s, "
                    f"{_get(fc, 'senders')} senders) | {_best(fc, 'best_clients')} | seed: {_best(fs, 'best_clients')} "
                    f"| {_ratio(_get(fc, 'best_clients'), _get(fs, 'best_clients'))} | ≥ 1× | – |")
    h = s.get("history")
    if h:
        p = h["pages"]
        for name, key in (("latest 50", "latest50_async"), ("50 before a deep cursor", "before_deep_async")):
            rows.append(f"| 3 | history at {h['messages']:,} msgs: {name} (store API, async) p50 / p99 | "
                        f"{p[key]['p50']} / {p[key]['p99']} ms | 1-row page p50 {p['page1_sync']['p50']} ms, "
                        f"last_seq p50 {p['last_seq_sync']['p50']} ms | {_ratio(p[key]['p50'], p['page1_sync']['p50'])}"
                        f" of a 1-row page | p99 ≤ 5 ms | {p['before_deep_cpu_ms_per_call']} ms CPU per page |")
        sc = h["store_catchup"]
        ws = s.get("catchup_ws")
        rows.append(f"| 4 | catch-up of 1,000 missed messages, WebSocket join→all received p50 / p99 | "
                    f"{_get(ws, 'from_join', 'p50')} / {_get(ws, 'from_join', 'p99')} ms | store API (aafter, pages of "
                    f"200): p50 {sc['time']['p50']} ms | {_ratio(_get(ws, 'from_join', 'p50'), sc['time']['p50'])} "
                    "| ≤ 100 ms | – |")
    idle = s.get("idle")
    if idle:
        c, r = idle["chat"], idle["seed"]
        # Node's heap may shrink while sockets open (GC), so its growth can come out negative.
        seed_kb = r["kb_per_connection"] if r["kb_per_connection"] > 0 else None
        rows.append(f"| 5 | idle: memory per connection ({c['connections']} sockets, RSS growth) | "
                    f"{c['kb_per_connection']} KiB | seed: {seed_kb if seed_kb else 'n/a (GC shrank the heap)'} "
                    f"{'KiB' if seed_kb else ''} | {_ratio(c['kb_per_connection'], seed_kb)} | report | – |")
        rows.append(f"| 5 | idle: CPU of {c['connections']} idle sockets | {c['idle_cpu_percent_of_core']} % of a core "
                    f"| seed: {r['idle_cpu_percent_of_core']} % | – | < 5 % | – |")
    d2, n2 = s.get("chat_2daphne_1node"), s.get("chat_1daphne_2nodes")
    if d2 or n2:
        base = _get(chat, "best_rate")
        rows.append(f"| 6 | scenario 1 with 2 Daphne processes (1 node) | {_best(d2, 'best_rate')} | "
                    f"1 Daphne: {base} | "
                    f"{_ratio(_get(d2, 'best_rate'), base)} | report | {_cpu_line(_best_step(d2))} |")
        lim2 = _get(s, "storage_limit_2proc", "rate")
        rows.append(f"| 6 | storage limit, 2 processes (1 node) | {lim2} | 1 process: {limit1} | "
                    f"{_ratio(lim2, limit1)} | report | – |")
        rows.append(f"| 6 | scenario 1 on 2 Ignite nodes (1 Daphne) | {_best(n2, 'best_rate')} | 1 node: {base} | "
                    f"{_ratio(_get(n2, 'best_rate'), base)} | report | {_cpu_line(_best_step(n2))} |")
        lim2n = _get(s, "storage_limit_1proc_2nodes", "rate")
        rows.append(f"| 6 | storage limit on 2 nodes (1 process) | {lim2n} | 1 node: {limit1} | "
                    f"{_ratio(lim2n, limit1)} | report | – |")
    pa = s.get("storage_limit_1proc_2nodes_partition_aware")
    if pa:
        base = {lv["concurrency"]: lv["rate"] for lv in _get(s, "storage_limit_1proc_2nodes", "levels", default=[])}
        for lv in pa["levels"]:
            rows.append(f"| 6 | storage on 2 nodes with partition_aware=True, concurrency {lv['concurrency']} | "
                        f"{lv['rate']} appends/s | partition_aware=False (default): {base.get(lv['concurrency'])} | "
                        f"{_ratio(lv['rate'], base.get(lv['concurrency']))} | – | – |")
    return "\n".join(rows)


def steps_table(result: dict) -> str:
    s = result.get("scenarios", {})
    rows = ["| run | offered msg/s | sent | fully delivered | delivery p50 / p95 / p99 / max ms | ack p99 ms | "
            "lost (seed) | loadgen CPU-s/1k | pass |", "|---|---|---|---|---|---|---|---|---|"]
    for key in ("chat_1daphne_1node", "seed_1node", "lossless_1node", "tutorial_1node", "chat_2daphne_1node",
                "chat_1daphne_2nodes", "chat_1daphne_prod_pessimistic", "chat_1daphne_prod_optimistic",
                "lossless_prod", "tutorial_prod"):
        for st in _get(s, key, "steps", default=[]):
            d = st["delivery"]
            rows.append(f"| {key} | {st['offered_rate']:g} | {st['sent']} | {st['messages_fully_delivered']} | "
                        f"{d['p50']} / {d['p95']} / {d['p99']} / {d['max']} | {st['ack']['p99']} | "
                        f"{st.get('lost_by_overwrite', '–')} | {_get(st, 'cpu_s_per_1000', 'loadgen')} | "
                        f"{'yes' if st['pass'] else 'no'} |")
    for key in ("fanout_chat", "fanout_seed"):
        for st in _get(s, key, "steps", default=[]):
            if "delivery" not in st:
                rows.append(f"| {key} N={st['clients']} | – | – | – | {st.get('error', '')} | – | – | – | no |")
                continue
            d = st["delivery"]
            rows.append(f"| {key} N={st['clients']} | {st['offered_rate']:g} | {st['sent']} | "
                        f"{st['messages_fully_delivered']} | {d['p50']} / {d['p95']} / {d['p99']} / {d['max']} | "
                        f"{st['ack']['p99']} | {st.get('lost_by_overwrite', '–')} | "
                        f"{_get(st, 'cpu_s_per_1000', 'loadgen')} | {'yes' if st['pass'] else 'no'} |")
    return "\n".join(rows)


def profiles(result: dict) -> list[str]:
    """The py-spy summaries (`--profile`): where the Daphne process spent its samples."""
    out = []
    for key, search in result.get("scenarios", {}).items():
        prof = (search or {}).get("profile") if isinstance(search, dict) else None
        if not prof or not prof.get("samples"):
            continue
        out += [f"### Profile: {key}, Daphne at {prof['rate']:g} msg/s ({prof['samples']} samples, "
                f"busy {prof.get('busy_percent_of_one_core')} % of one core; delivery p99 "
                f"{prof['delivery_p99']} ms, ack p99 {prof['ack_p99']} ms)", "",
                "Self time by package: " + ", ".join(f"{n} {p} %" for n, p in prof["self_by_package_percent"]), "",
                "| function (self) | % | function (inclusive) | % |", "|---|---|---|---|"]
        for (a, pa), (b, pb) in zip(prof["self_percent"][:10], prof["inclusive_percent"][:10], strict=False):
            out.append(f"| `{a}` | {pa} | `{b}` | {pb} |")
        out.append("")
    return out


def plot(result: dict, path: Path) -> bool:
    """p99 delivery vs offered rate (scenarios 1 and 6) and p95 vs clients (scenario 2)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    s = result.get("scenarios", {})
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key, label in (("chat_1daphne_1node", "chat, 1 Daphne, 1 node"), ("seed_1node", "seed design (Node ws + REST)"),
                       ("chat_2daphne_1node", "chat, 2 Daphne"), ("chat_1daphne_2nodes", "chat, 2 Ignite nodes")):
        steps = _get(s, key, "steps", default=[])
        if steps:
            left.plot([st["offered_rate"] for st in steps], [st["delivery"]["p99"] or 0 for st in steps], "o-",
                      label=label)
    limit = _get(s, "storage_limit_1proc", "rate")
    if limit:
        left.axvline(limit, color="grey", linestyle=":", label=f"storage limit ({limit:g}/s)")
    left.axhline(250, color="red", linestyle="--", linewidth=1)
    left.set(xscale="log", yscale="log", xlabel="offered msg/s (200 clients, 20 rooms)",
             ylabel="p99 send→delivery (ms)", title="1. persisted chat")
    left.legend(fontsize=8)
    for key, label in (("fanout_chat", "chat"), ("fanout_seed", "seed design")):
        steps = [st for st in _get(s, key, "steps", default=[]) if "delivery" in st]
        if steps:
            right.plot([st["clients"] for st in steps], [st["delivery"]["p95"] or 0 for st in steps], "o-",
                       label=label)
    right.axhline(250, color="red", linestyle="--", linewidth=1)
    right.set(xscale="log", yscale="log", xlabel="clients in one room", ylabel="p95 send→delivery (ms)",
              title=f"2. fan-out ({_get(s, 'fanout_chat', 'rate')} msg/s)")
    if right.get_legend_handles_labels()[0]:
        right.legend(fontsize=8)
    for axis in (left, right):  # after set_xscale, which resets the formatters
        axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    fig.suptitle(f"{result['profile']} run {result['started']}, load avg at end {result['machine']['load_avg_at_end']}",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def render(result: dict, json_path: Path) -> str:
    cfg = result["config"]
    hist = _get(result, "scenarios", "history", "messages")
    lines = [
        BEGIN,
        f"## Latest run: {result['profile']}, {result['started']} ({result['duration_s']} s)",
        "",
        f"Result file: `{json_path.relative_to(BASE_DIR) if json_path.is_relative_to(BASE_DIR) else json_path}`. "
        f"Machine: {result['machine']['cpus']} CPUs, load average at the end {result['machine']['load_avg_at_end']}. "
        f"History room: {hist if hist is not None else '–'} messages (full runs use 1,000,000 unless "
        f"`--history-messages` says otherwise). Steps of {cfg['seconds']} s; "
        f"{cfg['clients']} clients in {cfg['rooms']} rooms for scenarios 1 and 6.",
        "",
    ]
    if result.get("error"):
        lines += [f"**The run stopped early:** `{result['error']}`", ""]
    lines += [tables(result), "", "![benchmark plot](img/performance.png)", ""]
    lines += profiles(result)
    lines += ["### Every step", "", steps_table(result), "", END]
    return "\n".join(lines)


def write_docs(result: dict, json_path: Path) -> None:
    """Write the table into docs/performance.md (keeping text outside the markers) and the PNG."""
    plot(result, PLOT)
    block = render(result, json_path)
    text = DOC.read_text() if DOC.exists() else INTRO + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


if __name__ == "__main__":  # re-render from a result file: python -m bench.report bench/results/X.json
    path = Path(sys.argv[1])
    write_docs(json.loads(path.read_text()), path.resolve())
