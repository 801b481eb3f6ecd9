"""Feature planes/globals of ``agent.features.encode`` and the ``LuxGridEnv`` gymnasium wrapper.

States come from a few turns of real ``LuxAI_S2`` games (heuristic early phase, then uniform
random masked actions for both players) on every supported map size.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import agent.features as features
from agent.actions import NUM_COMPONENTS, NUM_LOGITS, decode
from agent.early import early_action
from agent.features import NUM_GLOBALS, NUM_PLANES, PLANE_NAMES, encode
from agent.masks import action_masks
from agent.obs import GameState
from agent.policy import sample_uniform_masked
from agent.scripted import ScriptedPolicy
from wrappers.engine import make_env, quiet_engine, run_game
from tests.test_paths import dijkstra
from wrappers.lux_env import REWARD_TERMS, LuxGridEnv

PLAYERS = ("player_0", "player_1")
P = {name: i for i, name in enumerate(PLANE_NAMES)}
# the engine's own action-space check warns when actions are lists (as decode returns them)
pytestmark = pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array")

PRESETS = [("tiny", 16), ("small", 32), ("kaggle", 48), ("neurips", 64)]


def _states_after(rules, seed, main_turns):
    """Both players' GameStates after the early phase and ``main_turns`` random masked turns."""
    env = make_env(rules)
    raw, _ = env.reset(seed=seed)
    cfg = dataclasses.asdict(env.state.env_cfg)
    states = {p: GameState(cfg, p).update(raw[p], step=env.env_steps) for p in PLAYERS}
    rng = np.random.default_rng(seed)
    while env.state.real_env_steps < main_turns:
        acts = {}
        for p in PLAYERS:
            s = states[p]
            if s.is_early_phase:
                acts[p] = early_action(s)
            else:
                acts[p] = decode(s, sample_uniform_masked(action_masks(s), rng))
        with quiet_engine():
            raw, _, term, trunc, _ = env.step(acts)
        for p in PLAYERS:
            states[p].update(raw[p], step=env.env_steps)
        assert not any(term.values()), f"{rules} seed {seed} ended early"
    return states


@pytest.fixture(scope="module", params=PRESETS, ids=[r for r, _ in PRESETS])
def played(request):
    rules, size = request.param
    # seed chosen so that both sides have robots after 12 turns on every preset
    return rules, size, _states_after(rules, seed=3, main_turns=12)


def test_docstring_table_lists_plane_names():
    doc = features.__doc__
    lines = doc.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Planes ("))
    rows = []
    for line in lines[start:]:
        if line.startswith("Global vector"):
            break
        m = re.match(r"^(\d+)\s+(\w+)\s+\S", line)
        if m:
            rows.append((int(m.group(1)), m.group(2)))
    assert [i for i, _ in rows] == list(range(len(rows)))
    assert tuple(name for _, name in rows) == PLANE_NAMES
    assert f"C = {NUM_PLANES}" in doc and f"G = {NUM_GLOBALS}" in doc
    assert NUM_PLANES == 62 and NUM_GLOBALS == 12 == len(features.GLOBAL_NAMES)


def test_shapes_dtypes_finite(played):
    rules, S, states = played
    for p in PLAYERS:
        planes, glob = encode(states[p])
        assert planes.shape == (NUM_PLANES, S, S) and planes.dtype == np.float32
        assert glob.shape == (12,) and glob.dtype == np.float32
        assert np.isfinite(planes).all() and np.isfinite(glob).all()
        assert planes.min() >= 0.0 and glob.min() >= 0.0
        assert glob[-1] == pytest.approx(S / 64.0)


def test_channels_agree_with_state(played):
    rules, S, states = played
    for p in PLAYERS:
        s = states[p]
        planes, glob = encode(s)
        b = s.board
        np.testing.assert_array_equal(planes[P["ice"]], (b["ice"] > 0).astype(np.float32))
        np.testing.assert_array_equal(planes[P["ore"]], (b["ore"] > 0).astype(np.float32))
        np.testing.assert_allclose(planes[P["rubble"]], b["rubble"] / s.cfg.MAX_RUBBLE, rtol=1e-6)
        assert (planes[P["on_map"]] == 1).all()
        # robots: ours and theirs on their cells, nowhere else
        assert len(s.my_units) > 0 and len(s.opp_units) > 0, f"{rules}: no robots to check"
        for side, units in (("ours", s.units[s.player]), ("theirs", s.units[s.opponent])):
            expect = {"light": np.zeros((S, S), np.float32), "heavy": np.zeros((S, S), np.float32)}
            for u in units.values():
                x, y = u["pos"]
                expect[u["unit_type"].lower()][x, y] = 1.0
            for kind in ("light", "heavy"):
                np.testing.assert_array_equal(planes[P[f"{kind}_{side}"]], expect[kind], err_msg=f"{kind}_{side}")
        for u in s.units[s.player].values():
            x, y = u["pos"]
            cap = s.cfg.raw["ROBOTS"][u["unit_type"]]["BATTERY_CAPACITY"]
            assert planes[P["robot_power"], x, y] == pytest.approx(u["power"] / cap)
        # factory centers and 3x3 footprints
        for side, facs in (("ours", s.factories[s.player]), ("theirs", s.factories[s.opponent])):
            centers = np.zeros((S, S), np.float32)
            tiles = np.zeros((S, S), np.float32)
            for f in facs.values():
                x, y = f["pos"]
                centers[x, y] = 1.0
                tiles[max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = 1.0
            assert centers.sum() > 0 or side == "theirs"
            np.testing.assert_array_equal(planes[P[f"factory_center_{side}"]], centers)
            np.testing.assert_array_equal(planes[P[f"factory_{side}"]], tiles)
        # constant planes
        t = s.real_env_steps / s.cfg.max_episode_length
        assert s.real_env_steps == 12
        np.testing.assert_array_equal(planes[P["turn"]], np.full((S, S), t, np.float32))
        np.testing.assert_array_equal(planes[P["is_day"]], np.full((S, S), float(s.is_day()), np.float32))
        assert glob[0] == pytest.approx(t)
        assert glob[5] == pytest.approx(len(s.my_units) / 100) and glob[6] == pytest.approx(len(s.opp_units) / 100)
        assert (planes[P["valid_spawn"]] == 0).all()  # main phase


def test_factory_robot_count_planes(played):
    """factory_lights / factory_heavies: each robot counted once, for its nearest factory center of
    its team (lowest index on a tie), written on the factory's 3x3; checked by brute force on dicts."""
    rules, S, states = played
    for p in PLAYERS:
        s = states[p]
        planes, _ = encode(s)
        for team in (s.player, s.opponent):
            facs = list(s.factories[team].values())
            expect = {"LIGHT": np.zeros((S, S), np.float32), "HEAVY": np.zeros((S, S), np.float32)}
            counts = [{"LIGHT": 0, "HEAVY": 0} for _ in facs]
            for u in s.units[team].values():
                dist = [abs(u["pos"][0] - f["pos"][0]) + abs(u["pos"][1] - f["pos"][1]) for f in facs]
                counts[dist.index(min(dist))][u["unit_type"]] += 1
            for f, c in zip(facs, counts):
                x, y = f["pos"]
                for kind in expect:
                    expect[kind][max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = c[kind] / features.ROBOT_COUNT_SCALE
            mine = planes[P["factory_ours" if team == s.player else "factory_theirs"]] > 0
            for kind, name in (("LIGHT", "factory_lights"), ("HEAVY", "factory_heavies")):
                np.testing.assert_allclose(planes[P[name]][mine], expect[kind][mine], rtol=1e-6, err_msg=name)
        assert planes[P["factory_heavies"]].max() > 0  # both sides built a heavy by turn 12
        on_factory = (planes[P["factory_ours"]] + planes[P["factory_theirs"]]) > 0
        assert (planes[P["factory_lights"]][~on_factory] == 0).all()


def _brute_distance(target):
    """min over target cells of |x - tx| + |y - ty|, clipped and scaled like the distance planes."""
    S = target.shape[0]
    tx, ty = np.nonzero(target)
    if len(tx) == 0:
        return np.full((S, S), features.DIST_CLIP / features.DIST_SCALE, np.float32)
    x, y = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    d = (np.abs(x[..., None] - tx) + np.abs(y[..., None] - ty)).min(axis=-1)
    return (np.minimum(d, features.DIST_CLIP) / features.DIST_SCALE).astype(np.float32)


def test_distance_planes_match_brute_force(played):
    rules, S, states = played
    for p in PLAYERS:
        s = states[p]
        planes, _ = encode(s)
        for name, target in (("dist_factory_ours", planes[P["factory_ours"]] > 0),
                             ("dist_factory_theirs", planes[P["factory_theirs"]] > 0),
                             ("dist_ice", s.board["ice"] > 0), ("dist_ore", s.board["ore"] > 0)):
            np.testing.assert_allclose(planes[P[name]], _brute_distance(target), atol=1e-6, err_msg=name)
        # 0 on our own factory tiles
        assert (planes[P["dist_factory_ours"]][planes[P["factory_ours"]] > 0] == 0).all()


def _expected_last_turn(units, prev_units, S, charge):
    """The last_* planes from raw unit dicts of two consecutive observations (one team)."""
    names = ("last_move_up", "last_move_right", "last_move_down", "last_move_left", "last_cargo_gain",
             "last_cargo_loss", "last_power_pickup")
    exp = {n: np.zeros((S, S), np.float32) for n in names}
    dirs = {(0, -1): "last_move_up", (1, 0): "last_move_right", (0, 1): "last_move_down", (-1, 0): "last_move_left"}
    for uid, u in units.items():
        if uid not in prev_units:
            continue
        v = prev_units[uid]
        x, y = u["pos"]
        d = (u["pos"][0] - v["pos"][0], u["pos"][1] - v["pos"][1])
        if d in dirs:
            exp[dirs[d]][x, y] = 1
        c, pc = u["cargo"], v["cargo"]
        exp["last_cargo_gain"][x, y] = c["ice"] + c["ore"] > pc["ice"] + pc["ore"]
        exp["last_cargo_loss"][x, y] = any(c[k] < pc[k] for k in ("ice", "ore", "water", "metal"))
        exp["last_power_pickup"][x, y] = u["power"] - v["power"] > charge[u["unit_type"]]
    return exp


@pytest.mark.parametrize("rules", ["small", "neurips"])
def test_last_turn_planes_match_consecutive_observations(rules):
    """Scripted vs random-masked (moves, digs, transfers, pickups), checked turn by turn against raw dicts."""
    import copy

    env = make_env(rules, max_episode_length=60)
    cfg = dataclasses.asdict(env.env_cfg)
    charge = {k: v["CHARGE"] for k, v in cfg["ROBOTS"].items()}
    rng = np.random.default_rng(5)
    scripted = ScriptedPolicy(seed=5)  # digs, transfers and picks up power (player_0)
    seen = {n: 0 for n in PLANE_NAMES if n.startswith("last_")}
    prev = {p: {} for p in PLAYERS}  # no robots before the main phase

    def act(p, st):
        if p == "player_1":
            return decode(st, sample_uniform_masked(action_masks(st), rng))
        planes, _ = encode(st)
        S = st.cfg.map_size
        exp = {n: np.zeros((S, S), np.float32) for n in seen}
        for team in PLAYERS:
            for n, e in _expected_last_turn(st.units[team], prev[team], S, charge).items():
                exp[n] += e
        for n in seen:
            np.testing.assert_array_equal(planes[P[n]], exp[n], err_msg=f"{n} turn {st.real_env_steps}")
            seen[n] += int(exp[n].sum())
        prev.update(copy.deepcopy(st.units))
        return decode(st, scripted(st))

    with quiet_engine():
        run_game(env, 5, act)
    assert env.state.real_env_steps == 60
    for n, count in seen.items():
        assert count > 0, f"{n} never happened: the test checks nothing ({seen})"
    # a state built from one observation has no memory
    fresh = GameState.from_obs(env.state.get_obs(), cfg, "player_0")
    assert not encode(fresh)[0][[P[n] for n in seen]].any()


def test_out_buffer(played):
    rules, S, states = played
    s = states["player_0"]
    planes, glob = encode(s)
    buf = np.full((NUM_PLANES, S, S), 7.0, np.float32)  # stale content must be cleared
    planes2, glob2 = encode(s, out=buf)
    assert planes2 is buf
    np.testing.assert_array_equal(planes2, planes)
    np.testing.assert_array_equal(glob2, glob)
    # reuse for the other player's view
    planes3, _ = encode(states["player_1"], out=buf)
    np.testing.assert_array_equal(planes3, encode(states["player_1"])[0])
    with pytest.raises(ValueError, match="shape"):
        encode(s, out=np.zeros((NUM_PLANES, S + 1, S), np.float32))
    with pytest.raises(ValueError, match="shape"):
        encode(s, out=np.zeros((NUM_PLANES - 1, S, S), np.float32))


# ---------------------------------------------------------------------- LuxGridEnv
@pytest.mark.parametrize("rules", ["tiny", "neurips"])
def test_check_env(rules):
    env = LuxGridEnv(rules=rules)
    env.action_space.seed(0)  # check_env steps with action_space.sample()
    check_env(env, skip_render_check=True)


def test_bad_reward_term():
    with pytest.raises(ValueError) as e:
        LuxGridEnv(rules="tiny", reward_weights={"nope": 1})
    msg = str(e.value)
    assert "nope" in msg
    for term in REWARD_TERMS:
        assert term in msg


def test_every_reward_term_changes_the_reward():
    """Each term of REWARD_TERMS, weighted alone, gives a non-zero reward somewhere (the reward
    sums the one schema of statistics, wrappers.lux_env.GAME_STATS: no configured weight is
    silently ignored). Two games of the learner: the scripted baseline (ice, ore, water, metal,
    robots) and the random-masked policy (it waters lichen at random and loses its factories),
    both against the scripted baseline."""
    from agent.policy import RandomMaskedPolicy
    from agent.scripted import ScriptedPolicy
    from wrappers.lux_env import EPISODE_KEYS, GAME_STATS

    seen = {term: 0.0 for term in REWARD_TERMS}
    scripted_opponent = ScriptedPolicy(seed=1)

    def opponent(state):
        return decode(state, scripted_opponent(state))

    for policy, turns in ((ScriptedPolicy(seed=0), 300), (RandomMaskedPolicy(seed=0), 1000)):
        env = LuxGridEnv(rules="tiny", map_seeds=[2], max_episode_length=turns, opponent=opponent)
        env.reset(seed=0)
        orig = env._reward

        def probe(before, after, done, rewards, env=env, orig=orig):
            for term in REWARD_TERMS:
                env.reward_weights = {t: float(t == term) for t in REWARD_TERMS}
                seen[term] += abs(orig(before, after, done, rewards))
            return 0.0

        env._reward = probe
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(policy(env.states[env.player]))
            done = terminated or truncated
        assert set(EPISODE_KEYS) <= set(info["lux"])
    assert all(v > 0 for v in seen.values()), {k: v for k, v in seen.items() if not v > 0}
    assert set(GAME_STATS) <= set(REWARD_TERMS)


def test_bad_rules():
    with pytest.raises(ValueError, match="huge"):
        LuxGridEnv(rules="huge")


def test_episode_reports_lux_stats():
    env = LuxGridEnv(rules="tiny", map_seeds=[4])
    obs, info = env.reset(seed=0)
    assert info["map_seed"] == 4
    S = env.map_size
    rng = np.random.default_rng(0)
    done, turns = False, 0
    while not done:
        assert env.observation_space.contains(obs)
        masks = env.action_masks()
        assert masks.shape == (S * S * NUM_LOGITS,) and masks.dtype == bool
        action = sample_uniform_masked(masks.reshape(S, S, NUM_LOGITS), rng)
        flat = action.reshape(-1)  # the action space is the flat, cell-major (S * S * 7,)
        assert env.action_space.contains(flat)
        # step takes the flat action (stable-baselines3) and the (S, S, 7) one alike
        obs, reward, terminated, truncated, info = env.step(flat if turns % 2 else action)
        assert np.isfinite(reward)
        assert info["invalid_choices"] == 0  # masked samples are never invalid
        done = terminated or truncated
        turns += 1
        assert turns <= 1001
    lux = info["lux"]
    for key in ("ice_dug", "ore_dug", "water_produced", "metal_produced", "lichen", "robots_built",
                "factories_alive", "episode_length", "result"):
        assert key in lux, key
    assert lux["result"] in (-1, 0, 1)
    assert lux["episode_length"] == env.engine.state.real_env_steps
    assert lux["robots_built"] >= 0 and lux["factories_alive"] >= 0


def test_bad_action_shape():
    env = LuxGridEnv(rules="tiny")
    env.reset(seed=1)
    S = env.map_size
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((3, 3, NUM_COMPONENTS), np.int64))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((S, S, NUM_COMPONENTS + 1), np.int64))
    with pytest.raises(ValueError, match="range"):
        env.step(np.full((S, S, NUM_COMPONENTS), 9, np.int64))
    # the env is still usable after rejected actions
    env.step(np.zeros((S, S, NUM_COMPONENTS), np.int64))


def _factory_tiles(s):
    """{team: bool (S, S)}: the 3x3 tiles of each team's factories, from the state's raw dicts (a
    reference independent of GameState's arrays)."""
    S = s.cfg.map_size
    tiles = {}
    for team in (s.player, s.opponent):
        m = np.zeros((S, S), bool)
        for f in s.factories[team].values():
            x, y = f["pos"]
            m[max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = True
        tiles[team] = m
    return tiles


def test_path_planes_match_dijkstra_on_the_state(played):
    """ice_target / ore_target / dist_*_target / home_cost rebuilt from the state's dicts with a
    reference Dijkstra (a path from c costs the step cost of every cell entered, so the cost *to*
    the goal from c is found by searching outward from the goal over the costs of the cells left
    behind), and path_planes on the float16-stored planes gives the same planes."""
    rules, S, states = played
    for p in PLAYERS:
        s = states[p]
        planes, _ = encode(s)
        rob = s.cfg.robot
        step = (np.floor(rob["MOVE_COST"][1] + rob["RUBBLE_MOVEMENT_COST"][1] * s.board["rubble"])
                + rob["ACTION_QUEUE_POWER_COST"][1]).astype(np.float64)
        tiles = _factory_tiles(s)
        step[tiles[s.opponent]] = 10**8
        costs = []
        for f in s.factories[s.player].values():
            goal = np.zeros((S, S), bool)
            x, y = f["pos"]
            goal[max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = True
            costs.append(dijkstra(goal, step))
        assert costs, "every preset places factories"
        free = ~tiles[s.player] & ~tiles[s.opponent]
        walk = np.where(tiles[s.opponent], 10**8, 1.0)
        for res in ("ice", "ore"):
            expect = np.zeros((S, S), np.float32)
            for c in costs:
                score = np.where((s.board[res] > 0) & free, c, np.inf)
                if np.isfinite(score.min()):
                    expect.reshape(-1)[int(np.argmin(score))] = 1.0  # argmin: the lowest x * S + y on a tie
            np.testing.assert_array_equal(planes[P[res + "_target"]], expect, err_msg=res)
            d = dijkstra(expect > 0, walk) if expect.any() else np.full((S, S), np.inf)
            np.testing.assert_allclose(planes[P[f"dist_{res}_target"]],
                                       np.minimum(d, features.DIST_CLIP) / features.DIST_SCALE, atol=1e-6)
        home = np.min(costs, axis=0)
        np.testing.assert_allclose(planes[P["home_cost"]],
                                   np.minimum(home, features.HOME_COST_CLIP) / features.HOME_COST_SCALE, atol=1e-6)
        assert planes[P["ice_target"]].sum() >= 1 and 0 < planes[P["home_cost"]][free].min() < 1
        # stored data: the same path planes from float16 planes whose path planes are garbage
        stored = planes.astype(np.float16)
        stored[list(features.PATH_PLANES)] = 7.0
        features.path_planes(stored, s.cfg)
        np.testing.assert_array_equal(stored, planes.astype(np.float16))
    with pytest.raises(ValueError, match="expected"):
        features.path_planes(np.zeros((NUM_PLANES - 1, S, S), np.float32), s.cfg)


def test_rubble_frontier_matches_a_flood_fill_and_holds_the_teachers_targets(played):
    """rubble_frontier / dist_rubble_frontier rebuilt from the state's dicts with scipy's connected
    components and the reference Dijkstra, and every rubble cell the scripted baseline's LIGHTs
    may target (ScriptedPolicy._rubble_frontier of each factory) is on the plane."""
    from scipy import ndimage

    rules, S, states = played
    for p in PLAYERS:
        s = states[p]
        planes, _ = encode(s)
        b = s.board
        rob = s.cfg.robot
        tiles = _factory_tiles(s)
        factory = tiles[s.player] | tiles[s.opponent]
        resource = (b["ice"] > 0) | (b["ore"] > 0)
        open_ = (b["rubble"] == 0) & ~resource & ~factory
        cross = ndimage.generate_binary_structure(2, 1)
        ring = ndimage.binary_dilation(tiles[s.player], cross) & ~tiles[s.player]
        labels, _ = ndimage.label(open_, cross)
        reach = np.isin(labels, np.unique(labels[ring & open_])) & open_
        light = (np.floor(rob["MOVE_COST"][0] + rob["RUBBLE_MOVEMENT_COST"][0] * b["rubble"])
                 + rob["ACTION_QUEUE_POWER_COST"][0]).astype(np.float64)
        light[tiles[s.opponent]] = 10**8
        near = dijkstra(tiles[s.player], light) <= features.FRONTIER_REACH
        expect = ((ndimage.binary_dilation(reach, cross) | ring) & (b["rubble"] > 0) & ~resource & ~factory
                  & (b["lichen"] == 0) & near)
        np.testing.assert_array_equal(planes[P["rubble_frontier"]], expect.astype(np.float32))
        assert expect.any(), f"{rules}: no frontier to test"
        walk = np.where(tiles[s.opponent], 10**8, 1.0)
        d = dijkstra(expect, walk)
        np.testing.assert_allclose(planes[P["dist_rubble_frontier"]],
                                   np.minimum(d, features.DIST_CLIP) / features.DIST_SCALE, atol=1e-6)
        teacher = ScriptedPolicy(seed=0)
        teacher(s)
        for fi in range(len(s.factories[s.player])):
            targets = teacher._rubble_frontier(fi)
            assert not (targets & ~expect).any(), f"{rules}: a teacher target is off the plane"


@pytest.mark.parametrize("rules", ["tiny", "neurips"])
def test_rank_planes_order_our_robots_by_unit_id_per_factory(rules):
    """robot_rank / robot_last rebuilt from the observation dicts (each of our robots ranked by the
    number in its unit_id among our robots of its class nearest the same factory), turn by turn in
    scripted self-play; and the scripted teacher's ore LIGHT (its first LIGHT at its home, a role the
    net could not see before these planes) is the LIGHT of rank 1 on nearly every robot-turn."""
    env = make_env(rules, max_episode_length=80)
    teacher = {p: ScriptedPolicy(seed=i) for i, p in enumerate(PLAYERS)}
    seen = {"groups": 0, "ranked_2_or_more": 0, "ore_lights": 0, "ore_lights_rank_1": 0}

    def act(p, st):
        planes, _ = encode(st)
        S = st.cfg.map_size
        rank = np.zeros((S, S), np.float32)
        last = np.zeros((S, S), np.float32)
        facs = list(st.factories[st.player].values())
        groups = {}
        for uid, u in st.units[st.player].items():
            dist = [abs(u["pos"][0] - f["pos"][0]) + abs(u["pos"][1] - f["pos"][1]) for f in facs]
            groups.setdefault((dist.index(min(dist)), u["unit_type"]), []).append((int(uid.split("_")[1]), u))
        for members in groups.values():
            members.sort(key=lambda m: m[0])
            for k, (_, u) in enumerate(members):
                rank[u["pos"][0], u["pos"][1]] = min((k + 1) / features.RANK_CLIP, 1.0)
            last[members[-1][1]["pos"][0], members[-1][1]["pos"][1]] = 1.0
            seen["groups"] += 1
            seen["ranked_2_or_more"] += len(members) > 1
        np.testing.assert_allclose(planes[P["robot_rank"]], rank, err_msg=f"robot_rank turn {st.real_env_steps}")
        np.testing.assert_array_equal(planes[P["robot_last"]], last, err_msg=f"robot_last turn {st.real_env_steps}")
        out = teacher[p](st)
        for uid, mem in teacher[p].memory.items():
            u = st.units[st.player].get(uid)
            if u is not None and u["unit_type"] == "LIGHT" and mem.get("role") == "ore":
                seen["ore_lights"] += 1
                seen["ore_lights_rank_1"] += rank[u["pos"][0], u["pos"][1]] == 1 / features.RANK_CLIP
        return decode(st, out)

    with quiet_engine():
        run_game(env, 7, act)
    assert env.state.real_env_steps == 80
    assert seen["ranked_2_or_more"] > 0, f"no factory had two robots of a class: the test checks nothing ({seen})"
    assert seen["ore_lights"] > 0, f"the teacher gave no LIGHT the ore role ({seen})"
    assert seen["ore_lights_rank_1"] >= 0.9 * seen["ore_lights"], seen
