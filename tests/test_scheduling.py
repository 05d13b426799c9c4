"""Linear clustering and lane scheduling on small hand-made task graphs."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from ramiel_mlir.analysis.scheduling import (
    bottom_levels,
    linear_clusters,
    predecessors,
    schedule_clusters,
    serial_schedule,
    simulate,
)

# Diamond: 0 -> {1, 2} -> 3.
DIAMOND_COSTS = [1.0, 10.0, 8.0, 1.0]
DIAMOND_SUCCS = [[1, 2], [3], [3], []]


def test_predecessors_invert_successors() -> None:
    assert predecessors(DIAMOND_SUCCS) == [[], [0], [0], [1, 2]]


def test_bottom_levels_include_edge_costs() -> None:
    assert bottom_levels(DIAMOND_COSTS, DIAMOND_SUCCS, 2.0) == [16.0, 13.0, 11.0, 1.0]


def test_linear_clusters_take_the_critical_path_first() -> None:
    assert linear_clusters(DIAMOND_COSTS, DIAMOND_SUCCS, 2.0) == [[0, 1, 3], [2]]


def test_linear_clusters_are_chains_covering_every_task_once() -> None:
    rng = random.Random(7)
    count = 200
    succs = [
        sorted({rng.randrange(i + 1, count) for _ in range(rng.randrange(3))})
        if i < count - 1
        else []
        for i in range(count)
    ]
    costs = [rng.uniform(1, 100) for _ in range(count)]
    clusters = linear_clusters(costs, succs, 5.0)
    assert sorted(t for c in clusters for t in c) == list(range(count))
    for cluster in clusters:
        for before, after in itertools.pairwise(cluster):
            assert after in succs[before]


def test_independent_chains_become_two_clusters() -> None:
    # 0 -> 1 and 2 -> 3, the second chain longer.
    clusters = linear_clusters([1.0, 1.0, 5.0, 5.0], [[1], [], [3], []], 1.0)
    assert clusters == [[2, 3], [0, 1]]


def test_simulate_charges_edges_between_lanes_only() -> None:
    schedule = simulate(DIAMOND_COSTS, DIAMOND_SUCCS, 2.0, [[0, 1, 3], [2]])
    # Task 2 starts at 1 + 2 (edge), ends at 11; its value reaches lane 0 at 13.
    assert schedule.start == [0.0, 1.0, 3.0, 13.0]
    assert schedule.makespan == 14.0


def test_simulate_rejects_orders_against_dependencies() -> None:
    with pytest.raises(ValueError, match="dependencies"):
        simulate(DIAMOND_COSTS, DIAMOND_SUCCS, 0.0, [[1, 0, 3], [2]])


def test_schedule_keeps_clusters_on_one_lane_and_critical_path_on_lane_0() -> None:
    clusters = [[0, 1, 3], [2]]
    schedule = schedule_clusters(DIAMOND_COSTS, DIAMOND_SUCCS, 2.0, clusters, 2)
    assert schedule.lanes == [[0, 1, 3], [2]]
    assert schedule.makespan == 14.0
    one_lane = schedule_clusters(DIAMOND_COSTS, DIAMOND_SUCCS, 2.0, clusters, 1)
    assert one_lane.makespan == serial_schedule(DIAMOND_COSTS).makespan == 20.0


def test_schedule_never_beats_the_work_bound() -> None:
    rng = random.Random(3)
    count = 300
    succs = [
        sorted({rng.randrange(i + 1, count) for _ in range(rng.randrange(4))})
        if i < count - 1
        else []
        for i in range(count)
    ]
    costs = [rng.uniform(1, 50) for _ in range(count)]
    clusters = linear_clusters(costs, succs, 3.0)
    schedule = schedule_clusters(costs, succs, 3.0, clusters, 2)
    assert schedule.makespan >= sum(costs) / 2
    assert schedule.makespan >= max(bottom_levels(costs, succs, 0.0))
    replay = simulate(costs, succs, 3.0, schedule.lanes)
    assert replay.makespan == pytest.approx(schedule.makespan)


def test_three_thousand_tasks_cluster_and_schedule_quickly() -> None:
    rng = random.Random(11)
    count = 3000
    succs = [
        sorted({rng.randrange(i + 1, min(count, i + 40)) for _ in range(rng.randrange(3))})
        if i < count - 1
        else []
        for i in range(count)
    ]
    costs = [rng.uniform(1, 100) for _ in range(count)]
    begin = time.perf_counter()
    clusters = linear_clusters(costs, succs, 20.0)
    schedule_clusters(costs, succs, 20.0, clusters, 2)
    assert time.perf_counter() - begin < 10.0
