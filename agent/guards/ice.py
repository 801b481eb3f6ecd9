"""The ice guard: the HEAVY robots of a factory short of water dig ice and carry it home.

Also :func:`hold_miners`, the dig-carry-refuel cycle the ore guard (:mod:`agent.guards.ore`) reuses.
"""

import numpy as np

from agent.actions import (
    A_DIG, C_AMOUNT, C_PRES, C_TDIR, C_TRES, DIG, DIRECTION_DELTAS, MOVE, PICKUP, RES_ICE, RES_POWER, RES_WATER,
    TRANSFER, component_slice,
)
from agent.guards.base import (
    WHOLE, Guard, free_resource_steps, hold, hold_step, occupied_cells, queued_move, robot_cells,
    robot_factory_steps, step_to_factory,
)


ICE_GUARD_WATER = 100  # a factory holding less water than this (its ice counted as water) is thirsty
ICE_GUARD_LOAD = 200   # ice a HEAVY digs for a thirsty factory before it carries the load home

_D0, _R0, _A0, _P0 = (component_slice(k).start for k in (C_TDIR, C_TRES, C_AMOUNT, C_PRES))
_DELTAS = [(int(dx), int(dy)) for dx, dy in DIRECTION_DELTAS]  # center, up, right, down, left


def guard_ice(state, masks, water=ICE_GUARD_WATER, load=ICE_GUARD_LOAD):
    """``masks`` with the HEAVY robots of a thirsty factory held to bringing it ice.

    A factory is *thirsty* when ``water + ice // ICE_WATER_RATIO < water`` (water units; it loses
    ``FACTORY_WATER_CONSUMPTION`` = 1 a turn and is destroyed below 0: Lux S2 specs, "Factories").
    Each of our HEAVY robots whose nearest factory (fewest moves to a tile of its 3x3) is thirsty:

    * holding ``load`` ice or more, or any ice where it cannot dig ice: transfers all its ice onto
      that factory when a transfer there is allowed (robot type transfer, a direction onto one of
      its tiles, resource ice, amount 100 %), else only moves closer to the factory;
    * on an ice cell (``board["ice"] > 0``) with less than ``load`` ice: only digs, or keeps a dig
      head;
    * with less power than the digs of a load cost (``ceil(load / DIG_RESOURCE_GAIN) x DIG_COST``,
      600 for a HEAVY), or on an ice cell without the power to dig: on the factory, picks up power
      from it; off it, only moves closer to it;
    * otherwise (no ice, off ice): only moves closer to the factory's nearest ice cell not held by
      another of our robots.

    "Only moves closer" means: the moves that step closer into a cell none of our robots holds
    (another robot standing there would stop it: :func:`agent.actions.avoid_own_collisions`), else
    the free moves that keep the distance (around the robot in the way), else the closer moves;
    keep stays allowed when the queued move is one of them.

    Every rule applies only when the choices it keeps are allowed by ``masks`` (the engine rules and
    the guards applied before, the power guard's walk-home reserve among them); else the robot keeps
    its choices, so no cell is left without one. LIGHT robots are left alone. In the held-out games
    of the frontier guard (notes/results/frontier_guard_test.json) the net ended 26 of 50 games against the
    scripted baseline with fewer factories than it (43 factories lost); in the games followed turn by
    turn a HEAVY stood idle on its factory, or on an ice cell next to it, while the factory ran dry.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of the
    playing agent (agent.json ``ice_guard``), like :func:`guard_frontier`.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        water (int): water units below which a factory is thirsty.
        load (int): ice units a HEAVY digs before carrying them home.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0 or not u.heavy.any():
        return masks
    thirsty = f.cargo[:, RES_WATER] + f.cargo[:, RES_ICE] // int(state.cfg.ICE_WATER_RATIO) < water
    if not thirsty.any():
        return masks
    heavy = np.flatnonzero(u.heavy.astype(bool))
    home = robot_factory_steps(state)[heavy].argmin(1)
    sel = thirsty[home]
    r = state.cfg.robot
    low = -(-load // int(r["DIG_RESOURCE_GAIN"][1])) * int(r["DIG_COST"][1])
    return hold_miners(state, masks, heavy[sel], home[sel], RES_ICE, load, low)


def hold_miners(state, masks, robots, homes, res, load, low):
    """``masks`` with our robots ``robots`` (int64 (N,) indices of ``state.my_units``) held to mining
    resource ``res`` (RES_ICE or RES_ORE) for the factories ``homes`` (int64 (N,) indices of
    ``state.my_factories``), the cycle of :func:`guard_ice`: ``load`` units a trip, home for power
    below ``low`` power. Returns a copy when anything was forbidden, else ``masks`` itself."""
    if len(robots) == 0:
        return masks
    u, x, y, t0 = robot_cells(state)
    f = state.my_factories
    on_factory = robot_factory_steps(state)[robots, homes] == 0
    res_name = "ice" if res == RES_ICE else "ore"
    res_board = state.board[res_name] > 0
    occupied = occupied_cells(state.cfg.map_size, x, y)
    res_cells, res_steps = free_resource_steps(state, res_name)  # res_board & ~occupied
    d0 = _D0
    r0, a0 = _R0, _A0
    p0 = _P0
    out = masks.copy()
    for i, k, at_home in zip(robots, homes, on_factory):
        cx, cy = int(x[i]), int(y[i])
        held = int(u.cargo[i, res])
        head = int(u.head[i, 0]) if u.queue_len[i] > 0 else -1
        can_dig = bool(out[cx, cy, t0 + DIG])
        if held >= load or (held > 0 and not (res_board[cx, cy] and can_dig)):
            fx, fy = int(f.pos[k, 0]), int(f.pos[k, 1])
            # transfer_dir: center, up, right, down, left
            onto = np.array([abs(cx + dx - fx) <= 1 and abs(cy + dy - fy) <= 1 for dx, dy in _DELTAS], bool)
            onto &= out[cx, cy, d0:d0 + 5]
            if onto.any() and out[cx, cy, t0 + TRANSFER] and out[cx, cy, r0 + res] and out[cx, cy, a0 + WHOLE]:
                hold(out, cx, cy, TRANSFER, transfer_dir=onto, transfer_res=res, amount=WHOLE)
                continue
            target = None  # closer to the factory
        elif res_board[cx, cy] and can_dig:
            hold(out, cx, cy, DIG, keep=head == A_DIG)
            continue
        elif u.power[i] < low or res_board[cx, cy]:  # on the resource, too short of power to dig
            if at_home:
                if out[cx, cy, t0 + PICKUP] and out[cx, cy, p0 + RES_POWER]:
                    hold(out, cx, cy, PICKUP, pickup_res=RES_POWER)
                continue
            target = None  # home for power
        elif res_steps is None:
            continue
        else:
            near = res_steps[:, k] == res_steps[:, k].min()
            cand = res_cells[near]
            target = cand[np.abs(cand - (cx, cy)).sum(1).argmin()]
        if not out[cx, cy, t0 + MOVE]:
            continue
        if target is None:
            step_to_factory(out, u, i, f, k, occupied)
            continue
        tx, ty = int(target[0]), int(target[1])
        here = abs(cx - tx) + abs(cy - ty)
        gain = [here - abs(cx + dx - tx) - abs(cy + dy - ty) for dx, dy in _DELTAS[1:]]
        hold_step(out, cx, cy, queued_move(u, i), gain, occupied)
    if np.array_equal(out[x[robots], y[robots]], masks[x[robots], y[robots]]):  # the only cells changed
        return masks
    return out


GUARD = Guard("ice_guard", "HEAVY robots of a factory short of water dig ice and carry it home", guard_ice)
