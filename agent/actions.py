"""The map-shaped action head and its decoding into a Lux S2 action dict.

One categorical choice per *component* per cell. Logits have shape (A, S, S), masks
(S, S, A) bool, sampled cell actions (S, S, K) int64, with S = ``env_cfg.map_size``, cells
indexed ``[x, y]`` as the engine's boards, K = ``len(COMPONENTS)`` = 7 and A = ``sum(NVEC)`` = 34.
This table is the single place the head is defined:

======  ===============  =======================================================  ===================
k       component        choices                                                  counts when
======  ===============  =======================================================  ===================
0       robot_type       keep, move, transfer, pickup, dig, self_destruct,        one of our robots
                         recharge                                                 is on the cell
1       move_dir         up, right, down, left                                    robot_type = move
2       transfer_dir     center, up, right, down, left                            robot_type = transfer
3       transfer_res     ice, ore, water, metal, power                            robot_type = transfer
4       pickup_res       ice, ore, water, metal, power                            robot_type = pickup
5       amount           25%, 50%, 75%, 100%                                      transfer, pickup,
                                                                                  recharge
6       factory          none, build LIGHT, build HEAVY, water lichen             our factory center
======  ===============  =======================================================  ===================

Semantics of a robot's choice (``luxai_s2.actions`` encodes an action as
``[type, direction, resource, amount, repeat, n]``; the engine pops an action once it has run
``n`` times and, with ``repeat > 0``, puts it back at the end of the queue: ``Unit.repeat_action``).
Every new choice is sent as a one-action queue that costs ``ACTION_QUEUE_POWER_COST`` (``Q``:
LIGHT 1, HEAVY 10, ``LuxAI_S2.step``), so robots are sent *sticky* actions where going on is what a
player wants, and a robot that goes on pays nothing:

==============  ==========  ============================================================================
choice          sent as     why
==============  ==========  ============================================================================
keep            nothing     the robot goes on with its queue: a sticky move walks on, a sticky dig digs
                            on, a recharge waits, an empty queue stands still. Legal only when the
                            engine accepts the head this turn (:mod:`agent.action_queue`).
move, dig,      sticky      ``repeat=1, n=1``: the action runs every turn until the robot is sent
recharge        (one-shot   another one. Sent one-shot (``repeat=0``) when the robot would keep less
                if power    than ``Q`` after this turn's action (``P - Q - cost < Q``): a sticky head it
                is short)   could not afford to replace could turn invalid (a dig at night), and the
                            engine would reject it every turn. See :func:`agent.action_queue.sticky_ok`.
transfer,       one-shot    amounts are fractions of what the robot holds or the factory stocks *now*;
pickup,                     repeating a fixed amount would move the wrong quantity (or nothing) on the
self_destruct               next turns, and a repeated power pickup would drain the factory.
==============  ==========  ============================================================================

* **move / dig / self_destruct** as in the spec ("Robots" / "Actions").
* **transfer** gives ``amount`` of what the robot holds of the resource (power: what is left
  after the queue-update cost) to the cell in ``transfer_dir`` (center = the tile it stands on,
  i.e. its factory).
* **pickup** takes ``amount`` of ``min(factory stock, free cargo or battery space)``.
* **recharge** waits until power >= ``amount`` x battery capacity; sticky, it then stands still
  (the robot's "stay" when its queue holds something else).

Amounts are at least 1 unit. A choice whose action equals the current queue head (type,
direction, resource, amount and stickiness) sends nothing; so does one that repeats a sticky head
(same type, direction, resource and amount) the robot may keep (:func:`agent.action_queue.keep_allowed`).
Either way it costs no ``Q``.

Engine action types are named ``A_MOVE`` .. ``A_RECHARGE`` (``luxai_s2.actions.format_action_vec``);
component groups are named slices (:data:`ROBOT_COMPONENTS`, :data:`ROBOT_SUB_COMPONENTS`,
:data:`ROBOT_LOGITS`, :data:`FACTORY_LOGITS`) and :func:`used_components` says which components
a robot type uses: other modules never spell component positions out.

Only the standard library and numpy are used (this runs on Kaggle).
"""

import numpy as np

from agent import action_queue as _queue

COMPONENTS = ("robot_type", "move_dir", "transfer_dir", "transfer_res", "pickup_res", "amount", "factory")
NVEC = np.array([7, 4, 5, 5, 5, 4, 4], dtype=np.int64)
OFFSETS = np.concatenate([[0], np.cumsum(NVEC)[:-1]]).astype(np.int64)
NUM_COMPONENTS = len(COMPONENTS)
NUM_LOGITS = int(NVEC.sum())

# component indices
C_TYPE, C_MOVE, C_TDIR, C_TRES, C_PRES, C_AMOUNT, C_FACTORY = range(NUM_COMPONENTS)
# component groups: the robot's components (type first), the ones its type gates, the factory's
ROBOT_COMPONENTS = slice(C_TYPE, C_FACTORY)
ROBOT_SUB_COMPONENTS = slice(C_TYPE + 1, C_FACTORY)
NUM_ROBOT_COMPONENTS = C_FACTORY - C_TYPE

# robot_type choices
KEEP, MOVE, TRANSFER, PICKUP, DIG, SELF_DESTRUCT, RECHARGE = range(7)
ROBOT_TYPE_NAMES = ("keep", "move", "transfer", "pickup", "dig", "self_destruct", "recharge")
NUM_ROBOT_TYPES = len(ROBOT_TYPE_NAMES)
# engine action types in a queue (luxai_s2.actions.format_action_vec)
A_MOVE, A_TRANSFER, A_PICKUP, A_DIG, A_SELF_DESTRUCT, A_RECHARGE = _queue.ENGINE_ACTION_TYPES
# engine action type per robot_type choice, -1 for keep
ENGINE_TYPE = np.array([-1, A_MOVE, A_TRANSFER, A_PICKUP, A_DIG, A_SELF_DESTRUCT, A_RECHARGE], dtype=np.int64)
# robot_type choices sent sticky (repeat=1) when the power allows; see the module table
STICKY_TYPES = (MOVE, DIG, RECHARGE)
# factory choices -> engine factory action (luxai_s2.actions.format_factory_action)
F_NONE, F_LIGHT, F_HEAVY, F_WATER = range(4)
FACTORY_ENGINE_ACTION = (None, 0, 1, 2)
AMOUNT_FRACTIONS = np.array([0.25, 0.5, 0.75, 1.0])
# move_dir choice -> engine direction 1..4 (0 = center, 1 = up, 2 = right, 3 = down, 4 = left)
MOVE_DIR_TO_ENGINE = np.array([1, 2, 3, 4], dtype=np.int64)
# engine direction -> (dx, dy) (luxai_s2.actions.move_deltas)
DIRECTION_DELTAS = _queue.DIRECTION_DELTAS
# resources of transfer_res / pickup_res (luxai_s2.actions: 0 ice, 1 ore, 2 water, 3 metal, 4 power)
RES_ICE, RES_ORE, RES_WATER, RES_METAL, RES_POWER = range(5)

# which robot components count for a cell, given its robot_type: (7 robot types, 6 robot components)
USES = np.zeros((NUM_ROBOT_TYPES, NUM_ROBOT_COMPONENTS), dtype=bool)
USES[:, C_TYPE] = True
USES[MOVE, C_MOVE] = True
USES[TRANSFER, [C_TDIR, C_TRES, C_AMOUNT]] = True
USES[PICKUP, [C_PRES, C_AMOUNT]] = True
USES[RECHARGE, C_AMOUNT] = True


def component_slice(k):
    """Slice of component ``k`` in the A = 34 logits/mask axis."""
    return slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))


# the robot's and the factory's part of the A = 34 logits/mask axis
ROBOT_LOGITS = slice(int(OFFSETS[C_TYPE]), int(OFFSETS[C_FACTORY]))
FACTORY_LOGITS = component_slice(C_FACTORY)


def used_components(robot_type):
    """Which robot components a robot type uses (``USES`` as a function).

    Args:
        robot_type (int | np.ndarray): robot_type choices, any shape ``s``.

    Returns:
        np.ndarray: bool ``s + (6,)``, True where robot component k counts (k = 0 .. 5:
        robot_type, move_dir, transfer_dir, transfer_res, pickup_res, amount).
    """
    return USES[np.asarray(robot_type, np.int64)]


def amount_units(frac_idx, avail):
    """Units for an amount choice: ``max(1, floor(AMOUNT_FRACTIONS[frac_idx] x avail))``.

    Args:
        frac_idx (int | np.ndarray): amount choices (0 .. 3).
        avail (int | np.ndarray): what is available (units of a resource or power), clipped at 0.

    Returns:
        np.ndarray: int64, the same shape as the broadcast inputs.
    """
    avail = np.maximum(np.asarray(avail), 0)
    return np.maximum(1, np.floor(AMOUNT_FRACTIONS[frac_idx] * avail).astype(np.int64))


def robot_action_vectors(state, cell_actions):
    """Engine action vectors of our robots for the chosen cell actions (the module's semantics).

    Args:
        state (agent.obs.GameState): the current state.
        cell_actions (np.ndarray): int (S, S, K) choices per cell and component.

    Returns:
        (vecs, send): int64 (N, 6) ``[type, dir, resource, amount, repeat, n=1]`` per robot
        (``repeat`` 1 for a sticky action, 0 for a one-shot one; rows of -1 for keep) and bool (N,)
        whether a new queue must be sent (not keep, and not going on with the current head),
        robots in ``state.my_units`` order.
    """
    u = state.my_units
    if len(u) == 0:
        return np.full((0, 6), -1, np.int64), np.zeros(0, bool)
    return _robot_vectors(state, np.asarray(cell_actions)[u.pos[:, 0], u.pos[:, 1]])


def _robot_vectors(state, a):
    """:func:`robot_action_vectors` from the robots' cell actions ``a`` (N, K), in ``state.my_units``
    order (N > 0)."""
    u = state.my_units
    n = len(u)
    rtype = a[:, C_TYPE]
    vecs = np.zeros((n, 6), np.int64)
    vecs[:, 0] = ENGINE_TYPE[rtype]
    vecs[:, 5] = 1
    # move
    m = rtype == MOVE
    vecs[m, 1] = MOVE_DIR_TO_ENGINE[a[m, C_MOVE]]
    # transfer: amount of what is held (power: after the queue-update cost)
    t = rtype == TRANSFER
    if t.any():
        res = a[t, C_TRES]
        q_cost = _queue.robot_values(state, "ACTION_QUEUE_POWER_COST")
        held = np.where(res < RES_POWER, u.cargo[t, np.minimum(res, RES_METAL)], u.power[t] - q_cost[t])
        vecs[t, 1] = a[t, C_TDIR]
        vecs[t, 2] = res
        vecs[t, 3] = amount_units(a[t, C_AMOUNT], np.maximum(held, 0))
    # pickup: amount of min(factory stock, free space)
    p = rtype == PICKUP
    if p.any():
        res = a[p, C_PRES]
        stock = factory_stocks_at(state, u.pos[p])[np.arange(len(res)), res]
        cap = np.where(res < RES_POWER,
                       _queue.robot_values(state, "CARGO_SPACE")[p] - u.cargo[p, np.minimum(res, RES_METAL)],
                       _queue.robot_values(state, "BATTERY_CAPACITY")[p] - u.power[p])
        vecs[p, 2] = res
        vecs[p, 3] = amount_units(a[p, C_AMOUNT], np.maximum(np.minimum(stock, cap), 0))
    r = rtype == RECHARGE
    if r.any():
        vecs[r, 3] = amount_units(a[r, C_AMOUNT], _queue.robot_values(state, "BATTERY_CAPACITY")[r])
    sticky = m | (rtype == DIG) | r  # STICKY_TYPES
    if sticky.any():
        idx = np.flatnonzero(sticky)
        vecs[idx, 4] = _queue.sticky_ok(state, vecs[idx], idx)
    head = u.head
    same4 = (vecs[:, :4] == head[:, :4]).all(axis=1)
    same_as_head = same4 & (vecs[:, 4] == head[:, 4]) & (u.queue_len > 0)
    # repeating a sticky head the robot may keep: go on without paying Q (even where a new queue
    # would have been one-shot)
    goes_on = same4 & (head[:, 4] > 0) & _queue.keep_allowed(state)
    send = (rtype != KEEP) & ~same_as_head & ~goes_on
    return vecs, send


def factory_stocks_at(state, pos):
    """int64 (N, 5): ice, ore, water, metal, power of our factory covering each position (N, 2)
    (its 3x3), 0 where none."""
    f = state.my_factories
    out = np.zeros((len(pos), 5), np.int64)
    if len(f) == 0 or len(pos) == 0:
        return out
    stock = np.concatenate([f.cargo, f.power[:, None]], axis=1)  # (F, 5)
    on = np.abs(pos[:, None, :] - f.pos[None, :, :]).max(axis=2) <= 1  # Chebyshev distance (N, F)
    has = on.any(axis=1)
    out[has] = stock[np.argmax(on, axis=1)[has]]
    return out


def avoid_own_collisions(state, cell_actions):
    """Cancel choices that would destroy our own robots; returns a corrected copy.

    Masks are per cell, so they cannot see two of our robots entering one cell, a robot moving
    onto one that stays, or a factory building a robot under one that stays on its center (all
    legal for the engine, and all destroy robots: ``LuxAI_S2._handle_movement_actions``). A robot
    moves this turn if it chose move, or chose keep while its queue head is a valid move (a sticky
    move walks on without being sent anything). This step stops movers until no cell receives two
    of our robots, letting one mover through where nobody stays (HEAVY first, then more power), and
    cancels such builds. A mover stops with keep where its queue does nothing (empty, a recharge)
    and keep is allowed (:func:`agent.action_queue.keep_allowed`), else with a sticky recharge (25 %:
    it stands still) if it can pay ``ACTION_QUEUE_POWER_COST``, else with keep where its head
    stays on the cell (a dig); a robot that can do none of these goes on. In training this
    is part of the environment: the policy's sampled choice is what PPO scores.

    Args:
        state (agent.obs.GameState): the state.
        cell_actions (np.ndarray): int (S, S, 7).

    Returns:
        np.ndarray: int64 (S, S, 7).
    """
    a = np.array(cell_actions, dtype=np.int64, copy=True)
    u = state.my_units
    if len(u) == 0:
        return a
    x, y = u.pos[:, 0], u.pos[:, 1]
    f = state.my_factories
    stops, build = _collision_stops(state, a[x, y], a[f.pos[:, 0], f.pos[:, 1], C_FACTORY])
    for by_keep, by_recharge in stops:
        a[x[by_keep], y[by_keep], C_TYPE] = KEEP
        a[x[by_recharge], y[by_recharge], C_TYPE] = RECHARGE
        a[x[by_recharge], y[by_recharge], C_AMOUNT] = 0
    if build is not None:
        a[f.pos[build, 0], f.pos[build, 1], C_FACTORY] = F_NONE
    return a


def _collision_stops(state, rows, fchoice):
    """What :func:`avoid_own_collisions` changes, from our robots' cell actions ``rows`` (N, K) int64
    (N > 0, ``state.my_units`` order) and our factories' choices ``fchoice`` (F,) int64.

    Returns:
        (stops, build): ``stops`` lists, round by round, (by_keep, by_recharge) int64 arrays of the
        robots stopped with keep and with a sticky recharge (amount choice 0); ``build`` is bool (F,),
        the factories whose build is cancelled (None without factories).
    """
    u = state.my_units
    n = len(u)
    x, y = u.pos[:, 0], u.pos[:, 1]
    occ = state.factory_occupancy()
    keep_ok = _queue.keep_allowed(state, occ)
    head_walks = _queue.head_moves(state)
    rtype = rows[:, C_TYPE]
    keep_walks = (rtype == KEEP) & head_walks & _queue.head_valid(state, occ)
    chose_move = rtype == MOVE
    moving = chose_move | keep_walks
    direction = np.where(chose_move, MOVE_DIR_TO_ENGINE[rows[:, C_MOVE]], np.minimum(np.maximum(u.head[:, 1], 0), 4))
    delta = DIRECTION_DELTAS[direction]
    # how a mover stops: keep where the head does nothing (empty, recharge, move center), else a
    # recharge (Q power), else keep where the head stays on its cell (a dig, a transfer ...)
    idle = _queue.head_idle(state)
    heavy = _queue.robot_values(state, "heavy")
    can_pay = u.power >= _queue.robot_values(state, "ACTION_QUEUE_POWER_COST")
    stop_keep = keep_ok & ~head_walks & (idle | ~can_pay)
    can_stop = stop_keep | can_pay
    S = state.cfg.map_size
    here = x * S + y
    step = delta[:, 0] * S + delta[:, 1]
    rank = None
    stops = []
    while True:
        cell = np.where(moving, here + step, here)
        order = np.argsort(cell, kind="stable")
        c = cell[order]
        if (c[1:] != c[:-1]).all():  # every cell receives one robot
            break
        if rank is None:
            priority = np.lexsort((-u.power, -heavy))  # heavies first, then more power
            rank = np.empty(n, np.int64)
            rank[priority] = np.arange(n)
        order = np.lexsort((rank, moving, cell))  # per cell: stayers first, then by priority
        c = cell[order]
        first = np.ones(n, bool)
        first[1:] = c[1:] != c[:-1]
        losers = order[~first & moving[order] & can_stop[order]]
        if len(losers) == 0:
            break
        moving[losers] = False
        stop = stop_keep[losers]
        stops.append((losers[stop], losers[~stop]))
    f = state.my_factories
    if len(f) == 0:
        return stops, None
    occupied = np.zeros((S, S), bool)
    occupied[np.where(moving, x + delta[:, 0], x), np.where(moving, y + delta[:, 1], y)] = True
    build = ((fchoice == F_LIGHT) | (fchoice == F_HEAVY)) & occupied[f.pos[:, 0], f.pos[:, 1]]
    return stops, build


def decode(state, cell_actions, avoid_collisions=True):
    """Turn per-cell choices into the Lux action dict for one main-phase turn.

    Args:
        state (agent.obs.GameState): the state the choices were made for.
        cell_actions (np.ndarray): int (S, S, K) with K = 7, choices per component (see the
            table above); values on cells without our robot or factory center are ignored.
        avoid_collisions (bool): first apply :func:`avoid_own_collisions`.

    Returns:
        dict: ``{"unit_12": [[type, dir, resource, amount, repeat, 1]], "factory_3": 1, ...}``
        with plain Python ints (JSON-ready; ``repeat`` 1 for a sticky action, 0 for a one-shot
        one); robots that go on with their queue and factories that do nothing are left out (spec
        "Actions": an omitted unit keeps its queue).

    Raises:
        ValueError: ``cell_actions`` has the wrong shape.
    """
    S = state.cfg.map_size
    cell_actions = np.asarray(cell_actions)
    if cell_actions.shape != (S, S, NUM_COMPONENTS):
        raise ValueError(f"cell_actions has shape {cell_actions.shape}, expected ({S}, {S}, {NUM_COMPONENTS})")
    u, f = state.my_units, state.my_factories
    x, y = u.pos[:, 0], u.pos[:, 1]
    fx, fy = f.pos[:, 0], f.pos[:, 1]
    if avoid_collisions and len(u) and len(set((x * S + y).tolist())) < len(u):
        # robots sharing a cell (never in a game): the stops are written into the full array
        cell_actions = avoid_own_collisions(state, cell_actions)
    elif avoid_collisions and len(u):
        # avoid_own_collisions on our robots' and factories' entries alone (one robot per cell)
        rows = cell_actions[x, y].astype(np.int64)
        choice = cell_actions[fx, fy, C_FACTORY].astype(np.int64)
        stops, build = _collision_stops(state, rows, choice)
        for by_keep, by_recharge in stops:
            rows[by_keep, C_TYPE] = KEEP
            rows[by_recharge, C_TYPE] = RECHARGE
            rows[by_recharge, C_AMOUNT] = 0
        if build is not None:
            choice[build] = F_NONE
        return _action_dict(state, _robot_vectors(state, rows), choice)
    elif avoid_collisions:
        cell_actions = cell_actions.astype(np.int64)  # as avoid_own_collisions returns it
    vecs = robot_action_vectors(state, cell_actions)
    return _action_dict(state, vecs, cell_actions[fx, fy, C_FACTORY] if len(f) else None)


def _action_dict(state, robot_vectors, factory_choice):
    """decode's dict from :func:`robot_action_vectors`'s (vecs, send) and our factories' choices (F,)."""
    vecs, send = robot_vectors
    ids = state.my_units.ids
    out = {ids[i]: [row] for i, row in zip(np.flatnonzero(send).tolist(), vecs[send].tolist())}
    f = state.my_factories
    if len(f):
        for i in np.flatnonzero(factory_choice != F_NONE):
            out[f.ids[i]] = FACTORY_ENGINE_ACTION[int(factory_choice[i])]
    return out
