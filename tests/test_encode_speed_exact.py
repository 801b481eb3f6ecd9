"""The shortcuts that make the per-turn encoding cheaper (issue #46) change no bit of it:
``encode`` into a reused, dirty ``out`` buffer (it zeroes only the planes it writes in places)
equals a fresh encode in every phase; ``agent.paths.relax_scan`` (which scans the band of
rows / columns between the first and the last marked one) equals the converged sweeps when the
marked lines lie far apart; the maps read up to a cap (``cost_to_update`` and ``source_keys``
with ``cap``, updated turn after turn while the cap moves) equal the full maps clipped at the cap;
and ``features._targets`` with a cap too low for a factory falls back to the full keys."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agent.actions import decode
from agent.early import early_action
import agent.features as features
from agent.features import NUM_PLANES, encode
from agent.masks import action_masks
from agent.obs import GameState
from agent.paths import INF, NO_SOURCE, cost_to, cost_to_update, relax_scan, source_keys
from agent.policy import sample_uniform_masked
from wrappers.engine import make_env, quiet_engine

PLAYERS = ("player_0", "player_1")
pytestmark = pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array")


@pytest.mark.parametrize("rules,seed", [("small", 1), ("neurips", 2)])
def test_encode_into_a_dirty_buffer_equals_a_fresh_encode_every_turn(rules, seed):
    """From the bid through placement (valid_spawn set) into the main phase: each turn, encode into
    one buffer reused across turns and players, refilled with garbage first, equals encode with a
    new buffer, planes and globals, bit for bit."""
    env = make_env(rules)
    raw, _ = env.reset(seed=seed)
    cfg = dataclasses.asdict(env.state.env_cfg)
    S = env.env_cfg.map_size
    states = {p: GameState(cfg, p).update(raw[p], step=env.env_steps) for p in PLAYERS}
    buf = np.empty((NUM_PLANES, S, S), np.float32)
    rng = np.random.default_rng(seed)
    phases = set()
    for _ in range(40):
        acts = {}
        for p in PLAYERS:
            s = states[p]
            phases.add(s.is_early_phase)
            fresh, g_fresh = encode(s)
            buf[...] = rng.uniform(-5, 5, buf.shape).astype(np.float32)
            got, g_got = encode(s, out=buf)
            assert got is buf
            assert got.tobytes() == fresh.tobytes(), f"{p} step {s.step}"
            assert g_got.tobytes() == g_fresh.tobytes()
            acts[p] = early_action(s) if s.is_early_phase else decode(s, sample_uniform_masked(action_masks(s), rng))
        with quiet_engine():
            raw, _, term, trunc, _ = env.step(acts)
        for p in PLAYERS:
            states[p].update(raw[p], step=env.env_steps)
        if any(term.values()) or any(trunc.values()):
            break
    assert phases == {True, False}


def test_relax_scan_with_marked_lines_far_apart():
    """Step costs fall in two rows (and their columns) far apart: starting from the old fixed point
    with only those lines marked, the scans reach cost_to's converged answer (the unmarked lines
    in the band between them are scanned too and must stay as they are)."""
    rng = np.random.default_rng(5)
    S = 48
    for trial in range(8):
        step = rng.integers(20, 120, (S, S)).astype(np.int32)
        step[rng.random((S, S)) < 0.05] = INF
        targets = rng.random((S, S)) < 0.004
        targets[rng.integers(S), rng.integers(S)] = True
        old = cost_to(targets, step)
        new = step.copy()
        for x in (2, S - 3):
            ys = rng.choice(S, 3, replace=False)
            new[x, ys] = 20
        moved = new != step
        got = relax_scan(old, new, rows=moved.any(axis=1), cols=moved.any(axis=0))
        np.testing.assert_array_equal(got, cost_to(targets, new), err_msg=f"trial {trial}")


def _changed(rng, step, S, rate=0.05, low=30):
    """The step costs of the next turn: some fall, some rise (``rate`` of the cells; a low rate
    leaves few enough risen cells for the updates' per-cell bounds), a few become walls or open."""
    change = rng.random((S, S)) < rate
    step = np.where(change, np.maximum(step + rng.integers(-60, 60, (S, S)), low), step)
    step = np.where(rng.random((S, S)) < 0.01, INF, step)
    return np.where((step >= INF) & (rng.random((S, S)) < 0.2), low, step).astype(np.int32)


def test_cost_to_update_with_a_cap_equals_the_clipped_costs_turn_after_turn():
    """Costs that fall and rise, targets that come and go: the capped update equals cost_to from
    scratch clipped at the cap, every turn (the cap changes now and then: the memo of another cap
    is not used)."""
    rng = np.random.default_rng(1)
    S = 24
    for trial in range(6):
        step = rng.integers(30, 130, (S, S))
        step = np.where(rng.random((S, S)) < 0.05, INF, step).astype(np.int32)
        targets = rng.random((S, S)) < 0.01
        targets[rng.integers(S), rng.integers(S)] = True
        memo = None
        cap = int(rng.integers(100, 900))
        for turn in range(12):
            if turn % 5 == 4:
                cap = int(rng.integers(100, 900))
            d, memo = cost_to_update(targets, step, memo, cap=cap)
            want = np.minimum(cost_to(targets, step), cap)
            np.testing.assert_array_equal(d, want, err_msg=f"trial {trial} turn {turn}")
            step = _changed(rng, step, S, 0.05 if turn % 2 else 0.006)
            targets = targets ^ (rng.random((S, S)) < 0.01)


def test_source_keys_with_a_moving_cap_equal_the_clipped_keys_turn_after_turn():
    """Each turn the keys updated under a cap (raised and lowered from turn to turn, per kind, or
    none) equal the keys from scratch without one, clipped at the cap."""
    rng = np.random.default_rng(2)
    S = 24
    N = S * S
    for trial in range(6):
        sources = rng.random((2, S, S)) < 0.03
        step = rng.integers(30, 130, (S, S))
        step = np.where(rng.random((S, S)) < 0.05, INF, step).astype(np.int32)
        memo = None
        for turn in range(12):
            cap = rng.integers(100, 1200, 2) * N
            if turn % 4 == 3:
                cap[rng.integers(2)] = NO_SOURCE
            k, memo = source_keys(sources, step, memo, cap=cap)
            full, _ = source_keys(sources, step)
            np.testing.assert_array_equal(k, np.minimum(full, cap[:, None, None]), err_msg=f"trial {trial} turn {turn}")
            step = _changed(rng, step, S, 0.05 if turn % 2 else 0.006)


def test_targets_fall_back_to_the_full_keys_when_the_cap_is_too_low():
    """A cap below a factory's cheapest source (as after rubble piles up on its way): _targets reads
    the keys in full again and answers as without a memo, and the next cap covers the answer."""
    rng = np.random.default_rng(3)
    S = 32
    N = S * S
    step = rng.integers(30, 130, (S, S)).astype(np.int32)
    cands = [rng.random((S, S)) < 0.01, rng.random((S, S)) < 0.005]
    centers = np.array([[5, 5], [20, 25], [28, 3]], np.int64)
    want = features._targets(centers, step, cands, None)
    memo = {}
    np.testing.assert_array_equal(features._targets(centers, step, cands, memo), want)
    memo["target_cap"] = np.array([31 * N, 31 * N], np.int64)  # below any path: one step costs >= 30
    np.testing.assert_array_equal(features._targets(centers, step, cands, memo), want)
    assert (memo["target_cap"] > 31 * N).all()
    step = _changed(rng, step, S)  # the next turn, from the memo the fallback left
    np.testing.assert_array_equal(features._targets(centers, step, cands, memo),
                                  features._targets(centers, step, cands, None))
