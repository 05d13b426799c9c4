"""Linear clustering and lane scheduling on small hand-made task graphs."""

from __future__ import annotations

import itertools
import random

import pytest

from ramiel_mlir.analysis.dag import Dag
from ramiel_mlir.analysis.levels import critical_path_length
from ramiel_mlir.analysis.scheduling import (
    gil_bound,
    intra_op_threads,
    linear_clusters,
    schedule_clusters,
    serial_schedule,
    simulate,
    single_lane_threads,
)


def dag(costs: list[float], succs: list[list[int]], comm: float) -> Dag:
    """A DAG whose every edge costs `comm`."""
    return Dag.from_edges(costs, [(u, v, comm) for u, vs in enumerate(succs) for v in vs])


def random_dag(seed: int, count: int, fan_out: int, window: int | None = None) -> Dag:
    """Edges only go forward (to at most `window` nodes ahead), costs 1..100."""
    rng = random.Random(seed)
    succs = [
        sorted(
            {
                rng.randrange(i + 1, min(count, i + (window or count)))
                for _ in range(rng.randrange(fan_out))
            }
        )
        if i < count - 1
        else []
        for i in range(count)
    ]
    return dag([rng.uniform(1, 100) for _ in range(count)], succs, 5.0)


# Diamond: 0 -> {1, 2} -> 3, edges of 2.
DIAMOND = dag([1.0, 10.0, 8.0, 1.0], [[1, 2], [3], [3], []], 2.0)


def test_linear_clusters_take_the_critical_path_first() -> None:
    assert linear_clusters(DIAMOND) == [[0, 1, 3], [2]]


def test_linear_clusters_are_chains_covering_every_node_once() -> None:
    graph = random_dag(7, 200, 3)
    clusters = linear_clusters(graph)
    assert sorted(t for c in clusters for t in c) == list(range(200))
    for cluster in clusters:
        for before, after in itertools.pairwise(cluster):
            assert after in {v for v, _ in graph.successors[before]}


def test_independent_chains_become_two_clusters() -> None:
    # 0 -> 1 and 2 -> 3, the second chain longer.
    clusters = linear_clusters(dag([1.0, 1.0, 5.0, 5.0], [[1], [], [3], []], 1.0))
    assert clusters == [[2, 3], [0, 1]]


def test_simulate_charges_edges_between_lanes_only() -> None:
    schedule = simulate(DIAMOND, [[0, 1, 3], [2]])
    # Task 2 starts at 1 + 2 (edge), ends at 11; its value reaches lane 0 at 13.
    assert schedule.start == [0.0, 1.0, 3.0, 13.0]
    assert schedule.makespan == 14.0


def test_simulate_rejects_orders_against_dependencies() -> None:
    with pytest.raises(ValueError, match="dependencies"):
        simulate(DIAMOND, [[1, 0, 3], [2]])


def test_schedule_keeps_clusters_on_one_lane_and_critical_path_on_lane_0() -> None:
    clusters = [[0, 1, 3], [2]]
    schedule = schedule_clusters(DIAMOND, clusters, 2)
    assert schedule.lanes == [[0, 1, 3], [2]]
    assert schedule.makespan == 14.0
    one_lane = schedule_clusters(DIAMOND, clusters, 1)
    assert one_lane.makespan == serial_schedule(DIAMOND).makespan == 20.0


def test_schedule_never_beats_the_work_bound() -> None:
    graph = random_dag(3, 300, 4)
    schedule = schedule_clusters(graph, linear_clusters(graph), 2)
    assert schedule.makespan >= sum(graph.costs) / 2
    assert schedule.makespan >= critical_path_length(graph, communication=False)
    replay = simulate(graph, schedule.lanes)
    assert replay.makespan == pytest.approx(schedule.makespan)


def test_three_thousand_nodes_cluster_and_schedule() -> None:
    """
    A graph of compile-time size gets a valid schedule. How long it takes is
    tools/compile_time.py's to measure: a test asserts no time.
    """
    graph = random_dag(11, 3000, 3, window=40)
    schedule = schedule_clusters(graph, linear_clusters(graph), 2)
    assert schedule.makespan >= sum(graph.costs) / 2
    assert simulate(graph, schedule.lanes).makespan == pytest.approx(schedule.makespan)


def test_worker_lanes_start_late() -> None:
    # Two independent nodes of 10: lane 1 starts 3 late (a worker wakes up).
    graph = dag([10.0, 10.0], [[], []], 0.0)
    assert simulate(graph, [[0], [1]], start_delay=3.0).makespan == 13.0
    assert schedule_clusters(graph, [[0], [1]], 2, start_delay=3.0).makespan == 13.0
    # Past the delay, putting both on lane 0 would be slower: they still split.
    assert schedule_clusters(graph, [[0], [1]], 2, start_delay=3.0).lanes == [[0], [1]]


def test_intra_op_threads_only_where_they_save_min_gain() -> None:
    # A large node halved, a small one slowed by waking the team, and one that
    # gains 5% (less than min-gain 10%), and one that gains exactly 10%.
    costs = [100.0, 2.0, 20.0, 10.0]
    threaded = [50.0, 6.0, 19.0, 9.0]
    assert intra_op_threads(costs, threaded, 4, 0.1) == [4, 1, 1, 4]
    assert intra_op_threads(costs, threaded, 4, 0.0) == [4, 1, 4, 4]
    assert intra_op_threads([], [], 2, 0.1) == []


def test_single_lane_threads_prefers_a_uniform_plan() -> None:
    # Every core pays for the whole lane (22 against 31 us) and the mixed plan
    # (21 us) saves less than 10% more: every node on both cores.
    assert single_lane_threads([20.0, 1.0, 10.0], [12.0, 3.0, 7.0], 2, 0.1) == ([2, 2, 2], 22.0)
    # Neither uniform plan pays (31 against 31 us), the mixed one saves 8 us.
    assert single_lane_threads([20.0, 1.0, 10.0], [12.0, 6.0, 13.0], 2, 0.1) == ([2, 1, 1], 23.0)
    # Nothing gains: one thread.
    assert single_lane_threads([2.0, 3.0], [4.0, 3.0], 2, 0.1) == ([1, 1], 5.0)


def test_one_thread_lane_equals_the_serial_estimate_to_the_last_bit() -> None:
    """
    Ten nodes of 0.1 us: a running sum gives 0.9999999999999999, the exact sum 1.0.
    The serial schedule and the one-thread lane must agree, or a plan that keeps the
    serial order reads as slower than it once rounded (tests/test_properties.py).
    """
    costs = [0.1] * 10
    chain = dag(costs, [[i + 1] for i in range(9)] + [[]], 0.0)
    serial = serial_schedule(chain).makespan
    counts, one_lane = single_lane_threads(costs, [1.0] * 10, 2, 0.1)
    assert counts == [1] * 10
    assert serial == one_lane == 1.0


def test_gil_bound_overlaps_only_what_is_beyond_the_held_part() -> None:
    # Nodes of 1, 10 and 30 us, each holding the GIL for up to 5 us: 1 + 5 + 5
    # are serial on any number of lanes, the other 5 + 25 split over them.
    assert gil_bound([1.0, 10.0, 30.0], 5.0, 1) == pytest.approx(41.0)
    assert gil_bound([1.0, 10.0, 30.0], 5.0, 2) == pytest.approx(11.0 + 30.0 / 2)
    # Nodes shorter than the held part do not overlap at all.
    assert gil_bound([3.0, 4.0], 5.0, 2) == pytest.approx(7.0)
    # No GIL part: the work divides evenly.
    assert gil_bound([3.0, 4.0, 5.0], 0.0, 3) == pytest.approx(4.0)
