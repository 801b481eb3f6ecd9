"""The incremental path planes (``agent.features.path_planes`` with a cache, as ``encode`` keeps one
on the state) equal the full recompute, turn by turn over real games; and
``agent.paths.cost_to_update`` equals ``cost_to`` under random turn-to-turn changes."""

from __future__ import annotations


import numpy as np
import pytest

import agent.features as features
from agent.actions import decode
from agent.features import encode
from agent.masks import action_masks
from agent.paths import INF, cost_to, cost_to_update
from agent.policy import sample_uniform_masked
from agent.scripted import ScriptedPolicy
from wrappers.engine import make_env, quiet_engine, run_game

PLAYERS = ("player_0", "player_1")
pytestmark = pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array")


@pytest.mark.parametrize("rules,seed,turns", [("small", 2, 150), ("neurips", 0, 100)])
def test_cached_path_planes_equal_the_full_recompute_over_a_game(rules, seed, turns):
    """player_0 plays the scripted baseline (digs rubble and ice: step costs fall, targets move),
    player_1 uniform random masked choices (robots self-destruct and die: rubble rises, factories
    can be lost); every turn both players' encoded path planes (updated from the state's cache)
    equal path_planes recomputed from scratch on a copy."""
    scripted = ScriptedPolicy(seed=seed)
    rng = np.random.default_rng(seed)
    count = {"checked": 0, "updated": 0}

    def act(p, s):
        planes, _ = encode(s)
        full = planes.copy()
        features.path_planes(full, s.cfg)  # no cache: from scratch
        np.testing.assert_array_equal(planes, full, err_msg=f"{p} turn {s.real_env_steps}")
        count["checked"] += 1
        count["updated"] += "home" in s._path_cache and len(s._path_cache) > 2
        return decode(s, scripted(s) if p == "player_0" else sample_uniform_masked(action_masks(s), rng))

    with quiet_engine():
        run_game(make_env(rules, max_episode_length=turns), seed, act)
    checked, updated = count["checked"], count["updated"]
    assert checked >= turns and updated >= checked // 2


def test_cost_to_update_equals_cost_to_under_random_changes():
    """Costs that fall and rise, targets that come and go, cells that become impassable: the update
    from the previous answer equals cost_to from scratch (exactly where converged, and after the
    clip at max_iter steps for the capped unit-cost maps)."""
    rng = np.random.default_rng(0)
    S = 20
    for trial in range(8):
        unit = trial % 2 == 1
        step = np.full((S, S), 1) if unit else rng.integers(30, 130, (S, S))
        step = np.where(rng.random((S, S)) < 0.05, INF, step)
        targets = rng.random((S, S)) < 0.01
        targets[rng.integers(S), rng.integers(S)] = True
        max_iter = 12 if unit else 400
        memo = None
        for turn in range(12):
            d, memo = cost_to_update(targets, step, memo, max_iter=max_iter)
            want = cost_to(targets, step, max_iter=max_iter)
            if unit:  # capped: equal once clipped at max_iter steps
                np.testing.assert_array_equal(np.minimum(d, max_iter), np.minimum(want, max_iter))
            else:
                np.testing.assert_array_equal(d, want, err_msg=f"trial {trial} turn {turn}")
            change = rng.random((S, S)) < 0.05
            if not unit:
                step = np.where(change, np.maximum(step + rng.integers(-60, 60, (S, S)), 30), step)
            wall = rng.random((S, S)) < 0.01
            step = np.where(wall, INF, step)
            step = np.where((step >= INF) & (rng.random((S, S)) < 0.2), 1 if unit else 30, step)
            flip = rng.random((S, S)) < 0.01
            targets = targets ^ flip
