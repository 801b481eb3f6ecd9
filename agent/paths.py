"""Cheapest paths on the map: power-weighted and step distances, in numpy (runs on Kaggle).

Used by the scripted baseline (:mod:`agent.scripted`) to plan trips and by the feature planes
(:mod:`agent.features`) that show a policy where the cheapest ice and ore are and the way home.
Only the standard library and numpy are used.
"""

import numpy as np

INF = 10**8  # 'unreachable' cost (int32-safe: 2 x INF + a step fits)


def cost_to(targets, step_cost, max_iter=400):
    """Cheapest cost from every cell to the nearest target cell (Bellman-Ford sweeps in numpy).

    ``d[c] = min(d[c], min over the 4 neighbours n of step_cost[n] + d[n])``, relaxed for all
    cells at once until nothing changes (exact; one sweep per step of the longest path).

    Args:
        targets (np.ndarray): bool (..., S, S) goal cells (cost 0); leading axes are a batch of
            independent maps.
        step_cost (np.ndarray): integer-valued (..., S, S) (broadcast against ``targets``), the
            cost of stepping *into* each cell (>= ``INF`` for cells that cannot be entered).
        max_iter (int): bound on the sweeps.

    Returns:
        np.ndarray: int32 like ``targets``; ``INF`` where no target is reachable.
    """
    targets = np.asarray(targets, bool)
    c = np.minimum(np.broadcast_to(step_cost, targets.shape), INF).astype(np.int32)
    d = np.where(targets, 0, INF).astype(np.int32)
    e = np.full(targets.shape[:-2] + (targets.shape[-2] + 2, targets.shape[-1] + 2), 2 * INF, np.int32)
    inner = e[..., 1:-1, 1:-1]
    nd = np.empty_like(d)
    for it in range(max_iter):
        np.add(d, c, out=inner)
        np.minimum(e[..., :-2, 1:-1], e[..., 2:, 1:-1], out=nd)
        np.minimum(nd, e[..., 1:-1, :-2], out=nd)
        np.minimum(nd, e[..., 1:-1, 2:], out=nd)
        np.minimum(nd, d, out=nd)
        if it % 4 == 3 and np.array_equal(nd, d):
            break
        d, nd = nd, d
    return np.minimum(d, INF)
