"""The shortcuts that make the per-turn wrapper work cheaper (issue #46: ``GameState.update``,
``action_masks``, ``guarded_masks`` and ``decode``) change no bit of it. Each shortcut is checked
against the straightforward computation it replaced, written out here:

* the unit / factory parsers (one numpy conversion per field) against the checked parsers, on
  engine observations and on input they must hand to the checked parser (floats, strings, rows of
  another length, missing keys);
* the vectorised factory occupancy and own-tile map against the factory-by-factory loop and
  ``np.isin``, including factories on the map's edge and overlapping ones (the loop's order);
* ``decode`` (which corrects only our robots' and factories' entries) against
  ``avoid_own_collisions`` + ``robot_action_vectors`` on the full array, and ``avoid_own_collisions``
  against the original one-round-at-a-time writes, turn after turn of played 64x64 games with
  random masked choices (which collide often), and on a state with two robots on one cell;
* the batched guard helpers (``hold_fills``, ``steps_to_factories``) against ``hold_fill`` and
  ``step_to_factory`` robot by robot, and the ore guard's miner choice against the per-factory loop.

No timing is asserted here (``benchmarks/env_step.py`` measures it)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agent.action_queue import action_power_cost, head_idle, head_moves, head_valid, keep_allowed
from agent.actions import (
    C_AMOUNT, C_FACTORY, C_MOVE, C_TYPE, DIRECTION_DELTAS, F_HEAVY, F_LIGHT, F_NONE, KEEP, MOVE,
    MOVE_DIR_TO_ENGINE, RECHARGE, avoid_own_collisions, decode, robot_action_vectors,
)
from agent.early import early_action
from agent.guards.base import (
    factory_steps, hold_fill, hold_fills, occupied_cells, step_to_factory, steps_to_factories, unit_numbers,
)
from agent.masks import action_masks
from agent.obs import FactoryArrays, GameState, UnitArrays
from agent.policy import sample_uniform_masked
from wrappers.engine import make_env, quiet_engine

PLAYERS = ("player_0", "player_1")
pytestmark = pytest.mark.filterwarnings("ignore:.*Casting input x to numpy array")


def played_states(rules="neurips", seed=3, turns=60, every=1):
    """States of both players over ``turns`` main-phase turns of a game with random masked play."""
    env = make_env(rules)
    raw, _ = env.reset(seed=seed)
    cfg = dataclasses.asdict(env.env_cfg)
    states = {p: GameState(cfg, p) for p in PLAYERS}
    rng = np.random.default_rng(seed)
    main = 0
    while main < turns:
        acts = {}
        for p in PLAYERS:
            s = states[p]
            s.update(raw[p], step=env.env_steps)
            if s.step == 0 or s.is_early_phase:
                acts[p] = early_action(s)
                continue
            cell = sample_uniform_masked(action_masks(s), rng)
            if main % every == 0:
                yield s, cell, rng
            acts[p] = decode(s, cell)
        main += not states[PLAYERS[0]].is_early_phase
        with quiet_engine():
            raw, _, term, trunc, _ = env.step(acts)
        if any(term.values()) or any(trunc.values()):
            return


def random_state(seed, n_units=60, heavies=0.3):
    """A 64x64 main-phase state with random rubble, ice and ore, three factories of ours (two of them
    next to each other's ore), two of theirs, and ``n_units`` robots of ours on distinct cells with
    random types (a share ``heavies`` of HEAVY robots), power, cargo and queue heads (moves off the map
    among them)."""
    rng = np.random.default_rng(seed)
    env_cfg = dataclasses.asdict(make_env("neurips").env_cfg)
    S = 64
    board = dict(rubble=rng.integers(0, 100, (S, S)) * (rng.random((S, S)) < 0.5),
                 ice=(rng.random((S, S)) < 0.02).astype(np.int64), ore=(rng.random((S, S)) < 0.03).astype(np.int64),
                 lichen=np.zeros((S, S), np.int64), lichen_strains=np.full((S, S), -1, np.int64),
                 valid_spawns_mask=np.zeros((S, S), bool), factories_per_team=3)

    def factory(num, x, y):
        return dict(pos=np.array([x, y]), power=int(rng.integers(0, 3000)), unit_id=f"factory_{num}", strain_id=num,
                    cargo=dict(ice=0, ore=0, water=int(rng.integers(0, 500)), metal=int(rng.integers(0, 200))))

    mine = [factory(0, 10, 10), factory(2, 20, 12), factory(4, 40, 45)]
    theirs = [factory(1, 50, 10), factory(3, 30, 50)]
    cells = rng.choice(S * S, 4 * n_units, replace=False)
    cells = [c for c in cells if not any(abs(c // S - f["pos"][0]) <= 1 and abs(c % S - f["pos"][1]) <= 1
                                         for f in theirs)][:n_units - 4]
    cells += [0, S - 1, S * (S - 1), S * S - 1]  # the corners: moves off the map
    units = {}
    for k, c in enumerate(cells):
        heavy = rng.random() < heavies
        head = [int(rng.integers(0, 6)), int(rng.integers(-1, 6)), int(rng.integers(0, 5)), int(rng.integers(-5, 400)),
                int(rng.integers(0, 2)), int(rng.integers(1, 3))]
        units[f"unit_{100 + 7 * k}"] = dict(
            team_id=0, unit_id=f"unit_{100 + 7 * k}", power=int(rng.integers(0, 3000 if heavy else 150)),
            unit_type="HEAVY" if heavy else "LIGHT", pos=np.array([c // S, c % S]),
            cargo=dict(ice=int(rng.integers(0, 50)) * (rng.random() < 0.3), ore=0, water=0, metal=0),
            action_queue=[np.array(head)] if rng.random() < 0.8 else [])
    teams = {p: dict(team_id=i, faction="AlphaStrike", water=0, metal=0, factories_to_place=0, place_first=i == 0,
                     bid=0, factory_strains=[f["strain_id"] for f in fs])
             for i, (p, fs) in enumerate((("player_0", mine), ("player_1", theirs)))}
    obs = dict(units={"player_0": units, "player_1": {}}, teams=teams, board=board, real_env_steps=100, global_id=0,
               factories={"player_0": {f["unit_id"]: f for f in mine}, "player_1": {f["unit_id"]: f for f in theirs}})
    return GameState.from_obs(obs, env_cfg, "player_0")


def same_arrays(a, b, names):
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, list):
            assert x == y, name
        else:
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name


UNIT_FIELDS = ("ids", "pos", "heavy", "power", "cargo", "queue_len", "head")
FACTORY_FIELDS = ("ids", "pos", "power", "cargo", "strain")


def checked_units(d):
    u = UnitArrays.__new__(UnitArrays)
    u._parse_checked(d)
    return u


def checked_factories(d):
    f = FactoryArrays.__new__(FactoryArrays)
    f._parse_checked(d)
    return f


def test_parsers_equal_the_checked_parsers_on_engine_observations():
    n = 0
    for s, _, _ in played_states(turns=25, every=5):
        for p in PLAYERS:
            units, factories = s.units[p], s.factories[p]
            same_arrays(UnitArrays(units), checked_units(units), UNIT_FIELDS)
            same_arrays(FactoryArrays(factories), checked_factories(factories), FACTORY_FIELDS)
            n += len(units)
    assert n > 50


def test_parsers_hand_odd_input_to_the_checked_parsers():
    def unit(**kw):
        d = dict(unit_type="LIGHT", pos=[3, 4], power=7, cargo=dict(ice=1, ore=2, water=3, metal=4),
                 action_queue=[[0, 2, 0, 0, 0, 1]])
        d.update(kw)
        return d

    odd = [
        dict(pos=[3.9, 4.0]), dict(pos=np.array([3, 4], np.int32)), dict(pos=[3, 4, 5]), dict(pos=("3", "4")),
        dict(power=7.9), dict(power="12"), dict(power=np.int64(5)), dict(pos=[True, 4]),
        dict(cargo=dict(ice=1.5, ore=2, water=3, metal=4)), dict(cargo=dict(ice=np.int32(1), ore=2, water=3, metal=4)),
        dict(action_queue=[np.array([0, 2, 0, 0, 0, 1.0])]), dict(action_queue=[]),
    ]
    for kw in odd:
        units = {"unit_1": unit(), "unit_2": unit(**kw)}
        same_arrays(UnitArrays(units), checked_units(units), UNIT_FIELDS)
    f = dict(pos=[5, 6], power=100, cargo=dict(ice=0, ore=0, water=50, metal=10), strain_id=3)
    for kw in (dict(pos=[5.5, 6]), dict(power=np.int64(7)), dict(strain_id="4"), dict(pos=[5, 6, 7])):
        factories = {"factory_3": f, "factory_4": dict(f, **kw)}
        same_arrays(FactoryArrays(factories), checked_factories(factories), FACTORY_FIELDS)
    # the fast parsers raise on anything the checked parsers raise on
    from agent.obs import ObservationError
    for bad in ({"u": unit(unit_type="MEDIUM")}, {"u": unit(cargo=[1, 2, 3, 4])}, {"u": [1, 2]},
                {"u": {k: v for k, v in unit().items() if k != "power"}}):
        with pytest.raises(ObservationError):
            UnitArrays(bad)
    with pytest.raises(ObservationError):
        FactoryArrays({"f": {k: v for k, v in f.items() if k != "strain_id"}})


def loop_occupancy(state):
    S = state.cfg.map_size
    occ = np.full((S, S), -1, np.int64)
    for fa in (state.my_factories, state.opp_factories):
        for (x, y), s in zip(fa.pos, fa.strain):
            occ[max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = s
    return occ


@pytest.mark.parametrize("layout", ["inside", "edge", "overlap", "negative_strain"])
def test_factory_occupancy_and_own_tiles_equal_the_loop(layout):
    s = next(played_states(turns=1))[0]
    my = {"factory_0": dict(pos=[10, 10], power=1, cargo=dict(ice=0, ore=0, water=0, metal=0), strain_id=0),
          "factory_2": dict(pos=[30, 40], power=1, cargo=dict(ice=0, ore=0, water=0, metal=0), strain_id=2)}
    opp = {"factory_1": dict(pos=[50, 12], power=1, cargo=dict(ice=0, ore=0, water=0, metal=0), strain_id=1)}
    if layout == "edge":
        my["factory_2"]["pos"] = [0, 63]
    elif layout == "overlap":
        opp["factory_1"]["pos"] = [11, 11]  # over our factory_0: the later (theirs) wins, as in the loop
    elif layout == "negative_strain":
        opp["factory_1"]["strain_id"] = -3
    s.my_factories, s.opp_factories = FactoryArrays(my), FactoryArrays(opp)
    occ = s.factory_occupancy()
    ref = loop_occupancy(s)
    assert np.array_equal(occ, ref)
    own = s.own_factory_tiles()
    assert np.array_equal(own, np.isin(ref, s.my_factories.strain) & (ref != -1))
    assert not occ.flags.writeable and not own.flags.writeable


def reference_avoid(state, cell_actions):
    """avoid_own_collisions as it was first written: the full array, one round of stops at a time."""
    a = np.array(cell_actions, dtype=np.int64, copy=True)
    u = state.my_units
    n = len(u)
    if n == 0:
        return a
    x, y = u.pos[:, 0], u.pos[:, 1]
    occ = state.factory_occupancy()
    keep_ok = keep_allowed(state, occ)
    walks = head_moves(state)
    rtype = a[x, y, C_TYPE]
    moving = (rtype == MOVE) | ((rtype == KEEP) & walks & head_valid(state, occ))
    direction = np.where(rtype == MOVE, MOVE_DIR_TO_ENGINE[a[x, y, C_MOVE]], np.clip(u.head[:, 1], 0, 4))
    delta = DIRECTION_DELTAS[direction]
    can_pay = u.power >= state.cfg.robot["ACTION_QUEUE_POWER_COST"][u.heavy.astype(np.int64)]
    stop_keep = keep_ok & ~walks & (head_idle(state) | ~can_pay)
    can_stop = stop_keep | can_pay
    S = state.cfg.map_size
    rank = np.empty(n, np.int64)
    rank[np.lexsort((-u.power, -u.heavy.astype(np.int64)))] = np.arange(n)
    while True:
        cell = np.where(moving, x + delta[:, 0], x) * S + np.where(moving, y + delta[:, 1], y)
        order = np.lexsort((rank, moving, cell))
        c = cell[order]
        first = np.ones(n, bool)
        first[1:] = c[1:] != c[:-1]
        losers = order[~first & moving[order] & can_stop[order]]
        if len(losers) == 0:
            break
        moving[losers] = False
        k, r = losers[stop_keep[losers]], losers[~stop_keep[losers]]
        a[x[k], y[k], C_TYPE] = KEEP
        a[x[r], y[r], C_TYPE] = RECHARGE
        a[x[r], y[r], C_AMOUNT] = 0
    f = state.my_factories
    if len(f):
        occupied = np.zeros((S, S), bool)
        occupied[np.where(moving, x + delta[:, 0], x), np.where(moving, y + delta[:, 1], y)] = True
        fx, fy = f.pos[:, 0], f.pos[:, 1]
        build = np.isin(a[fx, fy, C_FACTORY], (F_LIGHT, F_HEAVY)) & occupied[fx, fy]
        a[fx[build], fy[build], C_FACTORY] = F_NONE
    return a


def reference_decode(state, cell_actions):
    a = reference_avoid(state, cell_actions)
    vecs, send = robot_action_vectors(state, a)
    out = {state.my_units.ids[i]: [[int(v) for v in vecs[i]]] for i in np.flatnonzero(send)}
    f = state.my_factories
    choice = a[f.pos[:, 0], f.pos[:, 1], C_FACTORY]
    for i in np.flatnonzero(choice != F_NONE):
        out[f.ids[i]] = (None, 0, 1, 2)[int(choice[i])]
    return out


def test_decode_equals_the_full_array_composition_turn_after_turn():
    stopped = turns = 0
    for s, cell, rng in played_states(turns=80):
        for c in (cell, cell.astype(np.int8)):
            ref = reference_avoid(s, c)
            got = avoid_own_collisions(s, c)
            assert got.dtype == np.int64 and np.array_equal(got, ref)
            assert decode(s, c) == reference_decode(s, c)
        stopped += int((ref != cell).any())
        turns += 1
    assert turns >= 100 and stopped >= 10  # the stops were exercised


def test_decode_with_two_robots_on_one_cell_writes_the_full_array():
    s = next(st for st, _, _ in played_states(turns=80) if len(st.my_units) >= 4)
    units = dict(s.units[s.player])
    ids = list(units)
    units[ids[1]] = dict(units[ids[1]], pos=np.array(units[ids[0]]["pos"]))  # never in a game
    s.my_units = UnitArrays(units)
    rng = np.random.default_rng(0)
    for _ in range(20):
        cell = sample_uniform_masked(action_masks(s), rng)
        cell[s.my_units.pos[:, 0], s.my_units.pos[:, 1], C_TYPE] = MOVE
        assert np.array_equal(avoid_own_collisions(s, cell), reference_avoid(s, cell))
        assert decode(s, cell) == reference_decode(s, cell)


def test_action_power_cost_of_heads_equals_the_formula():
    for s in [random_state(seed) for seed in range(4)] + [st for st, _, _ in played_states(turns=30, every=3)]:
        u = s.my_units
        if not len(u):
            continue
        idx = np.arange(len(u))
        got = action_power_cost(s, u.head, idx)
        r = s.cfg.robot
        for i in idx:
            typ, d = int(u.head[i, 0]), int(u.head[i, 1])
            h = int(u.heavy[i])
            want = 0
            if typ == 0 and 1 <= d <= 4:
                tx, ty = u.pos[i] + DIRECTION_DELTAS[d]
                if 0 <= tx < s.cfg.map_size and 0 <= ty < s.cfg.map_size:
                    want = int(np.floor(r["MOVE_COST"][h] + r["RUBBLE_MOVEMENT_COST"][h] * s.board["rubble"][tx, ty]))
            elif typ == 3:
                want = int(r["DIG_COST"][h])
            elif typ == 4:
                want = int(r["SELF_DESTRUCT_COST"][h])
            elif typ == 1 and u.head[i, 2] == 4:
                want = max(int(u.head[i, 3]), 0)
            assert got[i] == want


def test_batched_guard_helpers_equal_the_robot_by_robot_ones():
    checked = 0
    for s, _, rng in played_states(turns=60, every=4):
        u, f = s.my_units, s.my_factories
        if len(u) < 2 or len(f) == 0:
            continue
        masks = action_masks(s)
        occupied = occupied_cells(s.cfg.map_size, u.pos[:, 0], u.pos[:, 1])
        idx = np.flatnonzero(rng.random(len(u)) < 0.6)
        homes = rng.integers(0, len(f), len(idx))
        one, many = masks.copy(), masks.copy()
        for i, k in zip(idx, homes):
            step_to_factory(one, u, i, f, k, occupied)
        steps_to_factories(many, u, idx, f, homes, occupied)
        assert np.array_equal(one, many)
        one, many = masks.copy(), masks.copy()
        for i in idx:
            hold_fill(one, int(u.pos[i, 0]), int(u.pos[i, 1]))
        hold_fills(many, u.pos[idx, 0], u.pos[idx, 1])
        assert np.array_equal(one, many)
        checked += len(idx)
    assert checked > 50


def test_ore_miner_choice_equals_the_loop():
    """guard_ore picks, per factory with one HEAVY and ore near, its LIGHT with the lowest unit
    number; the vectorised choice against the loop it replaced, on random homes and types."""
    from agent.guards import ore

    calls = []
    real = ore.hold_miners

    def spy(state, masks, robots, homes, *a):
        calls.append((robots.copy(), homes.copy()))
        return real(state, masks, robots, homes, *a)

    ore.hold_miners = spy
    try:
        seen = 0
        for seed in range(12):
            s = random_state(seed, heavies=0.05)
            u, f = s.my_units, s.my_factories
            if not len(u) or not len(f):
                continue
            calls.clear()
            ore.guard_ore(s, action_masks(s))
            if not calls:
                continue
            heavy = u.heavy.astype(bool)
            home = factory_steps(u.pos[:, 0], u.pos[:, 1], f).argmin(1)
            n_heavy = np.bincount(home[heavy], minlength=len(f))
            free = s.board["ore"] > 0
            free[u.pos[:, 0], u.pos[:, 1]] = False
            cells = np.argwhere(free)
            near = factory_steps(cells[:, 0], cells[:, 1], f).min(0) <= ore.ORE_GUARD_STEPS
            uid = unit_numbers(u)
            miners, homes = [], []
            for k in np.flatnonzero((n_heavy == 1) & near):
                lights = np.flatnonzero(~heavy & (home == k))
                if len(lights):
                    miners.append(lights[uid[lights].argmin()])
                    homes.append(k)
            assert calls[0][0].tolist() == miners and calls[0][1].tolist() == homes
            seen += len(miners) and max(np.bincount(home[~heavy], minlength=len(f))[homes]) > 1
        assert seen > 3  # factories with more than one LIGHT to choose from
    finally:
        ore.hold_miners = real


def test_change_observation_deltas_equal_the_key_by_key_loop():
    """The deltas of a change observation written at once equal the key-by-key writes, and odd
    deltas (floats, bools, spaces, keys off the map or of three numbers) are left to that loop,
    which writes or raises as before."""
    from agent.obs import ObservationError

    s = next(played_states(turns=1))[0]
    full = dict(board={k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.board.items()},
                units=s.units, factories=s.factories, teams=s.teams, real_env_steps=s.real_env_steps)
    cases = [
        {"3,4": 7, "0,63": 2, "63,0": np.int64(5)},
        {"3,4": 7.9, "5,6": 1}, {"3,4": True}, {" 3, 4": 9}, {"+3,4": 2},
        {"3,64": 1}, {"-1,4": 1}, {"3,4,5": 1}, {"3": 1}, {"a,b": 1}, {},
    ]
    for delta in cases:
        ref = full["board"]["rubble"].copy()
        error = None
        try:
            for key, v in delta.items():
                x, y = (int(c) for c in key.split(","))
                if x < 0 or y < 0:
                    raise IndexError(key)
                ref[x, y] = v
        except (ValueError, IndexError):
            error = ObservationError
        change = dict(full, board=dict(rubble=delta, lichen={}, lichen_strains={}, factories_per_team=1))
        st = GameState(s.cfg, s.player).update(full, step=s.step)
        if error is None:
            st.update(change, step=s.step + 1)
            assert st.board["rubble"].dtype == np.int64 and np.array_equal(st.board["rubble"], ref), delta
        else:
            with pytest.raises(error):
                st.update(change, step=s.step + 1)
