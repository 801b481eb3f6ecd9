"""The raid guard: in the last turns of a game our robots dig the opponent's lichen."""

import numpy as np

from agent.actions import A_DIG, DIG, MOVE, RES_ICE, RES_WATER
from agent.features import P as PLANE
from agent.guards.base import (
    Guard, fill_allowed, hold, hold_fill, occupied_cells, remaining_turns, robot_cells, robot_factory_steps, step_down,
    step_to_factory,
)
from agent.masks import water_cost_bound
from agent.paths import INF, cost_to, step_cost


RAID_TURNS = 150    # the last turns of a game in which our robots dig the opponent's lichen
RAID_WATER = 50     # water a factory keeps beyond its consumption and watering to the last turn before its HEAVY robots raid
RAID_STEPS = 40     # the farthest opponent lichen, in moves, a raider sets out for
RAID_FILL = 0.9     # a raider on our factory with less than this share of its battery fills it there first
RAID_DIGS = 10      # digs a raider's power must pay for beyond its walk, else it fills up first when time allows


def guard_raid(state, masks, planes, base=None, turns=RAID_TURNS, water=RAID_WATER, steps=RAID_STEPS, fill=RAID_FILL,
               digs=RAID_DIGS):
    """``masks`` with our robots digging the opponent's lichen in the last ``turns`` turns of a game.

    The game's result is the lichen on each side's strains after the last turn (``LuxAI_S2.step``
    rewards), and a dig on a lichen cell removes ``DIG_LICHEN_REMOVED`` of it whatever its strain
    (LIGHT 10 for 5 power, HEAVY 100 for 60), leaving rubble where it digs the last
    (``LuxAI_S2._handle_dig_actions``; Lux S2 specs, "Lichen"), so the cell cannot grow back.
    Neither the scripted baseline nor the shipped net digs the other side's lichen. With
    ``remaining = max_episode_length - real_env_steps <= turns``, the *raiders* are all our LIGHT
    robots and the HEAVY robots of factories (the one each robot is nearest to) whose ``water +
    ice // ICE_WATER_RATIO >= remaining x (FACTORY_WATER_CONSUMPTION + cost) + water``, ``cost``
    being :func:`water_cost_bound` (an upper bound of this turn's watering): the ice they would
    bring no longer keeps our lichen. For a raider with power ``P``, ``Q = ACTION_QUEUE_POWER_COST``, ``D =
    DIG_COST`` and ``c`` its power to walk to the nearest cell of the opponent's lichen
    (:func:`agent.paths.cost_to` over :func:`agent.paths.step_cost`, opponent factory tiles and
    HEAVY robots barred):

    * on a cell of the opponent's lichen with ``P >= Q + D``: may only dig, or keep a dig head;
    * on our factory with less than ``fill`` of its battery, when the factory holds the power to fill
      it: may only pick up power, the whole free battery (amount 100 %);
    * otherwise, when the nearest such cell is fewer than ``remaining`` and at most ``steps`` moves
      away and ``P >= c + Q + D``: may only move down ``c`` (:func:`step_down`); but a robot off
      our factory with ``P < c + Q + digs x D`` that has the time to fill up and come back (``2 x
      moves home + moves to the lichen + digs < remaining``) may only move home first
      (:func:`step_to_factory`).

    A raider held to one of these starts from its ``base`` choices (the other guards would send a
    LIGHT short of power home, or keep a HEAVY's walk-home power, which the last turns no longer
    need); a robot whose ``base`` allows none of the kept choices keeps its ``masks`` choices, and so
    do the other robots. Not part of :func:`action_masks` (the engine accepts the other choices): a
    decoding option of the playing agent (agent.json ``raid_guard``), applied after every other guard.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        planes (np.ndarray): float (C, S, S) of :func:`agent.features.encode` for ``state`` (reads
            ``factory_theirs``).
        base (np.ndarray | None): bool (S, S, A), :func:`action_masks` before the other guards;
            ``masks`` when None.
        turns (int): the raid's length in turns, counted back from the last.
        water (int): water units a factory keeps beyond its needs to the last turn before its heavies raid.
        steps (int): the farthest opponent lichen, in moves, a raider sets out for.
        fill (float): share of its battery under which a raider on our factory fills it first.
        digs (int): digs a raider's power must pay for beyond its walk before it sets out without
            filling up (when it has the time to).

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    cfg = state.cfg
    remaining = remaining_turns(state)
    u, x, y, t0 = robot_cells(state)
    f, o = state.my_factories, state.opp_factories
    if remaining > turns or len(u) == 0 or len(f) == 0 or len(o) == 0:
        return masks
    b = state.board
    target = (b["lichen"] > 0) & np.isin(b["lichen_strains"], o.strain)
    if not target.any():
        return masks
    heavy = u.heavy.astype(bool)
    fsteps = robot_factory_steps(state)
    home = fsteps.argmin(1)
    on_factory = fsteps.min(1) == 0
    spare = (f.cargo[:, RES_WATER] + f.cargo[:, RES_ICE] // int(cfg.ICE_WATER_RATIO)
             >= remaining * (cfg.FACTORY_WATER_CONSUMPTION + water_cost_bound(state)) + water)
    raiders = ~heavy | spare[home]
    if not raiders.any():
        return masks
    r = cfg.robot
    S = cfg.map_size
    barred = planes[PLANE["factory_theirs"]] > 0
    ou = state.opp_units
    if len(ou):
        oh = ou.heavy.astype(bool)
        barred[ou.pos[oh, 0], ou.pos[oh, 1]] = True
    goal = target & ~barred
    moves = cost_to(goal, np.where(barred, INF, 1), max_iter=steps + 1)
    cost = {t: cost_to(goal, np.where(barred, INF, step_cost(r, b["rubble"], t)), max_iter=steps + 1).astype(np.int64)
            for t in np.unique(heavy[raiders].astype(np.int64))}
    occupied = occupied_cells(S, x, y)
    base = masks if base is None else base
    out = masks.copy()
    for i in np.flatnonzero(raiders):
        t = int(heavy[i])
        cx, cy, power = int(x[i]), int(y[i]), int(u.power[i])
        q, d, battery = (int(r[k][t]) for k in ("ACTION_QUEUE_POWER_COST", "DIG_COST", "BATTERY_CAPACITY"))
        kept = out[cx, cy].copy()
        out[cx, cy] = base[cx, cy]  # the raid takes the robot from the other guards
        if target[cx, cy]:
            if power >= q + d and out[cx, cy, t0 + DIG]:
                hold(out, cx, cy, DIG, keep=u.queue_len[i] > 0 and u.head[i, 0] == A_DIG)
        elif (on_factory[i] and power < fill * battery and f.power[home[i]] >= battery - power
              and fill_allowed(out, cx, cy)):
            hold_fill(out, cx, cy)
        elif moves[cx, cy] <= min(steps, remaining - 1) and power >= cost[t][cx, cy] + q + d and out[cx, cy, t0 + MOVE]:
            full = power >= cost[t][cx, cy] + q + digs * d
            back = int(fsteps[i, home[i]])  # moves home, then out again from no farther than here plus those
            if full or on_factory[i] or 2 * back + moves[cx, cy] + digs >= remaining:
                step_down(out, u, i, cost[t], occupied)
            else:  # too little power for ``digs`` digs and the time to fill up first
                step_to_factory(out, u, i, f, home[i], occupied)
        if np.array_equal(out[cx, cy], base[cx, cy]):
            out[cx, cy] = kept  # not raiding: the other guards' choices stand
    if np.array_equal(out[x[raiders], y[raiders]], masks[x[raiders], y[raiders]]):  # the only cells changed
        return masks
    return out


GUARD = Guard("raid_guard", "in the last turns of a game our robots dig the opponent's lichen", guard_raid,
              needs=("planes", "base"))
