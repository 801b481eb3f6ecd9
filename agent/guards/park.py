"""The park guard: a robot off our factories with half its battery or more never stands still."""

import numpy as np

from agent.action_queue import head_idle
from agent.actions import DIG, KEEP, MOVE, RECHARGE
from agent.guards.base import Guard, robot_cells


PARK_GUARD_FRACTION = 0.5  # a robot holding at least this share of its battery is not left standing


def guard_park(state, masks, fraction=PARK_GUARD_FRACTION):
    """``masks`` with standing still forbidden to our robots that are parked with power to spare.

    A robot is *parked* when it is off our factory tiles, its action queue does nothing (empty, a
    recharge head, or a move to the center) and it holds at least ``fraction`` of its
    ``BATTERY_CAPACITY`` (Lux S2 specs, "Robots"). Such a robot only waits for power it already
    has: keep and recharge are forbidden, so it moves or digs. A collision stop
    (:func:`agent.actions.avoid_own_collisions`) sends a sticky recharge, and the shipped net
    learned to keep it: measured with ``scripts/robot_budget.py``, its LIGHT robots spent 18 % of
    their turns parked (the scripted baseline 2.5 %), and a scripted shadow teacher labels these
    robots ``move`` four times as often as ``keep`` (notes/log/training_log.md). A robot whose masks allow
    neither move nor dig keeps its choices.

    Not part of :func:`action_masks` (the engine accepts standing still): a decoding option of the
    playing agent (agent.json ``park_guard``), like :func:`guard_power`.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        fraction (float): share of the battery (0..1) from which a robot counts as parked.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    if len(u) == 0:
        return masks
    idle = head_idle(state)
    capacity = np.asarray(state.cfg.robot["BATTERY_CAPACITY"])[u.heavy.astype(np.int64)]
    parked = ~state.own_factory_tiles()[x, y] & idle & (u.power >= fraction * capacity)
    parked &= masks[x, y, t0 + MOVE] | masks[x, y, t0 + DIG]
    if not parked.any():
        return masks
    out = masks.copy()
    out[x[parked], y[parked], t0 + KEEP] = False
    out[x[parked], y[parked], t0 + RECHARGE] = False
    return out


GUARD = Guard("park_guard", "robots off our factories with half their battery or more never stand still", guard_park)
