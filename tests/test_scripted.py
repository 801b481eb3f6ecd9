"""The scripted baseline (agent.scripted): legal choices only, no engine rejections, no own
collisions, and it survives and wins full games on the real engine (kaggle rules, 48x48).

Seeds are the first ones (0-4 against random-masked, sides swapped; 0-2 in self-play), not
picked; ``benchmarks/scripted_games.py`` reports the same numbers over 10 seeds.
"""

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.actions import (
    C_FACTORY, C_MOVE, C_TYPE, DIRECTION_DELTAS, F_HEAVY, F_LIGHT, KEEP, MOVE, NUM_COMPONENTS, USES,
    component_slice,
)
from agent.masks import action_masks
from agent.scripted import ScriptedPolicy, scripted_placement
from benchmarks.scripted_games import play_game

ROOT = Path(__file__).resolve().parents[1]


def _engine_clean(game):
    assert sum(game["rejected"].values()) == 0, game["rejected"]
    assert game["water_refused"] == 0
    for p in ("player_0", "player_1"):
        assert game["queue_skipped"][p] == 0, game["queue_skipped"]
    assert all(v == 0 for v in game["fallbacks"].values()), game["fallbacks"]


def _scripted(game):
    return [p for k, p in zip(game["kinds"], ("player_0", "player_1")) if k == "scripted"]


def test_scripted_imports_only_stdlib_numpy_and_agent():
    tree = ast.parse((ROOT / "agent" / "scripted.py").read_text())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module.split(".")[0])
    bad = {m for m in mods if m not in sys.stdlib_module_names and m not in ("numpy", "agent")}
    assert not bad


class TurnChecker:
    """Checks every scripted decision against the masks and the no-own-collision rules."""

    def __init__(self):
        self.turns = 0
        self.robot_cells = 0

    def __call__(self, player, state, cell, policy):
        if not isinstance(policy, ScriptedPolicy):
            return
        S = state.cfg.map_size
        assert cell.shape == (S, S, NUM_COMPONENTS) and cell.dtype == np.int64
        masks = action_masks(state)
        u = state.my_units
        occupied = np.zeros((S, S), bool)
        occupied[u.pos[:, 0], u.pos[:, 1]] = True
        f = state.my_factories
        centers = np.zeros((S, S), bool)
        centers[f.pos[:, 0], f.pos[:, 1]] = True
        # nothing chosen where we have no robot / factory center
        assert not cell[~occupied][:, :C_FACTORY].any()
        assert not cell[~centers][:, C_FACTORY].any()
        nxt = []
        for i, (x, y) in enumerate(u.pos):
            a, m = cell[x, y], masks[x, y]
            rtype = int(a[C_TYPE])
            assert m[component_slice(C_TYPE)][rtype]
            for k in range(1, 6):
                mk = m[component_slice(k)]
                if USES[rtype, k] or mk.any():  # used: legal; unused: legal when anything is
                    assert mk[a[k]], (k, a, mk)
            if rtype == MOVE:
                dx, dy = DIRECTION_DELTAS[1 + a[C_MOVE]]
                nxt.append((int(x + dx), int(y + dy)))
            elif rtype == KEEP and u.queue_len[i] > 0 and u.head[i, 0] == 0 and 1 <= u.head[i, 1] <= 4:
                dx, dy = DIRECTION_DELTAS[u.head[i, 1]]  # keep goes on with a sticky move
                nxt.append((int(x + dx), int(y + dy)))
            else:
                nxt.append((int(x), int(y)))
            self.robot_cells += 1
        assert len(set(nxt)) == len(nxt), "two own robots end on the same cell"
        for (x, y) in f.pos:
            choice = int(cell[x, y, C_FACTORY])
            assert masks[x, y, component_slice(C_FACTORY)][choice]
            if choice in (F_LIGHT, F_HEAVY):
                assert (int(x), int(y)) not in nxt, "built a robot under an own robot"
        self.turns += 1


@pytest.fixture(scope="module")
def checker():
    return TurnChecker()


@pytest.fixture(scope="module")
def vs_random_games(checker):
    return [play_game(seed, kinds, rules="kaggle", on_turn=checker)
            for seed in range(5) for kinds in (("scripted", "random"), ("random", "scripted"))]


@pytest.fixture(scope="module")
def selfplay_games(checker):
    return [play_game(seed, ("scripted", "scripted"), rules="kaggle", on_turn=checker) for seed in range(3)]


def test_every_choice_is_legal_and_collision_free(vs_random_games, selfplay_games, checker):
    """TurnChecker ran on every scripted turn of these games (asserting as it went)."""
    assert checker.turns > 6000 and checker.robot_cells > 100000


def test_beats_random_masked_without_rejections(vs_random_games):
    for g in vs_random_games:
        _engine_clean(g)
        (p,) = _scripted(g)
        assert g["winner"] == p, (g["seed"], g["kinds"], g["factories"])
        assert g["factories"][p] == g["placed"][p]  # lost no factory
        assert g["own_collisions"].get(p, 0) == 0
        assert g["lost"][p] <= 1


def test_selfplay_survives_full_games(selfplay_games):
    for g in selfplay_games:
        _engine_clean(g)
        assert g["turns"] == 1000
        for p in ("player_0", "player_1"):
            assert g["factories"][p] > 0
            assert g["lichen"][p] > 1000  # it waters lichen once water is safe
            assert g["own_collisions"].get(p, 0) == 0
        assert sum(g["placed"].values()) - sum(g["factories"].values()) <= 1


def test_time_per_turn_is_small(selfplay_games):
    ms = [v for g in selfplay_games for v in g["ms_per_turn"].values()]
    assert np.mean(ms) < 60, ms


@pytest.mark.parametrize("rules", ["tiny", "small"])
def test_other_map_sizes_selfplay(rules):
    g = play_game(0, ("scripted", "scripted"), rules=rules)
    _engine_clean(g)
    assert g["turns"] == 1000 and all(v > 0 for v in g["factories"].values())
    assert all(g["own_collisions"].get(p, 0) == 0 for p in ("player_0", "player_1"))


def test_scripted_placement_puts_the_first_factory_next_to_ice():
    """Seed 6 is ice-poor: agent.early's heuristic puts factories far from any ice there."""
    import dataclasses

    from agent.early import bid_action
    from agent.obs import GameState
    from wrappers.engine import make_env

    env = make_env("kaggle")
    obs, _ = env.reset(seed=6)
    states = {p: GameState(dataclasses.asdict(env.env_cfg), p) for p in ("player_0", "player_1")}
    obs, *_ = env.step({p: bid_action(0) for p in states})
    first = {}
    while env.state.real_env_steps < 0:
        acts = {}
        for p, st in states.items():
            st.update(obs[p], step=env.env_steps)
            acts[p] = scripted_placement(st)
            if not st.my_turn_to_place():
                assert acts[p] == {}
                continue
            x, y = acts[p]["spawn"]
            assert st.board["valid_spawns_mask"][x, y]
            assert acts[p]["metal"] > 0 and acts[p]["water"] > 0
            first.setdefault(p, (x, y, st.board["ice"] > 0))
        obs, *_ = env.step(acts)
    assert len(env.state.factories["player_0"]) == len(env.state.factories["player_1"]) > 0
    for p, (x, y, ice) in first.items():
        assert ice[x - 2:x + 3, y - 2:y + 3].any(), p  # ice touches the factory's 3x3


def test_anchored_shadow_digs_where_the_student_put_its_heavy():
    """``ScriptedPolicy(anchor=True)``, the DAgger shadow of ``training.imitation.bc collect shadow_anchor=true``.

    A scripted HEAVY digging ice on its target has its remembered target moved to another ice cell
    its role could pick, as when a student, not the teacher, put it where it stands. The plain
    teacher then labels a walk to the remembered cell; the anchored one takes the cell it stands
    on and digs. Without anchor the baseline's own choices are unchanged (the games above)."""
    import copy

    from agent.actions import DIG
    from wrappers.engine import make_env, run_game

    seen = []
    policy = ScriptedPolicy(seed=0)

    def act(p, st):
        from agent.actions import decode

        before = copy.deepcopy(policy) if p == "player_0" else None
        pol = policy if p == "player_0" else other
        cell = pol(st)
        if before is not None and not seen:
            u = st.my_units
            for i, uid in enumerate(u.ids):
                x, y = (int(v) for v in u.pos[i])
                mem = policy.memory.get(uid, {})
                if not (u.heavy[i] and cell[x, y, C_TYPE] == DIG and mem.get("role") == "ice"
                        and mem.get("target") == (x, y) and st.board["ice"][x, y] > 0):
                    continue
                fi = policy.fac_ids.index(mem["home"])
                cells = policy._target_cells(1, fi, "ice")
                claimed = {m.get("target") for k, m in policy.memory.items() if k != uid}
                others = [(int(a), int(b)) for a, b in zip(*np.nonzero(cells)) if (a, b) != (x, y)
                          and (int(a), int(b)) not in claimed]
                if not others:
                    continue
                labels = {}
                for anchor in (False, True):
                    shadow = copy.deepcopy(before)
                    shadow.anchor = anchor
                    shadow.memory[uid]["target"] = others[0]
                    labels[anchor] = int(shadow(st)[x, y, C_TYPE])
                seen.append(labels)
                break
        return decode(st, cell)

    other = ScriptedPolicy(seed=1)
    env = make_env("tiny", max_episode_length=80)
    run_game(env, 0, act)
    assert seen, "no scripted heavy dug ice on its target in 80 turns"
    assert seen[0] == {False: MOVE, True: DIG}, seen[0]
