"""Self-healing local nodes: restart a node whose JVM is gone, or that is cut off in an island of its own.

A node crashes, is killed, or stops itself (Ignite's segmentation policy STOP, the failure handler);
and after a network partition the cut-off side may keep running as a one-node cluster of its own
that never merges back (docs/reliability.md, scenario 5). A NodeSupervisor watches one node: a
dead process is started again with exponential backoff, and a live node found in the losing island
of a split (`islands`, below) is killed first. A restarted node keeps its consistent id, so it is
back in the baseline by itself. Each restart is recorded in the node's `supervisor.json`, which
`manage.py ignite_status` shows. For production nodes, use systemd (docs/operations.md).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

STATE_FILE = "supervisor.json"


def losing_island(views: Mapping[str, frozenset[str] | None], node: str) -> bool:
    """True when `node` must restart: the nodes it can see form a split that its island loses.

    `views` maps each node's consistent id to the server nodes in its topology (None: not reachable).
    Two islands are views that do not overlap. The bigger island wins; on a tie, the one holding the
    smallest consistent id. Every supervisor computes the same answer from the same views.
    """
    mine = views.get(node)
    if not mine:
        return False
    for other, theirs in views.items():
        if other in mine or not theirs or theirs & mine:
            continue
        if (len(theirs), min(mine)) > (len(mine), min(theirs)):
            return True
    return False


@dataclass
class NodeSupervisor:
    """Keeps one node running. `check()` once per interval (run() loops it)."""

    name: str
    is_alive: Callable[[], bool]
    start: Callable[[], object]  # starts the node; raises when it cannot
    kill: Callable[[], object]
    state_dir: Path
    split: Callable[[], bool] | None = None  # True when the node is in a losing island (see losing_island)
    min_backoff: float = 1.0
    max_backoff: float = 60.0
    stable_after: float = 60.0  # a node up this long resets the backoff
    clock: Callable[[], float] = time.monotonic
    restarts: int = 0
    _backoff: float = field(init=False, default=0.0)
    _next_try: float = field(init=False, default=0.0)
    _started_at: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._backoff = self.min_backoff
        self.restarts = int(read_state(self.state_dir).get("restarts", 0))

    def check(self) -> str | None:
        """Restart the node when it must; returns the reason it was restarted ("exited", "split") or None."""
        now = self.clock()
        alive = self.is_alive()
        if alive and self._started_at is not None and now - self._started_at > self.stable_after:
            self._backoff = self.min_backoff
        reason = None
        if not alive:
            reason = "exited"
        elif self.split is not None and self._split_now():
            reason = "split"
        if reason is None or now < self._next_try:
            return None
        if reason == "split":
            logger.warning("%s is cut off in an island of its own: restarting it", self.name)
            self.kill()
        else:
            logger.warning("%s is not running: restarting it", self.name)
        began = self.clock()
        try:
            self.start()
        except Exception as exc:
            logger.error("restarting %s failed: %s (next try in %.0f s)", self.name, exc, self._backoff)
            self._record(reason, began, ok=False, error=str(exc)[:300])
            self._delay()
            return None
        self._started_at = self.clock()
        self._record(reason, began, ok=True)
        self._delay()
        return reason

    def _split_now(self) -> bool:
        try:
            return bool(self.split())  # type: ignore[misc]  # checked by the caller
        except Exception:
            logger.info("split check of %s failed", self.name, exc_info=True)
            return False

    def _delay(self) -> None:
        self._next_try = self.clock() + self._backoff
        self._backoff = min(self._backoff * 2, self.max_backoff)

    def _record(self, reason: str, began: float, *, ok: bool, error: str | None = None) -> None:
        state = read_state(self.state_dir)
        if ok:
            self.restarts += 1
        event = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "reason": reason, "ok": ok,
                 "seconds": round(self.clock() - began, 1)}
        if error:
            event["error"] = error
        state.update({"node": self.name, "restarts": self.restarts, "last": event,
                      "history": [*state.get("history", []), event][-20:]})
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_dir / STATE_FILE)

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """check() every `interval` seconds until `stop` is set."""
        while not stop.wait(interval):
            try:
                self.check()
            except Exception:
                logger.exception("supervising %s failed", self.name)


def read_state(state_dir: Path) -> dict:
    """A node's supervisor record ({} when it was never restarted)."""
    try:
        return json.loads((Path(state_dir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
