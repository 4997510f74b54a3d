"""The node supervisor's rules (ignite_store.server.supervisor), with a fake clock and fake processes.

The real thing (a JVM killed, a node cut off by the network) is in tests/server/test_supervised_node.py
and tests/faults/test_partition.py."""

import pytest

from ignite_store.server.supervisor import NodeSupervisor, losing_island, read_state

pytestmark = pytest.mark.unit


def test_the_smaller_island_loses_and_a_tie_goes_to_the_smallest_consistent_id():
    both_alone = {"node-0": frozenset({"node-0"}), "node-1": frozenset({"node-1"})}
    assert losing_island(both_alone, "node-1") and not losing_island(both_alone, "node-0")
    two_against_one = {"node-0": frozenset({"node-0"}), "node-1": frozenset({"node-1", "node-2"}),
                       "node-2": frozenset({"node-1", "node-2"})}
    assert losing_island(two_against_one, "node-0")
    assert not losing_island(two_against_one, "node-1") and not losing_island(two_against_one, "node-2")


def test_no_split_when_the_views_agree_or_a_node_does_not_answer():
    healthy = {"node-0": frozenset({"node-0", "node-1"}), "node-1": frozenset({"node-0", "node-1"})}
    assert not losing_island(healthy, "node-1")
    cut = {"node-0": frozenset({"node-0"}), "node-1": None}  # during the cut nobody can compare
    assert not losing_island(cut, "node-0") and not losing_island(cut, "node-1")
    # The healthy side still lists the cut-off node until failure detection drops it: not disjoint.
    detecting = {"node-0": frozenset({"node-0", "node-1"}), "node-1": frozenset({"node-1"})}
    assert not losing_island(detecting, "node-1")


class Node:
    def __init__(self):
        self.alive, self.split, self.starts, self.kills, self.fail_starts = True, False, 0, 0, 0

    def start(self):
        if self.fail_starts:
            self.fail_starts -= 1
            raise RuntimeError("port busy")
        self.starts += 1
        self.alive = True

    def kill(self):
        self.kills += 1
        self.alive = False


def supervised(node, tmp_path, clock):
    return NodeSupervisor("node-1", lambda: node.alive, node.start, node.kill, tmp_path, split=lambda: node.split,
                          min_backoff=1.0, max_backoff=8.0, stable_after=30.0, clock=lambda: clock[0])


def test_an_exited_node_is_restarted_with_backoff_and_the_restart_recorded(tmp_path):
    node, clock = Node(), [100.0]
    sup = supervised(node, tmp_path, clock)
    assert sup.check() is None and node.starts == 0
    node.alive = False
    assert sup.check() == "exited" and node.starts == 1
    node.alive = False  # dies again at once: the next try waits for the backoff
    assert sup.check() is None
    clock[0] += 1.5
    assert sup.check() == "exited" and node.starts == 2
    node.alive, node.fail_starts = False, 1
    clock[0] += 2.5
    assert sup.check() is None and node.starts == 2  # the start failed: recorded, tried again later
    clock[0] += 4.5
    assert sup.check() == "exited" and node.starts == 3
    state = read_state(tmp_path)
    assert state["restarts"] == 3 and state["last"]["reason"] == "exited" and state["last"]["ok"]
    assert [e["ok"] for e in state["history"]] == [True, True, False, True]
    assert supervised(node, tmp_path, clock).restarts == 3  # survives the supervisor's own restart


def test_a_node_in_the_losing_island_is_killed_then_started(tmp_path):
    node, clock = Node(), [0.0]
    sup = supervised(node, tmp_path, clock)
    node.split = True
    assert sup.check() == "split"
    assert (node.kills, node.starts, node.alive) == (1, 1, True)
    assert read_state(tmp_path)["last"]["reason"] == "split"
