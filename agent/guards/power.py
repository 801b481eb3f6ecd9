"""The power guard: a HEAVY robot never digs or steps away below the power it needs to walk home."""

import numpy as np

from agent.action_queue import neighbour_table
from agent.actions import A_DIG, A_MOVE, C_MOVE, C_TYPE, DIG, KEEP, MOVE, RECHARGE, component_slice
from agent.features import HOME_COST_CLIP
from agent.guards.base import Guard
from agent.paths import step_cost

_MOVE_DIRS = np.arange(1, 5)  # engine directions of the move choices up, right, down, left


def guard_power(state, masks, home_cost, clip=HOME_COST_CLIP):
    """``masks`` with the HEAVY choices forbidden that would leave a robot short of the power to walk home.

    For each of our HEAVY robots off our factory tiles, with ``h = home_cost[x, y]``, power ``P``,
    ``Q = ACTION_QUEUE_POWER_COST`` and ``DIG_COST`` (Lux S2 specs, "Robots"):

    * dig only if ``P - Q - DIG_COST >= h``;
    * a move into cell ``n`` only if it heads home (``home_cost[n] < h``) or the power left after
      it, ``P - home_step[n]``, still covers ``home_cost[n]``; ``home_step`` is
      :func:`agent.paths.step_cost` of a HEAVY, the price ``home_cost`` is made of;
    * keeping a queued dig or move follows the same rules (recharge is then the way to stand
      still);
    * robots whose way home is unknown (``h >= clip``: no factory reachable within a battery) and
      LIGHT robots are left alone.

    ``home_cost`` prices every step with the queue cost ``Q`` (a new move each step), an upper
    bound of what a sticky walk pays. Not part of :func:`action_masks` (the engine accepts these
    choices): a decoding option of the playing agent (agent.json ``power_guard``), like
    :func:`guard_water`. The scripted baseline keeps a larger reserve by the same reasoning, so a
    net cloned from it loses none of its teacher's choices. It never leaves a robot without a
    choice: recharge (or a forced keep) always stays.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        home_cost (np.ndarray): int64 (S, S), a HEAVY's power to our nearest factory tile, the
            ``home_cost`` plane in power (:func:`agent.features.home_cost_map`).
        clip (float): costs at or above this (power) count as unknown; the plane's own clip,
            :data:`agent.features.HOME_COST_CLIP`, by default.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.

    Raises:
        ValueError: ``home_cost`` is not (S, S).
    """
    u = state.my_units
    S = state.cfg.map_size
    home_cost = np.asarray(home_cost)
    if home_cost.shape != (S, S):
        raise ValueError(f"home_cost has shape {home_cost.shape}, expected ({S}, {S})")
    if len(u) == 0 or not u.heavy.any():
        return masks
    r = state.cfg.robot
    q, dig_cost = int(r["ACTION_QUEUE_POWER_COST"][1]), int(r["DIG_COST"][1])
    own_tile = state.own_factory_tiles()
    idx = np.nonzero(u.heavy.astype(bool))[0]
    x, y = u.pos[idx, 0], u.pos[idx, 1]
    h = home_cost[x, y]
    keep = ~own_tile[x, y] & (h < clip)
    idx, x, y, h = idx[keep], x[keep], y[keep], h[keep]
    if len(idx) == 0:
        return masks
    power = u.power[idx].astype(np.int64)
    t0, m0 = component_slice(C_TYPE).start, component_slice(C_MOVE).start
    out = masks.copy()
    short = power - q - dig_cost < h
    out[x[short], y[short], t0 + DIG] = False
    queued = u.queue_len[idx] > 0
    head_type, head_dir = u.head[idx, 0], u.head[idx, 1]
    forbid_keep = short & queued & (head_type == A_DIG)
    # the four moves at once, (M, 4): the neighbours up, right, down, left (clipped onto the map)
    nbr, nbr_inb = neighbour_table(S)
    cell = x * S + y
    nb, inb = nbr[cell, 1:], nbr_inb[cell, 1:]
    hn = home_cost.ravel()[nb]
    step = step_cost(r, state.board["rubble"].ravel()[nb], 1).astype(np.int64)  # the price of home_cost's steps
    bad = inb & (hn >= h[:, None]) & (power[:, None] - step < hn)
    rows, dirs = np.nonzero(bad)
    out[x[rows], y[rows], m0 + dirs] = False
    forbid_keep |= (bad & (head_dir[:, None] == _MOVE_DIRS)).any(axis=1) & queued & (head_type == A_MOVE)
    no_move = ~out[x, y, m0:m0 + 4].any(axis=1)
    out[x[no_move], y[no_move], t0 + MOVE] = False
    # keep would run the queued dig or move: recharge is then the way to stand still
    forbid_keep &= out[x, y, t0 + RECHARGE]
    out[x[forbid_keep], y[forbid_keep], t0 + KEEP] = False
    if np.array_equal(out[x, y], masks[x, y]):  # the only cells changed
        return masks
    return out


GUARD = Guard("power_guard", "HEAVY robots never dig or step away below the power they need to walk home",
              guard_power, needs=("home_cost",))
