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


def test_cheapest_cells_equals_the_argmin_of_the_full_cost_maps():
    """The early stop is exact: same cell as the argmin over cost_to's converged maps (lowest index
    on ties: a uniform step cost makes many), -1 for a candidate set walled off or empty."""
    from agent.paths import cheapest_cells

    rng = np.random.default_rng(1)
    S = 24
    for trial in range(6):
        step = (rng.integers(30, 130, (S, S)) if trial % 2 else np.full((S, S), 30)).astype(np.float64)
        step[rng.random((S, S)) < 0.1] = INF
        goals = np.zeros((3, S, S), bool)
        for f in range(3):
            x, y = rng.integers(1, S - 1, 2)
            goals[f, x - 1:x + 2, y - 1:y + 2] = True
        near = rng.random((S, S)) < 0.05
        far = np.zeros((S, S), bool)
        far[-1, -3:] = True
        walled = np.zeros((S, S), bool)
        walled[0, 0] = True
        step[0, 1] = step[1, 0] = INF  # (0, 0) cannot be left, so it reaches no goal
        got = cheapest_cells(goals, step, [near, far, walled, np.zeros((S, S), bool)])
        full = cost_to(goals, step).reshape(3, -1)
        for r, cand in enumerate((near, far, walled)):
            score = np.where(cand.reshape(-1)[None], full, INF)
            want = np.where(score.min(axis=1) < INF, score.argmin(axis=1), -1)
            np.testing.assert_array_equal(got[r], want, err_msg=f"trial {trial}, candidates {r}")
        assert (got[2] == -1).all() and (got[3] == -1).all()
