"""One focused test per rule of :func:`agent.masks.action_masks`, plus :func:`agent.actions.decode`,
and one or more per decoding guard of :data:`agent.guards.REGISTRY`.

Every rule test builds a :class:`agent.obs.GameState` from a hand-made full observation on a
16x16 map (rules of ``luxai_s2.config.EnvConfig(map_size=16)``) with our factory ``factory_0``
centred at (4, 4), the opponent's ``factory_1`` centred at (11, 11), and the robot(s) placed where
the rule bites. The rule table and its engine sources are in ``agent/masks.py``'s docstring.

The last test plays a real ``LuxAI_S2`` game and checks, every turn, that
:func:`agent.masks.water_cost_bound` is >= the engine's real watering cost, both the one
``validate_actions`` will see (``Factory.water_cost`` of the cache left by the previous step) and
the one ``_handle_factory_water_actions`` sees at execution.
"""

import dataclasses
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
from luxai_s2.config import EnvConfig
from luxai_s2.env import LuxAI_S2
from luxai_s2.factory import Factory
from luxai_s2.team import FactionTypes, Team
from luxai_s2.unit import Unit, UnitType

from agent.actions import (
    C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, F_HEAVY, F_LIGHT, F_NONE,
    F_WATER, KEEP, MOVE, NUM_COMPONENTS, NUM_LOGITS, OFFSETS, PICKUP, RECHARGE, SELF_DESTRUCT,
    TRANSFER, component_slice, decode,
)
from agent.early import early_action
from agent.features import P as PLANE, encode, home_cost_map
from agent.guards import guarded_masks
from agent.guards.frontier import guard_frontier
from agent.guards.heavy_rubble import (
    HEAVY_RUBBLE_FILL, HEAVY_RUBBLE_MARGIN, HEAVY_RUBBLE_RESERVE, HEAVY_RUBBLE_WATER, guard_heavy_rubble,
)
from agent.guards.ice import ICE_GUARD_LOAD, ICE_GUARD_WATER, guard_ice
from agent.guards.light_power import (
    LIGHT_HOME_COST_DIVISOR, LIGHT_POWER_FILL, LIGHT_POWER_MARGIN, LIGHT_POWER_RESERVE, guard_light_power,
)
from agent.guards.ore import ORE_GUARD_BUILD_POWER, ORE_GUARD_LOAD, guard_ore
from agent.guards.park import PARK_GUARD_FRACTION, guard_park
from agent.guards.power import guard_power
from agent.guards.raid import RAID_DIGS, RAID_TURNS, RAID_WATER, guard_raid
from agent.guards.rubble import RUBBLE_GUARD_POWER, RUBBLE_GUARD_STEPS, guard_rubble
from agent.guards.water import WATER_GUARD_MARGIN, guard_water, water_reserve_ok
from agent.masks import action_masks, water_cost_bound
from agent.obs import GameState
from agent.policy import sample_masked
from wrappers.engine import make_env

S = 16
CFG = EnvConfig(map_size=S)
ENV_CFG = dataclasses.asdict(CFG)
LIGHT = CFG.ROBOTS["LIGHT"]
HEAVY = CFG.ROBOTS["HEAVY"]
MY_FACTORY = (4, 4)  # factory_0 of player_0, covers x, y in 3..5
OPP_FACTORY = (11, 11)  # factory_1 of player_1, covers x, y in 10..12

# move_dir choices (agent.actions): up, right, down, left; transfer_dir: center, up, right, down, left
UP, RIGHT, DOWN, LEFT = range(4)
T_CENTER, T_UP, T_RIGHT, T_DOWN, T_LEFT = range(5)
ICE, ORE, WATER, METAL, POWER = range(5)


def ucfg(heavy):
    return HEAVY if heavy else LIGHT


def unit(uid, x, y, heavy=False, power=100, cargo=None, queue=(), team=0):
    c = dict(ice=0, ore=0, water=0, metal=0)
    c.update(cargo or {})
    return dict(team_id=team, unit_id=uid, power=power, unit_type="HEAVY" if heavy else "LIGHT",
                pos=np.array([x, y]), cargo=c, action_queue=[np.array(a) for a in queue])


def factory(num, x, y, team=0, power=1000, cargo=None):
    c = dict(ice=0, ore=0, water=100, metal=100)
    c.update(cargo or {})
    return dict(pos=np.array([x, y]), power=power, cargo=c, unit_id=f"factory_{num}",
                strain_id=num, team_id=team)


def make_obs(my_units=(), opp_units=(), my_factories=None, opp_factories=None, board=None):
    """A full observation of a main-phase turn; ``board`` overrides layers ({name: {(x, y): v}})."""
    b = dict(
        rubble=np.zeros((S, S), np.int64), ice=np.zeros((S, S), np.int64),
        ore=np.zeros((S, S), np.int64), lichen=np.zeros((S, S), np.int64),
        lichen_strains=np.full((S, S), -1, np.int64), valid_spawns_mask=np.zeros((S, S), bool),
        factories_per_team=1,
    )
    for name, cells in (board or {}).items():
        for (x, y), v in cells.items():
            b[name][x, y] = v
    if my_factories is None:
        my_factories = [factory(0, *MY_FACTORY)]
    if opp_factories is None:
        opp_factories = [factory(1, *OPP_FACTORY, team=1)]
    teams = {
        p: dict(team_id=i, faction="AlphaStrike", water=0, metal=0, factories_to_place=0,
                factory_strains=[int(f["strain_id"]) for f in fs], place_first=i == 0, bid=0)
        for i, (p, fs) in enumerate((("player_0", my_factories), ("player_1", opp_factories)))
    }
    return dict(
        units={"player_0": {u["unit_id"]: u for u in my_units},
               "player_1": {u["unit_id"]: u for u in opp_units}},
        factories={"player_0": {f["unit_id"]: f for f in my_factories},
                   "player_1": {f["unit_id"]: f for f in opp_factories}},
        teams=teams, board=b, real_env_steps=10, global_id=100,
    )


def make_state(player="player_0", **kw):
    return GameState.from_obs(make_obs(**kw), ENV_CFG, player)


def comp(masks, xy, k):
    """bool choices of component k at cell xy."""
    return masks[xy[0], xy[1], component_slice(k)]


def rtype(masks, xy):
    return comp(masks, xy, C_TYPE)


# ---------------------------------------------------------------------------------------- move
def test_move_off_map_masked_on_the_edge():
    m = action_masks(make_state(my_units=[unit("unit_5", 0, 0), unit("unit_6", S - 1, 8)]))
    assert comp(m, (0, 0), C_MOVE).tolist() == [False, True, True, False]  # up/left leave the map
    assert comp(m, (S - 1, 8), C_MOVE).tolist() == [True, False, True, True]  # right leaves the map
    assert rtype(m, (0, 0))[MOVE]


def test_move_into_opponent_factory_tile_masked():
    # (9, 11) is left of the opponent factory covering x in 10..12
    m = action_masks(make_state(my_units=[unit("unit_5", 9, 11)]))
    assert comp(m, (9, 11), C_MOVE).tolist() == [True, False, True, True]


def test_move_into_own_factory_allowed():
    # (6, 4) is right of our factory covering x in 3..5
    m = action_masks(make_state(my_units=[unit("unit_5", 6, 4)]))
    assert comp(m, (6, 4), C_MOVE)[LEFT]
    assert comp(m, (6, 4), C_MOVE).all()


@pytest.mark.parametrize("heavy,rubble", [(False, 50), (False, 39), (True, 37), (True, 0)])
def test_move_power_with_rubble_and_queue_cost(heavy, rubble):
    c = ucfg(heavy)
    q = c.ACTION_QUEUE_POWER_COST
    cost = math.floor(c.MOVE_COST + c.RUBBLE_MOVEMENT_COST * rubble)  # Unit.move_power_cost
    board = dict(rubble={(8, 7): rubble})  # the tile above (8, 8)
    ok = action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=q + cost)], board=board))
    assert comp(ok, (8, 8), C_MOVE)[UP]
    assert rtype(ok, (8, 8))[MOVE]
    short = action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=q + cost - 1)], board=board))
    assert not comp(short, (8, 8), C_MOVE)[UP]
    # the bare tiles around stay reachable as long as q + MOVE_COST is paid
    assert comp(short, (8, 8), C_MOVE)[[RIGHT, DOWN, LEFT]].all() == (q + cost - 1 >= q + c.MOVE_COST)


@pytest.mark.parametrize("heavy", [False, True])
def test_power_below_queue_cost_leaves_only_keep(heavy):
    q = ucfg(heavy).ACTION_QUEUE_POWER_COST
    # on our factory tile, holding ice, next to our robot and on a stocked factory: every
    # choice would be valid with power
    units = [unit("unit_5", 5, 5, heavy, power=q - 1, cargo=dict(ice=10)), unit("unit_6", 6, 5)]
    m = action_masks(make_state(my_units=units))
    assert rtype(m, (5, 5)).tolist() == [True, False, False, False, False, False, False]
    assert not comp(m, (5, 5), C_MOVE).any()
    # with exactly q: recharge (and pickup, transfer of cargo) is valid, moves are not (P - Q = 0)
    units[0] = unit("unit_5", 5, 5, heavy, power=q, cargo=dict(ice=10))
    m = action_masks(make_state(my_units=units))
    t = rtype(m, (5, 5))
    assert t[KEEP] and t[RECHARGE] and t[TRANSFER] and t[PICKUP]
    assert not t[MOVE] and not t[SELF_DESTRUCT]
    assert not comp(m, (5, 5), C_TRES)[POWER]  # P - Q = 0 power to give


# ----------------------------------------------------------------------------------------- dig
@pytest.mark.parametrize("layer,value,allowed", [
    (None, 0, False), ("rubble", 5, True), ("ice", 1, True), ("ore", 1, True), ("lichen", 30, True),
])
def test_dig_needs_something_to_dig(layer, value, allowed):
    board = {} if layer is None else {layer: {(8, 8): value}}
    if layer == "lichen":
        board["lichen_strains"] = {(8, 8): 1}
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8)], board=board))
    assert rtype(m, (8, 8))[DIG] == allowed


@pytest.mark.parametrize("heavy", [False, True])
def test_dig_of_a_resource_the_cargo_has_no_room_for_masked(heavy):
    """Unit.add_resource caps ice and ore at CARGO_SPACE each: a full robot digging bare ice only
    spends DIG_COST. Rubble on the tile, or the other resource, is still worth a dig."""
    cap = ucfg(heavy).CARGO_SPACE
    sticky_dig = [3, 0, 0, 0, 1, 1]
    for layer, cargo, allowed in (("ice", dict(ice=cap), False), ("ice", dict(ice=cap - 1), True),
                                  ("ice", dict(ore=cap), True), ("ore", dict(ore=cap), False),
                                  ("ore", dict(ice=cap), True)):
        board = {layer: {(8, 8): 1}}
        m = action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=500, cargo=cargo)], board=board))
        assert rtype(m, (8, 8))[DIG] == allowed, (layer, cargo)
        st = make_state(my_units=[unit("unit_5", 8, 8, heavy, power=500, cargo=cargo, queue=[sticky_dig])], board=board)
        assert rtype(action_masks(st), (8, 8))[KEEP] == allowed, ("keep", layer, cargo)
    board = dict(ice={(8, 8): 1}, rubble={(8, 8): 5})  # the dig clears rubble first
    assert rtype(action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=500, cargo=dict(ice=cap))],
                                         board=board)), (8, 8))[DIG]
    # the engine's cap, which the rule is written from: a full robot gains nothing
    robot = Unit(Team(0, "player_0", FactionTypes.AlphaStrike), UnitType.HEAVY if heavy else UnitType.LIGHT,
                 "unit_5", CFG)
    robot.cargo.ice = cap
    assert robot.add_resource(0, ucfg(heavy).DIG_RESOURCE_GAIN) == 0 and robot.cargo.ice == cap


def test_dig_on_factory_tile_masked():
    # rubble is artificially put under our factory so that only the factory rule can mask it
    m = action_masks(make_state(my_units=[unit("unit_5", 5, 5, power=150)], board=dict(rubble={(5, 5): 10})))
    assert not rtype(m, (5, 5))[DIG]


@pytest.mark.parametrize("heavy", [False, True])
def test_dig_needs_power_after_queue_cost(heavy):
    c = ucfg(heavy)
    need = c.ACTION_QUEUE_POWER_COST + c.DIG_COST
    board = dict(ice={(8, 8): 1})
    assert rtype(action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=need)], board=board)), (8, 8))[DIG]
    assert not rtype(action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=need - 1)], board=board)), (8, 8))[DIG]


# -------------------------------------------------------------------------------------- pickup
def test_pickup_off_factory_masked():
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8), unit("unit_6", 3, 5)]))
    assert not rtype(m, (8, 8))[PICKUP]
    assert not comp(m, (8, 8), C_PRES).any()
    assert rtype(m, (3, 5))[PICKUP]  # a corner tile of our factory


def test_pickup_of_a_resource_the_factory_lacks_masked():
    f = factory(0, *MY_FACTORY, power=1000, cargo=dict(ice=50, ore=0, water=500, metal=0))
    m = action_masks(make_state(my_units=[unit("unit_5", 4, 3, power=50)], my_factories=[f]))
    assert comp(m, (4, 3), C_PRES).tolist() == [True, False, True, False, True]
    empty = factory(0, *MY_FACTORY, power=0, cargo=dict(ice=0, ore=0, water=0, metal=0))
    m = action_masks(make_state(my_units=[unit("unit_5", 4, 3, power=50)], my_factories=[empty]))
    assert not rtype(m, (4, 3))[PICKUP]


def test_pickup_when_cargo_is_full_masked():
    f = factory(0, *MY_FACTORY, power=1000, cargo=dict(ice=50, ore=50, water=500, metal=100))
    cap, bat = LIGHT.CARGO_SPACE, LIGHT.BATTERY_CAPACITY
    m = action_masks(make_state(my_units=[unit("unit_5", 4, 4, power=bat, cargo=dict(ice=cap))], my_factories=[f]))
    assert comp(m, (4, 4), C_PRES).tolist() == [False, True, True, True, False]  # ice and battery full
    full = dict(ice=cap, ore=cap, water=cap, metal=cap)
    m = action_masks(make_state(my_units=[unit("unit_5", 4, 4, power=bat, cargo=full)], my_factories=[f]))
    assert not rtype(m, (4, 4))[PICKUP]


def test_water_pickup_keeps_the_factory_reserve():
    from agent.masks import WATER_PICKUP_RESERVE

    cap = LIGHT.CARGO_SPACE
    for water, allowed in ((cap + WATER_PICKUP_RESERVE, True), (cap + WATER_PICKUP_RESERVE - 1, False)):
        f = factory(0, *MY_FACTORY, power=0, cargo=dict(ice=0, ore=0, water=water, metal=0))
        m = action_masks(make_state(my_units=[unit("unit_5", 4, 3, power=50)], my_factories=[f]))
        assert comp(m, (4, 3), C_PRES)[2] == allowed, water


# ------------------------------------------------------------------------------------ transfer
def test_transfer_direction_off_the_map_masked():
    # at x = 0 "left" is off the map; clipped it would land on the robot itself (our robot)
    units = [unit("unit_5", 0, 8, cargo=dict(ice=10)), unit("unit_6", 1, 8), unit("unit_7", 0, 7)]
    m = action_masks(make_state(my_units=units))
    assert comp(m, (0, 8), C_TDIR).tolist() == [False, True, True, False, False]
    units = [unit("unit_5", 8, 0, cargo=dict(ice=10)), unit("unit_6", 9, 0)]
    assert not comp(action_masks(make_state(my_units=units)), (8, 0), C_TDIR)[T_UP]


def test_transfer_only_to_own_factory_or_own_robot():
    # (6, 4): left is our factory, right our robot, down an opponent robot, up bare ground
    units = [unit("unit_5", 6, 4, cargo=dict(ice=10)), unit("unit_6", 7, 4)]
    opp = [unit("unit_9", 6, 5, team=1)]
    m = action_masks(make_state(my_units=units, opp_units=opp))
    assert comp(m, (6, 4), C_TDIR).tolist() == [False, False, True, False, True]
    assert rtype(m, (6, 4))[TRANSFER]
    # alone on bare ground: nowhere to transfer
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8, cargo=dict(ice=10))]))
    assert not comp(m, (8, 8), C_TDIR).any()
    assert not rtype(m, (8, 8))[TRANSFER]
    # standing on our factory: center is allowed
    m = action_masks(make_state(my_units=[unit("unit_5", 4, 4, cargo=dict(ice=10))]))
    assert comp(m, (4, 4), C_TDIR)[T_CENTER]


def test_transfer_of_a_resource_not_held_masked():
    units = [unit("unit_5", 6, 4, power=5, cargo=dict(ice=10, metal=3))]
    m = action_masks(make_state(my_units=units))
    assert comp(m, (6, 4), C_TRES).tolist() == [True, False, False, True, True]
    # power exactly Q: no power left to give; nothing held -> no transfer at all
    m = action_masks(make_state(my_units=[unit("unit_5", 6, 4, power=LIGHT.ACTION_QUEUE_POWER_COST)]))
    assert not comp(m, (6, 4), C_TRES).any()
    assert not rtype(m, (6, 4))[TRANSFER]


# ------------------------------------------------------------------------------- self destruct
@pytest.mark.parametrize("heavy", [False, True])
def test_self_destruct_needs_power(heavy):
    c = ucfg(heavy)
    need = c.ACTION_QUEUE_POWER_COST + c.SELF_DESTRUCT_COST
    assert rtype(action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=need)])), (8, 8))[SELF_DESTRUCT]
    assert not rtype(action_masks(make_state(my_units=[unit("unit_5", 8, 8, heavy, power=need - 1)])), (8, 8))[SELF_DESTRUCT]


# ---------------------------------------------------------------------------------- factories
@pytest.mark.parametrize("choice,c", [(F_LIGHT, LIGHT), (F_HEAVY, HEAVY)])
def test_factory_build_needs_metal_and_power(choice, c):
    def fm(metal, power):
        f = factory(0, *MY_FACTORY, power=power, cargo=dict(metal=metal))
        return comp(action_masks(make_state(my_factories=[f])), MY_FACTORY, C_FACTORY)

    assert fm(c.METAL_COST, c.POWER_COST)[choice]
    assert not fm(c.METAL_COST - 1, c.POWER_COST)[choice]
    assert not fm(c.METAL_COST, c.POWER_COST - 1)[choice]
    assert fm(0, 0).tolist() == [True, False, False, True]  # none always; water: 100 water


def test_factory_water_needs_water_cost_bound():
    # bare map: the engine's fill covers the 12 init cells -> ceil(12 / 10) = 2
    st = make_state(my_factories=[factory(0, *MY_FACTORY, cargo=dict(water=0))])
    assert not comp(action_masks(st), MY_FACTORY, C_FACTORY)[F_WATER]
    bound = int(water_cost_bound(st)[0])
    assert bound == math.ceil(12 / CFG.LICHEN_WATERING_COST_FACTOR)
    # with lichen of our strain around, the bound grows; exactly the bound is enough
    lichen = {(x, 6): 30 for x in range(2, 12)}  # the row of the 3 seeds below the factory
    board = dict(lichen=lichen, lichen_strains={k: 0 for k in lichen})
    for water, ok in ((None, True), (-1, False)):
        probe = make_state(board=board)
        b = int(water_cost_bound(probe)[0])
        assert b > bound
        w = b if water is None else b + water
        st = make_state(board=board, my_factories=[factory(0, *MY_FACTORY, cargo=dict(water=w))])
        assert comp(action_masks(st), MY_FACTORY, C_FACTORY)[F_WATER] == ok
        assert comp(action_masks(st), MY_FACTORY, C_FACTORY)[F_NONE]


@pytest.mark.parametrize("extra", [0, -1, 500])
def test_water_guard_keeps_the_water_for_the_remaining_turns(extra):
    # turn 10: the factory needs (max_episode_length - 10) x consumption + margin after paying the
    # watering cost bound; one water less and the guard forbids watering (the engine would accept it)
    lichen = {(x, 6): 30 for x in range(2, 12)}
    board = dict(lichen=lichen, lichen_strains={k: 0 for k in lichen})
    cost = int(water_cost_bound(make_state(board=board))[0])
    need = (CFG.max_episode_length - 10) * CFG.FACTORY_WATER_CONSUMPTION + WATER_GUARD_MARGIN + cost
    st = make_state(board=board, my_factories=[factory(0, *MY_FACTORY, cargo=dict(water=need + extra))])
    masks = action_masks(st)
    assert comp(masks, MY_FACTORY, C_FACTORY)[F_WATER]
    guarded = guard_water(st, masks)
    ok = extra >= 0
    assert bool(water_reserve_ok(st)[0]) == ok
    assert comp(guarded, MY_FACTORY, C_FACTORY)[F_WATER] == ok
    assert int((guarded != masks).sum()) == (0 if ok else 1)  # nothing but the watering choice changes
    assert comp(masks, MY_FACTORY, C_FACTORY)[F_WATER]  # the caller's masks are left as they were


def test_net_policy_with_water_guard_never_waters_below_the_reserve(monkeypatch):
    from agent.player import NetPolicy

    st = make_state(my_factories=[factory(0, *MY_FACTORY, cargo=dict(water=400, metal=0))])  # can water, not build
    assert comp(action_masks(st), MY_FACTORY, C_FACTORY)[F_WATER] and not water_reserve_ok(st)[0]
    logits = np.zeros((S, S, NUM_LOGITS), np.float32)
    logits[MY_FACTORY[0], MY_FACTORY[1], OFFSETS[C_FACTORY] + F_WATER] = 50.0  # the net wants to water
    monkeypatch.setattr(NetPolicy, "_logits", lambda self, planes, glob: logits)
    for guard, want in ((False, F_WATER), (True, F_NONE)):
        for greedy in (True, False):
            pol = NetPolicy(net=None, greedy=greedy, seed=0, water_guard=guard)
            assert pol(st)[MY_FACTORY[0], MY_FACTORY[1], C_FACTORY] == want


def test_rubble_guard_walks_an_idle_light_to_the_rubble_frontier():
    """agent.guards.rubble.guard_rubble: a LIGHT robot with no ice or ore, RUBBLE_GUARD_POWER power or more,
    off the rubble frontier and at most RUBBLE_GUARD_STEPS steps from it may only move closer to it
    (keep too when its queued move is one of those); otherwise it keeps its choices."""
    frontier = (12, 7)

    def guarded(xy=(9, 7), heavy=False, power=RUBBLE_GUARD_POWER, cargo=None, queue=(), rubble=None):
        st = make_state(my_units=[unit("unit_5", *xy, heavy=heavy, power=power, cargo=cargo, queue=queue)],
                        board=dict(rubble={frontier: 10} if rubble is None else rubble))
        planes = encode(st)[0]
        masks = action_masks(st)
        return masks, guard_rubble(st, masks, planes), planes

    m, g, planes = guarded()
    assert planes[PLANE["rubble_frontier"]][frontier] == 1
    assert rtype(m, (9, 7))[[KEEP, MOVE, DIG, RECHARGE]].any() and rtype(m, (9, 7))[MOVE]
    assert list(np.flatnonzero(rtype(g, (9, 7)))) == [MOVE]
    assert list(np.flatnonzero(comp(g, (9, 7), C_MOVE))) == [1]  # right (move_dir: up, right, down, left)
    assert rtype(m, (9, 7))[RECHARGE]  # the caller's masks are left as they were
    m, g, _ = guarded(queue=[[0, 2, 0, 0, 1, 1]])  # a sticky move right: keeping it is a move too
    assert list(np.flatnonzero(rtype(g, (9, 7)))) == [KEEP, MOVE]
    m, g, _ = guarded(xy=(12, 10))  # below it: up
    assert list(np.flatnonzero(comp(g, (12, 10), C_MOVE))) == [0]
    for kw in (dict(heavy=True), dict(power=RUBBLE_GUARD_POWER - 1), dict(cargo=dict(ice=1)), dict(cargo=dict(ore=1)),
               dict(xy=frontier), dict(rubble={frontier: 10, (1, 7): 10}, xy=(1, 7))):
        m, g, _ = guarded(**kw)
        assert g is m, kw
    st = make_state(my_units=[unit("unit_5", 9, 7, power=RUBBLE_GUARD_POWER)], board=dict(rubble={frontier: 10}))
    assert guard_rubble(st, m, encode(st)[0], steps=2) is m  # 3 steps away: too far
    assert RUBBLE_GUARD_STEPS >= 3
    m, g, planes = guarded(rubble={})  # no rubble at all: no frontier (plane 59 = 3, "none")
    assert planes[PLANE["dist_rubble_frontier"], 9, 7] == 3 and g is m
    # guarded_masks applies it only when asked
    assert rtype(guarded_masks(st), (9, 7))[RECHARGE]
    assert list(np.flatnonzero(rtype(guarded_masks(st, rubble_guard=True), (9, 7)))) == [MOVE]


def home_costs(st):
    from agent.features import encode, home_cost_map

    return home_cost_map(encode(st)[0])


def test_power_guard_keeps_a_heavy_the_power_to_walk_home():
    """agent.guards.power.guard_power on a HEAVY at (9, 4), four steps east of our factory's tile (5, 4) on
    open ground: each step in costs MOVE_COST + Q = 30, so h = 120 (the home_cost plane)."""
    q, dig, step = HEAVY.ACTION_QUEUE_POWER_COST, HEAVY.DIG_COST, HEAVY.MOVE_COST + HEAVY.ACTION_QUEUE_POWER_COST
    board = dict(ice={(9, 4): 1})

    def guarded(power, heavy=True, xy=(9, 4), queue=()):
        st = make_state(my_units=[unit("unit_5", *xy, heavy=heavy, power=power, queue=queue)], board=board)
        masks = action_masks(st)
        return masks, guard_power(st, masks, home_costs(st))

    st = make_state(board=board)
    h = int(home_costs(st)[9, 4])
    assert h == 4 * step
    # dig: only if the power after it still covers h
    m, g = guarded(h + q + dig)
    assert rtype(m, (9, 4))[DIG] and rtype(g, (9, 4))[DIG] and g is m
    m, g = guarded(h + q + dig - 1)
    assert rtype(m, (9, 4))[DIG] and not rtype(g, (9, 4))[DIG]
    assert comp(g, (9, 4), C_MOVE)[LEFT]  # home is always a way out
    # moves away from home need the power for the step and the longer way back
    m, g = guarded(step + h + step)
    assert comp(g, (9, 4), C_MOVE).all()
    m, g = guarded(step + h + step - 1)
    assert comp(m, (9, 4), C_MOVE)[RIGHT] and not comp(g, (9, 4), C_MOVE)[RIGHT]
    assert comp(g, (9, 4), C_MOVE)[UP] and comp(g, (9, 4), C_MOVE)[LEFT]  # UP: as far from home, power for it
    m, g = guarded(step + h - 1)
    assert comp(g, (9, 4), C_MOVE).tolist() == [False, False, False, True]
    # a queued dig is not kept when the guard forbids the dig: recharge stands still instead
    sticky_dig = [3, 0, 0, 0, 1, 1]
    m, g = guarded(h + q + dig + 200, queue=[sticky_dig])
    assert rtype(g, (9, 4))[KEEP]
    m, g = guarded(h + q + dig - 1, queue=[sticky_dig])
    assert rtype(m, (9, 4))[KEEP] and not rtype(g, (9, 4))[KEEP] and rtype(g, (9, 4))[RECHARGE]
    # LIGHT robots and robots on our factory are left alone
    for kw in (dict(heavy=False, power=10), dict(xy=(5, 4), power=h)):
        m, g = guarded(**kw)
        assert g is m
    with pytest.raises(ValueError, match="home_cost has shape"):
        guard_power(st, action_masks(st), np.zeros((S + 1, S), np.int64))


def greedy_net_choice(monkeypatch, st, xy, first, second, **guard):
    """The cell action a greedy NetPolicy with ``guard`` (its keyword arguments) plays at ``xy`` when
    its logits rank robot type ``first`` above ``second`` above the rest."""
    from agent.player import NetPolicy

    logits = np.zeros((S, S, NUM_LOGITS), np.float32)
    logits[xy[0], xy[1], OFFSETS[C_TYPE] + first] = 50.0
    logits[xy[0], xy[1], OFFSETS[C_TYPE] + second] = 10.0
    monkeypatch.setattr(NetPolicy, "_logits", lambda self, planes, glob: logits)
    return NetPolicy(net=None, greedy=True, seed=0, **guard)(st)[xy[0], xy[1]]


def test_net_policy_with_power_guard_walks_home_instead_of_digging(monkeypatch):
    st = make_state(my_units=[unit("unit_5", 9, 4, heavy=True, power=149)], board=dict(ice={(9, 4): 1}))
    for guard, want in ((False, DIG), (True, MOVE)):  # the net wants to dig on
        a = greedy_net_choice(monkeypatch, st, (9, 4), DIG, MOVE, power_guard=guard)
        assert a[C_TYPE] == want
    assert a[C_MOVE] == LEFT  # the only move the guard leaves at 149 power (h = 120, a step 30)


def test_park_guard_forbids_standing_still_off_the_factory_with_power_to_spare():
    """agent.guards.park.guard_park: keep and recharge are forbidden exactly for our robots off our
    factory tiles whose queue does nothing (empty, a recharge, a move to the center) while they hold
    at least PARK_GUARD_FRACTION of their battery; nothing else in the masks changes."""
    sticky_recharge, center, sticky_dig = [5, 0, 0, 30, 1, 1], [0, 0, 0, 0, 1, 1], [3, 0, 0, 0, 1, 1]
    board = dict(rubble={(9, 4): 10})

    def guarded(power, heavy=False, xy=(9, 4), queue=()):
        st = make_state(my_units=[unit("unit_5", *xy, heavy=heavy, power=power, queue=queue)], board=board)
        masks = action_masks(st)
        return masks, guard_park(st, masks)

    for heavy in (False, True):
        half = int(math.ceil(PARK_GUARD_FRACTION * ucfg(heavy).BATTERY_CAPACITY))
        for queue in ((), [sticky_recharge], [center]):
            m, g = guarded(half, heavy=heavy, queue=queue)
            assert rtype(m, (9, 4))[KEEP] and rtype(m, (9, 4))[RECHARGE]
            assert not rtype(g, (9, 4))[KEEP] and not rtype(g, (9, 4))[RECHARGE]
            assert rtype(g, (9, 4))[MOVE] and rtype(g, (9, 4))[DIG]
            assert int((g != m).sum()) == 2 and rtype(m, (9, 4))[KEEP]  # the caller's masks are left as they were
            m, g = guarded(half - 1, heavy=heavy, queue=queue)  # short of power: it may wait for more
            assert g is m
        m, g = guarded(half, heavy=heavy, queue=[sticky_dig])  # keeping digs on
        assert g is m
        m, g = guarded(half, heavy=heavy, xy=(5, 4))  # on our factory tile
        assert g is m
    # a robot whose masks allow neither move nor dig (another guard took them: cleared here by hand) keeps them
    st = make_state(my_units=[unit("unit_5", 9, 4, power=150)], board=board)
    held = action_masks(st)
    held[9, 4, OFFSETS[C_TYPE] + MOVE] = False
    held[9, 4, OFFSETS[C_TYPE] + DIG] = False
    assert guard_park(st, held) is held
    # guarded_masks applies it only when asked
    st = make_state(my_units=[unit("unit_5", 9, 4, power=150)], board=board)
    assert rtype(guarded_masks(st), (9, 4))[KEEP] and not rtype(guarded_masks(st, park_guard=True), (9, 4))[KEEP]


def test_net_policy_with_park_guard_moves_a_parked_robot(monkeypatch):
    st = make_state(my_units=[unit("unit_5", 9, 4, power=150, queue=[[5, 0, 0, 30, 1, 1]])])
    for guard, want in ((False, KEEP), (True, MOVE)):  # the net wants to stand on its recharge
        assert greedy_net_choice(monkeypatch, st, (9, 4), KEEP, MOVE, park_guard=guard)[C_TYPE] == want


def test_frontier_guard_holds_a_light_on_the_rubble_frontier_to_digging():
    """agent.guards.frontier.guard_frontier: a LIGHT robot with no ice or ore on a rubble_frontier cell may
    only dig, or keep a dig head; a HEAVY, a robot with cargo, a cell off the frontier (rubble on
    ice) or a robot too short of power to dig keep their choices."""
    sticky_dig = [3, 0, 0, 0, 1, 1]

    def guarded(heavy=False, power=100, cargo=None, queue=(), board=None):
        board = dict(rubble={(9, 4): 10}) if board is None else board
        st = make_state(my_units=[unit("unit_5", 9, 4, heavy=heavy, power=power, cargo=cargo, queue=queue)],
                        board=board)
        planes = encode(st)[0]
        assert planes[PLANE["rubble_frontier"], 9, 4] == (0 if board.get("ice") else 1)  # ice: not lichen ground
        masks = action_masks(st)
        return masks, guard_frontier(st, masks, planes)

    m, g = guarded()
    assert rtype(m, (9, 4))[[KEEP, MOVE, DIG, RECHARGE]].all()
    assert list(np.flatnonzero(rtype(g, (9, 4)))) == [DIG]  # an empty queue: a new dig
    assert rtype(m, (9, 4))[MOVE]  # the caller's masks are left as they were
    assert np.array_equal(np.delete(g, OFFSETS[C_TYPE] + np.arange(7), axis=2),
                          np.delete(m, OFFSETS[C_TYPE] + np.arange(7), axis=2))
    m, g = guarded(queue=[sticky_dig])  # keeping the dig head digs too, without the queue's power cost
    assert list(np.flatnonzero(rtype(g, (9, 4)))) == [KEEP, DIG]
    for kw in (dict(heavy=True), dict(cargo=dict(ice=4)), dict(cargo=dict(ore=1)), dict(power=LIGHT.DIG_COST - 1),
               dict(board=dict(rubble={(9, 4): 10}, ice={(9, 4): 1}))):
        m, g = guarded(**kw)
        assert g is m, kw
    # guarded_masks applies it only when asked
    st = make_state(my_units=[unit("unit_5", 9, 4, power=100)], board=dict(rubble={(9, 4): 10}))
    assert rtype(guarded_masks(st), (9, 4))[MOVE]
    assert list(np.flatnonzero(rtype(guarded_masks(st, frontier_guard=True), (9, 4)))) == [DIG]


def test_net_policy_with_frontier_guard_digs_the_frontier(monkeypatch):
    st = make_state(my_units=[unit("unit_5", 9, 4, power=100)], board=dict(rubble={(9, 4): 10}))
    for guard, want in ((False, MOVE), (True, DIG)):  # the net wants to walk on
        assert greedy_net_choice(monkeypatch, st, (9, 4), MOVE, DIG, frontier_guard=guard)[C_TYPE] == want
    with pytest.raises(TypeError, match="unknown decoding guard"):
        greedy_net_choice(monkeypatch, st, (9, 4), MOVE, DIG, frontier_gaurd=True)


def test_ice_guard_holds_the_heavies_of_a_thirsty_factory_to_bringing_it_ice():
    """agent.guards.ice.guard_ice: our factory (centre (4, 4), tiles 3..5) below ICE_GUARD_WATER water;
    ice at (6, 4), next to its tile (5, 4). Its HEAVY digs the ice, carries a load home, walks to the
    ice, fetches power; a LIGHT, a factory with water enough, or a robot whose masks forbid the
    choice keep their choices."""
    thirsty = dict(water=ICE_GUARD_WATER - 1)
    sticky_dig, ice = [3, 0, 0, 0, 1, 1], {(6, 4): 5}

    def guarded(units, cargo=thirsty):
        st = make_state(my_units=units, my_factories=[factory(0, *MY_FACTORY, cargo=cargo)], board=dict(ice=ice))
        masks = action_masks(st)
        return masks, guard_ice(st, masks)

    def only(masks, xy, k):
        return list(np.flatnonzero(comp(masks, xy, k)))

    m, g = guarded([unit("unit_5", 6, 4, heavy=True, power=1000)])  # on the ice: dig
    assert rtype(m, (6, 4))[[KEEP, MOVE, TRANSFER, DIG, RECHARGE]].all() and only(g, (6, 4), C_TYPE) == [DIG]
    assert rtype(m, (6, 4))[MOVE]  # the caller's masks are left as they were
    m, g = guarded([unit("unit_5", 6, 4, heavy=True, power=1000, queue=[sticky_dig])])
    assert only(g, (6, 4), C_TYPE) == [KEEP, DIG]
    for units, cargo in (([unit("unit_5", 6, 4, power=150)], thirsty),  # a LIGHT
                         ([unit("unit_5", 6, 4, heavy=True, power=1000)], dict(water=ICE_GUARD_WATER)),
                         ([unit("unit_5", 6, 4, heavy=True, power=1000)], dict(water=60, ice=4 * 40))):  # ice counts
        m, g = guarded(units, cargo)
        assert g is m, (units, cargo)
    # a load: transfer all the ice onto the factory tile to the left
    m, g = guarded([unit("unit_5", 6, 4, heavy=True, power=1000, cargo=dict(ice=ICE_GUARD_LOAD))])
    assert only(g, (6, 4), C_TYPE) == [TRANSFER] and only(g, (6, 4), C_TDIR) == [T_LEFT]
    assert only(g, (6, 4), C_TRES) == [ICE] and only(g, (6, 4), C_AMOUNT) == [3]
    # on the ice, too short of power to dig (the power guard's job, cleared by hand here): bring what it holds
    st = make_state(my_units=[unit("unit_5", 6, 4, heavy=True, power=1000, cargo=dict(ice=20))],
                    my_factories=[factory(0, *MY_FACTORY, cargo=thirsty)], board=dict(ice=ice))
    m = action_masks(st)
    m[6, 4, OFFSETS[C_TYPE] + DIG] = False
    assert only(guard_ice(st, m), (6, 4), C_TYPE) == [TRANSFER]
    # no ice, off the ice, power to dig a load: walk to the ice
    m, g = guarded([unit("unit_5", 9, 4, heavy=True, power=1000)])
    assert only(g, (9, 4), C_TYPE) == [MOVE] and only(g, (9, 4), C_MOVE) == [LEFT]
    # short of power: home; on the factory, pick up power
    low = -(-ICE_GUARD_LOAD // HEAVY.DIG_RESOURCE_GAIN) * HEAVY.DIG_COST
    m, g = guarded([unit("unit_5", 7, 3, heavy=True, power=low - 1)])
    assert only(g, (7, 3), C_TYPE) == [MOVE] and only(g, (7, 3), C_MOVE) == [LEFT]
    m, g = guarded([unit("unit_5", 7, 3, heavy=True, power=low - 1), unit("unit_6", 6, 3)])  # (6, 3) held
    assert only(g, (7, 3), C_MOVE) == [DOWN]  # around it: as far from the factory, a free cell
    m, g = guarded([unit("unit_5", 4, 4, heavy=True, power=low - 1)])
    assert only(g, (4, 4), C_TYPE) == [PICKUP] and only(g, (4, 4), C_PRES) == [POWER]
    # guarded_masks applies it only when asked, last
    st = make_state(my_units=[unit("unit_5", 6, 4, heavy=True, power=1000)],
                    my_factories=[factory(0, *MY_FACTORY, cargo=thirsty)], board=dict(ice=ice))
    assert rtype(guarded_masks(st), (6, 4))[MOVE]
    assert only(guarded_masks(st, water_guard=True, power_guard=True, park_guard=True, frontier_guard=True,
                              ice_guard=True), (6, 4), C_TYPE) == [DIG]



def test_ore_guard_sends_the_first_light_for_ore_and_builds_the_second_heavy():
    """agent.guards.ore.guard_ore: our factory (centre (4, 4), tiles 3..5) with one HEAVY (unit_2 at
    (2, 4)); ore at (8, 4), three moves from its tile (5, 4). Its LIGHT with the lowest unit_id walks
    to the ore, digs it, carries a load home and fetches power when short; its other lights, a
    factory without or with two heavies, or ore too far keep their choices. With a HEAVY's metal
    and POWER_COST + ORE_GUARD_BUILD_POWER power the factory may only build a HEAVY."""
    heavy = unit("unit_2", 2, 4, heavy=True, power=1000)
    no_metal = dict(metal=0)

    def guarded(units, cargo=no_metal, power=1000, ore=((8, 4),), **kw):
        st = make_state(my_units=units, my_factories=[factory(0, *MY_FACTORY, power=power, cargo=cargo)],
                        board=dict(ore={xy: 5 for xy in ore}))
        masks = action_masks(st)
        return masks, guard_ore(st, masks, **kw)

    def only(masks, xy, k):
        return list(np.flatnonzero(comp(masks, xy, k)))

    m, g = guarded([heavy, unit("unit_7", 6, 4, power=150), unit("unit_9", 6, 5, power=150)])
    assert only(g, (6, 4), C_TYPE) == [MOVE] and only(g, (6, 4), C_MOVE) == [1]  # right, to the ore
    assert np.array_equal(g[6, 5], m[6, 5]) and np.array_equal(g[2, 4], m[2, 4])  # the second light, the heavy
    assert rtype(m, (6, 4))[RECHARGE]  # the caller's masks are left as they were
    m, g = guarded([heavy, unit("unit_7", 8, 4, power=150)], ore=((8, 4), (9, 4)))  # on the ore: dig
    assert only(g, (8, 4), C_TYPE) == [DIG]
    m, g = guarded([heavy, unit("unit_7", 8, 4, power=150)])  # the only ore is under a robot: no free ore
    assert g is m
    m, g = guarded([heavy, unit("unit_7", 6, 4, power=150, cargo=dict(ore=ORE_GUARD_LOAD))])  # a load: home
    assert only(g, (6, 4), C_TYPE) == [TRANSFER] and only(g, (6, 4), C_TRES) == [ORE] and only(g, (6, 4), C_TDIR) == [T_LEFT]
    m, g = guarded([heavy, unit("unit_7", 4, 4, power=LIGHT.DIG_COST)])  # short of power, on the factory
    assert only(g, (4, 4), C_TYPE) == [PICKUP] and only(g, (4, 4), C_PRES) == [POWER]
    for units, kw in (([unit("unit_7", 6, 4, power=150)], {}),  # no heavy
                      ([heavy, unit("unit_3", 2, 5, heavy=True), unit("unit_7", 6, 4, power=150)], {}),  # two
                      ([heavy, unit("unit_7", 6, 4, power=150)], dict(steps=2))):  # ore too far
        m, g = guarded(units, **kw)
        assert g is m, (units, kw)
    # a HEAVY's metal and the power to spare: build it, and nothing else
    build = int(HEAVY.POWER_COST) + ORE_GUARD_BUILD_POWER
    m, g = guarded([heavy], cargo=dict(metal=HEAVY.METAL_COST), power=build)
    assert comp(m, MY_FACTORY, C_FACTORY)[[F_NONE, F_LIGHT, F_HEAVY, F_WATER]].all()
    assert only(g, MY_FACTORY, C_FACTORY) == [F_HEAVY]
    for units, cargo, power in (([heavy], dict(metal=HEAVY.METAL_COST), build - 1),
                                ([heavy], dict(metal=HEAVY.METAL_COST - 1), build),
                                ([heavy, unit("unit_3", 2, 5, heavy=True)], dict(metal=HEAVY.METAL_COST), build)):
        m, g = guarded(units, cargo=cargo, power=power)
        assert comp(g, MY_FACTORY, C_FACTORY)[F_NONE], (units, cargo, power)
    # guarded_masks applies it only when asked
    st = make_state(my_units=[heavy, unit("unit_7", 6, 4, power=150)], board=dict(ore={(8, 4): 5}),
                    my_factories=[factory(0, *MY_FACTORY, cargo=no_metal)])
    assert rtype(guarded_masks(st), (6, 4))[RECHARGE]
    assert only(guarded_masks(st, ore_guard=True), (6, 4), C_TYPE) == [MOVE]


def test_net_policy_with_ice_guard_digs_for_a_thirsty_factory(monkeypatch):
    st = make_state(my_units=[unit("unit_5", 6, 4, heavy=True, power=1000)],
                    my_factories=[factory(0, *MY_FACTORY, cargo=dict(water=ICE_GUARD_WATER - 1))], board=dict(ice={(6, 4): 5}))
    for guard, want in ((False, MOVE), (True, DIG)):  # the net wants to walk away
        assert greedy_net_choice(monkeypatch, st, (6, 4), MOVE, DIG, ice_guard=guard)[C_TYPE] == want

def engine_water_cost(board, occupancy):
    """The engine's own watering cost of our factory_0 at (4, 4) for a board (dict of layers):
    ``Factory.cache_water_info`` then ``Factory.water_cost``, as ``LuxAI_S2.step`` does."""
    f = Factory(Team(0, "player_0", FactionTypes.AlphaStrike), "factory_0", 0)
    f.pos.pos = np.array(MY_FACTORY)
    f.cache_water_info(SimpleNamespace(factory_occupancy_map=occupancy, **{
        k: np.array(board[k]) for k in ("rubble", "ice", "ore", "lichen", "lichen_strains")}), CFG)
    return f.water_cost(CFG)


def test_water_cost_bound_covers_the_cache_of_the_previous_turn():
    # last turn our strain had lichen 1 on row y = 6 (through 3 seed cells) and column x = 8; it
    # was not watered and decayed to 0 at the end of the step. validate_actions prices watering
    # from the cache computed mid-step *last* turn, which still saw that lichen.
    prev = {(x, 6): 1 for x in range(S)}
    prev.update({(8, y): 1 for y in range(7, S)})
    st = make_state()
    st.prev_lichen = np.zeros((S, S), np.int64)
    st.prev_lichen_strains = np.full((S, S), -1, np.int64)
    for (x, y), v in prev.items():
        st.prev_lichen[x, y], st.prev_lichen_strains[x, y] = v, 0
    prev_board = dict(st.board, lichen=st.prev_lichen, lichen_strains=st.prev_lichen_strains)
    real = engine_water_cost(prev_board, st.factory_occupancy())
    assert real == math.ceil((12 + 13 + 9) / CFG.LICHEN_WATERING_COST_FACTOR)
    assert engine_water_cost(st.board, st.factory_occupancy()) == 2  # what the current board alone gives
    assert int(water_cost_bound(st)[0]) >= real


def test_water_cost_bound_counts_rubble_a_robot_may_dig_away_this_turn():
    # our lichen 30 on (0..4, 6) and (0, 7..11); (4, 7) has rubble 2 under our light robot
    # (DIG_RUBBLE_REMOVED = 2): if it digs this turn, the execution-time cache (computed after
    # digs) reaches (4, 7) too, 31 cells instead of 30
    lichen = {(x, 6): 30 for x in range(5)}
    lichen.update({(0, y): 30 for y in range(7, 12)})
    board = dict(lichen=lichen, lichen_strains={k: 0 for k in lichen}, rubble={(4, 7): LIGHT.DIG_RUBBLE_REMOVED})
    st = make_state(my_units=[unit("unit_5", 4, 7)], board=board)
    occ = st.factory_occupancy()
    assert engine_water_cost(st.board, occ) == 3
    dug = dict(st.board, rubble=np.zeros((S, S), np.int64))
    real = engine_water_cost(dug, occ)
    assert real == 4
    assert int(water_cost_bound(st)[0]) >= real


# --------------------------------------------------------------------------------------- keep
def test_keep_valid_with_empty_queue():
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8, power=100)]))
    assert rtype(m, (8, 8))[KEEP]


def test_keep_masked_when_queued_dig_is_unaffordable_but_forced_when_nothing_else():
    dig = [3, 0, 0, 0, 0, 1]
    board = dict(ice={(8, 8): 1})
    q, dc = LIGHT.ACTION_QUEUE_POWER_COST, LIGHT.DIG_COST
    # affordable head: keep valid
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8, power=dc, queue=[dig])], board=board))
    assert rtype(m, (8, 8))[KEEP]
    # q <= power < DIG_COST: the engine would reject the head; recharge is still possible
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8, power=dc - 1, queue=[dig])], board=board))
    assert not rtype(m, (8, 8))[KEEP]
    assert rtype(m, (8, 8))[RECHARGE]
    # power < q: nothing at all is valid, keep is forced
    m = action_masks(make_state(my_units=[unit("unit_5", 8, 8, power=q - 1, queue=[dig])], board=board))
    assert rtype(m, (8, 8)).tolist() == [True] + [False] * 6


def test_keep_of_a_sticky_head_needs_the_queue_cost_left_after_it():
    """agent.action_queue.keep_allowed: a power-spending head that stays queued may only be kept if the
    robot still has Q after it; otherwise it could be stuck with an invalid head it cannot replace."""
    board = dict(ice={(8, 8): 1})
    q, dc = HEAVY.ACTION_QUEUE_POWER_COST, HEAVY.DIG_COST
    sticky_dig, once_dig = [3, 0, 0, 0, 1, 1], [3, 0, 0, 0, 0, 1]
    for power, head, ok in ((dc + q, sticky_dig, True), (dc + q - 1, sticky_dig, False), (dc, once_dig, True)):
        st = make_state(my_units=[unit("unit_5", 8, 8, heavy=True, power=power, queue=[head])], board=board)
        assert rtype(action_masks(st), (8, 8))[KEEP] == ok, (power, head)
    # a sticky dig on bare ground is engine-valid but useless: keep masked, recharge offered
    st = make_state(my_units=[unit("unit_5", 9, 9, heavy=True, power=500, queue=[sticky_dig])])
    assert not rtype(action_masks(st), (9, 9))[KEEP] and rtype(action_masks(st), (9, 9))[RECHARGE]
    # a sticky move off the map: keep masked
    st = make_state(my_units=[unit("unit_5", 0, 8, power=100, queue=[[0, 4, 0, 0, 1, 1]])])
    assert not rtype(action_masks(st), (0, 8))[KEEP]
    # a sticky recharge costs nothing: keep always allowed, even with no power
    st = make_state(my_units=[unit("unit_5", 8, 8, power=0, queue=[[5, 0, 0, 40, 1, 1]])])
    assert rtype(action_masks(st), (8, 8)).tolist() == [True] + [False] * 6


def test_foreign_queues_do_not_crash_and_keep_follows_the_engine_head():
    """A queue the head cannot express (several actions, n > 1, odd amounts) is read by its head."""
    from agent.features import encode

    queue = [[0, 2, 0, 0, 0, 3], [3, 0, 0, 0, 0, 5], [1, 0, 2, 7, 0, 1]]  # 3 moves right, then digs
    st = make_state(my_units=[unit("unit_5", 6, 8, power=100, queue=queue),
                              unit("unit_6", 8, 12, power=100, queue=[[9, 0, 0, 0, 0, 1]])])  # unknown type
    m = action_masks(st)
    assert rtype(m, (6, 8))[KEEP]  # a valid move right, the robot keeps 100 - 1 >= Q
    assert not rtype(m, (8, 12))[KEEP] and rtype(m, (8, 12))[RECHARGE]  # unknown type: invalid
    planes, _ = encode(st)
    from agent.features import P
    assert planes[P["queue_move_right"], 6, 8] == 1 and planes[P["queue_sticky"], 6, 8] == 1
    assert planes[P["queue_other"], 8, 12] == 1
    # keep: unit_5 walks right on its queue; a robot sent right from (5, 8)... is another cell
    assert decode(st, cell_actions()) == {}


def test_keep_walkers_count_in_collision_avoidance():
    """A robot that keeps a sticky move walks without being sent anything: another robot moving
    into its target cell is stopped, and a robot standing in its way makes it stop (recharge)."""
    from agent.actions import avoid_own_collisions

    walker = unit("unit_5", 6, 8, heavy=True, power=500, queue=[[0, 2, 0, 0, 1, 1]])  # sticky move right
    mover = unit("unit_6", 7, 9, power=100)  # a light moving up into (7, 8)
    st = make_state(my_units=[walker, mover])
    a = cell_actions(c_7_9={C_TYPE: MOVE, C_MOVE: UP})
    fixed = avoid_own_collisions(st, a)
    assert fixed[6, 8, C_TYPE] == KEEP and fixed[7, 9, C_TYPE] == KEEP  # the heavy walks on, the light stays
    # a light standing on (7, 8): the walker is stopped with a sticky recharge (sent, so it pays Q)
    st = make_state(my_units=[walker, unit("unit_6", 7, 8, power=100)])
    fixed = avoid_own_collisions(st, cell_actions())
    assert fixed[6, 8, C_TYPE] == RECHARGE
    out = decode(st, cell_actions())
    assert list(out) == ["unit_5"] and out["unit_5"][0][0] == 5


def test_water_bound_never_enters_another_strain():
    """The engine's fill never enters another strain's lichen (compute_water_info): a big opponent
    field next to our lichen does not raise the bound."""
    ours = {(x, y): 30 for x in range(2, 7) for y in (6, 7)}  # touches their field on y = 8
    theirs = {(x, y): 30 for x in range(0, S) for y in range(8, 16) if not (9 <= x <= 13 and 9 <= y <= 13)}
    board = dict(lichen={**ours, **theirs},
                 lichen_strains={**{k: 0 for k in ours}, **{k: 1 for k in theirs}})
    st = make_state(board=board)
    real = engine_water_cost(st.board, st.factory_occupancy())
    bound = int(water_cost_bound(st)[0])
    assert real <= bound <= real + 1, (real, bound)


# ------------------------------------------------------------------------- cells and players
def test_cells_without_our_robot_or_factory_are_all_false():
    mine = [unit("unit_5", 8, 8), unit("unit_6", 4, 4)]
    opp = [unit("unit_9", 9, 9, team=1), unit("unit_10", 11, 11, team=1)]
    st = make_state(my_units=mine, opp_units=opp)
    m = action_masks(st)
    assert m.shape == (S, S, NUM_LOGITS) and m.dtype == bool
    robot_part = m[:, :, :OFFSETS[C_FACTORY]].any(axis=2)
    factory_part = m[:, :, OFFSETS[C_FACTORY]:].any(axis=2)
    assert sorted(zip(*np.nonzero(robot_part))) == [(4, 4), (8, 8)]
    assert sorted(zip(*np.nonzero(factory_part))) == [MY_FACTORY]
    # opponent robots (9, 9), (11, 11) and the opponent factory center get nothing
    assert not m[9, 9].any() and not m[OPP_FACTORY].any()
    # the amount component is on for every robot of ours
    assert comp(m, (8, 8), C_AMOUNT).all()
    # and the opponent's own view is the mirror image
    m1 = action_masks(make_state(player="player_1", my_units=mine, opp_units=opp))
    robot_part = m1[:, :, :OFFSETS[C_FACTORY]].any(axis=2)
    assert sorted(zip(*np.nonzero(robot_part))) == [(9, 9), (11, 11)]
    assert sorted(zip(*np.nonzero(m1[:, :, OFFSETS[C_FACTORY]:].any(axis=2)))) == [OPP_FACTORY]


# -------------------------------------------------------------------------------------- decode
def cell_actions(**cells):
    """int (S, S, 7) zeros (keep / none) with the given cells set: {"x_y": {k: choice}}."""
    a = np.zeros((S, S, NUM_COMPONENTS), np.int64)
    for key, comps in cells.items():
        x, y = map(int, key.split("_")[1:])
        for k, v in comps.items():
            a[x, y, k] = v
    return a


def test_decode_keep_and_queue_head_send_nothing():
    sticky_up = [0, 1, 0, 0, 1, 1]
    once_up = [0, 1, 0, 0, 0, 1]
    st = make_state(my_units=[unit("unit_5", 8, 8, queue=[sticky_up]), unit("unit_6", 2, 2),
                              unit("unit_7", 12, 12, queue=[once_up])])
    # keep everywhere: nothing sent
    assert decode(st, cell_actions()) == {}
    # the same move as the sticky head: nothing sent (it goes on for free); unit_6 is sent a sticky
    # move; unit_7's one-shot head becomes sticky (it pays Q once instead of every turn)
    out = decode(st, cell_actions(c_8_8={C_TYPE: MOVE, C_MOVE: UP}, c_2_2={C_TYPE: MOVE, C_MOVE: UP},
                                  c_12_12={C_TYPE: MOVE, C_MOVE: UP}))
    assert out == {"unit_6": [sticky_up], "unit_7": [sticky_up]}
    # another direction replaces the queue
    out = decode(st, cell_actions(c_8_8={C_TYPE: MOVE, C_MOVE: RIGHT}))
    assert out == {"unit_5": [[0, 2, 0, 0, 1, 1]]}
    assert all(type(v) is int for v in out["unit_5"][0])


def test_decode_sends_one_shot_when_power_is_short_and_goes_on_when_keep_is_safe():
    """A sticky action needs P - Q - cost >= Q (agent.action_queue.sticky_ok); repeating a sticky head
    that keep allows sends nothing even then."""
    # LIGHT: Q = 1, move cost 1 on bare ground; power 2 -> 2 - 1 - 1 = 0 < 1: one-shot
    st = make_state(my_units=[unit("unit_1", 5, 5, power=2), unit("unit_2", 9, 9, power=2, queue=[[0, 1, 0, 0, 1, 1]])])
    out = decode(st, cell_actions(c_5_5={C_TYPE: MOVE, C_MOVE: UP}, c_9_9={C_TYPE: MOVE, C_MOVE: UP}))
    # unit_2 may keep its sticky move (2 - 1 >= 1): nothing sent
    assert out == {"unit_1": [[0, 1, 0, 0, 0, 1]]}
    # with power 1 keeping is not safe (1 - 1 < 1): the mask forbids keep, a new move is one-shot
    st = make_state(my_units=[unit("unit_2", 9, 9, power=1, queue=[[0, 1, 0, 0, 1, 1]])])
    m = action_masks(st)
    assert not m[9, 9, OFFSETS[C_TYPE] + KEEP]
    assert decode(st, cell_actions(c_9_9={C_TYPE: MOVE, C_MOVE: UP})) == {"unit_2": [[0, 1, 0, 0, 0, 1]]}


def test_decode_factory_choices():
    fs = [factory(0, 4, 4), factory(2, 8, 4), factory(3, 12, 4)]
    st = make_state(my_factories=fs)
    out = decode(st, cell_actions(c_4_4={C_FACTORY: F_LIGHT}, c_8_4={C_FACTORY: F_HEAVY},
                                  c_12_4={C_FACTORY: F_WATER}))
    assert out == {"factory_0": 0, "factory_2": 1, "factory_3": 2}
    assert decode(st, cell_actions(c_4_4={C_FACTORY: F_NONE})) == {}
    # choices on the opponent factory center are ignored
    assert decode(st, cell_actions(c_11_11={C_FACTORY: F_WATER})) == {}


@pytest.mark.parametrize("frac", range(4))
def test_decode_amounts_follow_the_fractions(frac):
    share = (0.25, 0.5, 0.75, 1.0)[frac]
    q = LIGHT.ACTION_QUEUE_POWER_COST
    f = factory(0, *MY_FACTORY, power=1000, cargo=dict(ice=40, water=100, metal=100))
    units = [
        unit("unit_5", 6, 4, power=101, cargo=dict(ice=100, ore=1)),  # next to our factory (left)
        unit("unit_6", 4, 4, power=50, cargo=dict(ice=90)),  # on our factory center
        unit("unit_7", 3, 3, power=20),  # factory corner, empty
        unit("unit_8", 8, 8, power=30),  # recharge
    ]
    st = make_state(my_units=units, my_factories=[f])
    out = decode(st, cell_actions(
        c_6_4={C_TYPE: TRANSFER, C_TDIR: T_LEFT, C_TRES: ICE, C_AMOUNT: frac},
        c_4_4={C_TYPE: PICKUP, C_PRES: ICE, C_AMOUNT: frac},
        c_3_3={C_TYPE: PICKUP, C_PRES: ICE, C_AMOUNT: frac},
        c_8_8={C_TYPE: RECHARGE, C_AMOUNT: frac},
    ))
    assert out["unit_5"] == [[1, 4, ICE, math.floor(share * 100), 0, 1]]
    # pickup: min(factory stock 40, free cargo 10) for unit_6, min(40, 100) for unit_7
    assert out["unit_6"] == [[2, 0, ICE, max(1, math.floor(share * 10)), 0, 1]]
    assert out["unit_7"] == [[2, 0, ICE, math.floor(share * 40), 0, 1]]
    assert out["unit_8"] == [[5, 0, 0, math.floor(share * LIGHT.BATTERY_CAPACITY), 1, 1]]  # sticky
    # power: of what is left after the queue-update cost; ore: 1 unit -> at least 1
    out = decode(st, cell_actions(c_6_4={C_TYPE: TRANSFER, C_TDIR: T_LEFT, C_TRES: POWER, C_AMOUNT: frac}))
    assert out["unit_5"] == [[1, 4, POWER, math.floor(share * (101 - q)), 0, 1]]
    out = decode(st, cell_actions(c_6_4={C_TYPE: TRANSFER, C_TDIR: T_LEFT, C_TRES: ORE, C_AMOUNT: frac}))
    assert out["unit_5"] == [[1, 4, ORE, 1, 0, 1]]
    for acts in out.values():
        assert acts[0][3] >= 1


@pytest.mark.parametrize("shape", [(S - 1, S, NUM_COMPONENTS), (S, S, NUM_COMPONENTS - 1), (S * S, NUM_COMPONENTS)])
def test_decode_wrong_shape_raises(shape):
    st = make_state(my_units=[unit("unit_5", 8, 8)])
    with pytest.raises(ValueError):
        decode(st, np.zeros(shape, np.int64))


# ------------------------------------------------------- water-cost bound against the engine
def _water_logits(state, masks):
    """Mask-respecting random play that lets lichen spread: robots dig often (clearing rubble
    around the factories, digging lichen away), never pick up water or metal; factories water
    whenever allowed (else mostly build heavies)."""
    logits = np.zeros(masks.shape)
    u = state.my_units
    if len(u):
        x, y = u.pos[:, 0], u.pos[:, 1]
        logits[x, y, OFFSETS[C_TYPE] + DIG] = 3.0
        logits[x, y, OFFSETS[C_TYPE] + MOVE] = 1.5
        logits[x, y, OFFSETS[C_PRES] + WATER] = -20.0
        logits[x, y, OFFSETS[C_PRES] + METAL] = -20.0
    f = state.my_factories
    if len(f):
        logits[f.pos[:, 0], f.pos[:, 1], OFFSETS[C_FACTORY] + F_WATER] = 4.0
        logits[f.pos[:, 0], f.pos[:, 1], OFFSETS[C_FACTORY] + F_HEAVY] = 2.0
    return logits


def test_water_cost_bound_covers_the_engine_cost_every_turn():
    """Real game: "small" rules (32x32), seed 7, 400 turns, 1500 water per factory so lichen
    spreads for long.

    Each turn t, for each factory of each player: ``bound`` = water_cost_bound(GameState_t);
    ``validate`` = the engine's ``Factory.water_cost`` right now, i.e. of the cache computed
    mid-step t-1 (what ``validate_actions`` checks in step t); ``execute`` = the cost seen by
    ``_handle_factory_water_actions`` in step t (cache recomputed after this step's digs and
    moves). Both must be <= bound.
    """
    t0 = time.time()
    env = make_env("small", INIT_WATER_METAL_PER_FACTORY=1500, max_episode_length=400)
    exec_costs = {}
    orig = LuxAI_S2._handle_factory_water_actions

    def record(env_self, actions_by_type):
        for fs in env_self.state.factories.values():
            for fid, fac in fs.items():
                exec_costs[fid] = fac.water_cost(env_self.env_cfg)
        return orig(env_self, actions_by_type)

    env._handle_factory_water_actions = record.__get__(env)  # this engine instance only
    raw, _ = env.reset(seed=7)
    cfg = dataclasses.asdict(env.env_cfg)
    players = ("player_0", "player_1")
    states = {p: GameState(cfg, p) for p in players}
    rng = np.random.default_rng(7)
    rows = []  # (turn, factory, bound, validate cost, execute cost)
    while True:
        acts, pending = {}, []
        for p in players:
            st = states[p]
            st.update(raw[p], step=env.env_steps)
            if st.is_early_phase:
                acts[p] = early_action(st)
                continue
            m = action_masks(st)
            acts[p] = decode(st, sample_masked(_water_logits(st, m), m, rng))
            for fid, b in zip(st.my_factories.ids, water_cost_bound(st)):
                pending.append((st.real_env_steps, fid, int(b), env.state.factories[p][fid].water_cost(env.env_cfg)))
        exec_costs.clear()
        raw, rewards, term, trunc, _ = env.step(acts)
        rows += [r + (exec_costs[r[1]],) for r in pending]
        if any(term[p] or trunc[p] for p in players):
            break
    a = np.array([r[2:] for r in rows])
    bound, real_v, real_x = a[:, 0], a[:, 1], a[:, 2]
    busy = real_v > 0
    print(f"\nwater-cost bound vs engine: {env.state.real_env_steps} turns, {len(rows)} factory-turns, "
          f"{busy.sum()} with a real cost > 0, max real cost {real_v.max()}; bound - real: "
          f"validate mean {np.mean(bound - real_v):.3f} (over real > 0: {np.mean((bound - real_v)[busy]):.3f}) "
          f"max {np.max(bound - real_v)}, execute mean {np.mean(bound - real_x):.3f} max {np.max(bound - real_x)}, "
          f"exact in {np.mean(bound == real_v):.1%}; {time.time() - t0:.1f}s")
    violations = [r for r in rows if r[3] > r[2] or r[4] > r[2]]
    assert not violations, violations[:10]
    # not vacuous: lichen spread and the cost went well beyond the 12 seed cells
    assert busy.sum() > 500 and real_v.max() >= 8, (busy.sum(), real_v.max())


# ------------------------------------------------------------------------------------ own collisions
def test_decode_avoids_own_collisions_and_builds_under_robots():
    from agent.actions import C_FACTORY, C_MOVE, C_TYPE, F_LIGHT, KEEP, MOVE, avoid_own_collisions, decode

    S = CFG.map_size
    # unit_5 (light) and unit_6 (heavy) both move into (8, 8); unit_7 moves onto unit_8, which stays
    units = [unit("unit_5", 7, 8), unit("unit_6", 9, 8, heavy=True, power=500), unit("unit_7", 10, 10),
             unit("unit_8", 11, 10), unit("unit_9", 4, 4)]
    st = make_state(my_units=units, my_factories=[factory(0, *MY_FACTORY)])
    a = np.zeros((S, S, 7), np.int64)
    a[7, 8, C_TYPE], a[7, 8, C_MOVE] = MOVE, 1  # right
    a[9, 8, C_TYPE], a[9, 8, C_MOVE] = MOVE, 3  # left
    a[10, 10, C_TYPE], a[10, 10, C_MOVE] = MOVE, 1  # right, onto unit_8
    a[4, 4, C_FACTORY] = F_LIGHT  # unit_9 stays on the factory center
    fixed = avoid_own_collisions(st, a)
    assert fixed[9, 8, C_TYPE] == MOVE and fixed[7, 8, C_TYPE] == KEEP  # the heavy goes first
    assert fixed[10, 10, C_TYPE] == KEEP
    assert fixed[4, 4, C_FACTORY] == 0
    out = decode(st, a)
    assert set(out) == {"unit_6"}
    raw = decode(st, a, avoid_collisions=False)
    assert {"unit_5", "unit_6", "unit_7", "factory_0"} <= set(raw)


def test_light_power_guard_sends_a_light_home_before_it_runs_short_and_fills_it_there():
    """agent.guards.light_power.guard_light_power: our factory (centre (4, 4), tiles 3..5), a LIGHT at (8, 4),
    three moves from its tile (5, 4), on rubble it may dig. With the power for a dig, the walk home
    (at most ceil(home_cost / LIGHT_HOME_COST_DIVISOR)) and LIGHT_POWER_MARGIN it keeps its choices; below that it may
    only move left, home. On the factory below LIGHT_POWER_FILL it may only pick up its whole free
    battery, unless the factory would keep less than LIGHT_POWER_RESERVE; a HEAVY or a light with
    ore keep their choices."""
    rubble = {(8, 4): 20}

    def guarded(units, power=3000):
        st = make_state(my_units=units, my_factories=[factory(0, *MY_FACTORY, power=power)], board=dict(rubble=rubble))
        masks = action_masks(st)
        return st, masks, guard_light_power(st, masks, home_cost_map(encode(st)[0]))

    def only(masks, xy, k):
        return list(np.flatnonzero(comp(masks, xy, k)))

    st, m, g = guarded([unit("unit_7", 8, 4, power=150)])
    need = -(-home_cost_map(encode(st)[0])[8, 4] // LIGHT_HOME_COST_DIVISOR)
    need += LIGHT_POWER_MARGIN + LIGHT.ACTION_QUEUE_POWER_COST + LIGHT.DIG_COST
    assert g is m and rtype(m, (8, 4))[DIG]
    st, m, g = guarded([unit("unit_7", 8, 4, power=need)])
    assert g is m
    st, m, g = guarded([unit("unit_7", 8, 4, power=need - 1)])
    assert rtype(m, (8, 4))[DIG] and only(g, (8, 4), C_TYPE) == [MOVE] and only(g, (8, 4), C_MOVE) == [LEFT]
    for units in ([unit("unit_7", 8, 4, heavy=True, power=need - 1)],
                  [unit("unit_7", 8, 4, power=need - 1, cargo=dict(ore=10))]):
        st, m, g = guarded(units)
        assert g is m, units
    # on the factory: fill the battery (amount 100 %) while the factory keeps its reserve
    st, m, g = guarded([unit("unit_7", 4, 4, power=LIGHT_POWER_FILL - 1)])
    assert only(g, (4, 4), C_TYPE) == [PICKUP] and only(g, (4, 4), C_PRES) == [POWER] and only(g, (4, 4), C_AMOUNT) == [3]
    space = LIGHT.BATTERY_CAPACITY - (LIGHT_POWER_FILL - 1)
    for units, power in (([unit("unit_7", 4, 4, power=LIGHT_POWER_FILL)], 3000),
                         ([unit("unit_7", 4, 4, power=LIGHT_POWER_FILL - 1)], space + LIGHT_POWER_RESERVE - 1)):
        st, m, g = guarded(units, power=power)
        assert g is m, (units, power)
    # guarded_masks applies it only when asked
    st = make_state(my_units=[unit("unit_7", 8, 4, power=need - 1)], my_factories=[factory(0, *MY_FACTORY, power=3000)],
                    board=dict(rubble=rubble))
    assert rtype(guarded_masks(st), (8, 4))[DIG]
    assert only(guarded_masks(st, light_power_guard=True), (8, 4), C_TYPE) == [MOVE]


def test_raid_guard_digs_the_opponents_lichen_in_the_last_turns():
    """agent.guards.raid.guard_raid: the opponent's lichen (strain 1) on (9, 11), left of its factory
    (tiles 10..12), ours (strain 0) on (6, 4). In the last RAID_TURNS turns a LIGHT on the
    opponent's lichen digs it, one two moves up walks down to it (or home first when it has too
    little power for RAID_DIGS digs and the time to fill up), one on our factory fills its battery;
    a HEAVY raids only for a factory with the water to the last turn. Earlier, on our own lichen or
    with the cell held by an opponent HEAVY, nothing changes; the raid overrides the light power
    guard."""
    lichen = {(9, 11): 50, (6, 4): 50}
    strains = {(9, 11): 1, (6, 4): 0}
    q, d = LIGHT.ACTION_QUEUE_POWER_COST, LIGHT.DIG_COST

    def state(units, turn=CFG.max_episode_length - 50, water=100, power=1000, opp_units=()):
        obs = make_obs(my_units=units, opp_units=opp_units, board=dict(lichen=lichen, lichen_strains=strains),
                       my_factories=[factory(0, *MY_FACTORY, power=power, cargo=dict(water=water))])
        obs["real_env_steps"] = turn
        return GameState.from_obs(obs, ENV_CFG, "player_0")

    def guarded(units, **kw):
        st = state(units, **kw)
        masks = action_masks(st)
        return st, masks, guard_raid(st, masks, encode(st)[0])

    def only(masks, xy, k):
        return list(np.flatnonzero(comp(masks, xy, k)))

    st, m, g = guarded([unit("unit_7", 9, 11)])  # on the opponent's lichen
    assert rtype(m, (9, 11))[MOVE] and only(g, (9, 11), C_TYPE) == [DIG]
    st, m, g = guarded([unit("unit_7", 9, 11, power=q + d - 1)])  # no power for a dig
    assert g is m
    st, m, g = guarded([unit("unit_7", 9, 11)], turn=CFG.max_episode_length - RAID_TURNS - 1)  # too early
    assert g is m
    walk = 2 * (q + LIGHT.MOVE_COST)  # two moves down to (9, 11), no rubble
    st, m, g = guarded([unit("unit_7", 9, 9, power=walk + q + RAID_DIGS * d)])
    assert only(g, (9, 9), C_TYPE) == [MOVE] and only(g, (9, 9), C_MOVE) == [DOWN]
    st, m, g = guarded([unit("unit_7", 9, 9, power=walk + q + RAID_DIGS * d - 1)])  # home first: 8 moves away
    assert only(g, (9, 9), C_TYPE) == [MOVE] and only(g, (9, 9), C_MOVE) == [UP, LEFT]
    late = CFG.max_episode_length - (2 * 8 + 2 + RAID_DIGS)  # no time to fill up: raid with what it has
    st, m, g = guarded([unit("unit_7", 9, 9, power=walk + q + d)], turn=late)
    assert only(g, (9, 9), C_MOVE) == [DOWN]
    st, m, g = guarded([unit("unit_7", 9, 9, power=walk + q + d - 1)], turn=late)
    assert g is m
    st, m, g = guarded([unit("unit_7", 9, 9)], opp_units=[unit("unit_9", 9, 11, heavy=True, team=1)])
    assert g is m  # the cell is held by an opponent HEAVY
    st, m, g = guarded([unit("unit_7", 6, 4)])  # our own lichen is no target: it walks on
    assert not rtype(g, (6, 4))[DIG]
    # on our factory: fill the battery when the factory holds the power, then go
    st, m, g = guarded([unit("unit_7", 5, 5, power=50)], power=LIGHT.BATTERY_CAPACITY - 50)
    assert only(g, (5, 5), C_TYPE) == [PICKUP] and only(g, (5, 5), C_PRES) == [POWER] and only(g, (5, 5), C_AMOUNT) == [3]
    st, m, g = guarded([unit("unit_7", 5, 5, power=50)], power=LIGHT.BATTERY_CAPACITY - 51)
    assert only(g, (5, 5), C_TYPE) == [MOVE]
    # a HEAVY raids only for a factory with the water to the last turn, its lichen watered (the bound)
    cost = int(water_cost_bound(state([]))[0])
    spare = 50 * (CFG.FACTORY_WATER_CONSUMPTION + cost) + RAID_WATER
    st, m, g = guarded([unit("unit_8", 9, 9, heavy=True, power=3000)], water=spare - 1)
    assert g is m
    st, m, g = guarded([unit("unit_8", 9, 9, heavy=True, power=3000)], water=spare)
    assert only(g, (9, 9), C_MOVE) == [DOWN]
    # guarded_masks applies it only when asked, last, over the light power guard's walk home
    st = state([unit("unit_7", 9, 11, power=q + d)])
    assert only(guarded_masks(st, light_power_guard=True), (9, 11), C_TYPE) == [MOVE]
    assert only(guarded_masks(st, light_power_guard=True, raid_guard=True), (9, 11), C_TYPE) == [DIG]


def test_heavy_rubble_guard_sends_a_spare_heavy_to_dig_the_rubble_frontier():
    """agent.guards.heavy_rubble.guard_heavy_rubble: our factory (centre (4, 4), tiles 3..5) with two HEAVY robots
    and the water to live to the last turn plus HEAVY_RUBBLE_WATER; rubble at (12, 7), the frontier.
    The heavy with the highest unit_id walks to it, digs it, goes home below its walk home plus a dig
    and HEAVY_RUBBLE_MARGIN, and fills up on the factory; the first heavy, a heavy with ice, a
    factory with one heavy or less water keep their choices."""
    frontier = (12, 7)
    first = unit("unit_2", 2, 4, heavy=True, power=1000)
    remaining = CFG.max_episode_length - 10  # make_obs plays turn 10
    spare = remaining * CFG.FACTORY_WATER_CONSUMPTION + WATER_GUARD_MARGIN + HEAVY_RUBBLE_WATER

    def guarded(units, water=spare, power=3000):
        st = make_state(my_units=units, my_factories=[factory(0, *MY_FACTORY, power=power, cargo=dict(water=water))],
                        board=dict(rubble={frontier: 10}))
        planes = encode(st)[0]
        masks = action_masks(st)
        return st, masks, guard_heavy_rubble(st, masks, planes, home_cost_map(planes))

    def only(masks, xy, k):
        return list(np.flatnonzero(comp(masks, xy, k)))

    st, m, g = guarded([first, unit("unit_6", 9, 7, heavy=True, power=1000)])
    assert only(g, (9, 7), C_TYPE) == [MOVE] and only(g, (9, 7), C_MOVE) == [RIGHT]
    assert np.array_equal(g[2, 4], m[2, 4]) and rtype(m, (9, 7))[RECHARGE]  # the first heavy; masks left as they were
    st, m, g = guarded([first, unit("unit_6", *frontier, heavy=True, power=1000)])  # on the frontier: dig
    assert rtype(m, frontier)[MOVE] and only(g, frontier, C_TYPE) == [DIG]
    need = home_cost_map(encode(st)[0])[frontier] + HEAVY_RUBBLE_MARGIN + HEAVY.ACTION_QUEUE_POWER_COST + HEAVY.DIG_COST
    st, m, g = guarded([first, unit("unit_6", *frontier, heavy=True, power=need)])
    assert only(g, frontier, C_TYPE) == [DIG]
    st, m, g = guarded([first, unit("unit_6", *frontier, heavy=True, power=need - 1)])  # short: home, up or left
    assert only(g, frontier, C_TYPE) == [MOVE] and only(g, frontier, C_MOVE) == [UP, LEFT]
    # on the factory below HEAVY_RUBBLE_FILL: fill the battery while the factory keeps its reserve
    low = HEAVY_RUBBLE_FILL - 1
    space = HEAVY.BATTERY_CAPACITY - low
    st, m, g = guarded([first, unit("unit_6", 5, 4, heavy=True, power=low)], power=space + HEAVY_RUBBLE_RESERVE)
    assert only(g, (5, 4), C_TYPE) == [PICKUP] and only(g, (5, 4), C_PRES) == [POWER] and only(g, (5, 4), C_AMOUNT) == [3]
    st, m, g = guarded([first, unit("unit_6", 5, 4, heavy=True, power=low)], power=space + HEAVY_RUBBLE_RESERVE - 1)
    assert g is m
    st, m, g = guarded([first, unit("unit_6", 5, 4, heavy=True, power=HEAVY_RUBBLE_FILL)])  # full enough: out
    assert only(g, (5, 4), C_TYPE) == [MOVE] and only(g, (5, 4), C_MOVE) == [RIGHT, DOWN]
    for units, water in (([first, unit("unit_6", 9, 7, heavy=True, power=1000)], spare - 1),
                         ([unit("unit_6", 9, 7, heavy=True, power=1000)], spare),
                         ([first, unit("unit_6", 9, 7, heavy=True, power=1000, cargo=dict(ice=20))], spare),
                         ([first, unit("unit_6", 9, 7, power=1000)], spare)):
        st, m, g = guarded(units, water=water)
        assert g is m, (units, water)
    # guarded_masks applies it only when asked
    st = make_state(my_units=[first, unit("unit_6", 9, 7, heavy=True, power=1000)], board=dict(rubble={frontier: 10}),
                    my_factories=[factory(0, *MY_FACTORY, power=3000, cargo=dict(water=spare))])
    assert rtype(guarded_masks(st), (9, 7))[RECHARGE]
    assert only(guarded_masks(st, heavy_rubble_guard=True), (9, 7), C_TYPE) == [MOVE]
