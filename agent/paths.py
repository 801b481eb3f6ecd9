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


def cost_to_update(targets, step_cost, prev=None, max_iter=400, cap=INF):
    """:func:`cost_to` of one map, started from the previous turn's answer when there is one, and
    read only up to ``cap``: costs above it come back as ``cap``.

    Between two turns a few step costs change (rubble dug away or left by a destroyed robot) and a
    few targets come and go; most cheapest paths stay. The previous costs are an upper bound of the
    new ones except on the cells whose path the changes broke, and those are found without the
    paths: a path from a cell through a cell ``z`` whose step cost rose cost at least ``z``'s old
    cost plus its old step cost plus ``m * (|cell - z|_1 - 1)`` (``m``: the cheapest step; with
    more than 8 such cells: more than ``z``'s old cost), and a path to a removed target ``t``
    costs at least ``m * |cell - t|_1``.
    Those cells start again from ``cap``, the others from their previous cost, and
    :func:`relax_scan` scans the rows and columns where a start or a step cost changed, and those
    its scans change, until nothing changes. When neither the step costs nor the targets changed
    the previous answer is returned as it is.

    Every start is at most ``cap``, so the scans give ``min(cost, cap)`` (a cell's answer is the
    least over the paths from it of the start at the path's end plus the path's cost; the empty
    path gives ``cap``, and ``cap`` at a path's end is never below ``min(cost, cap)``): the
    exact costs up to ``cap``. A change whose effect stays above ``cap`` is not propagated, which
    is what a small ``cap`` saves (``path_planes`` reads its maps only up to a clip).

    Args:
        targets (np.ndarray): bool (S, S) goal cells.
        step_cost (np.ndarray): integer-valued (S, S), as in :func:`cost_to`.
        prev (tuple | None): the ``memo`` this function returned for the previous turn (same map
            size, same ``cap``; otherwise it is not used), or None to start from the targets.
        max_iter (int): bound on the passes of :func:`relax_scan` (each does at least what one
            sweep of :func:`cost_to` does).
        cap (int): ``0 < cap <= INF``, the largest cost read (``INF``: all of them).

    Returns:
        (np.ndarray, tuple): int32 (S, S) costs and the memo for the next call. The costs equal
        ``min(cost_to(targets, step_cost, max_iter), cap)`` wherever an optimal path has at most
        ``max_iter`` steps (everywhere once converged, in practice always: the scans converge in a
        handful of passes); elsewhere both are at least ``min(exact cost, cap)`` (callers clip
        such costs: ``path_planes``).
    """
    targets = np.asarray(targets, bool)
    c = np.asarray(step_cost)
    if c.shape != targets.shape:
        c = np.broadcast_to(c, targets.shape)
    c = np.minimum(c, INF).astype(np.int32, copy=False)  # a new array: the memo keeps it
    cap = int(min(cap, INF))
    if prev is None or len(prev) < 4 or prev[2].shape != targets.shape or prev[3] != cap:
        d = np.where(targets, 0, cap).astype(np.int32)
    else:
        p_targets, p_c, p_d = prev[:3]
        if np.array_equal(p_c, c) and np.array_equal(p_targets, targets):
            return p_d, prev  # nothing changed: the previous fixed point stands
        d = p_d.copy()
        rose = c > p_c
        if rose.any():
            # a path from x through z (entering z at its old cost) costs at least
            # p_d[z] + p_c[z] + m * (|x - z|_1 - 1) (p_d[z] read up to cap: lower, so safe)
            zx, zy = np.nonzero(rose)
            if len(zx) > _CONE_MAX:
                d[p_d > p_d[rose].min()] = cap
            else:
                base = p_d[zx, zy].astype(np.int64) + p_c[zx, zy]
                d[p_d >= _cone(zx, zy, base, _cheapest(p_c), targets.shape, 1)] = cap
        gone = p_targets & ~targets
        if gone.any():
            gx, gy = np.nonzero(gone)
            if len(gx) > 16:
                d[:] = cap
            else:  # a path to a removed target t costs at least m * |x - t|_1
                d[p_d >= _cone(gx, gy, np.zeros(len(gx)), _cheapest(p_c), targets.shape, 0)] = cap
        d[targets] = 0
        # off the previous fixed point only where a start or a step cost changed
        moved = (d != p_d) | (c != p_c)
        d = relax_scan(d, c, max_iter, rows=moved.any(axis=1), cols=moved.any(axis=0))
        return d, (targets.copy(), c, d, cap)
    d = relax_scan(d, c, max_iter)
    return d, (targets.copy(), c, d, cap)


def relax_scan(d, step_cost, max_rounds=400, rows=None, cols=None):
    """The fixed point of :func:`cost_to`'s sweeps started from the costs ``d`` instead of from the
    targets, reached by directional scans.

    A path that only moves right from a cell ``y`` of a row to ``j >= y`` costs
    ``P[j] - P[y]`` (``P``: the step costs summed along the row, inclusive), so one reversed
    running minimum of ``d + P`` minus ``P`` relaxes every such path at once; likewise left, up
    and down. Rows and columns are scanned in turn, and only those that may still change: a row
    whose cells did not change since its last scan is at its fixed point already
    (:func:`_scan_lines`). A fixed point of both is the answer; it takes a handful of passes
    where the sweeps take 10 to 70.

    Args:
        d (np.ndarray): int32 (S0, S1), a start: 0 on the targets, else the cost of *some* path to
            a target, or ``INF``; not modified. From such an upper bound of the exact costs the
            fixed point is exact.
        step_cost (np.ndarray): int32 (S0, S1), capped at ``INF``.
        max_rounds (int): bound on the passes over rows and columns (each pair relaxes at least
            what one sweep does).
        rows, cols (np.ndarray | None): bool (S0,) / (S1,), the only rows / columns that may be
            off their fixed point at the start (None: all), e.g. where ``d`` or ``step_cost``
            changed since an earlier fixed point.

    Returns:
        np.ndarray: int32 (S0, S1): ``min(start, cheapest path cost + the start at its end)``
        capped at ``INF`` (from the targets: :func:`cost_to`'s converged answer).
    """
    c = np.asarray(step_cost, np.int64)
    d = np.array(d, np.int64)[None]
    _scan_lines(d, c, False, rows, cols, max_rounds)
    return np.minimum(d[0], INF).astype(np.int32)


def _scan_lines(k, c, forward, rows=None, cols=None, max_rounds=400):
    """Relax the stack ``k`` int64 (R, S0, S1) in place to its fixed point under step costs ``c``
    int64 (S0, S1) by scans of whole rows and columns (:func:`relax_scan`; ``forward``: a step
    into ``y`` costs ``c[y]``, as in :func:`source_keys`, else the step from ``x`` into its
    neighbour ``n`` costs ``c[n]``, as in :func:`cost_to`). ``rows`` / ``cols`` bool (S0,) /
    (S1,): the lines that may be off their fixed point (None: all).

    When the lines to scan fill at least two thirds of the band from the first to the last of
    them, the whole band is scanned as one slice of ``k`` (fewer numpy calls than a gather and a
    scatter); the lines in between are at their fixed point already and a scan leaves such a line
    as it is, so the answer is the same either way."""
    S0, S1 = c.shape
    g1 = _scan_constants(c, 1, forward)  # (3, S0, S1)
    g0 = _scan_constants(c, 0, forward)
    rows = np.ones(S0, bool) if rows is None else np.asarray(rows, bool)
    cols = np.ones(S1, bool) if cols is None else np.asarray(cols, bool)
    kk = k[0] if k.shape[0] == 1 else k  # one map: 2-D views (cheaper reductions)
    col_axes = 0 if kk.ndim == 2 else (0, 1)  # reduce scanned rows to "which columns changed"
    row_axes = 1 if kk.ndim == 2 else (0, 2)
    acc = np.minimum.accumulate
    for rnd in range(max(int(max_rounds), 1)):
        idx = rows.nonzero()[0]
        if len(idx):
            sel = _lines(idx)
            old = kk[..., sel, :]
            g = g1[:, sel]
            new = acc(old - g[0], axis=-1)
            new += g[1]
            new = acc(new[..., ::-1], axis=-1)[..., ::-1] - g[2]
            changed = (new != old).any(axis=col_axes)
            kk[..., sel, :] = new
            cols = changed | cols if rnd == 0 else changed  # later rounds: the last column pass took cols
        elif rnd:
            break  # the last column pass changed nothing
        idx = cols.nonzero()[0]
        if not len(idx):
            break
        sel = _lines(idx)
        old = kk[..., sel]
        g = g0[:, :, sel]
        new = acc(old - g[0], axis=-2)
        new += g[1]
        new = acc(new[..., ::-1, :], axis=-2)[..., ::-1, :] - g[2]
        rows = (new != old).any(axis=row_axes)
        kk[..., sel] = new
    return k


def _scan_constants(c, axis, forward):
    """int64 (3, S0, S1): the ``a``, ``a + b`` and ``b`` of :func:`_scan_lines`' scans along
    ``axis`` (a scan is ``reversed running min(running min(k - a) + a + b) - b``): the inclusive
    running sums ``p`` of ``c`` along the axis and the exclusive ones ``q = p - c``; ``a, b = p, q``
    forward (from the left / top subtract the inclusive sums), else ``q, p``."""
    p = np.cumsum(c, axis=axis)
    q = p - c
    g = np.empty((3,) + c.shape, np.int64)
    if forward:
        g[0], g[2] = p, q
    else:
        g[0], g[2] = q, p
    np.add(p, q, out=g[1])
    return g


def _lines(idx):
    """The lines ``idx`` (sorted int, non-empty) to scan: a slice over their band when they fill
    two thirds of it (a view: no copy), else the indices themselves."""
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    return slice(lo, hi) if 3 * len(idx) >= 2 * (hi - lo) else idx


def source_keys(sources, step_cost, prev=None, max_rounds=400, cap=None):
    """For every cell, the cheapest source to come from, as one sortable key per cell: ``cost * N +
    index`` (``N = S0 * S1``; ``index`` the source's flat index ``x * S1 + y``; ``cost`` the step
    costs of the cells entered after the source, up to and including the cell). The least key over
    a factory's 3x3 is its cheapest source under :func:`cost_to` from that 3x3 (the lowest index on a
    tie, like ``np.argmin``), for all factories at once from one map per source kind.

    Relaxed to the fixed point by directional scans (:func:`relax_scan`, forward: a step into ``y``
    adds ``step_cost[y] * N``), from the previous turn's keys when given (for the same sources;
    else from scratch): those are kept except where they may have used a cell ``z`` whose step
    cost rose (a key at least ``z``'s old key plus ``N * m * |cell - z|_1``, ``m`` the cheapest
    step; with more than 8 such cells every key at or above the least old key of one), and only
    the rows and columns that may change are scanned.

    With ``cap`` the keys are read only up to it: every start is at most ``cap`` (a previous key
    at the previous call's cap starts again from this one's), so the scans give ``min(key, cap)``
    (as :func:`cost_to_update`'s ``cap``) and a change whose effect stays above ``cap`` is not
    propagated. A least key below ``cap`` is the exact one.

    Args:
        sources (np.ndarray): bool (R, S0, S1), one source map per kind (e.g. ice, ore).
        step_cost (np.ndarray): int32 (S0, S1) capped at ``INF``.
        prev (tuple | None): the memo this function returned for the previous turn, or None.
        max_rounds (int): bound on the rounds of scans.
        cap (np.ndarray | None): int64 (R,), the largest key read per kind (at least ``N``, so
            every source keeps its own key), or None for all of them (``NO_SOURCE``).

    Returns:
        (np.ndarray, tuple): int64 (R, S0, S1) keys (``NO_SOURCE`` where no source reaches; at most
        ``cap``) and the memo for the next call.
    """
    sources = np.asarray(sources, bool)
    R, S0, S1 = sources.shape
    N = S0 * S1
    c = np.asarray(step_cost, np.int64)
    cap = np.full(R, NO_SOURCE, np.int64) if cap is None else np.minimum(np.asarray(cap, np.int64), NO_SOURCE)
    cap3 = cap[:, None, None]
    rows = cols = None
    if (prev is not None and len(prev) >= 4 and prev[0].shape == sources.shape
            and np.array_equal(prev[0], sources)):
        p_c, p_k, p_cap = prev[1], prev[2], prev[3]
        same_cap = np.array_equal(p_cap, cap)
        if same_cap and np.array_equal(p_c, c):
            return p_k, prev
        k = p_k.copy()
        rose = c > p_c
        if rose.any():
            # a key through z (entered at its old cost) is at least p_k[z] + N * m * |y - z|_1
            # (p_k[z] read up to the previous cap: lower, so it invalidates more, never less)
            zx, zy = np.nonzero(rose)
            if len(zx) > _CONE_MAX:
                k[k >= k[:, rose].min(axis=1)[:, None, None]] = NO_SOURCE
            else:
                for r in range(R):
                    k[r][p_k[r] >= _cone(zx, zy, p_k[r, zx, zy], _cheapest(p_c) * N, (S0, S1), 0)] = NO_SOURCE
            k = np.minimum(k, np.where(sources, np.arange(N, dtype=np.int64).reshape(S0, S1), NO_SOURCE))
        if not same_cap:  # keys at the previous cap (maybe lower than theirs) start from this cap
            k[p_k >= p_cap[:, None, None]] = NO_SOURCE
        np.minimum(k, cap3, out=k)
        # off the previous fixed point only where a key or a step cost changed
        moved = (k != p_k).any(axis=0) | (c != p_c)
        rows, cols = moved.any(axis=1), moved.any(axis=0)
    else:
        k = np.minimum(np.where(sources, np.arange(N, dtype=np.int64).reshape(S0, S1), NO_SOURCE), cap3)
    _scan_lines(k, c * N, True, rows, cols, max_rounds)  # S * INF * N fits int64
    return k, (sources.copy(), c, k, cap)


NO_SOURCE = np.int64(2) ** 62  # source_keys where no source reaches
_CONE_MAX = 8  # cells whose step cost rose up to which the updates bound the paths through each


def _cheapest(c):
    """The cheapest step cost of ``c`` below ``INF`` (1 when none is)."""
    passable = c[c < INF]
    return int(passable.min()) if passable.size else 1


def _cone(zx, zy, base, w, shape, skip):
    """int64 ``shape``: for each cell the least, over the points ``(zx[i], zy[i])``, of ``base[i] +
    w * max(|cell - point|_1 - skip, 0)`` (a lower bound of what a path through a point costs)."""
    S0, S1 = shape
    l1 = (np.abs(np.arange(S0)[None, :, None] - zx[:, None, None])
          + np.abs(np.arange(S1)[None, None, :] - zy[:, None, None]))
    return (np.asarray(base, np.int64)[:, None, None] + int(w) * np.maximum(l1 - skip, 0)).min(axis=0)
