"""The light power guard: a LIGHT robot goes home for power before it runs short and fills its battery there."""

import numpy as np

from agent.actions import RES_ICE, RES_ORE
from agent.features import HOME_COST_CLIP
from agent.guards.base import (
    Guard, fill_allowed, hold_fills, occupied_cells, robot_cells, robot_factory_steps, steps_to_factories,
)


LIGHT_POWER_MARGIN = 5      # LIGHT power kept beyond the walk home and one dig before it turns home
LIGHT_POWER_FILL = 135      # a LIGHT on our factory with less power than this fills its battery there
LIGHT_POWER_RESERVE = 300   # factory power a LIGHT's fill leaves for the HEAVY robots
LIGHT_HOME_COST_DIVISOR = 15  # a HEAVY's home_cost over this bounds a LIGHT's walk home from above


def guard_light_power(state, masks, home_cost, margin=LIGHT_POWER_MARGIN, fill=LIGHT_POWER_FILL,
                      reserve=LIGHT_POWER_RESERVE, clip=HOME_COST_CLIP):
    """``masks`` with a LIGHT robot sent home for power before it runs short, and filled up there.

    For each of our LIGHT robots with no ice or ore in its cargo, power ``P``, ``Q =
    ACTION_QUEUE_POWER_COST`` and ``DIG_COST`` (Lux S2 specs, "Robots"):

    * off our factory tiles, when ``P - Q - DIG_COST < h + margin``, with ``h`` an upper bound of
      its walk home, ``ceil(home_cost / LIGHT_HOME_COST_DIVISOR)`` (15: a HEAVY's step into a cell
      of rubble ``r`` costs ``30 + r`` with its queue cost, a LIGHT's ``2 + floor(r / 20)``,
      :func:`agent.paths.step_cost`): it may only move closer to our nearest factory tile, chosen
      as :func:`guard_ice` chooses (:func:`hold_step`); a robot whose way home is unknown
      (``home_cost >= clip``) is left alone;
    * on one of our factory tiles with less than ``fill`` power, when the factory holds the power to
      fill its battery plus ``reserve``: it may only pick up power, the whole free battery (amount
      100 %).

    The scripted baseline's lights work this way (go home below a round trip plus a margin, fill up,
    go out again: :mod:`agent.scripted`); the shipped net's lights dig the rubble frontier until
    their power is gone and then wait for the sun: in a validation game (seed 1000114, net as
    player_1, every guard with the ore guard) they spent 12.4 % of their turns off our factories
    without the power for a dig, the scripted baseline's 0.4 %, and dug rubble in 23.5 % of their
    turns against its 32.7 % (``scripts/robot_budget.py``), while the factories end with most of their
    power unused. A robot whose masks allow none of the kept choices keeps its choices.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of
    the playing agent (agent.json ``light_power_guard``), like :func:`guard_power` for heavies.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        home_cost (np.ndarray): int64 (S, S), a HEAVY's power to our nearest factory tile
            (:func:`agent.features.home_cost_map`).
        margin (int): LIGHT power kept beyond the walk home and a dig.
        fill (int): LIGHT power under which a robot on our factory fills up.
        reserve (int): factory power left after a fill.
        clip (float): home costs at or above this count as unknown.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0 or u.heavy.all():
        return masks
    r = state.cfg.robot
    light = ~u.heavy.astype(bool) & (u.cargo[:, RES_ICE] == 0) & (u.cargo[:, RES_ORE] == 0)
    steps = robot_factory_steps(state)
    home = steps.argmin(1)
    on_factory = steps.min(1) == 0
    power = u.power.astype(np.int64)
    h = -(-np.asarray(home_cost)[x, y] // LIGHT_HOME_COST_DIVISOR)
    short = light & ~on_factory & (home_cost[x, y] < clip)
    short &= power - int(r["ACTION_QUEUE_POWER_COST"][0]) - int(r["DIG_COST"][0]) < h + margin
    space = int(r["BATTERY_CAPACITY"][0]) - power
    refill = light & on_factory & (power < fill) & (f.power[home] >= space + reserve) & fill_allowed(masks, x, y)
    if not (short.any() or refill.any()):
        return masks
    occupied = occupied_cells(state.cfg.map_size, x, y)
    out = masks.copy()
    hold_fills(out, x[refill], y[refill])
    short_idx = np.flatnonzero(short)
    steps_to_factories(out, u, short_idx, f, home[short_idx], occupied)
    held = refill | short  # the only cells changed
    if np.array_equal(out[x[held], y[held]], masks[x[held], y[held]]):
        return masks
    return out


GUARD = Guard("light_power_guard", "LIGHT robots go home for power before they run short and fill their battery there",
              guard_light_power, needs=("home_cost",))
