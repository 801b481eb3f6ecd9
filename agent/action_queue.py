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


def _targets(state, pos, direction):
    """Target cells int64 (M, 2) of ``direction`` (M,) from ``pos`` (M, 2), and bool (M,) on the map
    (directions outside 0..4 count as off the map)."""
    S = state.cfg.map_size
    known = (direction >= 0) & (direction <= 4)
    t = pos + DIRECTION_DELTAS[np.where(known, direction, 0)]
    inb = known & (t >= 0).all(axis=1) & (t < S).all(axis=1)
    return np.clip(t, 0, S - 1), inb


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
    u = state.my_units
    r = state.cfg.robot
    heavy = u.heavy[idx].astype(np.int64)
    typ, d = vecs[:, 0], vecs[:, 1]
    out = np.zeros(len(idx), np.int64)
    move = (typ == A_MOVE) & (d != 0)
    if move.any():
        tgt, inb = _targets(state, u.pos[idx[move]], d[move])
        h = heavy[move]
        rubble = state.board["rubble"][tgt[:, 0], tgt[:, 1]]
        out[move] = np.where(inb, np.floor(r["MOVE_COST"][h] + r["RUBBLE_MOVEMENT_COST"][h] * rubble), 0)
    dig = typ == A_DIG
    out[dig] = r["DIG_COST"][heavy[dig]]
    sd = typ == A_SELF_DESTRUCT
    out[sd] = r["SELF_DESTRUCT_COST"][heavy[sd]]
    power = (typ == A_TRANSFER) & (vecs[:, 2] == RES_POWER)
    out[power] = np.maximum(vecs[power, 3], 0)
    return out


def sticky_ok(state, vecs, idx):
    """Whether a new action may be sent sticky: ``P - Q - cost >= Q`` (module docstring).

    Args:
        state (agent.obs.GameState), vecs (np.ndarray): int64 (M, 6), idx (np.ndarray): int (M,)
            robots in ``state.my_units``.

    Returns:
        np.ndarray: bool (M,).
    """
    u = state.my_units
    q = state.cfg.robot["ACTION_QUEUE_POWER_COST"][u.heavy[idx].astype(np.int64)]
    return u.power[idx] - q - action_power_cost(state, vecs, idx) >= q


def dig_useful(state):
    """Whether a dig by each of our robots would change anything, bool (N,) in ``state.my_units`` order.

    ``LuxAI_S2._handle_dig_actions`` takes, in this order: rubble if the tile has any, else lichen,
    else ice, else ore; ice and ore go into the robot's cargo through ``Unit.add_resource``, which
    caps each resource at ``CARGO_SPACE`` (LIGHT 100, HEAVY 1000) and drops the rest. So a dig on a
    tile with no rubble, no lichen and no ice or ore, or on an ice (ore) tile by a robot whose ice
    (ore) cargo is already full, only spends ``DIG_COST`` power. Cargo cannot shrink before the dig
    within a turn (a robot sends one action; transfers only add to the receiver).
    """
    u = state.my_units
    b = state.board
    x, y = u.pos[:, 0], u.pos[:, 1]
    cap = state.cfg.robot["CARGO_SPACE"][u.heavy.astype(np.int64)]
    room_ice = u.cargo[:, 0] < cap
    room_ore = u.cargo[:, 1] < cap
    return (b["rubble"][x, y] > 0) | (b["lichen"][x, y] > 0) | ((b["ice"][x, y] > 0) & room_ice) | \
        ((b["ore"][x, y] > 0) & room_ore)


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
    idx = np.arange(n)
    heavy = u.heavy.astype(np.int64)
    r = state.cfg.robot
    x, y = u.pos[:, 0], u.pos[:, 1]
    typ = h[:, 0]
    cost = action_power_cost(state, h, idx)
    # validity (validate_actions) with the robot's power as is
    valid = np.zeros(n, bool)
    m = typ == A_MOVE
    if m.any():
        tgt, inb = _targets(state, u.pos[m], h[m, 1])
        t_occ = occ[tgt[:, 0], tgt[:, 1]]
        opp_factory = (t_occ != -1) & ~isin_int(t_occ, state.my_factories.strain)
        valid[m] = (h[m, 1] == 0) | (inb & ~opp_factory & (u.power[m] >= cost[m]))
    t = typ == A_TRANSFER
    if t.any():
        _, inb = _targets(state, u.pos[t], h[t, 1])
        valid[t] = inb & (h[t, 2] >= 0) & (h[t, 2] <= 4)
    here = occ[x, y]
    valid |= (typ == A_PICKUP) & (here != -1)
    valid |= (typ == A_DIG) & (here == -1) & (u.power >= r["DIG_COST"][heavy])
    valid |= (typ == A_SELF_DESTRUCT) & (u.power >= r["SELF_DESTRUCT_COST"][heavy])
    valid |= typ == A_RECHARGE
    valid &= u.queue_len > 0
    # keep: valid, useful, and safe
    q = r["ACTION_QUEUE_POWER_COST"][heavy]
    useful = (typ != A_DIG) | dig_useful(state)
    stays = (u.queue_len > 1) | (h[:, 4] > 0) | (h[:, 5] > 1)
    safe = (cost == 0) | ~stays | (u.power - cost >= q)
    keep = (u.queue_len == 0) | (valid & useful & safe)
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
