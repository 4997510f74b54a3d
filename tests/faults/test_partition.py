"""Scenario 5: an Ignite node cut off in its own network namespace (bridge port down, then up).

Needs root (ip netns). The run itself happens inside the app namespace (tests/faults/netns.py),
because the host side gets no address on the bridge.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid

import pytest

from tests.fixtures.api_site import ApiSite

from .conftest import MUTATE_EVERY, REST_EVERY, RIG_ENV, record_figures
from .netns import Namespaces
from .servers import BASE_DIR

SHORT = {"clients": 3, "rate": 6.0, "before": 3.0, "cut_seconds": 15.0, "rejoin_wait": 60.0, "after": 3.0}
LONG = {"clients": 8, "rate": 8.0, "before": 10.0, "cut_seconds": 40.0, "rejoin_wait": 90.0, "after": 15.0}


@pytest.mark.parametrize("profile", [pytest.param(SHORT, id="short"),
                                     pytest.param(LONG, id="long", marks=pytest.mark.slow)])
def test_node_cut_off_by_the_network_loses_nothing_acked(chat_site, tmp_path, profile):
    if os.geteuid() != 0:
        pytest.fail("scenario 5 needs root for ip netns (see docs/reliability.md)")
    tag = "fz" + uuid.uuid4().hex[:4]
    spaces = Namespaces(tag, random.randint(1, 250))
    names = [f"pu{i}" for i in range(profile["clients"])]
    cookies = {name: f"sessionid={key}" for name, key in chat_site.login(*names, "puowner", "pumember").items()}
    churn = {"owner_cookie": cookies.pop("puowner"), "member": "pumember", "member_cookie": cookies.pop("pumember")}
    config = {
        **profile, "home": str(tmp_path), "base_dir": str(BASE_DIR), "cookies": cookies,
        "churn": churn, "tokens": ApiSite(chat_site).tokens(*names), "rig_env": RIG_ENV,
        "mutate_every": MUTATE_EVERY, "rest_every": REST_EVERY,
        "addresses": [spaces.address("n0"), spaces.address("n1")],
        "namespaces": [spaces.names["n0"], spaces.names["n1"]],
        "bridge": spaces.names["br"], "bridge_port": spaces.bridge_port("n1"),
        "env": {k: v for k, v in chat_site.env.items() if k not in ("IGNITE_NODES", "REDIS_URL")},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    try:
        spaces.create()
        done = subprocess.run(
            ["ip", "netns", "exec", spaces.names["app"], sys.executable, "-m", "tests.faults.netns",
             str(tmp_path / "config.json")],
            cwd=BASE_DIR, env=chat_site.env, capture_output=True, text=True, timeout=900)
    finally:
        spaces.remove()
    lines = [line for line in done.stdout.splitlines() if line.startswith("FIGURES ")]
    assert done.returncode == 0 and lines, (
        f"partition run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}\n"
        + "\n".join(f"--- node {i} log tail ---\n" + _tail(tmp_path / f"node-{i}" / "node.log") for i in (0, 1)))
    figures = json.loads(lines[-1][len("FIGURES "):])
    record_figures(f"ignite_partition_{'short' if profile is SHORT else 'long'}", figures)
    assert not figures["violations"], figures["violations"]
    assert figures["acked_lost"] == 0 and figures["stored_duplicates"] == 0 and figures["missed_by_clients"] == 0
    assert figures["node0_saw_node1_fail_after_s"] is not None
    # Healed with no operator action: the cut-off node rejoined (restarted by the project's supervisor).
    assert figures["rejoined_after_restore_s"] is not None, figures
    assert figures["churn_removals"] >= 2 and figures["change_ops_applied"] > 0 and figures["rest_acked"] > 0, figures


def _tail(path, chars: int = 2500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"
