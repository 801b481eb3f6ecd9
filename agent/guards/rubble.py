"""The rubble guard: a LIGHT robot with no cargo and power to spare walks to the rubble frontier."""

import numpy as np

from agent.actions import MOVE, RES_ICE, RES_ORE
from agent.features import DIST_SCALE, P as PLANE
from agent.guards.base import Guard, occupied_cells, robot_cells, step_down


RUBBLE_GUARD_POWER = 50  # LIGHT power from which a robot with no cargo walks to the rubble frontier
RUBBLE_GUARD_STEPS = 20  # ... when the nearest rubble_frontier cell is at most this many steps away


def guard_rubble(state, masks, planes, power=RUBBLE_GUARD_POWER, steps=RUBBLE_GUARD_STEPS):
    """``masks`` with a LIGHT robot that has nothing to do held to walking to the rubble frontier.

    A LIGHT robot with no ice or ore in its cargo, at least ``power`` power, off the
    ``rubble_frontier`` (:mod:`agent.features` plane 58) and at most ``steps`` steps from it (plane
    59, ``dist_rubble_frontier``) may only move, down the steps to the nearest frontier cell; the
    moves are chosen as :func:`guard_ice` chooses them (free closer cells first, then around a robot
    in the way). Once on the frontier, :func:`guard_frontier` holds it to digging. Lichen spreads
    only to rubble-free cells (Lux S2 specs, "Lichen"), and the area is what the net's lichen lacks:
    in a validation game of the ice guard (seed 1000114, net as player_1) its lichen covered 474
    cells at turn 1000, the scripted baseline's 774. Its LIGHT robots dug rubble in 23 % of their
    turns (the baseline's 33 %), moved in 42 % (35 %) and stood idle off our factories in 12 % (5 %)
    (``scripts/robot_budget.py``, seed 1000112). A robot whose masks forbid every such move keeps
    its choices; HEAVY robots are left alone.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of
    the playing agent (agent.json ``rubble_guard``), like :func:`guard_frontier`.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        planes (np.ndarray): float (C, S, S) of :func:`agent.features.encode` for ``state``.
        power (int): LIGHT power from which a robot is sent.
        steps (int): the farthest frontier, in steps, a robot is sent to.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    if len(u) == 0:
        return masks
    dist = np.rint(planes[PLANE["dist_rubble_frontier"]] * DIST_SCALE).astype(np.int64)  # steps (DIST_CLIP: none or far)
    sent = ~u.heavy.astype(bool) & (u.cargo[:, RES_ICE] == 0) & (u.cargo[:, RES_ORE] == 0) & (u.power >= power)
    sent &= (planes[PLANE["rubble_frontier"], x, y] == 0) & (dist[x, y] <= steps) & masks[x, y, t0 + MOVE]
    if not sent.any():
        return masks
    occupied = occupied_cells(state.cfg.map_size, x, y)
    out = masks.copy()
    for i in np.flatnonzero(sent):
        step_down(out, u, i, dist, occupied)
    if np.array_equal(out[x[sent], y[sent]], masks[x[sent], y[sent]]):  # the only cells changed
        return masks
    return out


GUARD = Guard("rubble_guard", "LIGHT robots with no cargo and power to spare walk to the rubble frontier",
              guard_rubble, needs=("planes",))
