"""The scan-based path searches of ``agent.paths`` give the answers of the plain sweeps:
``relax_scan`` the fixed point of ``relax`` (from scratch and from an earlier fixed point), and
``source_keys`` (updated turn to turn) the cells and costs ``cheapest_cells`` picks."""

from __future__ import annotations

import numpy as np

from agent.paths import INF, NO_SOURCE, cheapest_cells, relax, relax_scan, source_keys


def _map(rng, S, wall=0.05):
    step = rng.integers(30, 130, (S, S))
    return np.where(rng.random((S, S)) < wall, INF, step).astype(np.int32)


def _factories(rng, S, F):
    goals = np.zeros((F, S, S), bool)
    centers = rng.integers(0, S, (F, 2))  # at the edge too: clipped 3x3s
    for f, (x, y) in enumerate(centers):
        goals[f, max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = True
    return goals


def test_relax_scan_equals_the_converged_sweeps():
    """From the targets and from an upper bound with a few rows and columns marked: the same costs
    as relax's sweeps to convergence (walls, unit and power costs)."""
    rng = np.random.default_rng(0)
    for trial in range(6):
        S = 40
        step = np.full((S, S), 1, np.int32) if trial % 2 else _map(rng, S)
        step[rng.random((S, S)) < 0.08] = INF
        d0 = np.where(rng.random((S, S)) < 0.01, 0, INF).astype(np.int32)
        want, _ = relax(d0, step)
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
        np.testing.assert_array_equal(got, relax(d0, new)[0], err_msg=f"trial {trial}")


def test_source_keys_pick_the_cheapest_cells_turn_after_turn():
    """Costs that fall and rise between turns, the keys updated from the previous turn's: every
    factory's least key over its 3x3 names the cell (and cost) cheapest_cells picks."""
    rng = np.random.default_rng(2)
    S = 32
    step = _map(rng, S)
    goals = _factories(rng, S, 4)
    sources = np.stack([rng.random((S, S)) < 0.02, rng.random((S, S)) < 0.01]) & ~goals.any(axis=0)
    memo = None
    for turn in range(12):
        keys, memo = source_keys(sources, step, memo)
        least = np.where(goals[None], keys[:, None], NO_SOURCE).reshape(2, len(goals), -1).min(axis=2)
        cost, cell = least // (S * S), least % (S * S)
        want, want_costs = cheapest_cells(goals, step, list(sources), return_costs=True)
        np.testing.assert_array_equal(np.where(cost < INF, cell, -1), want, err_msg=f"turn {turn}")
        np.testing.assert_array_equal(np.minimum(cost, INF), want_costs, err_msg=f"turn {turn}")
        change = rng.random((S, S)) < 0.03
        step = np.where(change, np.clip(step + rng.integers(-60, 60, (S, S)), 30, 130), step).astype(np.int32)
        step = np.where(rng.random((S, S)) < 0.005, INF, step).astype(np.int32)
