"""GameState rebuilt from the runner's JSON protocol equals the engine's full observation.

Real games of ``luxai_s2.env.LuxAI_S2`` are played turn by turn; the JSON lines are built
exactly as ``luxai_runner.episode.Episode.run`` builds them (first line: the full
``get_compressed_obs()`` with ``info["env_cfg"]``; then ``get_change_obs(previous full obs)``,
whose board layers ``rubble``/``lichen``/``lichen_strains`` are ``{"x,y": v}`` deltas and which
omit ``ice``/``ore`` and, after placement, ``valid_spawns_mask``). Both players parse every line
with ``agent.obs.parse_protocol_line`` into a ``GameState``, and on every turn that state must
equal ``canonical_obs(env.state.get_obs())``. A second pair of states fed the engine's full
observation dicts directly must match too. Both players act as a bot would (heuristic early
phase, then uniform random masked choices), from their protocol-fed state.

The second half checks that malformed input raises ``ObservationError`` naming the problem.
"""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
from luxai_runner.utils import to_json

from agent.actions import decode
from agent.early import early_action
from agent.masks import action_masks
from agent.obs import (
    CARGO, GameState, ObservationError, UnitArrays, canonical_obs, isin_int, parse_protocol_line,
)
from agent.policy import sample_uniform_masked
from wrappers.engine import make_env, quiet_engine

PLAYERS = ("player_0", "player_1")
# the engine's own action-space check warns when actions are lists (as decode returns them)
pytestmark = pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array")

# (rules preset, map seed); uniform random games end when a side loses all its factories
# (~50-160 turns), so each game is a few seconds at most.
GAMES = [("neurips", 4), ("kaggle", 3), ("small", 2), ("tiny", 4)]


def _protocol_line(obs_json, step, player, env_cfg=None):
    """One stdin line as ``luxai_runner.bot.Bot.step`` writes it (json.dumps of this dict)."""
    info = {"env_cfg": env_cfg} if env_cfg is not None else {}
    return json.dumps(dict(obs=obs_json, step=step, remainingOverageTime=60, player=player,
                           reward=0, info=info))


def _check_arrays(state):
    """The per-player arrays (UnitArrays/FactoryArrays) agree with the raw unit/factory dicts."""
    for arrays, units in ((state.my_units, state.units[state.player]),
                          (state.opp_units, state.units[state.opponent])):
        assert arrays.ids == list(units)
        for i, u in enumerate(units.values()):
            assert tuple(arrays.pos[i]) == tuple(int(v) for v in u["pos"])
            assert arrays.heavy[i] == (u["unit_type"] == "HEAVY")
            assert arrays.power[i] == u["power"]
            assert list(arrays.cargo[i]) == [u["cargo"][r] for r in CARGO]
            q = u["action_queue"]
            assert arrays.queue_len[i] == len(q)
            assert list(arrays.head[i]) == ([int(v) for v in q[0]] if len(q) else [-1] * 6)
        for name in ("pos", "power", "cargo", "queue_len", "head"):
            assert getattr(arrays, name).dtype == np.int64
        assert arrays.heavy.dtype == bool
    for arrays, facs in ((state.my_factories, state.factories[state.player]),
                         (state.opp_factories, state.factories[state.opponent])):
        assert arrays.ids == list(facs)
        for i, f in enumerate(facs.values()):
            assert tuple(arrays.pos[i]) == tuple(int(v) for v in f["pos"])
            assert arrays.strain[i] == f["strain_id"] and arrays.power[i] == f["power"]
    # our factory tiles: the 3x3 around each of our factories' centers, from the raw dicts
    S = state.cfg.map_size
    own = np.zeros((S, S), bool)
    for f in state.factories[state.player].values():
        x, y = (int(v) for v in f["pos"])
        own[max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = True
    assert np.array_equal(state.own_factory_tiles(), own)
    assert state.own_factory_tiles() is state.own_factory_tiles()  # cached per observation


def _play_and_check(rules, seed):
    """Play one game, checking the protocol-fed and dict-fed states on every turn.

    Returns a dict of counters proving the change-observation path was exercised.
    """
    env = make_env(rules)
    raw, _ = env.reset(seed=seed)
    env_cfg = dataclasses.asdict(env.state.env_cfg)
    # --- as Episode.run: first obs is the compressed (== full, at env_steps 0) obs
    state_obs = env.state.get_compressed_obs()
    wire = to_json(state_obs)
    proto = {p: None for p in PLAYERS}  # GameState built from the first protocol line
    direct = {p: GameState(env_cfg, p) for p in PLAYERS}
    rng = np.random.default_rng(seed)
    seen = dict(turns=0, main_turns=0, rubble_deltas=0, lichen_deltas=0, strain_deltas=0,
                robots_max=0)
    first = True
    while True:
        step = env.env_steps
        for p in PLAYERS:
            line = _protocol_line(wire, step, p, env_cfg if first else None)
            msg = parse_protocol_line(line)
            assert msg["player"] == p and msg["step"] == step
            assert msg["remaining_overage"] == 60.0
            if first:
                assert msg["env_cfg"] == json.loads(json.dumps(env_cfg))
                proto[p] = GameState(msg["env_cfg"], p)
            else:
                assert msg["env_cfg"] is None
            proto[p].update(msg["obs"], step=msg["step"])
        if not first:
            b = wire["board"]
            assert isinstance(b["rubble"], dict) and "ice" not in b and "ore" not in b
            seen["rubble_deltas"] += len(b["rubble"])
            seen["lichen_deltas"] += len(b["lichen"])
            seen["strain_deltas"] += len(b["lichen_strains"])
        full = canonical_obs(env.state.get_obs())
        for p in PLAYERS:
            direct[p].update(raw[p], step=step)
            assert proto[p].step == step
            assert proto[p].real_env_steps == env.state.real_env_steps
            assert proto[p].to_obs() == full, f"{rules} seed {seed}: {p} protocol state differs at step {step}"
            assert direct[p].to_obs() == full, f"{rules} seed {seed}: {p} dict-fed state differs at step {step}"
            _check_arrays(proto[p])
            _check_arrays(direct[p])
        first = False
        seen["turns"] += 1
        acts = {}
        for p in PLAYERS:
            s = proto[p]
            if s.is_early_phase:
                acts[p] = early_action(s)
            else:
                acts[p] = decode(s, sample_uniform_masked(action_masks(s), rng))
        if not proto["player_0"].is_early_phase:
            seen["main_turns"] += 1
            seen["robots_max"] = max(seen["robots_max"], len(env.state.units["player_0"]))
        # the runner turns list actions into arrays; the engine accepts both
        acts = copy.deepcopy(acts)
        with quiet_engine():
            raw, rewards, term, trunc, _ = env.step(acts)
        # --- as Episode.run: change obs against the previous full obs (player_0's)
        wire = to_json(env.state.get_change_obs(state_obs))
        state_obs = raw["player_0"]
        if any(term[p] or trunc[p] for p in PLAYERS):
            break
    # the state after the last step must match too
    for p in PLAYERS:
        msg = parse_protocol_line(_protocol_line(wire, env.env_steps, p))
        proto[p].update(msg["obs"], step=msg["step"])
        direct[p].update(raw[p], step=env.env_steps)
        full = canonical_obs(env.state.get_obs())
        assert proto[p].to_obs() == full
        assert direct[p].to_obs() == full
    return seen


@pytest.mark.parametrize("rules,seed", GAMES)
def test_protocol_stream_matches_engine_every_turn(rules, seed):
    seen = _play_and_check(rules, seed)
    assert seen["main_turns"] >= 20, seen
    # the change-observation path was really exercised
    assert seen["rubble_deltas"] > 0, seen
    assert seen["lichen_deltas"] > 0 and seen["strain_deltas"] > 0, seen
    assert seen["robots_max"] > 0, seen


def test_obs_as_json_string_inside_line():
    """Kaggle passes ``obs`` as a JSON string; parse_protocol_line decodes it."""
    env = make_env("tiny")
    env.reset(seed=5)
    env_cfg = dataclasses.asdict(env.state.env_cfg)
    obs = to_json(env.state.get_compressed_obs())
    line = json.dumps(dict(obs=json.dumps(obs), step=0, remainingOverageTime=60,
                           player="player_1", reward=0, info={"env_cfg": env_cfg}))
    msg = parse_protocol_line(line)
    s = GameState(msg["env_cfg"], "player_1").update(msg["obs"], step=msg["step"])
    assert s.to_obs() == canonical_obs(env.state.get_obs())
    # GameState.update also takes the JSON text itself
    s2 = GameState(env_cfg, "player_1").update(json.dumps(obs), step=0)
    assert s2.to_obs() == s.to_obs()


# ---------------------------------------------------------------------- malformed input
@pytest.fixture(scope="module")
def game():
    """env_cfg, the full obs at step 0 and a change obs after one step (all JSON-ready)."""
    env = make_env("tiny")
    env.reset(seed=7)
    env_cfg = json.loads(json.dumps(dataclasses.asdict(env.state.env_cfg)))
    prev = env.state.get_compressed_obs()
    full = to_json(prev)
    with quiet_engine():
        env.step({"player_0": {"faction": "AlphaStrike", "bid": 0},
                  "player_1": {"faction": "AlphaStrike", "bid": 0}})
    change = to_json(env.state.get_change_obs(prev))
    return env_cfg, full, change


def _with_unit(full, unit_type):
    obs = copy.deepcopy(full)
    obs["units"]["player_0"] = {"unit_1": dict(
        team_id=0, unit_id="unit_1", power=50, unit_type=unit_type, pos=[3, 4],
        cargo=dict(ice=0, ore=0, water=0, metal=0), action_queue=[])}
    return obs


def test_error_not_json():
    with pytest.raises(ObservationError, match="not valid JSON"):
        parse_protocol_line("{this is not json")
    with pytest.raises(ObservationError, match="not valid JSON"):
        parse_protocol_line(json.dumps({"obs": "{nope", "step": 0, "player": "player_0"}))


def test_error_not_json_obs_text(game):
    env_cfg, _, _ = game
    with pytest.raises(ObservationError, match="not valid JSON"):
        GameState(env_cfg, "player_0").update("[[[")


@pytest.mark.parametrize("key", ["board", "units"])
def test_error_missing_top_level_key(game, key):
    env_cfg, full, _ = game
    obs = copy.deepcopy(full)
    del obs[key]
    with pytest.raises(ObservationError, match=f"'{key}'"):
        GameState(env_cfg, "player_0").update(obs)


def test_error_missing_protocol_keys():
    with pytest.raises(ObservationError, match="'obs'"):
        parse_protocol_line(json.dumps({"step": 0, "player": "player_0"}))
    with pytest.raises(ObservationError, match="'step'"):
        parse_protocol_line(json.dumps({"obs": {}, "player": "player_0"}))


def test_error_change_obs_before_full(game):
    env_cfg, _, change = game
    with pytest.raises(ObservationError, match="change observation|no earlier full observation"):
        GameState(env_cfg, "player_0").update(change)


def test_error_board_wrong_shape(game):
    env_cfg, full, _ = game
    obs = copy.deepcopy(full)
    obs["board"]["rubble"] = np.zeros((10, 10), np.int64).tolist()
    with pytest.raises(ObservationError, match=r"rubble.*shape \(10, 10\)"):
        GameState(env_cfg, "player_0").update(obs)
    obs = copy.deepcopy(full)
    obs["board"]["valid_spawns_mask"] = [[True] * 16] * 15
    with pytest.raises(ObservationError, match=r"valid_spawns_mask.*shape \(15, 16\)"):
        GameState(env_cfg, "player_0").update(obs)


def test_error_unknown_unit_type(game):
    env_cfg, full, _ = game
    GameState(env_cfg, "player_0").update(_with_unit(full, "HEAVY"))  # the fixture is valid
    with pytest.raises(ObservationError, match="unknown unit_type 'MEDIUM'"):
        GameState(env_cfg, "player_0").update(_with_unit(full, "MEDIUM"))


def test_error_map_size_40(game):
    env_cfg, _, _ = game
    cfg = dict(env_cfg, map_size=40)
    with pytest.raises(ObservationError, match="map_size=40"):
        GameState(cfg, "player_0")


def test_error_bad_delta_key(game):
    env_cfg, full, change = game
    s = GameState(env_cfg, "player_0").update(full, step=0)
    bad = copy.deepcopy(change)
    bad["board"]["rubble"] = {"a,b": 3}
    with pytest.raises(ObservationError, match="delta key 'a,b'"):
        s.update(bad, step=1)
    off_map = copy.deepcopy(change)
    off_map["board"]["lichen"] = {"99,0": 3}
    with pytest.raises(ObservationError, match="delta key '99,0'"):
        GameState(env_cfg, "player_0").update(full, step=0).update(off_map, step=1)
    negative = copy.deepcopy(change)
    negative["board"]["lichen_strains"] = {"-1,0": 3}  # must not wrap around to the last column
    with pytest.raises(ObservationError, match="delta key '-1,0'"):
        GameState(env_cfg, "player_0").update(full, step=0).update(negative, step=1)
    three = copy.deepcopy(change)
    three["board"]["rubble"] = {"1,2,3": 3}
    with pytest.raises(ObservationError, match="delta key '1,2,3'"):
        GameState(env_cfg, "player_0").update(full, step=0).update(three, step=1)


def test_error_bad_player(game):
    env_cfg, _, _ = game
    with pytest.raises(ObservationError, match="player"):
        GameState(env_cfg, "player_2")


def test_unit_arrays_fast_and_checked_parsers_agree(game):
    _, full, _ = game
    units = {
        "unit_1": dict(unit_type="LIGHT", pos=[3, 4], power=7, cargo=dict(ice=1, ore=2, water=3, metal=4),
                       action_queue=[np.array([0, 2, 0, 0, 0, 1])]),
        "unit_9": dict(unit_type="HEAVY", pos=np.array([15, 0]), power=np.int64(3000),
                       cargo=dict(ice=0, ore=0, water=0, metal=0), action_queue=[]),
    }
    fast = UnitArrays(units)
    checked = UnitArrays.__new__(UnitArrays)
    checked._parse_checked(units)
    for name in ("ids", "pos", "heavy", "power", "cargo", "queue_len", "head"):
        a, b = getattr(fast, name), getattr(checked, name)
        if isinstance(a, list):
            assert a == b
        else:
            assert a.dtype == b.dtype and a.shape == b.shape and (a == b).all(), name
    assert len(UnitArrays({})) == 0 and UnitArrays({}).pos.shape == (0, 2)
    bad = {"u": dict(units["unit_1"], action_queue=[[0, 1, 2]])}
    with pytest.raises(ObservationError, match="length 3"):
        UnitArrays(bad)
    with pytest.raises(ObservationError, match="'cargo'"):
        UnitArrays({"u": {k: v for k, v in units["unit_1"].items() if k != "cargo"}})


def test_isin_int_matches_numpy():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lo, hi = sorted(rng.integers(-5, 30, 2))
        values = rng.integers(lo, hi + 1, size=(rng.integers(1, 9), rng.integers(1, 9)))
        ids = rng.integers(-8, 35, size=rng.integers(0, 6))
        np.testing.assert_array_equal(isin_int(values, ids), np.isin(values, ids))
    wide = np.array([[-(10 ** 9), 5], [10 ** 9, 7]])
    np.testing.assert_array_equal(isin_int(wide, [5, 10 ** 9]), np.isin(wide, [5, 10 ** 9]))
    huge = np.array([2 ** 64 - 2, 2 ** 64 - 1], dtype=np.uint64)
    np.testing.assert_array_equal(isin_int(huge, np.array([2 ** 64 - 1], np.uint64)), [False, True])
    floats = np.array([1.0, 2.5])
    np.testing.assert_array_equal(isin_int(floats, [2.5]), [False, True])
    np.testing.assert_array_equal(isin_int(np.array([1, 2]), np.array([2.5, 1.0])), [True, False])


def test_failed_update_leaves_state_unchanged(game):
    """A malformed turn raises and changes nothing; the next good turn applies as if it never came."""
    env_cfg, full, change = game
    st = GameState(env_cfg, "player_0").update(full, step=0)
    before = st.to_obs()
    for bad in (_with_unit(change, "MEDIUM"), {k: v for k, v in change.items() if k != "units"}):
        with pytest.raises(ObservationError):
            st.update(bad, step=1)
        assert st.to_obs() == before and st.step == 0
    ref = GameState(env_cfg, "player_0").update(full, step=0).update(change, step=1)
    st.update(change, step=1)
    assert st.to_obs() == ref.to_obs()
    assert np.array_equal(st.prev_lichen, ref.prev_lichen)
