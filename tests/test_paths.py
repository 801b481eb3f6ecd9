"""agent.paths.cost_to against a reference Dijkstra (also used by tests/test_features.py)."""

import heapq

import numpy as np

from agent.paths import INF, cost_to


def dijkstra(goal, step):
    """Reference cheapest cost from every cell to the nearest ``goal`` cell: the sum of ``step``
    over the cells entered (heapq Dijkstra searching outward from the goals; ``step`` >= 10**8 =
    impassable). float64 (S, S), inf where no goal is reachable."""
    S = goal.shape[0]
    dist = np.full((S, S), np.inf)
    heap = [(0.0, int(x), int(y)) for x, y in zip(*np.nonzero(goal))]
    for _, x, y in heap:
        dist[x, y] = 0.0
    while heap:
        d, x, y = heapq.heappop(heap)
        if d > dist[x, y]:
            continue
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            px, py = x + dx, y + dy
            if 0 <= px < S and 0 <= py < S and step[x, y] < 10**8 and d + step[x, y] < dist[px, py]:
                dist[px, py] = d + step[x, y]
                heapq.heappush(heap, (dist[px, py], px, py))
    return dist


def test_cost_to_matches_dijkstra():
    rng = np.random.default_rng(0)
    S = 16
    step = rng.integers(1, 40, (S, S)).astype(np.float64)
    step[4:7, 3:12] = INF  # a wall
    goal = np.zeros((S, S), bool)
    goal[12, 2] = goal[1, 14] = True
    np.testing.assert_array_equal(cost_to(goal, step), np.minimum(dijkstra(goal, step), INF))
    batch = np.stack([goal, np.roll(goal, 3, axis=0)])  # leading axes: independent maps
    np.testing.assert_array_equal(cost_to(batch, step)[1], np.minimum(dijkstra(batch[1], step), INF))
