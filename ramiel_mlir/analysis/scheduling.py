"""
Linear clustering and lane scheduling over a `Dag`, as plain functions.

Costs are microseconds; an edge's cost is paid only when its two ends run on
different lanes (within a lane a value is handed over for free).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ramiel_mlir.analysis.dag import Dag
from ramiel_mlir.analysis.levels import b_levels


def linear_clusters(dag: Dag) -> list[list[int]]:
    """
    Kim & Browne's linear clustering.

    Repeatedly take the longest path (node costs plus edge costs) through the
    nodes not yet clustered, make it a cluster, and drop it (every edge incident
    on it is then examined). Each cluster is a chain: every node in it reads a
    result of the one before. The first cluster is the critical path; of equal
    paths, the one through lower-numbered nodes wins. O(C * (V + E)) for C clusters.
    """
    count = len(dag)
    clustered = [False] * count
    clusters: list[list[int]] = []
    level = [0.0] * count
    follow = [-1] * count
    remaining = count
    while remaining:
        best, start = -1.0, -1
        for node in reversed(dag.order):
            if clustered[node]:
                continue
            tail, choice = 0.0, -1
            for succ, edge in dag.successors[node]:
                length = edge + level[succ]
                if not clustered[succ] and (
                    length > tail or (length == tail and choice != -1 and succ < choice)
                ):
                    tail, choice = length, succ
            level[node] = dag.costs[node] + tail
            follow[node] = choice
            if level[node] >= best:
                best, start = level[node], node
        path: list[int] = []
        node = start
        while node != -1:
            path.append(node)
            clustered[node] = True
            node = follow[node]
        remaining -= len(path)
        clusters.append(path)
    return clusters


@dataclass(frozen=True)
class Schedule:
    """Nodes placed on lanes: each lane's nodes in run order, and the estimate."""

    lanes: list[list[int]]
    lane_of: list[int]
    start: list[float]
    makespan: float


def serial_schedule(dag: Dag) -> Schedule:
    """
    Everything on lane 0, in topological order. The makespan is the exactly rounded
    sum of the costs (`math.fsum`), the same in whatever order other estimates add
    them: a running sum could differ from theirs in the last bit, and a one-lane plan
    then came out 0.1 us slower than the serial estimate once both were rounded.
    """
    start = [0.0] * len(dag)
    time = 0.0
    for node in dag.order:
        start[node] = time
        time += dag.costs[node]
    return Schedule([list(dag.order)], [0] * len(dag), start, math.fsum(dag.costs))


def schedule_clusters(
    dag: Dag, clusters: Sequence[Sequence[int]], lanes: int, start_delay: float = 0.0
) -> Schedule:
    """
    List-schedule the nodes onto `lanes`, keeping each cluster on one lane.

    Ready nodes are taken by highest b-level (HLFET). A node whose cluster is
    already placed goes to that lane; the first node of a cluster picks the lane
    where it can start earliest, which pins the cluster there. Ties go to the
    lower lane, so the critical path runs on lane 0 (the calling thread). Lanes
    other than 0 start `start_delay` late (a worker thread must wake up).
    O((V + E) log V + V * lanes).
    """
    count = len(dag)
    priority = b_levels(dag)
    cluster_of = [0] * count
    for index, cluster in enumerate(clusters):
        for node in cluster:
            cluster_of[node] = index
    pinned: dict[int, int] = {}
    waiting = [len(p) for p in dag.predecessors]
    ready = [(-priority[v], v) for v in range(count) if not waiting[v]]
    heapq.heapify(ready)
    lane_free = [0.0] + [start_delay] * (lanes - 1)
    order: list[list[int]] = [[] for _ in range(lanes)]
    lane_of = [0] * count
    start = [0.0] * count
    finish = [0.0] * count

    def earliest(node: int, lane: int) -> float:
        arrivals = (
            finish[u] + (edge if lane_of[u] != lane else 0.0) for u, edge in dag.predecessors[node]
        )
        return max(lane_free[lane], max(arrivals, default=0.0))

    while ready:
        _, node = heapq.heappop(ready)
        lane = pinned.get(cluster_of[node])
        if lane is None:
            lane = min(range(lanes), key=lambda candidate: (earliest(node, candidate), candidate))
            pinned[cluster_of[node]] = lane
        lane_of[node] = lane
        start[node] = earliest(node, lane)
        finish[node] = start[node] + dag.costs[node]
        lane_free[lane] = finish[node]
        order[lane].append(node)
        for succ, _ in dag.successors[node]:
            waiting[succ] -= 1
            if not waiting[succ]:
                heapq.heappush(ready, (-priority[succ], succ))
    return Schedule(order, lane_of, start, max(finish, default=0.0))


def simulate(dag: Dag, lanes: Sequence[Sequence[int]], start_delay: float = 0.0) -> Schedule:
    """
    The estimated run of fixed lane orders: each node starts when its lane is free
    and its inputs have arrived (an edge's cost later when they come from another
    lane). Lanes other than 0 start `start_delay` late. The orders must respect
    the dependencies (else this raises ValueError).
    """
    count = len(dag)
    lane_of = [0] * count
    for index, lane in enumerate(lanes):
        for node in lane:
            lane_of[node] = index
    finish = [-1.0] * count
    start = [0.0] * count
    position = [0] * len(lanes)
    lane_free = [0.0] + [start_delay] * (len(lanes) - 1)
    done, progress = 0, True
    while progress:
        progress = False
        for index, lane in enumerate(lanes):
            while position[index] < len(lane):
                node = lane[position[index]]
                if any(finish[u] < 0 for u, _ in dag.predecessors[node]):
                    break
                arrival = max(
                    (
                        finish[u] + (e if lane_of[u] != index else 0.0)
                        for u, e in dag.predecessors[node]
                    ),
                    default=0.0,
                )
                start[node] = max(lane_free[index], arrival)
                finish[node] = start[node] + dag.costs[node]
                lane_free[index] = finish[node]
                position[index] += 1
                done += 1
                progress = True
    if done != count:
        raise ValueError("the lane orders do not respect the dependencies")
    return Schedule([list(lane) for lane in lanes], lane_of, start, max(finish, default=0.0))


def gil_bound(costs: Sequence[float], dispatch: float, lanes: int) -> float:
    """
    The least time `lanes` lanes can take when each node holds the GIL for `dispatch` us.

    Those parts run one at a time on any number of lanes; only the rest of each
    node's time (its kernel) can overlap, at best evenly over the lanes.
    """
    held = sum(min(cost, dispatch) for cost in costs)
    return held + (sum(costs) - held) / max(lanes, 1)


def intra_op_threads(
    costs: Sequence[float], threaded: Sequence[float], cores: int, min_gain: float
) -> list[int]:
    """
    Each node's intra-op thread count on a single lane: `cores` where that saves
    `min_gain` of the node's time, else 1.

    Splitting a small op costs about what waking the intra-op team costs, so a
    lane of mixed nodes is fastest when only its large ones use every core.
    """
    return [
        cores if fast <= cost * (1.0 - min_gain) else 1
        for cost, fast in zip(costs, threaded, strict=True)
    ]


def single_lane_threads(
    costs: Sequence[float], threaded: Sequence[float], cores: int, min_gain: float
) -> tuple[list[int], float]:
    """
    The intra-op thread count of each node on a single lane, and the lane's time.

    A uniform plan comes first: every core for every node if that saves `min_gain`
    of the serial time, else one thread. Mixed counts (`intra_op_threads`) are
    used only if they save `min_gain` of that plan's time too, since switching
    costs what the per-node times do not show (the team sleeps between switches)
    and per-node estimates err more than their sums.
    """
    serial, every_core = math.fsum(costs), math.fsum(threaded)
    counts, time = [1] * len(costs), serial
    if every_core <= serial * (1.0 - min_gain):
        counts, time = [cores] * len(costs), every_core
    mixed = intra_op_threads(costs, threaded, cores, min_gain)
    mixed_time = math.fsum(
        fast if count > 1 else cost
        for cost, fast, count in zip(costs, threaded, mixed, strict=True)
    )
    if mixed_time <= time * (1.0 - min_gain):
        return mixed, mixed_time
    return counts, time
