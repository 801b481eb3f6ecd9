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
``[type, direction, resource, amount, repeat, n]``; we always send ``repeat=0, n=1``, a one-shot
action that leaves the queue once executed, so a queue never holds a stale action that could turn
invalid):

* **keep** sends nothing: the robot keeps its action queue (usually empty: it stays put; a pending
  recharge keeps waiting).
* **move / dig / self_destruct** as in the spec ("Robots" / "Actions").
* **transfer** gives ``amount`` of what the robot holds of the resource (power: what is left
  after the queue-update cost) to the cell in ``transfer_dir`` (center = the tile it stands on,
  i.e. its factory).
* **pickup** takes ``amount`` of ``min(factory stock, free cargo or battery space)``.
* **recharge** waits until power >= ``amount`` x battery capacity.

Amounts are at least 1 unit. A robot whose chosen action equals its current queue head sends no
new queue (saves ``ACTION_QUEUE_POWER_COST``).

Only the standard library and numpy are used (this runs on Kaggle).
"""

import numpy as np

COMPONENTS = ("robot_type", "move_dir", "transfer_dir", "transfer_res", "pickup_res", "amount", "factory")
NVEC = np.array([7, 4, 5, 5, 5, 4, 4], dtype=np.int64)
OFFSETS = np.concatenate([[0], np.cumsum(NVEC)[:-1]]).astype(np.int64)
NUM_COMPONENTS = len(COMPONENTS)
NUM_LOGITS = int(NVEC.sum())

# component indices
C_TYPE, C_MOVE, C_TDIR, C_TRES, C_PRES, C_AMOUNT, C_FACTORY = range(NUM_COMPONENTS)

# robot_type choices
KEEP, MOVE, TRANSFER, PICKUP, DIG, SELF_DESTRUCT, RECHARGE = range(7)
ROBOT_TYPE_NAMES = ("keep", "move", "transfer", "pickup", "dig", "self_destruct", "recharge")
# engine action type per robot_type choice (luxai_s2.actions.format_action_vec), -1 for keep
ENGINE_TYPE = np.array([-1, 0, 1, 2, 3, 4, 5], dtype=np.int64)
# factory choices -> engine factory action (luxai_s2.actions.format_factory_action)
F_NONE, F_LIGHT, F_HEAVY, F_WATER = range(4)
FACTORY_ENGINE_ACTION = (None, 0, 1, 2)
AMOUNT_FRACTIONS = np.array([0.25, 0.5, 0.75, 1.0])
# move_dir choice -> engine direction 1..4 (0 = center, 1 = up, 2 = right, 3 = down, 4 = left)
MOVE_DIR_TO_ENGINE = np.array([1, 2, 3, 4], dtype=np.int64)
# engine direction -> (dx, dy) (luxai_s2.actions.move_deltas)
DIRECTION_DELTAS = np.array([[0, 0], [0, -1], [1, 0], [0, 1], [-1, 0]], dtype=np.int64)

# which components count for a cell, given its robot_type: (7 robot types, 6 robot components)
USES = np.zeros((7, 6), dtype=bool)
USES[:, C_TYPE] = True
USES[MOVE, C_MOVE] = True
USES[TRANSFER, [C_TDIR, C_TRES, C_AMOUNT]] = True
USES[PICKUP, [C_PRES, C_AMOUNT]] = True
USES[RECHARGE, C_AMOUNT] = True


def component_slice(k):
    """Slice of component ``k`` in the A = 34 logits/mask axis."""
    return slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))


def _amount(frac_idx, avail):
    """Units for an amount choice: ``max(1, floor(fraction x avail))``; int64 like ``avail``."""
    return np.maximum(1, np.floor(AMOUNT_FRACTIONS[frac_idx] * avail).astype(np.int64))


def robot_action_vectors(state, cell_actions):
    """Engine action vectors of our robots for the chosen cell actions.

    Args:
        state (agent.obs.GameState): the current state.
        cell_actions (np.ndarray): int (S, S, K) choices per cell and component.

    Returns:
        (vecs, send): int64 (N, 6) ``[type, dir, resource, amount, repeat=0, n=1]`` per robot
        (rows of -1 for keep) and bool (N,) whether a new queue must be sent (not keep and
        not equal to the current queue head), robots in ``state.my_units`` order.
    """
    u = state.my_units
    n = len(u)
    vecs = np.full((n, 6), -1, np.int64)
    if n == 0:
        return vecs, np.zeros(0, bool)
    cfg = state.cfg
    x, y = u.pos[:, 0], u.pos[:, 1]
    a = np.asarray(cell_actions)[x, y]  # (N, K)
    rtype = a[:, C_TYPE]
    heavy = u.heavy.astype(np.int64)
    q_cost = cfg.robot["ACTION_QUEUE_POWER_COST"][heavy]
    vecs[:, 0] = ENGINE_TYPE[rtype]
    vecs[:, 1:4] = 0
    vecs[:, 4] = 0
    vecs[:, 5] = 1
    # move
    m = rtype == MOVE
    vecs[m, 1] = MOVE_DIR_TO_ENGINE[a[m, C_MOVE]]
    # transfer: amount of what is held (power: after the queue-update cost)
    t = rtype == TRANSFER
    if t.any():
        res = a[t, C_TRES]
        held = np.where(res < 4, u.cargo[t, np.minimum(res, 3)], u.power[t] - q_cost[t])
        vecs[t, 1] = a[t, C_TDIR]
        vecs[t, 2] = res
        vecs[t, 3] = _amount(a[t, C_AMOUNT], np.maximum(held, 0))
    # pickup: amount of min(factory stock, free space)
    p = rtype == PICKUP
    if p.any():
        res = a[p, C_PRES]
        stock = factory_stocks_at(state, u.pos[p])[np.arange(len(res)), res]
        cap = np.where(res < 4, cfg.robot["CARGO_SPACE"][heavy[p]] - u.cargo[p, np.minimum(res, 3)],
                       cfg.robot["BATTERY_CAPACITY"][heavy[p]] - u.power[p])
        vecs[p, 2] = res
        vecs[p, 3] = _amount(a[p, C_AMOUNT], np.maximum(np.minimum(stock, cap), 0))
    r = rtype == RECHARGE
    if r.any():
        vecs[r, 3] = _amount(a[r, C_AMOUNT], cfg.robot["BATTERY_CAPACITY"][heavy[r]])
    same_as_head = np.all(vecs == u.head, axis=1) & (u.queue_len > 0)
    send = (rtype != KEEP) & ~same_as_head
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
    legal for the engine, and all destroy robots: ``LuxAI_S2._handle_movement_actions``). This
    step turns the offending moves into keep (the robot stays) until no cell receives two of our
    robots, letting one mover through where nobody stays (HEAVY first, then more power), and
    cancels such builds. Robots whose keep is not allowed (a queued head became invalid) are left
    as they are. In training this is part of the environment: the policy's sampled choice is
    what PPO scores.

    Args:
        state (agent.obs.GameState): the state.
        cell_actions (np.ndarray): int (S, S, 7).

    Returns:
        np.ndarray: int64 (S, S, 7).
    """
    a = np.array(cell_actions, dtype=np.int64, copy=True)
    u = state.my_units
    n = len(u)
    if n == 0:
        return a
    x, y = u.pos[:, 0], u.pos[:, 1]
    moving = a[x, y, C_TYPE] == MOVE
    delta = DIRECTION_DELTAS[MOVE_DIR_TO_ENGINE[a[x, y, C_MOVE]]]
    can_stay = (u.queue_len == 0) | np.isin(u.head[:, 0], (5,))  # keep = stay (empty or recharge head)
    S = state.cfg.map_size
    priority = np.lexsort((-u.power, -u.heavy.astype(np.int64)))  # heavies first, then more power
    rank = np.empty(n, np.int64)
    rank[priority] = np.arange(n)
    while True:
        tx = np.where(moving, x + delta[:, 0], x)
        ty = np.where(moving, y + delta[:, 1], y)
        cell = tx * S + ty
        order = np.lexsort((rank, moving, cell))  # per cell: stayers first, then by priority
        c = cell[order]
        first = np.ones(n, bool)
        first[1:] = c[1:] != c[:-1]
        losers = order[~first & moving[order] & can_stay[order]]
        if len(losers) == 0:
            break
        moving[losers] = False
        a[x[losers], y[losers], C_TYPE] = KEEP
    f = state.my_factories
    if len(f):
        occupied = np.zeros((S, S), bool)
        occupied[np.where(moving, x + delta[:, 0], x), np.where(moving, y + delta[:, 1], y)] = True
        fx, fy = f.pos[:, 0], f.pos[:, 1]
        build = np.isin(a[fx, fy, C_FACTORY], (F_LIGHT, F_HEAVY)) & occupied[fx, fy]
        a[fx[build], fy[build], C_FACTORY] = F_NONE
    return a


def decode(state, cell_actions, avoid_collisions=True):
    """Turn per-cell choices into the Lux action dict for one main-phase turn.

    Args:
        state (agent.obs.GameState): the state the choices were made for.
        cell_actions (np.ndarray): int (S, S, K) with K = 7, choices per component (see the
            table above); values on cells without our robot or factory center are ignored.
        avoid_collisions (bool): first apply :func:`avoid_own_collisions`.

    Returns:
        dict: ``{"unit_12": [[type, dir, resource, amount, 0, 1]], "factory_3": 1, ...}`` with
        plain Python ints (JSON-ready); robots that keep their queue and factories that do
        nothing are left out (spec "Actions": an omitted unit keeps its queue).

    Raises:
        ValueError: ``cell_actions`` has the wrong shape.
    """
    S = state.cfg.map_size
    cell_actions = np.asarray(cell_actions)
    if cell_actions.shape != (S, S, NUM_COMPONENTS):
        raise ValueError(f"cell_actions has shape {cell_actions.shape}, expected ({S}, {S}, {NUM_COMPONENTS})")
    if avoid_collisions:
        cell_actions = avoid_own_collisions(state, cell_actions)
    out = {}
    vecs, send = robot_action_vectors(state, cell_actions)
    for i in np.flatnonzero(send):
        out[state.my_units.ids[i]] = [[int(v) for v in vecs[i]]]
    f = state.my_factories
    if len(f):
        choice = cell_actions[f.pos[:, 0], f.pos[:, 1], C_FACTORY]
        for i in np.flatnonzero(choice != F_NONE):
            out[f.ids[i]] = FACTORY_ENGINE_ACTION[int(choice[i])]
    return out
