"""The ore guard: a factory's first LIGHT robot mines ore, and a factory with one HEAVY builds a second."""

import numpy as np

from agent.actions import C_FACTORY, F_HEAVY, RES_METAL, RES_ORE, component_slice
from agent.guards.base import Guard, free_resource_steps, robot_cells, robot_factory_steps, unit_numbers
from agent.guards.ice import hold_miners


ORE_GUARD_LOAD = 40           # ore a LIGHT miner digs before it carries the load home (20 digs)
ORE_GUARD_STEPS = 10          # ore at most this many moves from a factory's tiles is mined for it
ORE_GUARD_BUILD_POWER = 1000  # factory power kept beyond a HEAVY's POWER_COST when it builds one
ORE_GUARD_HEAVIES = 2         # HEAVY robots a factory builds up to


def guard_ore(state, masks, load=ORE_GUARD_LOAD, steps=ORE_GUARD_STEPS, build_power=ORE_GUARD_BUILD_POWER,
              heavies=ORE_GUARD_HEAVIES):
    """``masks`` with a factory's first LIGHT robot mining ore and its metal spent on a second HEAVY.

    A robot counts for the factory it is nearest to (fewest moves to a tile of its 3x3). For each of
    our factories with one HEAVY robot and ore within ``steps`` moves of its tiles (on a cell none
    of our robots stands on), its LIGHT robot with the lowest unit_id (the scripted baseline's ore
    role, ``agent.scripted``) is held to the
    cycle of :func:`guard_ice` for ore: dig ore until it holds ``load``, transfer it all onto the
    factory (which refines it into metal: Lux S2 specs, "Factories"), go home for power below the
    digs of a load plus ``2 x steps``. A factory with fewer than ``heavies`` HEAVY robots, at least a
    HEAVY's ``METAL_COST`` in metal and ``POWER_COST + build_power`` in power may only build a HEAVY
    (when the masks allow it: its center is free).

    The shipped net's heavies and lights dig almost no ore, so it keeps one HEAVY a factory while the
    scripted baseline builds a second (seed 1000111: 9 heavies against 18; its lights dug 4,328 of
    its 7,368 ore in seed 1000112, ``scripts/robot_budget.py``); with one heavy a factory the net
    cannot bring the water a larger lichen area costs (``notes/log/training_log.md``). Lights mine the ore
    here, so the heavies' ice is never spent on metal.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of the
    playing agent (agent.json ``ore_guard``), like :func:`guard_ice`.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        load (int): ore units a LIGHT miner digs before carrying them home.
        steps (int): the farthest ore, in moves from the factory's tiles.
        build_power (int): factory power, beyond a HEAVY's ``POWER_COST``, needed to build one.
        heavies (int): HEAVY robots per factory from which it builds no more.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0:
        return masks
    r = state.cfg.robot
    heavy = u.heavy.astype(bool)
    home = robot_factory_steps(state).argmin(1)
    n_heavy = np.bincount(home[heavy], minlength=len(f))
    fs = component_slice(C_FACTORY)
    build = ((f.cargo[:, RES_METAL] >= int(r["METAL_COST"][1])) & (f.power >= int(r["POWER_COST"][1]) + build_power)
             & (n_heavy < heavies) & masks[f.pos[:, 0], f.pos[:, 1], fs.start + F_HEAVY])
    out = masks
    if build.any():
        out = masks.copy()
        out[f.pos[build, 0], f.pos[build, 1], fs] = False
        out[f.pos[build, 0], f.pos[build, 1], fs.start + F_HEAVY] = True
    # ore cells no robot of ours stands on, as the miners' targets
    ore, ore_steps = free_resource_steps(state, "ore")
    if len(ore) == 0:
        return out
    near_ore = ore_steps.min(0) <= steps
    # each such factory's LIGHT robot with the lowest unit number (the first of them in ``u`` order on
    # a tie), in factory order
    uid = unit_numbers(u)
    lights = np.flatnonzero(~heavy & ((n_heavy == 1) & near_ore)[home])
    low = -(-load // int(r["DIG_RESOURCE_GAIN"][0])) * int(r["DIG_COST"][0]) + 2 * steps
    if len(lights) == 0:
        return hold_miners(state, out, np.zeros(0, np.int64), np.zeros(0, np.int64), RES_ORE, load, low)
    order = lights[np.lexsort((uid[lights], home[lights]))]
    first = np.ones(len(order), bool)
    first[1:] = home[order[1:]] != home[order[:-1]]
    miners = order[first]
    return hold_miners(state, out, miners, home[miners], RES_ORE, load, low)


GUARD = Guard("ore_guard", "a factory's first LIGHT robot mines ore, and a factory with one HEAVY builds a second",
              guard_ore)
