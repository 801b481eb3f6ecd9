"""Per-cell validity masks over the map-shaped action head (see :mod:`agent.actions`).

``action_masks(state)`` returns bool (S, S, A), A = 34. A True entry is a choice the engine will
accept this turn; every rule below is written from the engine code that enforces it, so a policy
that samples only unmasked choices never sends an action that
``luxai_s2.actions.validate_actions`` rejects, never has a queue update skipped for lack of power,
and never has a factory watering refused at execution.

Rules (``Q`` = ``ACTION_QUEUE_POWER_COST``: LIGHT 1, HEAVY 10; ``P`` = the robot's power; any
choice other than keep replaces the action queue and costs ``Q`` first, ``env.step`` "if unit does
not have more than ACTION_QUEUE_POWER_COST power, we skip updating the action queue", and the
power checks in ``validate_actions`` then see ``P - Q``):

======================  ====================================================================  ====================================
choice                  allowed when                                                          source
======================  ====================================================================  ====================================
any but keep            ``P >= Q``                                                            ``LuxAI_S2.step`` queue update
keep                    queue empty, or its head is valid without paying ``Q``, (useful) a    ``validate_actions`` on the head;
                        dig head would dig something (as dig), and a power-spending head that ``agent.action_queue.keep_allowed``
                        stays queued leaves ``P - cost >= Q``
move dir d              target on the map; not an opponent factory tile;                      ``validate_actions`` move branch,
                        ``P - Q >= floor(MOVE_COST + RUBBLE_MOVEMENT_COST x rubble[target])``  ``Unit.move_power_cost``
transfer dir d          target on the map; (useful) our factory or our robot is there         ``validate_actions`` transfer branch
                        (center: only onto our factory)
transfer resource r     (useful) the robot holds r (power: ``P - Q > 0``)                     ``Unit.sub_resource``
pickup                  on a factory tile (always ours: robots cannot enter opponent ones)   ``validate_actions`` pickup branch
pickup resource r       (useful) factory stock of r > 0 and free cargo / battery for it;      ``Factory.sub_resource``
                        water only if a full pickup leaves WATER_PICKUP_RESERVE (50) water
dig                     not on a factory tile; ``P - Q >= DIG_COST``; (useful) the tile       ``validate_actions`` dig branch,
                        has rubble or lichen, or ice (ore) and the robot's ice (ore) cargo    ``LuxAI_S2._handle_dig_actions``,
                        is below CARGO_SPACE                                                  ``Unit.add_resource``
self_destruct           ``P - Q >= SELF_DESTRUCT_COST``                                       ``validate_actions``
recharge                always (after ``P >= Q``)                                             ``validate_actions``
factory build LIGHT /   ``metal >= METAL_COST`` and ``power >= POWER_COST`` of that type      ``validate_actions`` factory_build
HEAVY
factory water           ``water >=`` an upper bound of the watering cost (below)              ``validate_actions`` factory_water,
                                                                                              ``_handle_factory_water_actions``
======================  ====================================================================  ====================================

"(useful)" rules are not engine checks: they remove choices the engine accepts but that only
waste (a transfer into empty ground destroys the cargo, a dig on bare ground or on ice with a
full ice cargo costs power for nothing).

**Watering cost.** The engine prices watering at ``ceil(|grow| / LICHEN_WATERING_COST_FACTOR)``
where ``grow`` is the set ``Factory.cache_water_info`` computed *mid-step of the previous turn*
(checked in ``validate_actions``) and again mid-step of this turn (checked in
``_handle_factory_water_actions``). Neither board is observed exactly, so we bound ``|grow|`` with
the engine's own fill (``compute_water_info``) run on what the observed board allows the mid-step
board to be. Between an observation and the next mid-step, lichen only shrinks (digs, robots
destroyed), a strain only disappears where a robot is destroyed (which leaves rubble: forbidden),
rubble only disappears where a robot digs it away, and factories stay. So the fill enters a cell
with no strain from a cell whose observed lichen is >= MIN_LICHEN_TO_SPREAD, or a cell of the
factory's strain from another one, never a cell of another strain (the engine's rule); it counts a
reached cell unless a 4-neighbour is another factory's tile or surely keeps another strain (no
robot within one step of it could be destroyed there). We take the larger of two such bounds:
the previous observation's board for the validate-time cache, this observation's for the
execution-time one (rubble a robot could dig away this turn counted as open).

If a robot cannot pay ``Q`` and may not keep, no choice is valid; keep is then forced (the engine
will reject an invalid queued action whatever we send). Our decode never leads there: a sticky
action is sent only when the robot keeps ``Q`` after it, and keep only allowed on the same terms
(:mod:`agent.action_queue`), so this happens only for queues set by another controller.

**What the masks forbid that the engine accepts** (``python -m training.evaluation.mask_audit games=4
rules=kaggle every=5``: every 5th turn of 4 kaggle games, scripted self-play and scripted vs
random-masked; each forbidden choice put to ``validate_actions`` on the live engine state):

====================  =========  ========  ========================================================
rule                  forbidden  accepted  why
====================  =========  ========  ========================================================
keep (power rule)     35         4         deliberate: a head that stays queued must leave ``Q``
keep (useless dig)    174        174       deliberate (useful): nothing the dig would take (as dig)
move_dir              401        0         exact
transfer_dir          26830      26757     deliberate (useful): only onto our factory or robot
transfer_res          59806      59806     deliberate (useful): only a resource the robot holds
pickup                13148      0         exact here (forbidden only off a factory tile)
pickup_res            5558       5558      deliberate (useful): stock, room, the water reserve
dig                   4739       1679      deliberate (useful): rubble, lichen, or ice/ore with cargo room
self_destruct         546        0         exact
build LIGHT / HEAVY   113 / 1961 0 / 0     exact
water                 3          3         the bound's slack (exact in 98% of factory-turns)
====================  =========  ========  ========================================================

Cells without our robot have an all-False robot mask; cells without our factory center an
all-False factory mask; the distribution treats an all-False component as absent.

Strategy is not here: the decoding guards (:mod:`agent.guards`, e.g. never water lichen below the
water a factory needs to live) narrow these masks further for the playing agent.
"""


import numpy as np

from agent.actions import (
    C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, DIRECTION_DELTAS, KEEP, MOVE, NUM_LOGITS,
    PICKUP, RECHARGE, RES_WATER, SELF_DESTRUCT, TRANSFER, F_HEAVY, F_LIGHT, F_NONE, F_WATER,
    component_slice, factory_stocks_at,
)
from agent.action_queue import dig_useful, keep_allowed, move_costs, robot_neighbours, robot_values
from agent.paths import dilate4

# Water (turns of FACTORY_WATER_CONSUMPTION = 1) a factory keeps after a robot's water pickup:
# without it one greedy pickup of 100% empties the factory, which then dies at the end of the turn.
WATER_PICKUP_RESERVE = 50

_TYPE, _MOVE, _TDIR, _TRES, _PRES, _AMOUNT, _FACTORY = (component_slice(k) for k in (
    C_TYPE, C_MOVE, C_TDIR, C_TRES, C_PRES, C_AMOUNT, C_FACTORY))

# The 12 cells around a factory's 3x3 from which the engine's lichen flood fill starts
# (Factory.cache_water_info).
WATER_INIT_DELTAS = np.array([
    [0, -2], [-1, -2], [1, -2], [0, 2], [-1, 2], [1, 2],
    [2, 0], [2, -1], [2, 1], [-2, 0], [-2, -1], [-2, 1],
], dtype=np.int64)


def fill_stack(start, open_, from_any, into_free, from_own, into_own):
    """An upper-bounded lichen flood fill, for a stack of K fills at once: bool (K, S, S).

    Args:
        start (np.ndarray): bool (K, S, S), the seed cells (in-bounds init ring).
        open_ (np.ndarray): bool (S, S), cells that may be free of rubble, ice, ore and factories.
        from_any (np.ndarray): bool (S, S), cells whose lichen may be >= MIN_LICHEN_TO_SPREAD.
        into_free (np.ndarray): bool (S, S), cells that may carry no lichen strain.
        from_own (np.ndarray), into_own (np.ndarray): bool (S, S), cells that may carry the
            factory's strain (``from_own`` for the cell spreading, ``into_own`` for the one entered).
        Each may instead be a stack (K, S, S) (broadcastable), one per fill.

    Returns:
        np.ndarray: bool (K, S, S), for each fill the smallest set R with ``start & open_ ⊆ R`` and
        ``(dilate4(R & from_any) & into_free | dilate4(R & from_own) & into_own) & open_ ⊆ R``.

    Source: ``luxai_s2.factory.compute_water_info``: a popped cell enters a neighbour with no
    strain if its own lichen is >= MIN_LICHEN_TO_SPREAD, or a neighbour of its own strain if it is
    of that strain itself; forbidden cells are never counted nor spread from. The K fills run
    together; each leaves the stack once it stops growing.
    """
    args = [np.asarray(a) for a in (open_, from_any, into_free, from_own, into_own)]
    reach = start & args[0]
    K = reach.shape[0]
    active = np.arange(K)
    n = reach.sum(axis=(-2, -1))
    sub = args  # the arguments restricted to the active fills (re-indexed only when that set shrinks)
    r = reach
    while len(active):
        grown = (((dilate4(r & sub[1]) & sub[2]) | (dilate4(r & sub[3]) & sub[4])) & sub[0]) | r
        m = grown.sum(axis=(-2, -1))
        # grown contains reach, so equal counts mean equal sets: that fill is at its fixed point
        still = m != n[active]
        n[active] = m
        if still.all():
            r = grown
            continue
        reach[active] = grown
        active = active[still]
        sub = [a[active] if a.shape[0] == K else a for a in args]
        r = reach[active]
    return reach


def coarse_water_cost_bound(state):
    """A cheap upper bound of :func:`water_cost_bound`, int64 (F,): every cell the fill can reach is
    one of the 12 seed cells, a cell of the factory's strain, or a neighbour of a cell with lichen
    >= MIN_LICHEN_TO_SPREAD (on either board), so ``ceil((12 + |own| + |dilate4(spreading)|) /
    LICHEN_WATERING_COST_FACTOR)`` bounds its cost. A factory whose water covers it needs no fill.
    Computed once per observation (the masks and the water guard both ask), a new array each call."""
    f = state.my_factories
    key = (state.board, state.prev_lichen, state.prev_lichen_strains)
    hit = f.derived.get("coarse_water_cost_bound")
    if hit is not None and all(a is b for a, b in zip(hit[0], key)):
        return hit[1].copy()
    cost = _coarse_water_cost_bound(state)
    f.derived["coarse_water_cost_bound"] = (key, cost)
    return cost.copy()


def _coarse_water_cost_bound(state):
    f = state.my_factories
    cfg = state.cfg
    b = state.board
    spreading = (state.prev_lichen >= cfg.MIN_LICHEN_TO_SPREAD) | (b["lichen"] >= cfg.MIN_LICHEN_TO_SPREAD)
    n_spread = np.count_nonzero(dilate4(spreading)) if spreading.any() else 0
    strains = np.concatenate([state.prev_lichen_strains.ravel(), b["lichen_strains"].ravel()])
    # cells of each factory's strain, counted on both boards (still a bound)
    held = strains[strains >= 0]
    if len(f) and 0 <= f.strain.min() and f.strain.max() < 65536 and (held.size == 0 or held.max() < 65536):
        own = np.bincount(held, minlength=int(f.strain.max()) + 1)[f.strain].astype(np.int64)
    else:
        own = np.array([int(np.count_nonzero(strains == s)) for s in f.strain], np.int64)
    n = 12 + own + n_spread
    return -(-n // cfg.LICHEN_WATERING_COST_FACTOR)


def water_cost_bound(state, occupancy=None):
    """Upper bound of each of our factories' lichen-watering cost this turn.

    Args:
        state (agent.obs.GameState): current state (needs ``prev_lichen``/``prev_lichen_strains``
            and ``prev_my_units``/``prev_opp_units``).
        occupancy (np.ndarray | None): int64 (S, S) factory occupancy, computed if omitted.

    Returns:
        np.ndarray: int64 (F,), water units, in ``state.my_factories`` order.

    Source: ``Factory.cache_water_info``, ``compute_water_info``, ``Factory.water_cost``; the module
    docstring says why each board gives an upper bound.
    """
    f = state.my_factories
    if len(f) == 0:
        return np.zeros(0, np.int64)
    # once per observation (masks, the scripted baseline and the player's cheap rule all ask)
    key = (state.board, state.my_units, state.opp_units, state.prev_lichen, state.prev_lichen_strains)
    hit = f.derived.get("water_cost_bound")
    if hit is not None and len(hit[0]) == len(key) and all(a is b for a, b in zip(hit[0], key)):
        return hit[1].copy()
    cost = _water_cost_bound(state, occupancy)
    f.derived["water_cost_bound"] = (key, cost)
    return cost.copy()


def _water_cost_bound(state, occupancy):
    f = state.my_factories
    cfg = state.cfg
    b = state.board
    S = cfg.map_size
    occ = state.factory_occupancy() if occupancy is None else occupancy
    forbidden = (b["rubble"] > 0) | (occ != -1) | (b["ice"] > 0) | (b["ore"] > 0)
    # rubble a robot standing on it could dig away this turn (before the execution-time cache)
    clearable = np.zeros((S, S), bool)
    near_now = np.zeros((S, S), bool)  # cells where a robot may be destroyed this turn
    for units in (state.my_units, state.opp_units):
        if len(units):
            x, y = units.pos[:, 0], units.pos[:, 1]
            removed = cfg.robot["DIG_RUBBLE_REMOVED"][units.heavy.astype(np.int64)]
            ok = (b["rubble"][x, y] <= removed) & (b["lichen"][x, y] == 0)
            clearable[x[ok], y[ok]] = True
            near_now[x, y] = True
    near_prev = np.zeros((S, S), bool)
    for units in (state.prev_my_units, state.prev_opp_units):
        if len(units):
            near_prev[units.pos[:, 0], units.pos[:, 1]] = True
    open_now = ~(forbidden & ~(clearable & (occ == -1) & (b["ice"] == 0) & (b["ore"] == 0)))
    open_prev = ~forbidden
    spread = cfg.MIN_LICHEN_TO_SPREAD
    factor = cfg.LICHEN_WATERING_COST_FACTOR
    # all factories' fills at once, as a stack (F, S, S), for each of the two boards
    F = len(f)
    init = f.pos[:, None, :] + WATER_INIT_DELTAS[None, :, :]  # (F, 12, 2)
    inb = ((init >= 0) & (init < S)).all(axis=2)
    owner = np.broadcast_to(np.arange(F)[:, None], inb.shape)
    start = np.zeros((F, S, S), bool)
    start[owner[inb], init[inb][:, 0], init[inb][:, 1]] = True
    strain = f.strain[:, None, None]
    # One fill bounds both boards' fills: it spreads wherever either board lets it (the fill is
    # monotone in each condition), and counts a cell either board would count.
    own = (state.prev_lichen_strains[None] == strain) | (b["lichen_strains"][None] == strain)
    from_any = (state.prev_lichen >= spread) | (b["lichen"] >= spread)
    into_free = (state.prev_lichen_strains == -1) | (b["lichen_strains"] == -1)
    reach = fill_stack(start, open_now | open_prev, from_any[None], into_free[None], own, own)
    # Count the reached cells that may grow: a cell next to another factory's tile never grows
    # (factories are static in the main phase); one next to another strain does not either,
    # unless a robot destroyed there (within one step of a robot) clears that strain first.
    fi, x, y = np.nonzero(reach)
    nx = x[:, None] + DIRECTION_DELTAS[None, 1:, 0]
    ny = y[:, None] + DIRECTION_DELTAS[None, 1:, 1]
    inb = (nx >= 0) & (ny >= 0) & (nx < S) & (ny < S)
    nx, ny = np.clip(nx, 0, S - 1), np.clip(ny, 0, S - 1)
    mine = f.strain[fi][:, None]
    n_occ = occ[nx, ny]
    other_factory = inb & (n_occ != -1) & (n_occ != mine)
    counted = np.zeros(len(fi), bool)
    for strains, near in ((state.prev_lichen_strains, near_prev), (b["lichen_strains"], near_now)):
        clearable = dilate4(near)
        ns = strains[nx, ny]
        foreign = inb & (ns != -1) & (ns != mine) & ~clearable[nx, ny]
        counted |= ~(other_factory | foreign).any(axis=1) | (strains[x, y] == f.strain[fi])
    n = np.bincount(fi[counted], minlength=F)
    return (-(-n // factor)).astype(np.int64)


def _robot_choice_masks(state, power, occ, useful_dig, own_factory_tile, own_unit_at):
    """Validity of each robot choice for given available power (N,) after any queue cost (moves
    priced on this observation's rubble: :func:`agent.action_queue.move_costs`).

    ``own_factory_tile`` must be ``isin(occ, our strains) & (occ != -1)`` (as in :func:`action_masks`);
    ``useful_dig`` is bool (N,) :func:`agent.action_queue.dig_useful`.

    Returns dict of bool arrays: move (N, 4), tdir (N, 5), tres (N, 5), pres (N, 5),
    dig (N,), sd (N,), on_factory (N,).
    """
    u = state.my_units
    # neighbours in engine directions 0..4 (center, up, right, down, left): flat cells clipped onto
    # the map, and whether they are on it
    cell, nb, dinb = robot_neighbours(state)
    own_n = own_factory_tile.ravel()[nb]
    on_factory = own_n[:, 0]
    # move: directions 1..4; an opponent factory tile is a factory tile that is not ours
    opp_fac = (occ.ravel()[nb[:, 1:]] != -1) & ~own_n[:, 1:]
    move = dinb[:, 1:] & ~opp_fac & (power[:, None] >= move_costs(state))
    # transfer directions 0..4 (target must be our factory tile or hold our robot; center: factory)
    target_ok = own_n | own_unit_at.ravel()[nb]
    target_ok[:, 0] = on_factory
    tdir = dinb & target_ok
    tres = np.empty((len(cell), 5), bool)
    np.greater(u.cargo, 0, out=tres[:, :4])
    np.greater(power, 0, out=tres[:, 4])
    # pickup: on our factory tile; resource in stock and room for it
    cap = np.empty((len(cell), 5), np.int64)
    np.subtract(robot_values(state, "CARGO_SPACE")[:, None], u.cargo, out=cap[:, :4])
    np.subtract(robot_values(state, "BATTERY_CAPACITY"), u.power, out=cap[:, 4])
    stock = factory_stocks_at(state, u.pos)
    pres = on_factory[:, None] & (stock > 0) & (cap > 0)
    # (useful) never take water a factory needs: even a 100% pickup must leave the reserve
    pres[:, RES_WATER] &= stock[:, RES_WATER] - np.minimum(stock[:, RES_WATER], cap[:, RES_WATER]) >= WATER_PICKUP_RESERVE
    dig = (occ.ravel()[cell] == -1) & (power >= robot_values(state, "DIG_COST")) & useful_dig
    sd = power >= robot_values(state, "SELF_DESTRUCT_COST")
    return dict(move=move, tdir=tdir, tres=tres, pres=pres, dig=dig, sd=sd, on_factory=on_factory)


def action_masks(state):
    """Validity masks of the action head for ``state.player`` this turn.

    Args:
        state (agent.obs.GameState): a main-phase state (``real_env_steps >= 0``).

    Returns:
        np.ndarray: bool (S, S, A) with A = 34, laid out as :data:`agent.actions.OFFSETS`.
        Robot components are all False where we have no robot, the factory component where we
        have no factory center.

    Rules and sources: module docstring.
    """
    cfg = state.cfg
    S = cfg.map_size
    masks = np.zeros((S, S, NUM_LOGITS), bool)
    occ = state.factory_occupancy()
    own_factory_tile = state.own_factory_tiles()
    u = state.my_units
    n = len(u)
    if n:
        cell = robot_neighbours(state)[0]
        own_unit_at = np.zeros(S * S, bool)
        own_unit_at[cell] = True
        q = robot_values(state, "ACTION_QUEUE_POWER_COST")
        can_update = u.power >= q
        new = _robot_choice_masks(state, np.maximum(u.power - q, -1), occ, dig_useful(state),
                                  own_factory_tile, own_unit_at)
        rows = np.zeros((n, NUM_LOGITS), bool)  # the robots' cells, written at once below
        t = rows[:, _TYPE]
        t[:, KEEP] = keep_allowed(state, occ)
        t[:, MOVE] = new["move"].any(axis=1)
        t[:, TRANSFER] = new["tdir"].any(axis=1) & new["tres"].any(axis=1)
        t[:, PICKUP] = new["pres"].any(axis=1)
        t[:, DIG] = new["dig"]
        t[:, SELF_DESTRUCT] = new["sd"]
        t[:, RECHARGE] = True
        t[:, MOVE:] &= can_update[:, None]
        t[~t.any(axis=1), KEEP] = True  # see module docstring: forced keep
        rows[:, _MOVE] = new["move"]
        rows[:, _TDIR] = new["tdir"]
        rows[:, _TRES] = new["tres"]
        rows[:, _PRES] = new["pres"]
        rows[:, _AMOUNT] = True
        masks.reshape(S * S, NUM_LOGITS)[cell] = rows
    f = state.my_factories
    if len(f):
        fx, fy = f.pos[:, 0], f.pos[:, 1]
        fm = np.zeros((len(f), 4), bool)
        fm[:, F_NONE] = True
        for choice, k in ((F_LIGHT, 0), (F_HEAVY, 1)):
            fm[:, choice] = (f.cargo[:, 3] >= cfg.robot["METAL_COST"][k]) & (f.power >= cfg.robot["POWER_COST"][k])
        water = f.cargo[:, RES_WATER]
        # the fill is only needed where the water does not already cover a coarse bound
        fm[:, F_WATER] = water >= np.maximum(coarse_water_cost_bound(state), 1)
        if not fm[:, F_WATER].all():
            fm[:, F_WATER] = water >= np.maximum(water_cost_bound(state, occ), 1)
        masks[fx, fy, _FACTORY] = fm
    return masks
