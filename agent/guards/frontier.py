"""The frontier guard: a LIGHT robot with no ice or ore cargo digs the rubble frontier cell it stands on."""

from agent.actions import A_DIG, DIG, KEEP, NUM_ROBOT_TYPES, RES_ICE, RES_ORE
from agent.features import P as PLANE
from agent.guards.base import Guard, robot_cells


def guard_frontier(state, masks, planes):
    """``masks`` with a LIGHT robot on the rubble frontier held to digging it.

    A LIGHT robot with no ice or ore in its cargo, standing on a ``rubble_frontier`` cell
    (:mod:`agent.features` plane 58: rubble our lichen must have cleared to grow, within reach of our
    factories), may only dig, or keep its queue when the head is already a dig (which digs this
    turn too, without the ``ACTION_QUEUE_POWER_COST`` of a new queue). Lichen spreads only to
    rubble-free cells (Lux S2 specs, "Lichen"), and near the end of a game the lichen of both sides
    is limited by the cells it covers, not by water: in a measured game (seed 1000112, net as
    player_0) the net's lichen covered 315 cells at about 90 per cell, the scripted baseline's 679
    at about 78, though the net ended with more water. The scripted baseline's lights spend a third
    of their turns on this frontier; the net's lights walk over it and dig it in a seventh
    (``scripts/robot_budget.py``). A robot whose masks forbid the dig (too little power) keeps its
    choices, and HEAVY robots (the ice and ore miners) are left alone.

    Not part of :func:`action_masks` (the engine accepts any of the choices): a decoding option of
    the playing agent (agent.json ``frontier_guard``), like :func:`guard_park`.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        planes (np.ndarray): float (C, S, S) of :func:`agent.features.encode` for ``state``.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    if len(u) == 0:
        return masks
    held = (planes[PLANE["rubble_frontier"], x, y] > 0) & ~u.heavy.astype(bool)
    held &= (u.cargo[:, RES_ICE] == 0) & (u.cargo[:, RES_ORE] == 0) & masks[x, y, t0 + DIG]
    if not held.any():
        return masks
    out = masks.copy()
    digging = (u.queue_len > 0) & (u.head[:, 0] == A_DIG)
    x, y, digging = x[held], y[held], digging[held]
    keep = out[x, y, t0 + KEEP] & digging
    out[x, y, t0:t0 + NUM_ROBOT_TYPES] = False
    out[x, y, t0 + DIG] = True
    out[x, y, t0 + KEEP] = keep
    return out


GUARD = Guard("frontier_guard", "LIGHT robots with no ice or ore cargo dig the rubble frontier cell they stand on",
              guard_frontier, needs=("planes",))
