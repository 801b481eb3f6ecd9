"""Cheapest paths on the map: power-weighted and step distances, in numpy (runs on Kaggle).

Used by the scripted baseline (:mod:`agent.scripted`) to plan trips and by the feature planes
(:mod:`agent.features`) that show a policy where the cheapest ice and ore are and the way home.
Only the standard library and numpy are used.
"""

import numpy as np

INF = 10**8  # 'unreachable' cost (int32-safe: 2 x INF + a step fits)


def step_cost(robot, rubble, t):
    """Power a robot of class ``t`` (0 LIGHT, 1 HEAVY) plans to pay for stepping into each cell:
    ``floor(MOVE_COST + RUBBLE_MOVEMENT_COST x rubble) + ACTION_QUEUE_POWER_COST`` (Lux S2 specs,
    "Movement" and "Action queue"; ``Unit.move_power_cost``), one queue update per step.

    Args:
        robot (dict): ``GameConfig.robot`` (per-class constants, index 0 LIGHT, 1 HEAVY).
        rubble (np.ndarray): rubble of the cells, any shape.
        t (int): robot class.

    Returns:
        np.ndarray: float64 like ``rubble``, integer-valued.
    """
    return np.floor(robot["MOVE_COST"][t] + robot["RUBBLE_MOVEMENT_COST"][t] * np.asarray(rubble, np.float64)) \
        + robot["ACTION_QUEUE_POWER_COST"][t]


def dilate4(a, include_self=True):
    """4-neighbourhood dilation of a bool (S, S) array, or of each map of a stack (..., S, S):
    True where ``a`` or one of its 4 neighbours is True (no wrap-around: cells off the map count
    as False). ``include_self=False``: only whether some 4-neighbour is True."""
    out = a.copy() if include_self else np.zeros_like(a)
    out[..., 1:, :] |= a[..., :-1, :]
    out[..., :-1, :] |= a[..., 1:, :]
    out[..., :, 1:] |= a[..., :, :-1]
    out[..., :, :-1] |= a[..., :, 1:]
    return out


def _sweep(d, c, e, nd):
    """One Bellman-Ford sweep of every map at once: ``nd = min(d, min over the 4 neighbours n of
    c[n] + d[n])``; ``e`` is a (..., S + 2, S + 2) scratch whose border stays ``2 * INF``."""
    np.add(d, c, out=e[..., 1:-1, 1:-1])
    np.minimum(e[..., :-2, 1:-1], e[..., 2:, 1:-1], out=nd)
    np.minimum(nd, e[..., 1:-1, :-2], out=nd)
    np.minimum(nd, e[..., 1:-1, 2:], out=nd)
    np.minimum(nd, d, out=nd)


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
    nd = np.empty_like(d)
    for it in range(max_iter):
        _sweep(d, c, e, nd)
        if it % 4 == 3 and np.array_equal(nd, d):
            break
        d, nd = nd, d
    return np.minimum(d, INF)


def relax(d, step_cost, max_iter=400):
    """Bellman-Ford sweeps of :func:`cost_to` from the costs ``d`` instead of from the targets.

    Args:
        d (np.ndarray): int32 (..., S, S), a start: 0 on the targets, else the cost of *some*
            path to a target (or ``INF``); not modified.
        step_cost (np.ndarray): int32 (..., S, S) (broadcast against ``d``), capped at ``INF``.
        max_iter (int): bound on the sweeps.

    Returns:
        (np.ndarray, int): int32 like ``d`` (capped at ``INF``) and the sweeps run. After k sweeps a
        cell holds the least of its start and, over paths of at most k steps to a cell v, the path's
        cost plus v's start: from a start that is an upper bound of the exact costs the result is
        exact wherever an optimal path has at most ``max_iter`` steps, and a fixed point is exact
        everywhere.
    """
    d = np.array(d, np.int32)
    c = np.broadcast_to(step_cost, d.shape)
    e = np.full(d.shape[:-2] + (d.shape[-2] + 2, d.shape[-1] + 2), 2 * INF, np.int32)
    nd = np.empty_like(d)
    it = 0
    while it < max_iter:
        _sweep(d, c, e, nd)
        it += 1
        if np.array_equal(nd, d):
            break
        d, nd = nd, d
    return np.minimum(d, INF), it


def cost_to_update(targets, step_cost, prev=None, max_iter=400):
    """:func:`cost_to` of one map, started from the previous turn's answer when there is one.

    Between two turns a few step costs change (rubble dug away or left by a destroyed robot) and a
    few targets come and go; most cheapest paths stay. The previous costs are an upper bound of the
    new ones except on the cells whose path the changes broke, and those are found without the
    paths: a path through a cell ``z`` whose step cost rose costs more than ``z``'s own cost, and a
    path to a removed target ``t`` costs at least ``m * |cell - t|_1`` (``m``: the cheapest step).
    Those cells start again from ``INF``, the others from their previous cost, and :func:`relax`
    sweeps until nothing changes (usually a handful of sweeps instead of 50 to 100).

    Args:
        targets (np.ndarray): bool (S, S) goal cells.
        step_cost (np.ndarray): integer-valued (S, S), as in :func:`cost_to`.
        prev (tuple | None): the ``memo`` this function returned for the previous turn (same map
            size), or None to start from the targets.
        max_iter (int): bound on the sweeps, as in :func:`cost_to`.

    Returns:
        (np.ndarray, tuple): int32 (S, S) costs and the memo for the next call. The costs equal
        :func:`cost_to` ``(targets, step_cost, max_iter)`` wherever an optimal path has at most
        ``max_iter`` steps (everywhere once converged); elsewhere both are at least the exact cost
        (callers clip such costs: ``path_planes``). Without ``prev`` they equal it everywhere.
    """
    targets = np.asarray(targets, bool)
    c = np.minimum(np.broadcast_to(step_cost, targets.shape), INF).astype(np.int32)
    if prev is None or prev[2].shape != targets.shape:
        d = np.where(targets, 0, INF).astype(np.int32)
    else:
        p_targets, p_c, p_d = prev
        d = p_d.copy()
        rose = c > p_c
        if rose.any():
            d[p_d > p_d[rose].min()] = INF
        gone = p_targets & ~targets
        if gone.any():
            gx, gy = np.nonzero(gone)
            if len(gx) > 16:
                d[:] = INF
            else:
                passable = p_c[p_c < INF]
                m = int(passable.min()) if passable.size else 1
                S0, S1 = targets.shape
                l1 = (np.abs(np.arange(S0)[None, :, None] - gx[:, None, None])
                      + np.abs(np.arange(S1)[None, None, :] - gy[:, None, None])).min(axis=0)
                d[p_d >= m * l1] = INF
        d[targets] = 0
    d, _ = relax(d, c, max_iter)
    return d, (targets.copy(), c, d)


def cheapest_cells(goals, step_cost, candidates, max_iter=400, return_costs=False):
    """For each goal map, the candidate cell cheapest to reach the goal from, found without
    relaxing the whole map: the same sweeps as :func:`cost_to`, stopped once the answer is exact.

    After k sweeps ``d`` is the cheapest cost over paths of at most k steps, and any longer path
    costs at least ``(k + 1) * m`` (m = the cheapest step on the map). So once a candidate's ``d``
    is below ``(k + 1) * m`` no other candidate can beat or tie it, and the sweeps stop (about 10
    sweeps instead of 100 when the ice is a few cells from the factory).

    Args:
        goals (np.ndarray): bool (F, S, S), one goal map per row (e.g. one factory's tiles).
        step_cost (np.ndarray): integer-valued (S, S) cost of stepping into each cell (>= ``INF``:
            cannot be entered).
        candidates (sequence of np.ndarray): bool (S, S) masks (e.g. ice, ore).

        return_costs (bool): also return the cheapest costs.

    Returns:
        np.ndarray: int64 (len(candidates), F), the flat index ``x * S + y`` of each row's
        cheapest candidate (the lowest index on a tie, like ``np.argmin``), -1 where none is
        reachable. Equal to the argmin of ``cost_to(goals, step_cost)`` over the candidates.
        With ``return_costs`` also int64 (len(candidates), F): each one's exact cost (power, the
        step costs summed), ``INF`` where none is reachable or the sweeps hit ``max_iter``.
    """
    goals = np.asarray(goals, bool)
    F, S = goals.shape[0], goals.shape[-1]
    cells = [np.flatnonzero(np.asarray(c, bool)) for c in candidates]  # ascending: argmin ties -> lowest index
    out = np.full((len(cells), F), -1, np.int64)
    costs = np.full((len(cells), F), INF, np.int64)
    if F == 0 or not any(len(i) for i in cells):
        return (out, costs) if return_costs else out
    c = np.minimum(np.broadcast_to(step_cost, goals.shape), INF).astype(np.int32)
    m = int(c[c < INF].min()) if (c < INF).any() else INF
    d = np.where(goals, 0, INF).astype(np.int32)
    e = np.full((F, S + 2, S + 2), 2 * INF, np.int32)
    nd = np.empty_like(d)
    for k in range(max_iter + 1):
        # the stop test holds from some k on, so testing every 4th sweep stays exact
        if (k % 4 == 0 or k == max_iter) and (_pick(d, cells, out, (k + 1) * m, costs) or k == max_iter):
            if k == max_iter:
                costs[:] = INF  # not known to be exact
            break
        _sweep(d, c, e, nd)
        if np.array_equal(nd, d):  # converged: every cost is exact
            _pick(d, cells, out, INF, costs)
            break
        d, nd = nd, d
    return (out, costs) if return_costs else out


def _pick(d, cells, out, bound, costs):
    """Write into ``out`` (R, F) each row's cheapest candidate under costs ``d`` (F, S, S) (-1 if
    unreachable) and into ``costs`` (R, F) its cost; True when every row's cheapest cost is below
    ``bound`` (then exact)."""
    F = d.shape[0]
    flat = d.reshape(F, -1)
    done = True
    for r, idx in enumerate(cells):
        if len(idx):
            v = flat[:, idx]  # (F, n)
            j = v.argmin(axis=1)
            val = v[np.arange(F), j]
            out[r] = np.where(val < INF, idx[j], -1)
            costs[r] = np.minimum(val, INF)
            done = done and bool((val < bound).all())
    return done
