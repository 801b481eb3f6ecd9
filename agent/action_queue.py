"""What the engine does with each robot's action queue this turn: head validity, power costs,
and the two rules of sticky actions (when a robot may *keep* its queue, when a new action may be
sent *sticky*).

A robot's queue head is ``[type, direction, resource, amount, repeat, n]``
(``luxai_s2.actions.format_action_vec``). Each turn the engine validates the head of every
non-empty queue (``luxai_s2.actions.validate_actions``), runs it if valid, and pops it after ``n``
runs, appending it again with ``n = repeat`` when ``repeat > 0`` (``Unit.repeat_action``). An
invalid head is not run and not popped, so it is tried (and rejected) again next turn.

Replacing a queue costs ``Q = ACTION_QUEUE_POWER_COST`` (LIGHT 1, HEAVY 10) and is skipped when the
robot has less than ``Q`` power (``LuxAI_S2.step``). A robot with less than ``Q`` power whose head
is invalid is therefore *stuck*: the engine rejects its head every turn until solar charge pays
``Q``. The two rules below make sure our own queues never lead there:

* :func:`sticky_ok`: a new move / dig / recharge is sent sticky (``repeat=1``) only if the robot
  keeps at least ``Q`` after paying ``Q`` and the action's cost (``P - Q - cost >= Q``); else it is
  sent one-shot and the queue is empty after this turn.
* :func:`keep_allowed`: keep (send nothing) is allowed when the queue is empty, or when the head is
  valid this turn, is useful (a dig head would dig something, :func:`dig_useful`: rubble, lichen,
  or ice or ore with room in the robot's cargo), and,
  if it costs power and stays in the queue after this turn, leaves at least ``Q``
  (``P - cost >= Q``). Next turn the robot can then always pay for a new queue, so a head that
  has turned invalid (no power to dig at night, a move off the map) can be replaced.

Queues set by someone else (a replayed state, another bot) are read the same way: only the head
matters, as for the engine; a queue longer than one action, ``n > 1`` or ``repeat > 1`` counts as
"stays in the queue". Unknown action types are invalid.

Only the standard library and numpy are used (this runs on Kaggle).
"""

import numpy as np

from agent.obs import isin_int

# engine action types (luxai_s2.actions.format_action_vec)
ENGINE_ACTION_TYPES = (0, 1, 2, 3, 4, 5)
A_MOVE, A_TRANSFER, A_PICKUP, A_DIG, A_SELF_DESTRUCT, A_RECHARGE = ENGINE_ACTION_TYPES
RES_POWER = 4
# engine direction -> (dx, dy) (luxai_s2.actions.move_deltas): center, up, right, down, left
DIRECTION_DELTAS = np.array([[0, 0], [0, -1], [1, 0], [0, 1], [-1, 0]], dtype=np.int64)


_NEIGHBOURS = {}  # map size -> (flat neighbour index, on the map): see neighbour_table


def neighbour_table(S):
    """(nbr, inb) for an S x S map: int64 (S * S, 5) flat index ``x * S + y`` of each cell's
    neighbour in engine direction 0..4 (center, up, right, down, left), clipped onto the map, and
    bool (S * S, 5) whether that neighbour is on the map. Built once per map size; read-only."""
    hit = _NEIGHBOURS.get(S)
    if hit is None:
        x, y = np.divmod(np.arange(S * S, dtype=np.int64), S)
        nx = x[:, None] + DIRECTION_DELTAS[None, :, 0]
        ny = y[:, None] + DIRECTION_DELTAS[None, :, 1]
        inb = (nx >= 0) & (ny >= 0) & (nx < S) & (ny < S)
        nbr = np.clip(nx, 0, S - 1) * S + np.clip(ny, 0, S - 1)
        nbr.flags.writeable = False
        inb.flags.writeable = False
        hit = _NEIGHBOURS[S] = (nbr, inb)
    return hit


def robot_values(state, key):
    """``state.cfg.robot[key]`` of each of our robots (its LIGHT or HEAVY entry), (N,) in
    ``state.my_units`` order, of that entry's dtype (int64, or float64 for
    ``RUBBLE_MOVEMENT_COST``); ``key="heavy"`` gives the int64 (N,) type index (0 LIGHT, 1 HEAVY)
    itself. Computed once per observation (cached in ``state.my_units.derived``); read-only."""
    u = state.my_units
    cache = u.derived.get("robot_values")
    if cache is None:
        heavy = u.heavy.astype(np.int64)
        heavy.flags.writeable = False
        cache = u.derived["robot_values"] = {"heavy": heavy}
    v = cache.get(key)
    if v is None:
        v = state.cfg.robot[key][cache["heavy"]]
        v.flags.writeable = False
        cache[key] = v
    return v


def robot_neighbours(state):
    """(cell, nb, inb) of our robots: int64 (N,) flat cell ``x * S + y``, int64 (N, 5) the flat cells
    in engine directions 0..4 (clipped onto the map: :func:`neighbour_table`) and bool (N, 5) whether
    those are on the map. Computed once per observation (cached in ``state.my_units.derived``);
    read-only."""
    u = state.my_units
    hit = u.derived.get("neighbours")
    if hit is None:
        S = state.cfg.map_size
        nbr, nbr_inb = neighbour_table(S)
        cell = u.pos[:, 0] * S + u.pos[:, 1]
        hit = u.derived["neighbours"] = (cell, nbr[cell], nbr_inb[cell])
        for a in hit:
            a.flags.writeable = False
    return hit


def move_costs(state):
    """int64 (N, 4): ``floor(MOVE_COST + RUBBLE_MOVEMENT_COST x rubble)`` of each of our robots'
    moves up, right, down, left (``Unit.move_power_cost``; a move off the map is priced on the
    edge cell it is clipped to: mask it with :func:`robot_neighbours`). Computed once per
    observation (cached in ``state.my_units.derived``); read-only."""
    u = state.my_units
    cost = u.derived.get("move_costs")
    if cost is None:
        nb = robot_neighbours(state)[1][:, 1:]
        cost = np.floor(robot_values(state, "MOVE_COST")[:, None] + robot_values(state, "RUBBLE_MOVEMENT_COST")[:, None]
                        * state.board["rubble"].ravel()[nb]).astype(np.int64)
        cost.flags.writeable = False
        u.derived["move_costs"] = cost
    return cost


def _power_cost(typ, direction, res, amount, inb, rubble_at, move_cost, rubble_move_cost, dig_cost, sd_cost):
    """:func:`action_power_cost` from per-action arrays (M,): the engine type, direction, resource and
    amount of each action, whether its target is on the map, the rubble on its (clipped) target, and
    the acting robots' ``MOVE_COST``, ``RUBBLE_MOVEMENT_COST``, ``DIG_COST`` and ``SELF_DESTRUCT_COST``."""
    out = np.zeros(len(typ), np.int64)
    move = (typ == A_MOVE) & (direction != 0) & inb
    out[move] = np.floor(move_cost[move] + rubble_move_cost[move] * rubble_at[move])
    dig = typ == A_DIG
    out[dig] = dig_cost[dig]
    sd = typ == A_SELF_DESTRUCT
    out[sd] = sd_cost[sd]
    power = (typ == A_TRANSFER) & (res == RES_POWER)
    out[power] = np.maximum(amount[power], 0)
    return out


def _head_targets(state, pos, direction):
    """Flat target cells ``x * S + y`` int64 (M,) of ``direction`` (M,) from ``pos`` (M, 2) (clipped
    onto the map; directions outside 0..4 as 0), and bool (M,) on the map (False for those)."""
    S = state.cfg.map_size
    nbr, nbr_inb = neighbour_table(S)
    cell = pos[:, 0] * S + pos[:, 1]
    known = (direction >= 0) & (direction <= 4)
    d = np.where(known, direction, 0)
    return nbr[cell, d], known & nbr_inb[cell, d]


def action_power_cost(state, vecs, idx):
    """Power each action costs the robot this turn when it runs (after any queue cost).

    Args:
        state (agent.obs.GameState): the state.
        vecs (np.ndarray): int64 (M, 6) engine action vectors.
        idx (np.ndarray): int (M,) indices of the robots in ``state.my_units``.

    Returns:
        np.ndarray: int64 (M,) power: ``floor(MOVE_COST + RUBBLE_MOVEMENT_COST x rubble[target])``
        for a move off its cell (``Unit.move_power_cost``), ``DIG_COST``, ``SELF_DESTRUCT_COST``,
        the amount of a power transfer, 0 otherwise (a target off the map costs 0: such a move is
        invalid anyway).
    """
    tgt, inb = _head_targets(state, state.my_units.pos[idx], vecs[:, 1])
    return _power_cost(vecs[:, 0], vecs[:, 1], vecs[:, 2], vecs[:, 3], inb, state.board["rubble"].ravel()[tgt],
                       robot_values(state, "MOVE_COST")[idx], robot_values(state, "RUBBLE_MOVEMENT_COST")[idx],
                       robot_values(state, "DIG_COST")[idx], robot_values(state, "SELF_DESTRUCT_COST")[idx])


def sticky_ok(state, vecs, idx):
    """Whether a new action may be sent sticky: ``P - Q - cost >= Q`` (module docstring).

    Args:
        state (agent.obs.GameState), vecs (np.ndarray): int64 (M, 6), idx (np.ndarray): int (M,)
            robots in ``state.my_units``.

    Returns:
        np.ndarray: bool (M,).
    """
    q = robot_values(state, "ACTION_QUEUE_POWER_COST")[idx]
    return state.my_units.power[idx] - q - action_power_cost(state, vecs, idx) >= q


def dig_useful(state):
    """Whether a dig by each of our robots would change anything, bool (N,) in ``state.my_units`` order.

    ``LuxAI_S2._handle_dig_actions`` takes, in this order: rubble if the tile has any, else lichen,
    else ice, else ore; ice and ore go into the robot's cargo through ``Unit.add_resource``, which
    caps each resource at ``CARGO_SPACE`` (LIGHT 100, HEAVY 1000) and drops the rest. So a dig on a
    tile with no rubble, no lichen and no ice or ore, or on an ice (ore) tile by a robot whose ice
    (ore) cargo is already full, only spends ``DIG_COST`` power. Cargo cannot shrink before the dig
    within a turn (a robot sends one action; transfers only add to the receiver).

    Computed once per observation (cached in ``state.my_units.derived``); do not modify it.
    """
    u = state.my_units
    hit = u.derived.get("dig_useful")
    if hit is not None:
        return hit
    b = state.board
    cell = u.pos[:, 0] * state.cfg.map_size + u.pos[:, 1]
    cap = robot_values(state, "CARGO_SPACE")
    useful = ((b["rubble"].ravel()[cell] > 0) | (b["lichen"].ravel()[cell] > 0)
              | ((b["ice"].ravel()[cell] > 0) & (u.cargo[:, 0] < cap))
              | ((b["ore"].ravel()[cell] > 0) & (u.cargo[:, 1] < cap)))
    useful.flags.writeable = False
    u.derived["dig_useful"] = useful
    return useful


def _view(state, occupancy=None):
    """(head_valid, keep_allowed), bool (N,) each, computed once per turn: cached in
    ``state.my_units.derived`` (a fresh UnitArrays comes with every observation)."""
    u = state.my_units
    hit = u.derived.get("queue_view")
    if hit is not None:
        return hit
    n = len(u)
    if n == 0:
        view = (np.zeros(0, bool), np.zeros(0, bool))
        u.derived["queue_view"] = view
        return view
    occ = state.factory_occupancy() if occupancy is None else occupancy
    h = u.head
    typ, d = h[:, 0], h[:, 1]
    power = u.power
    tgt, inb = _head_targets(state, u.pos, d)
    cost = _power_cost(typ, d, h[:, 2], h[:, 3], inb, state.board["rubble"].ravel()[tgt],
                       robot_values(state, "MOVE_COST"), robot_values(state, "RUBBLE_MOVEMENT_COST"),
                       robot_values(state, "DIG_COST"), robot_values(state, "SELF_DESTRUCT_COST"))
    # validity (validate_actions) with the robot's power as is
    occ_flat = occ.ravel()
    t_occ = occ_flat[tgt]
    here = occ_flat[u.pos[:, 0] * state.cfg.map_size + u.pos[:, 1]]
    move_ok = (d == 0) | (inb & ((t_occ == -1) | isin_int(t_occ, state.my_factories.strain)) & (power >= cost))
    valid = np.where(typ == A_MOVE, move_ok,
                     (typ == A_TRANSFER) & inb & (h[:, 2] >= 0) & (h[:, 2] <= 4))
    valid |= (typ == A_PICKUP) & (here != -1)
    valid |= (typ == A_DIG) & (here == -1) & (power >= robot_values(state, "DIG_COST"))
    valid |= (typ == A_SELF_DESTRUCT) & (power >= robot_values(state, "SELF_DESTRUCT_COST"))
    valid |= typ == A_RECHARGE
    qlen = u.queue_len
    valid &= qlen > 0
    # keep: valid, useful, and safe
    useful = (typ != A_DIG) | dig_useful(state)
    stays = (qlen > 1) | (h[:, 4] > 0) | (h[:, 5] > 1)
    safe = (cost == 0) | ~stays | (power - cost >= robot_values(state, "ACTION_QUEUE_POWER_COST"))
    keep = (qlen == 0) | (valid & useful & safe)
    view = (valid, keep)
    u.derived["queue_view"] = view
    return view


def head_valid(state, occupancy=None):
    """Whether ``validate_actions`` accepts each robot's queue head this turn with its power as is
    (no queue update paid).

    Args:
        state (agent.obs.GameState): the state.
        occupancy (np.ndarray | None): int64 (S, S) ``state.factory_occupancy()``, computed if omitted.

    Returns:
        np.ndarray: bool (N,), False for an empty queue, in ``state.my_units`` order.

    Source: ``luxai_s2.actions.validate_actions``: move (on the map, not an opponent factory tile,
    power >= move cost; direction 0 always), transfer (resource 0..4, target on the map), pickup
    (on a factory tile), dig (power >= DIG_COST, not on a factory tile), self-destruct (power >=
    SELF_DESTRUCT_COST), recharge (always).
    """
    return _view(state, occupancy)[0]


def head_moves(state):
    """bool (N,): the queue head is a move off the robot's cell (it walks if it runs)."""
    u = state.my_units
    return (u.queue_len > 0) & (u.head[:, 0] == A_MOVE) & (u.head[:, 1] >= 1) & (u.head[:, 1] <= 4)


def head_idle(state):
    """bool (N,): the queue does nothing to the robot's cell or cargo: it is empty, or its head is a
    recharge (which only waits) or a move to the center (direction 0)."""
    u = state.my_units
    return (u.queue_len == 0) | (u.head[:, 0] == A_RECHARGE) | ((u.head[:, 0] == A_MOVE) & (u.head[:, 1] == 0))


def keep_allowed(state, occupancy=None):
    """Whether each robot may keep its queue (send nothing) this turn: the module's keep rule.

    Args:
        state (agent.obs.GameState): the state.
        occupancy (np.ndarray | None): int64 (S, S) ``state.factory_occupancy()``, computed if omitted.

    Returns:
        np.ndarray: bool (N,) in ``state.my_units`` order.
    """
    return _view(state, occupancy)[1]
