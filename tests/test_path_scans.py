"""The scan-based path searches of ``agent.paths`` give the answers of the plain sweeps of
``cost_to``: ``relax_scan`` its converged costs (from scratch and from an earlier fixed point), and
``source_keys`` (updated turn to turn) the cheapest source cells and their costs, as the argmin of
``cost_to`` over the sources (the lowest index on a tie), also for sources walled off or absent."""

from __future__ import annotations

import numpy as np

from agent.paths import INF, NO_SOURCE, cost_to, relax_scan, source_keys


def _map(rng, S, wall=0.05):
    step = rng.integers(30, 130, (S, S))
    return np.where(rng.random((S, S)) < wall, INF, step).astype(np.int32)


def _factories(rng, S, F):
    goals = np.zeros((F, S, S), bool)
    centers = rng.integers(0, S, (F, 2))  # at the edge too: clipped 3x3s
    for f, (x, y) in enumerate(centers):
        goals[f, max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = True
    return goals


def _least_keys(keys, goals):
    """int64 (R, F): each factory's least key over its 3x3 (``goals`` bool (F, S, S))."""
    R, F = len(keys), len(goals)
    return np.where(goals[None], keys[:, None], NO_SOURCE).reshape(R, F, -1).min(axis=2)


def _argmin_sources(goals, step, sources):
    """The reference answer: per source kind and factory, the source cell cheapest to reach the
    factory's 3x3 under cost_to's converged maps (the lowest flat index on a tie, -1 for none) and
    its cost (INF for none), int64 (R, F) each."""
    full = cost_to(goals, step).reshape(len(goals), -1).astype(np.int64)
    score = np.where(np.asarray(sources).reshape(len(sources), 1, -1), full[None], INF)  # (R, F, S*S)
    best = score.min(axis=2)
    return np.where(best < INF, score.argmin(axis=2), -1), np.minimum(best, INF)


def test_relax_scan_equals_the_converged_sweeps():
    """From the targets and from an upper bound with a few rows and columns marked: the same costs
    as cost_to's sweeps to convergence (walls, unit and power costs)."""
    rng = np.random.default_rng(0)
    for trial in range(6):
        S = 40
        step = np.full((S, S), 1, np.int32) if trial % 2 else _map(rng, S)
        step[rng.random((S, S)) < 0.08] = INF
        d0 = np.where(rng.random((S, S)) < 0.01, 0, INF).astype(np.int32)
        want = cost_to(d0 == 0, step)
        np.testing.assert_array_equal(relax_scan(d0, step), want)
        # a cost falls and one rises: start from the old fixed point, rows/cols of the changes only
        new = step.copy()
        new[rng.integers(S), rng.integers(S)] = 1 if trial % 2 else 30
        z = (rng.integers(S), rng.integers(S))
        new[z] = INF
        start = want.copy()
        start[want >= want[z]] = INF  # what a path through the risen cell may have used
        start[d0 == 0] = 0
        moved = (start != want) | (new != step)
        got = relax_scan(start, new, rows=moved.any(axis=1), cols=moved.any(axis=0))
        np.testing.assert_array_equal(got, cost_to(d0 == 0, new), err_msg=f"trial {trial}")


def test_source_keys_pick_the_cheapest_cells_turn_after_turn():
    """Costs that fall and rise between turns, the keys updated from the previous turn's: every
    factory's least key over its 3x3 names the cheapest source and its cost under cost_to."""
    rng = np.random.default_rng(2)
    S = 32
    step = _map(rng, S)
    goals = _factories(rng, S, 4)
    sources = np.stack([rng.random((S, S)) < 0.02, rng.random((S, S)) < 0.01]) & ~goals.any(axis=0)
    memo = None
    for turn in range(12):
        keys, memo = source_keys(sources, step, memo)
        least = _least_keys(keys, goals)
        cost, cell = least // (S * S), least % (S * S)
        want, want_costs = _argmin_sources(goals, step, sources)
        np.testing.assert_array_equal(np.where(cost < INF, cell, -1), want, err_msg=f"turn {turn}")
        np.testing.assert_array_equal(np.minimum(cost, INF), want_costs, err_msg=f"turn {turn}")
        change = rng.random((S, S)) < 0.03
        step = np.where(change, np.clip(step + rng.integers(-60, 60, (S, S)), 30, 130), step).astype(np.int32)
        step = np.where(rng.random((S, S)) < 0.005, INF, step).astype(np.int32)


def test_source_keys_ties_walls_and_absent_sources():
    """Uniform step costs (many ties: the lowest index wins, like np.argmin), a source that cannot
    be left, a far one, an empty source map: the least keys name what the argmin of cost_to names."""
    rng = np.random.default_rng(1)
    S = 24
    for trial in range(6):
        step = (rng.integers(30, 130, (S, S)) if trial % 2 else np.full((S, S), 30)).astype(np.int32)
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
        sources = np.stack([near, far, walled, np.zeros((S, S), bool)]) & ~goals.any(axis=0)
        keys, _ = source_keys(sources, step)
        least = _least_keys(keys, goals)
        cost, cell = least // (S * S), least % (S * S)
        want, want_costs = _argmin_sources(goals, step, sources)
        np.testing.assert_array_equal(np.where(cost < INF, cell, -1), want, err_msg=f"trial {trial}")
        np.testing.assert_array_equal(np.minimum(cost, INF), want_costs, err_msg=f"trial {trial}")
        assert (want[2] == -1).all() and (want[3] == -1).all()
