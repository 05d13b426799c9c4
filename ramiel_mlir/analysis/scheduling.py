"""
Linear clustering and lane scheduling over a task DAG, as plain functions.

Tasks are numbered in a topological order (the IR order of a graph's nodes is
one), each with a cost in microseconds; `succs[i]` lists the tasks that read
task i's results. Handing a value between lanes costs `comm` microseconds;
within a lane it is free.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass


def predecessors(succs: Sequence[Sequence[int]]) -> list[list[int]]:
    """The inverse adjacency lists of `succs`."""
    preds: list[list[int]] = [[] for _ in succs]
    for task, targets in enumerate(succs):
        for target in targets:
            preds[target].append(task)
    return preds


def linear_clusters(
    costs: Sequence[float], succs: Sequence[Sequence[int]], comm: float
) -> list[list[int]]:
    """
    Kim & Browne's linear clustering.

    Repeatedly take the longest path (node costs plus `comm` per edge) through
    the tasks not yet clustered, make it a cluster, and drop it (every edge
    incident on it is then examined). Each cluster is a chain: every task in it
    reads a result of the one before. The first cluster is the critical path.
    O(C * (V + E)) for C clusters.
    """
    count = len(costs)
    clustered = [False] * count
    clusters: list[list[int]] = []
    remaining = count
    level = [0.0] * count
    follow = [-1] * count
    while remaining:
        best, start = -1.0, -1
        for task in reversed(range(count)):
            if clustered[task]:
                continue
            tail, choice = 0.0, -1
            for succ in succs[task]:
                if not clustered[succ] and comm + level[succ] > tail:
                    tail, choice = comm + level[succ], succ
            level[task] = costs[task] + tail
            follow[task] = choice
            if level[task] >= best:
                best, start = level[task], task
        path: list[int] = []
        task = start
        while task != -1:
            path.append(task)
            clustered[task] = True
            task = follow[task]
        remaining -= len(path)
        clusters.append(path)
    return clusters


def bottom_levels(
    costs: Sequence[float], succs: Sequence[Sequence[int]], comm: float
) -> list[float]:
    """b-level: the longest path from each task to an exit, its own cost included."""
    level = [0.0] * len(costs)
    for task in reversed(range(len(costs))):
        tail = max((comm + level[s] for s in succs[task]), default=0.0)
        level[task] = costs[task] + tail
    return level


@dataclass(frozen=True)
class Schedule:
    """Tasks placed on lanes: each lane's tasks in run order, and the estimate."""

    lanes: list[list[int]]
    lane_of: list[int]
    start: list[float]
    makespan: float

    @property
    def lane_count(self) -> int:
        """How many lanes have work."""
        return sum(1 for lane in self.lanes if lane)


def serial_schedule(costs: Sequence[float]) -> Schedule:
    """Everything on lane 0 in topological order."""
    start: list[float] = []
    time = 0.0
    for cost in costs:
        start.append(time)
        time += cost
    return Schedule([list(range(len(costs)))], [0] * len(costs), start, time)


def schedule_clusters(
    costs: Sequence[float],
    succs: Sequence[Sequence[int]],
    comm: float,
    clusters: Sequence[Sequence[int]],
    lanes: int,
) -> Schedule:
    """
    List-schedule tasks onto `lanes`, keeping each cluster on one lane.

    Ready tasks are taken by highest b-level (HLFET). A task whose cluster is
    already placed goes to that lane; the first task of a cluster picks the lane
    where it can start earliest, which pins the cluster there. Ties go to the
    lower lane, so the critical path runs on lane 0 (the calling thread).
    O((V + E) log V + V * lanes).
    """
    count = len(costs)
    preds = predecessors(succs)
    priority = bottom_levels(costs, succs, comm)
    cluster_of = [0] * count
    for index, cluster in enumerate(clusters):
        for task in cluster:
            cluster_of[task] = index
    pinned: dict[int, int] = {}
    waiting = [len(p) for p in preds]
    ready = [(-priority[t], t) for t in range(count) if not waiting[t]]
    heapq.heapify(ready)
    lane_free = [0.0] * lanes
    order: list[list[int]] = [[] for _ in range(lanes)]
    lane_of = [0] * count
    start = [0.0] * count
    finish = [0.0] * count
    while ready:
        _, task = heapq.heappop(ready)

        def earliest(lane: int, task: int = task) -> float:
            arrivals = (finish[p] + (comm if lane_of[p] != lane else 0.0) for p in preds[task])
            return max(lane_free[lane], max(arrivals, default=0.0))

        lane = pinned.get(cluster_of[task])
        if lane is None:
            lane = min(range(lanes), key=lambda candidate: (earliest(candidate), candidate))
            pinned[cluster_of[task]] = lane
        lane_of[task] = lane
        start[task] = earliest(lane)
        finish[task] = start[task] + costs[task]
        lane_free[lane] = finish[task]
        order[lane].append(task)
        for succ in succs[task]:
            waiting[succ] -= 1
            if not waiting[succ]:
                heapq.heappush(ready, (-priority[succ], succ))
    makespan = max(finish, default=0.0)
    return Schedule(order, lane_of, start, makespan)


def simulate(
    costs: Sequence[float],
    succs: Sequence[Sequence[int]],
    comm: float,
    lanes: Sequence[Sequence[int]],
) -> Schedule:
    """
    The estimated run of fixed lane orders: each task starts when its lane is free
    and its inputs have arrived (`comm` later when they come from another lane).
    The orders must respect the dependencies (else this raises ValueError).
    """
    count = len(costs)
    preds = predecessors(succs)
    lane_of = [0] * count
    for index, lane in enumerate(lanes):
        for task in lane:
            lane_of[task] = index
    finish = [-1.0] * count
    start = [0.0] * count
    position = [0] * len(lanes)
    lane_free = [0.0] * len(lanes)
    done, progress = 0, True
    while progress:
        progress = False
        for index, lane in enumerate(lanes):
            while position[index] < len(lane):
                task = lane[position[index]]
                if any(finish[p] < 0 for p in preds[task]):
                    break
                arrival = max(
                    (finish[p] + (comm if lane_of[p] != index else 0.0) for p in preds[task]),
                    default=0.0,
                )
                start[task] = max(lane_free[index], arrival)
                finish[task] = start[task] + costs[task]
                lane_free[index] = finish[task]
                position[index] += 1
                done += 1
                progress = True
    if done != count:
        raise ValueError("the lane orders do not respect the dependencies")
    return Schedule([list(lane) for lane in lanes], lane_of, start, max(finish, default=0.0))
