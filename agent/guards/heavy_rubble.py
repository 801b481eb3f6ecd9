"""The heavy rubble guard: a factory with water to spare sends its second HEAVY robot to dig the rubble frontier."""

import numpy as np

from agent.actions import A_DIG, DIG, MOVE, RES_ICE, RES_ORE, RES_WATER
from agent.features import DIST_SCALE, HOME_COST_CLIP, P as PLANE
from agent.guards.base import (
    Guard, fill_allowed, hold, hold_fill, occupied_cells, robot_cells, robot_factory_steps, step_down, step_to_factory,
    unit_numbers,
)
from agent.guards.water import WATER_GUARD_MARGIN, water_to_last_turn


HEAVY_RUBBLE_WATER = 300   # water beyond the reserve to the last turn from which a factory's second HEAVY digs rubble
HEAVY_RUBBLE_MARGIN = 60   # HEAVY power kept beyond the walk home and one dig before it turns home
HEAVY_RUBBLE_FILL = 1500   # a rubble HEAVY on our factory with less power than this fills its battery there
HEAVY_RUBBLE_RESERVE = 500  # factory power a rubble HEAVY's fill leaves
HEAVY_RUBBLE_STEPS = 12    # the farthest rubble_frontier cell, in steps, a rubble HEAVY walks to


def guard_heavy_rubble(state, masks, planes, home_cost, water=HEAVY_RUBBLE_WATER, margin=HEAVY_RUBBLE_MARGIN,
                       fill=HEAVY_RUBBLE_FILL, reserve=HEAVY_RUBBLE_RESERVE, steps=HEAVY_RUBBLE_STEPS,
                       clip=HOME_COST_CLIP):
    """``masks`` with the second HEAVY robot of a factory that has water to spare digging the rubble frontier.

    A robot counts for the factory it is nearest to (fewest moves to a tile of its 3x3). A factory
    *has water to spare* when ``water + ice // ICE_WATER_RATIO >= remaining_turns x
    FACTORY_WATER_CONSUMPTION + WATER_GUARD_MARGIN + water`` (water units, Lux S2 specs,
    "Factories"): it lives to the last turn without more ice and holds ``water`` for lichen. Of each
    such factory with two HEAVY robots or more, the HEAVY with the highest unit_id and no ice or ore
    in its cargo, power ``P``, ``Q = ACTION_QUEUE_POWER_COST`` and ``DIG_COST`` (60):

    * off our factory tiles, when ``P - Q - DIG_COST < home_cost + margin`` (``home_cost``: its
      walk to our nearest factory tile, from the ``home_cost`` plane): may only move closer to that
      factory (:func:`hold_step`); a robot whose way home is unknown (``>= clip``) is left alone;
    * on a ``rubble_frontier`` cell (:mod:`agent.features` plane 58) otherwise: may only dig, or
      keep a dig head;
    * on our factory tile below ``fill`` power, when the factory holds the power to fill its battery
      plus ``reserve``: may only pick up power, the whole free battery (amount 100 %);
    * otherwise, at most ``steps`` steps from the frontier (plane 59): may only move down the steps
      to it, as :func:`guard_rubble` moves a LIGHT.

    A HEAVY digs 20 rubble for 60 power, a LIGHT 2 for 5 (Lux S2 specs, "Robots"), and lichen
    spreads only to rubble-free cells ("Lichen"). Neither the scripted baseline nor the shipped net
    digs rubble with heavies (0.5 and 0.4 % of their heavies' turns), while the net's lichen covers fewer cells than
    the baseline's (416 against 743 in validation seed 1000114, net as player_1) and its factories
    end the game with the water for more (5,236 against 1,650; ``scripts/robot_budget.py``). A
    robot whose masks allow none of the kept choices keeps its choices; LIGHT robots and the first
    HEAVY of a factory (its ice miner) are left alone.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of the
    playing agent (agent.json ``heavy_rubble_guard``), like :func:`guard_rubble` for lights.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        planes (np.ndarray): float (C, S, S) of :func:`agent.features.encode` for ``state``.
        home_cost (np.ndarray): int64 (S, S), a HEAVY's power to our nearest factory tile
            (:func:`agent.features.home_cost_map`).
        water (int): water units beyond the reserve to the last turn from which a factory spares a heavy.
        margin (int): HEAVY power kept beyond the walk home and a dig.
        fill (int): HEAVY power under which a rubble heavy on our factory fills up.
        reserve (int): factory power left after a fill.
        steps (int): the farthest frontier, in steps, a rubble heavy walks to.
        clip (float): home costs at or above this count as unknown.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0 or u.heavy.sum() < 2:
        return masks
    heavy = u.heavy.astype(bool)
    cfg = state.cfg
    spare = (f.cargo[:, RES_WATER] + f.cargo[:, RES_ICE] // int(cfg.ICE_WATER_RATIO)
             >= water_to_last_turn(state, WATER_GUARD_MARGIN + water))
    fsteps = robot_factory_steps(state)
    home = fsteps.argmin(1)
    uid = unit_numbers(u)
    diggers = []
    for k in np.flatnonzero(spare & (np.bincount(home[heavy], minlength=len(f)) >= 2)):
        mine = np.flatnonzero(heavy & (home == k))
        diggers.append(mine[uid[mine].argmax()])
    diggers = [i for i in diggers if u.cargo[i, RES_ICE] == 0 and u.cargo[i, RES_ORE] == 0]
    if not diggers:
        return masks
    r = cfg.robot
    dist = np.rint(planes[PLANE["dist_rubble_frontier"]] * DIST_SCALE).astype(np.int64)
    frontier = planes[PLANE["rubble_frontier"]] > 0
    occupied = occupied_cells(cfg.map_size, x, y)
    out = masks.copy()
    for i in diggers:
        cx, cy, k = int(x[i]), int(y[i]), int(home[i])
        power = int(u.power[i])
        if fsteps[i, k] > 0:  # off our factories
            if home_cost[cx, cy] >= clip:
                continue
            if power - int(r["ACTION_QUEUE_POWER_COST"][1]) - int(r["DIG_COST"][1]) < home_cost[cx, cy] + margin:
                if out[cx, cy, t0 + MOVE]:
                    step_to_factory(out, u, i, f, k, occupied)
                continue
            if frontier[cx, cy] and out[cx, cy, t0 + DIG]:
                hold(out, cx, cy, DIG, keep=u.queue_len[i] > 0 and u.head[i, 0] == A_DIG)
                continue
        elif power < fill:
            if f.power[k] >= int(r["BATTERY_CAPACITY"][1]) - power + reserve and fill_allowed(out, cx, cy):
                hold_fill(out, cx, cy)
            continue
        if dist[cx, cy] <= steps and out[cx, cy, t0 + MOVE]:
            step_down(out, u, i, dist, occupied)
    if np.array_equal(out[x[diggers], y[diggers]], masks[x[diggers], y[diggers]]):  # the only cells changed
        return masks
    return out


GUARD = Guard("heavy_rubble_guard", "a factory with water to spare sends its second HEAVY robot to dig the rubble frontier",
              guard_heavy_rubble, needs=("planes", "home_cost"))
