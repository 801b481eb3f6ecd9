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

**What the masks forbid that the engine accepts** (``python -m training.mask_audit games=4
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
"""

import numpy as np

from agent.actions import (
    A_DIG, A_MOVE, AMOUNT_FRACTIONS, COMPONENTS, C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG,
    DIRECTION_DELTAS, KEEP, MOVE, NUM_LOGITS, NUM_ROBOT_TYPES, PICKUP, RECHARGE, RES_ICE, RES_METAL, RES_ORE, RES_POWER,
    RES_WATER, SELF_DESTRUCT, TRANSFER, F_HEAVY, F_LIGHT, F_NONE, F_WATER, component_slice, factory_stocks_at,
)
from agent.action_queue import dig_useful, head_idle, keep_allowed
from agent.features import DIST_SCALE, HOME_COST_CLIP, P as PLANE, encode, home_cost_map
from agent.paths import INF, cost_to, dilate4, step_cost

# Water (turns of FACTORY_WATER_CONSUMPTION = 1) a factory keeps after a robot's water pickup:
# without it one greedy pickup of 100% empties the factory, which then dies at the end of the turn.
WATER_PICKUP_RESERVE = 50

# The 12 cells around a factory's 3x3 from which the engine's lichen flood fill starts
# (Factory.cache_water_info).
WATER_INIT_DELTAS = np.array([
    [0, -2], [-1, -2], [1, -2], [0, 2], [-1, 2], [1, 2],
    [2, 0], [2, -1], [2, 1], [-2, 0], [-2, -1], [-2, 1],
], dtype=np.int64)


def water_reach_bound(start, open_, from_any, into_free, from_own, into_own, growable=None):
    """Number of cells an upper-bounded lichen flood fill can count.

    Args:
        start (np.ndarray): bool (S, S), the seed cells (in-bounds init ring).
        open_ (np.ndarray): bool (S, S), cells that may be free of rubble, ice, ore and factories.
        from_any (np.ndarray): bool (S, S), cells whose lichen may be >= MIN_LICHEN_TO_SPREAD.
        into_free (np.ndarray): bool (S, S), cells that may carry no lichen strain.
        from_own (np.ndarray), into_own (np.ndarray): bool (S, S), cells that may carry the
            factory's strain (``from_own`` for the cell spreading, ``into_own`` for the one entered).
        growable (np.ndarray | None): bool (S, S), cells that may be counted once reached (the
            engine's ``can_grow`` or own strain); all if None.
        Each may instead be a stack (K, S, S) (broadcastable) of K independent fills.

    Returns:
        int: ``|R & growable|`` where R is the smallest set with ``start & open_ ⊆ R`` and
        ``(dilate4(R & from_any) & into_free | dilate4(R & from_own) & into_own) & open_ ⊆ R``;
        int64 (K,) for stacks.

    Source: ``luxai_s2.factory.compute_water_info``: a popped cell enters a neighbour with no
    strain if its own lichen is >= MIN_LICHEN_TO_SPREAD, or a neighbour of its own strain if it is
    of that strain itself; forbidden cells are never counted nor spread from.
    """
    if np.ndim(start) == 2:
        return int(_fill(start & open_, open_, from_any, into_free, from_own, into_own, growable))
    reach = fill_stack(start, open_, from_any, into_free, from_own, into_own)
    if growable is not None:
        reach = reach & growable
    return reach.sum(axis=(-2, -1))


def fill_stack(start, open_, from_any, into_free, from_own, into_own):
    """The fixed point R of :func:`water_reach_bound` for a stack of K fills: bool (K, S, S).

    The K fills run together; each leaves the stack once it stops growing.
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


def _fill(reach, open_, from_any, into_free, from_own, into_own, growable):
    """:func:`water_reach_bound` of one (S, S) seed set."""
    n = reach.sum()
    while True:
        grown = (((dilate4(reach & from_any) & into_free) | (dilate4(reach & from_own) & into_own)) & open_) | reach
        m = grown.sum()
        if m == n:
            break
        reach, n = grown, m
    return (reach & growable).sum() if growable is not None else n


def coarse_water_cost_bound(state):
    """A cheap upper bound of :func:`water_cost_bound`, int64 (F,): every cell the fill can reach is
    one of the 12 seed cells, a cell of the factory's strain, or a neighbour of a cell with lichen
    >= MIN_LICHEN_TO_SPREAD (on either board), so ``ceil((12 + |own| + |dilate4(spreading)|) /
    LICHEN_WATERING_COST_FACTOR)`` bounds its cost. A factory whose water covers it needs no fill."""
    f = state.my_factories
    cfg = state.cfg
    b = state.board
    spreading = (state.prev_lichen >= cfg.MIN_LICHEN_TO_SPREAD) | (b["lichen"] >= cfg.MIN_LICHEN_TO_SPREAD)
    n_spread = int(dilate4(spreading).sum()) if spreading.any() else 0
    strains = np.concatenate([state.prev_lichen_strains.ravel(), b["lichen_strains"].ravel()])
    own = np.array([int(np.count_nonzero(strains == s)) for s in f.strain], np.int64)  # counts both boards: still a bound
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


def _robot_choice_masks(state, power, occ, rubble, useful_dig, own_factory_tile, own_unit_at):
    """Validity of each robot choice for given available power (N,) after any queue cost.

    ``own_factory_tile`` must be ``isin(occ, our strains) & (occ != -1)`` (as in :func:`action_masks`);
    ``useful_dig`` is bool (N,) :func:`agent.action_queue.dig_useful`.

    Returns dict of bool arrays: move (N, 4), tdir (N, 5), tres (N, 5), pres (N, 5),
    dig (N,), sd (N,), on_factory (N,).
    """
    cfg = state.cfg
    u = state.my_units
    S = cfg.map_size
    heavy = u.heavy.astype(np.int64)
    x, y = u.pos[:, 0], u.pos[:, 1]
    # neighbours in engine directions 0..4 (center, up, right, down, left), clipped onto the map
    dx = x[:, None] + DIRECTION_DELTAS[None, :, 0]
    dy = y[:, None] + DIRECTION_DELTAS[None, :, 1]
    dinb = (dx >= 0) & (dy >= 0) & (dx < S) & (dy < S)
    dcx, dcy = np.minimum(np.maximum(dx, 0), S - 1), np.minimum(np.maximum(dy, 0), S - 1)
    # move: directions 1..4; an opponent factory tile is a factory tile that is not ours
    inb, cx, cy = dinb[:, 1:], dcx[:, 1:], dcy[:, 1:]
    opp_fac = (occ[cx, cy] != -1) & ~own_factory_tile[cx, cy]
    cost = np.floor(cfg.robot["MOVE_COST"][heavy][:, None]
                    + cfg.robot["RUBBLE_MOVEMENT_COST"][heavy][:, None] * rubble[cx, cy]).astype(np.int64)
    move = inb & ~opp_fac & (power[:, None] >= cost)
    # transfer directions 0..4 (target must be our factory tile or hold our robot; center: factory)
    target_ok = own_factory_tile[dcx, dcy] | own_unit_at[dcx, dcy]
    target_ok[:, 0] = own_factory_tile[x, y]
    tdir = dinb & target_ok
    held = np.concatenate([u.cargo, power[:, None]], axis=1)
    tres = held > 0
    # pickup: on our factory tile; resource in stock and room for it
    on_factory = own_factory_tile[x, y]
    cap = np.concatenate([cfg.robot["CARGO_SPACE"][heavy][:, None] - u.cargo,
                          (cfg.robot["BATTERY_CAPACITY"][heavy] - u.power)[:, None]], axis=1)
    stock = factory_stocks_at(state, u.pos)
    pres = on_factory[:, None] & (stock > 0) & (cap > 0)
    # (useful) never take water a factory needs: even a 100% pickup must leave the reserve
    pres[:, RES_WATER] &= stock[:, RES_WATER] - np.minimum(stock[:, RES_WATER], cap[:, RES_WATER]) >= WATER_PICKUP_RESERVE
    dig = (occ[x, y] == -1) & (power >= cfg.robot["DIG_COST"][heavy]) & useful_dig
    sd = power >= cfg.robot["SELF_DESTRUCT_COST"][heavy]
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
    b = state.board
    masks = np.zeros((S, S, NUM_LOGITS), bool)
    occ = state.factory_occupancy()
    own_factory_tile = state.own_factory_tiles()
    u = state.my_units
    if len(u):
        x, y = u.pos[:, 0], u.pos[:, 1]
        own_unit_at = np.zeros((S, S), bool)
        own_unit_at[x, y] = True
        heavy = u.heavy.astype(np.int64)
        q = cfg.robot["ACTION_QUEUE_POWER_COST"][heavy]
        can_update = u.power >= q
        new = _robot_choice_masks(state, np.maximum(u.power - q, -1), occ, b["rubble"], dig_useful(state),
                                  own_factory_tile, own_unit_at)
        keep = keep_allowed(state, occ)
        t = np.zeros((len(u), NUM_ROBOT_TYPES), bool)
        t[:, KEEP] = keep
        t[:, MOVE] = can_update & new["move"].any(axis=1)
        t[:, TRANSFER] = can_update & new["tdir"].any(axis=1) & new["tres"].any(axis=1)
        t[:, PICKUP] = can_update & new["pres"].any(axis=1)
        t[:, DIG] = can_update & new["dig"]
        t[:, SELF_DESTRUCT] = can_update & new["sd"]
        t[:, RECHARGE] = can_update
        stuck = ~t.any(axis=1)
        t[stuck, KEEP] = True  # see module docstring: forced keep
        masks[x, y, component_slice(C_TYPE)] = t
        masks[x, y, component_slice(C_MOVE)] = new["move"]
        masks[x, y, component_slice(C_TDIR)] = new["tdir"]
        masks[x, y, component_slice(C_TRES)] = new["tres"]
        masks[x, y, component_slice(C_PRES)] = new["pres"]
        masks[x, y, component_slice(C_AMOUNT)] = True
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
        masks[fx, fy, component_slice(C_FACTORY)] = fm
    return masks


WATER_GUARD_MARGIN = 30  # water kept above remaining_turns x consumption by a guarded watering


def water_reserve_ok(state, costs=None, margin=WATER_GUARD_MARGIN):
    """Which of our factories can water lichen this turn and still survive with no more ice.

    A factory passes when ``water - cost >= remaining_turns x FACTORY_WATER_CONSUMPTION + margin``,
    ``cost`` being :func:`water_cost_bound` (an upper bound of this turn's watering cost) and
    ``remaining_turns = max_episode_length - real_env_steps``. The factory then still holds the water
    it consumes every turn to the end of the game (``Factory.water_cost``, ``LuxAI_S2.step``: a
    factory whose water falls below 0 is destroyed).

    Args:
        state (agent.obs.GameState): a main-phase state.
        costs (np.ndarray | None): int64 (F,) watering cost bounds, computed if omitted.
        margin (int): extra water kept, in water units.

    Returns:
        np.ndarray: bool (F,), in ``state.my_factories`` order.
    """
    f = state.my_factories
    if len(f) == 0:
        return np.zeros(0, bool)
    costs = water_cost_bound(state) if costs is None else costs
    return f.cargo[:, RES_WATER] - costs >= water_to_last_turn(state, margin)


def remaining_turns(state):
    """Turns from this one to the last: ``max_episode_length - real_env_steps`` (``real_env_steps``
    counted from 0 during bidding and placement; ``LuxAI_S2.step`` ends the game after
    ``max_episode_length`` main-phase turns).

    Returns:
        int: turns.
    """
    return state.cfg.max_episode_length - max(int(state.real_env_steps), 0)


def water_to_last_turn(state, margin=WATER_GUARD_MARGIN):
    """Water units a factory consumes from this turn to the last, plus ``margin``:
    ``remaining_turns x FACTORY_WATER_CONSUMPTION + margin``, with ``remaining_turns =
    max_episode_length - real_env_steps`` (``Factory.water_cost``, ``LuxAI_S2.step``). The reserve of
    :func:`water_reserve_ok` and of :func:`guard_heavy_rubble`'s water to spare.

    Returns:
        int: water units.
    """
    return remaining_turns(state) * state.cfg.FACTORY_WATER_CONSUMPTION + margin


def guard_water(state, masks, margin=WATER_GUARD_MARGIN):
    """``masks`` with watering forbidden where it could starve the factory (:func:`water_reserve_ok`).

    Not part of :func:`action_masks` (whose entries are exactly what the engine accepts): a decoding
    option of the playing agent (agent.json ``water_guard``). The scripted baseline waters by the
    same rule, so a net cloned from it loses none of its teacher's choices.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        margin (int): extra water kept, in water units.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    f = state.my_factories
    if len(f) == 0:
        return masks
    unsafe = ~water_reserve_ok(state, margin=margin)
    water = component_slice(C_FACTORY).start + F_WATER
    unsafe &= masks[f.pos[:, 0], f.pos[:, 1], water]
    if not unsafe.any():
        return masks
    masks = masks.copy()
    masks[f.pos[unsafe, 0], f.pos[unsafe, 1], water] = False
    return masks


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
    step = step_cost(r, state.board["rubble"], 1).astype(np.int64)  # the price of home_cost's steps
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
    for d in range(4):
        dx, dy = DIRECTION_DELTAS[d + 1]
        nx, ny = x + int(dx), y + int(dy)
        inb = (nx >= 0) & (ny >= 0) & (nx < S) & (ny < S)
        cx, cy = np.clip(nx, 0, S - 1), np.clip(ny, 0, S - 1)
        hn = home_cost[cx, cy]
        bad = inb & (hn >= h) & (power - step[cx, cy] < hn)
        out[x[bad], y[bad], m0 + d] = False
        forbid_keep |= bad & queued & (head_type == A_MOVE) & (head_dir == d + 1)
    no_move = ~out[x, y, m0:m0 + 4].any(axis=1)
    out[x[no_move], y[no_move], t0 + MOVE] = False
    # keep would run the queued dig or move: recharge is then the way to stand still
    forbid_keep &= out[x, y, t0 + RECHARGE]
    out[x[forbid_keep], y[forbid_keep], t0 + KEEP] = False
    if np.array_equal(out, masks):
        return masks
    return out


def _robot_cells(state):
    """(units, x, y, t0): ``state.my_units``, their cells (int64 (N,) each) and the index of the first
    robot-type entry of a cell's masks (``keep``), for the guards that edit robot types."""
    u = state.my_units
    return u, u.pos[:, 0], u.pos[:, 1], component_slice(C_TYPE).start


WHOLE = int(np.flatnonzero(AMOUNT_FRACTIONS == 1.0)[0])  # the amount choice of 100 %: a whole cargo or battery


def _queued_move(u, i):
    """The direction (1-4: up, right, down, left) of robot ``i``'s queued move (``u``:
    ``state.my_units``), 0 when its queue head is no move."""
    return int(u.head[i, 1]) if u.queue_len[i] > 0 and u.head[i, 0] == A_MOVE else 0


def _unit_numbers(u):
    """int64 (N,): the numbers of our robots' unit_ids (``"unit_12"`` -> 12), in ``u`` order; a
    robot built later has a larger one (``LuxAI_S2.add_unit``)."""
    return np.array([int(s.rsplit("_", 1)[-1]) for s in u.ids], np.int64)


def _occupied(S, x, y):
    """bool (S, S): the cells ``(x, y)`` (int64 (N,) each) our robots stand on."""
    occupied = np.zeros((S, S), bool)
    occupied[x, y] = True
    return occupied


def _step_to_factory(out, u, i, f, k, occupied):
    """Hold our robot ``i`` (of ``u``, ``state.my_units``) on ``out`` (edited in place) to a move
    closer to factory ``k`` of ``f`` (fewest moves to a tile of its 3x3), as :func:`_hold_step`
    chooses it; ``occupied`` is :func:`_occupied`."""
    cx, cy = int(u.pos[i, 0]), int(u.pos[i, 1])
    nx, ny = cx + DIRECTION_DELTAS[1:, 0], cy + DIRECTION_DELTAS[1:, 1]
    gain = _factory_steps(np.array([cx]), np.array([cy]), f)[0, k] - _factory_steps(nx, ny, f)[:, k]
    _hold_step(out, cx, cy, _queued_move(u, i), gain, occupied)


def _step_down(out, u, i, dist, occupied):
    """Hold our robot ``i`` (of ``u``) on ``out`` (edited in place) to a move down ``dist`` (int64
    (S, S), steps to a target; off the map is never closer), as :func:`_hold_step` chooses it."""
    cx, cy = int(u.pos[i, 0]), int(u.pos[i, 1])
    S = dist.shape[0]
    nx, ny = cx + DIRECTION_DELTAS[1:, 0], cy + DIRECTION_DELTAS[1:, 1]
    inside = (nx >= 0) & (nx < S) & (ny >= 0) & (ny < S)
    after = np.full(4, 10 ** 6, np.int64)
    after[inside] = dist[nx[inside], ny[inside]]
    _hold_step(out, cx, cy, _queued_move(u, i), dist[cx, cy] - after, occupied)


def _fill_allowed(masks, x, y):
    """Whether ``masks`` (bool (S, S, A)) let the robot on ``(x, y)`` pick up power, the whole free
    battery (amount 100 %); ``x``, ``y`` may be ints (a bool) or int64 (N,) arrays (bool (N,))."""
    return (masks[x, y, component_slice(C_TYPE).start + PICKUP] & masks[x, y, component_slice(C_PRES).start + RES_POWER]
            & masks[x, y, component_slice(C_AMOUNT).start + WHOLE])


def _hold_fill(out, x, y):
    """Hold the robot on ``(x, y)`` of ``out`` (edited in place) to a pickup of its whole free
    battery (:func:`_fill_allowed` must hold)."""
    _hold(out, x, y, PICKUP, pickup_res=RES_POWER, amount=WHOLE)


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
    robots ``move`` four times as often as ``keep`` (notes/training.md). A robot whose masks allow
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
    u, x, y, t0 = _robot_cells(state)
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
    u, x, y, t0 = _robot_cells(state)
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
    u, x, y, t0 = _robot_cells(state)
    if len(u) == 0:
        return masks
    dist = np.rint(planes[PLANE["dist_rubble_frontier"]] * DIST_SCALE).astype(np.int64)  # steps (DIST_CLIP: none or far)
    sent = ~u.heavy.astype(bool) & (u.cargo[:, RES_ICE] == 0) & (u.cargo[:, RES_ORE] == 0) & (u.power >= power)
    sent &= (planes[PLANE["rubble_frontier"], x, y] == 0) & (dist[x, y] <= steps) & masks[x, y, t0 + MOVE]
    if not sent.any():
        return masks
    occupied = _occupied(state.cfg.map_size, x, y)
    out = masks.copy()
    for i in np.flatnonzero(sent):
        _step_down(out, u, i, dist, occupied)
    if np.array_equal(out, masks):
        return masks
    return out


LIGHT_POWER_MARGIN = 5      # LIGHT power kept beyond the walk home and one dig before it turns home
LIGHT_POWER_FILL = 135      # a LIGHT on our factory with less power than this fills its battery there
LIGHT_POWER_RESERVE = 300   # factory power a LIGHT's fill leaves for the HEAVY robots
LIGHT_HOME_COST_DIVISOR = 15  # a HEAVY's home_cost over this bounds a LIGHT's walk home from above


def guard_light_power(state, masks, home_cost, margin=LIGHT_POWER_MARGIN, fill=LIGHT_POWER_FILL,
                      reserve=LIGHT_POWER_RESERVE, clip=HOME_COST_CLIP):
    """``masks`` with a LIGHT robot sent home for power before it runs short, and filled up there.

    For each of our LIGHT robots with no ice or ore in its cargo, power ``P``, ``Q =
    ACTION_QUEUE_POWER_COST`` and ``DIG_COST`` (Lux S2 specs, "Robots"):

    * off our factory tiles, when ``P - Q - DIG_COST < h + margin``, with ``h`` an upper bound of
      its walk home, ``ceil(home_cost / LIGHT_HOME_COST_DIVISOR)`` (15: a HEAVY's step into a cell
      of rubble ``r`` costs ``30 + r`` with its queue cost, a LIGHT's ``2 + floor(r / 20)``,
      :func:`agent.paths.step_cost`): it may only move closer to our nearest factory tile, chosen
      as :func:`guard_ice` chooses (:func:`_hold_step`); a robot whose way home is unknown
      (``home_cost >= clip``) is left alone;
    * on one of our factory tiles with less than ``fill`` power, when the factory holds the power to
      fill its battery plus ``reserve``: it may only pick up power, the whole free battery (amount
      100 %).

    The scripted baseline's lights work this way (go home below a round trip plus a margin, fill up,
    go out again: :mod:`agent.scripted`); the shipped net's lights dig the rubble frontier until
    their power is gone and then wait for the sun: in a validation game (seed 1000114, net as
    player_1, every guard with the ore guard) they spent 12.4 % of their turns off our factories
    without the power for a dig, the scripted baseline's 0.4 %, and dug rubble in 23.5 % of their
    turns against its 32.7 % (``scripts/robot_budget.py``), while the factories end with most of their
    power unused. A robot whose masks allow none of the kept choices keeps its choices.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of
    the playing agent (agent.json ``light_power_guard``), like :func:`guard_power` for heavies.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        home_cost (np.ndarray): int64 (S, S), a HEAVY's power to our nearest factory tile
            (:func:`agent.features.home_cost_map`).
        margin (int): LIGHT power kept beyond the walk home and a dig.
        fill (int): LIGHT power under which a robot on our factory fills up.
        reserve (int): factory power left after a fill.
        clip (float): home costs at or above this count as unknown.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = _robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0 or u.heavy.all():
        return masks
    r = state.cfg.robot
    light = ~u.heavy.astype(bool) & (u.cargo[:, RES_ICE] == 0) & (u.cargo[:, RES_ORE] == 0)
    steps = _factory_steps(x, y, f)
    home = steps.argmin(1)
    on_factory = steps.min(1) == 0
    power = u.power.astype(np.int64)
    h = -(-np.asarray(home_cost)[x, y] // LIGHT_HOME_COST_DIVISOR)
    short = light & ~on_factory & (home_cost[x, y] < clip)
    short &= power - int(r["ACTION_QUEUE_POWER_COST"][0]) - int(r["DIG_COST"][0]) < h + margin
    space = int(r["BATTERY_CAPACITY"][0]) - power
    refill = light & on_factory & (power < fill) & (f.power[home] >= space + reserve) & _fill_allowed(masks, x, y)
    if not (short.any() or refill.any()):
        return masks
    occupied = _occupied(state.cfg.map_size, x, y)
    out = masks.copy()
    for i in np.flatnonzero(refill):
        _hold_fill(out, int(x[i]), int(y[i]))
    for i in np.flatnonzero(short):
        _step_to_factory(out, u, i, f, home[i], occupied)
    if np.array_equal(out, masks):
        return masks
    return out


HEAVY_RUBBLE_WATER = 300   # water beyond the reserve to the last turn from which a factory's second HEAVY digs rubble
HEAVY_RUBBLE_MARGIN = 60   # HEAVY power kept beyond the walk home and one dig before it turns home
HEAVY_RUBBLE_FILL = 1500   # a rubble HEAVY on our factory with less power than this fills its battery there
HEAVY_RUBBLE_RESERVE = 500  # factory power a rubble HEAVY's fill leaves
HEAVY_RUBBLE_STEPS = 12    # the farthest rubble_frontier cell, in steps, a rubble HEAVY walks to


def guard_heavy_rubble(state, masks, planes, home_cost, water=HEAVY_RUBBLE_WATER, margin=HEAVY_RUBBLE_MARGIN,
                       fill=HEAVY_RUBBLE_FILL, reserve=HEAVY_RUBBLE_RESERVE, steps=HEAVY_RUBBLE_STEPS,
                       clip=HOME_COST_CLIP):
    """``masks`` with the second HEAVY robot of a factory that has water to spare digging the rubble frontier.

    A robot counts for the factory it is nearest to (fewest moves to a tile of its 3x3). A factory
    *has water to spare* when ``water + ice // ICE_WATER_RATIO >= remaining_turns x
    FACTORY_WATER_CONSUMPTION + WATER_GUARD_MARGIN + water`` (water units, Lux S2 specs,
    "Factories"): it lives to the last turn without more ice and holds ``water`` for lichen. Of each
    such factory with two HEAVY robots or more, the HEAVY with the highest unit_id and no ice or ore
    in its cargo, power ``P``, ``Q = ACTION_QUEUE_POWER_COST`` and ``DIG_COST`` (60):

    * off our factory tiles, when ``P - Q - DIG_COST < home_cost + margin`` (``home_cost``: its
      walk to our nearest factory tile, from the ``home_cost`` plane): may only move closer to that
      factory (:func:`_hold_step`); a robot whose way home is unknown (``>= clip``) is left alone;
    * on a ``rubble_frontier`` cell (:mod:`agent.features` plane 58) otherwise: may only dig, or
      keep a dig head;
    * on our factory tile below ``fill`` power, when the factory holds the power to fill its battery
      plus ``reserve``: may only pick up power, the whole free battery (amount 100 %);
    * otherwise, at most ``steps`` steps from the frontier (plane 59): may only move down the steps
      to it, as :func:`guard_rubble` moves a LIGHT.

    A HEAVY digs 20 rubble for 60 power, a LIGHT 2 for 5 (Lux S2 specs, "Robots"), and lichen
    spreads only to rubble-free cells ("Lichen"). Neither the scripted baseline nor the shipped net
    digs rubble with heavies (0.5 and 0.4 % of their heavies' turns), while the net's lichen covers fewer cells than
    the baseline's (416 against 743 in validation seed 1000114, net as player_1) and its factories
    end the game with the water for more (5,236 against 1,650; ``scripts/robot_budget.py``). A
    robot whose masks allow none of the kept choices keeps its choices; LIGHT robots and the first
    HEAVY of a factory (its ice miner) are left alone.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of the
    playing agent (agent.json ``heavy_rubble_guard``), like :func:`guard_rubble` for lights.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        planes (np.ndarray): float (C, S, S) of :func:`agent.features.encode` for ``state``.
        home_cost (np.ndarray): int64 (S, S), a HEAVY's power to our nearest factory tile
            (:func:`agent.features.home_cost_map`).
        water (int): water units beyond the reserve to the last turn from which a factory spares a heavy.
        margin (int): HEAVY power kept beyond the walk home and a dig.
        fill (int): HEAVY power under which a rubble heavy on our factory fills up.
        reserve (int): factory power left after a fill.
        steps (int): the farthest frontier, in steps, a rubble heavy walks to.
        clip (float): home costs at or above this count as unknown.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = _robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0 or u.heavy.sum() < 2:
        return masks
    heavy = u.heavy.astype(bool)
    cfg = state.cfg
    spare = (f.cargo[:, RES_WATER] + f.cargo[:, RES_ICE] // int(cfg.ICE_WATER_RATIO)
             >= water_to_last_turn(state, WATER_GUARD_MARGIN + water))
    fsteps = _factory_steps(x, y, f)
    home = fsteps.argmin(1)
    uid = _unit_numbers(u)
    diggers = []
    for k in np.flatnonzero(spare & (np.bincount(home[heavy], minlength=len(f)) >= 2)):
        mine = np.flatnonzero(heavy & (home == k))
        diggers.append(mine[uid[mine].argmax()])
    diggers = [i for i in diggers if u.cargo[i, RES_ICE] == 0 and u.cargo[i, RES_ORE] == 0]
    if not diggers:
        return masks
    r = cfg.robot
    dist = np.rint(planes[PLANE["dist_rubble_frontier"]] * DIST_SCALE).astype(np.int64)
    frontier = planes[PLANE["rubble_frontier"]] > 0
    occupied = _occupied(cfg.map_size, x, y)
    out = masks.copy()
    for i in diggers:
        cx, cy, k = int(x[i]), int(y[i]), int(home[i])
        power = int(u.power[i])
        if fsteps[i, k] > 0:  # off our factories
            if home_cost[cx, cy] >= clip:
                continue
            if power - int(r["ACTION_QUEUE_POWER_COST"][1]) - int(r["DIG_COST"][1]) < home_cost[cx, cy] + margin:
                if out[cx, cy, t0 + MOVE]:
                    _step_to_factory(out, u, i, f, k, occupied)
                continue
            if frontier[cx, cy] and out[cx, cy, t0 + DIG]:
                _hold(out, cx, cy, DIG, keep=u.queue_len[i] > 0 and u.head[i, 0] == A_DIG)
                continue
        elif power < fill:
            if f.power[k] >= int(r["BATTERY_CAPACITY"][1]) - power + reserve and _fill_allowed(out, cx, cy):
                _hold_fill(out, cx, cy)
            continue
        if dist[cx, cy] <= steps and out[cx, cy, t0 + MOVE]:
            _step_down(out, u, i, dist, occupied)
    if np.array_equal(out, masks):
        return masks
    return out


ICE_GUARD_WATER = 100  # a factory holding less water than this (its ice counted as water) is thirsty
ICE_GUARD_LOAD = 200   # ice a HEAVY digs for a thirsty factory before it carries the load home


def _factory_steps(px, py, f):
    """int64 (N, F): moves from cells ``(px, py)`` (int64 (N,) each) to the nearest tile of each 3x3
    factory of ``f`` (agent.obs.FactoryArrays); 0 on a factory tile, 1 orthogonally next to one."""
    dx = np.maximum(np.abs(px[:, None] - f.pos[None, :, 0]) - 1, 0)
    dy = np.maximum(np.abs(py[:, None] - f.pos[None, :, 1]) - 1, 0)
    return dx + dy


def _hold(out, x, y, rtype, keep=False, **only):
    """Hold the robot on cell ``(x, y)`` of ``out`` (bool (S, S, A), edited in place) to robot type
    ``rtype``, plus keep when ``keep``; each keyword names a component (``move_dir``,
    ``transfer_dir``, ``transfer_res``, ``pickup_res``, ``amount``) and gives the bool entries it
    keeps (a choice index or a bool mask). Callers pass only choices ``out`` already allows."""
    t = component_slice(C_TYPE)
    keep = keep and bool(out[x, y, t.start + KEEP])
    out[x, y, t] = False
    out[x, y, t.start + rtype] = True
    out[x, y, t.start + KEEP] = keep
    for name, allowed in only.items():
        c = component_slice(COMPONENTS.index(name))
        entries = np.zeros(c.stop - c.start, bool)
        entries[allowed] = True
        out[x, y, c] = entries


def _hold_step(out, x, y, head_dir, gain, occupied):
    """Hold the robot on cell ``(x, y)`` of ``out`` (edited in place) to a move that gets it closer.

    ``gain`` (int64 (4,), for directions up, right, down, left) is how much closer each move gets
    (positive: closer). The moves kept are the allowed ones that step closer into a cell none of our
    robots holds (``occupied``, bool (S, S); another robot standing there would stop it:
    :func:`agent.actions.avoid_own_collisions`), else the free ones that keep the distance (around
    the robot in the way), else the closer ones; keep stays allowed when the queued move
    (``head_dir``, 1-4, else 0) is one of them. Nothing changes when none of these is allowed.
    """
    S = occupied.shape[0]
    nx, ny = x + DIRECTION_DELTAS[1:, 0], y + DIRECTION_DELTAS[1:, 1]
    inside = (nx >= 0) & (nx < S) & (ny >= 0) & (ny < S)
    free = ~inside
    free[inside] = ~occupied[nx[inside], ny[inside]]
    m0 = component_slice(C_MOVE).start
    allowed = out[x, y, m0:m0 + 4]
    for good in (allowed & (gain > 0) & free, allowed & (gain == 0) & free, allowed & (gain > 0)):
        if good.any():
            _hold(out, x, y, MOVE, keep=1 <= head_dir <= 4 and bool(good[head_dir - 1]), move_dir=good)
            return


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
    of the frontier guard (notes/frontier_guard_test.json) the net ended 26 of 50 games against the
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
    u, x, y, t0 = _robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0 or not u.heavy.any():
        return masks
    thirsty = f.cargo[:, RES_WATER] + f.cargo[:, RES_ICE] // int(state.cfg.ICE_WATER_RATIO) < water
    if not thirsty.any():
        return masks
    heavy = np.flatnonzero(u.heavy.astype(bool))
    home = _factory_steps(x[heavy], y[heavy], f).argmin(1)
    sel = thirsty[home]
    r = state.cfg.robot
    low = -(-load // int(r["DIG_RESOURCE_GAIN"][1])) * int(r["DIG_COST"][1])
    return _hold_miners(state, masks, heavy[sel], home[sel], RES_ICE, load, low)


def _hold_miners(state, masks, robots, homes, res, load, low):
    """``masks`` with our robots ``robots`` (int64 (N,) indices of ``state.my_units``) held to mining
    resource ``res`` (RES_ICE or RES_ORE) for the factories ``homes`` (int64 (N,) indices of
    ``state.my_factories``), the cycle of :func:`guard_ice`: ``load`` units a trip, home for power
    below ``low`` power. Returns a copy when anything was forbidden, else ``masks`` itself."""
    if len(robots) == 0:
        return masks
    u, x, y, t0 = _robot_cells(state)
    f = state.my_factories
    on_factory = _factory_steps(x[robots], y[robots], f)[np.arange(len(robots)), homes] == 0
    res_board = state.board["ice" if res == RES_ICE else "ore"] > 0
    occupied = _occupied(state.cfg.map_size, x, y)
    res_cells = np.argwhere(res_board & ~occupied)
    res_steps = _factory_steps(res_cells[:, 0], res_cells[:, 1], f) if len(res_cells) else None
    d0 = component_slice(C_TDIR).start
    r0, a0 = component_slice(C_TRES).start, component_slice(C_AMOUNT).start
    p0 = component_slice(C_PRES).start
    out = masks.copy()
    for i, k, at_home in zip(robots, homes, on_factory):
        cx, cy = int(x[i]), int(y[i])
        held = int(u.cargo[i, res])
        head = int(u.head[i, 0]) if u.queue_len[i] > 0 else -1
        can_dig = bool(out[cx, cy, t0 + DIG])
        if held >= load or (held > 0 and not (res_board[cx, cy] and can_dig)):
            onto = np.zeros(5, bool)  # transfer_dir: center, up, right, down, left
            for d in range(5):
                tx, ty = cx + int(DIRECTION_DELTAS[d][0]), cy + int(DIRECTION_DELTAS[d][1])
                onto[d] = abs(tx - f.pos[k, 0]) <= 1 and abs(ty - f.pos[k, 1]) <= 1
            onto &= out[cx, cy, d0:d0 + 5]
            if onto.any() and out[cx, cy, t0 + TRANSFER] and out[cx, cy, r0 + res] and out[cx, cy, a0 + WHOLE]:
                _hold(out, cx, cy, TRANSFER, transfer_dir=onto, transfer_res=res, amount=WHOLE)
                continue
            target = None  # closer to the factory
        elif res_board[cx, cy] and can_dig:
            _hold(out, cx, cy, DIG, keep=head == A_DIG)
            continue
        elif u.power[i] < low or res_board[cx, cy]:  # on the resource, too short of power to dig
            if at_home:
                if out[cx, cy, t0 + PICKUP] and out[cx, cy, p0 + RES_POWER]:
                    _hold(out, cx, cy, PICKUP, pickup_res=RES_POWER)
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
            _step_to_factory(out, u, i, f, k, occupied)
            continue
        nx, ny = cx + DIRECTION_DELTAS[1:, 0], cy + DIRECTION_DELTAS[1:, 1]
        gain = abs(cx - target[0]) + abs(cy - target[1]) - np.abs(nx - target[0]) - np.abs(ny - target[1])
        _hold_step(out, cx, cy, _queued_move(u, i), gain, occupied)
    if np.array_equal(out, masks):
        return masks
    return out


ORE_GUARD_LOAD = 40           # ore a LIGHT miner digs before it carries the load home (20 digs)
ORE_GUARD_STEPS = 10          # ore at most this many moves from a factory's tiles is mined for it
ORE_GUARD_BUILD_POWER = 1000  # factory power kept beyond a HEAVY's POWER_COST when it builds one
ORE_GUARD_HEAVIES = 2         # HEAVY robots a factory builds up to


def guard_ore(state, masks, load=ORE_GUARD_LOAD, steps=ORE_GUARD_STEPS, build_power=ORE_GUARD_BUILD_POWER,
              heavies=ORE_GUARD_HEAVIES):
    """``masks`` with a factory's first LIGHT robot mining ore and its metal spent on a second HEAVY.

    A robot counts for the factory it is nearest to (fewest moves to a tile of its 3x3). For each of
    our factories with one HEAVY robot and ore within ``steps`` moves of its tiles (on a cell none
    of our robots stands on), its LIGHT robot with the lowest unit_id (the scripted baseline's ore
    role, ``agent.scripted``) is held to the
    cycle of :func:`guard_ice` for ore: dig ore until it holds ``load``, transfer it all onto the
    factory (which refines it into metal: Lux S2 specs, "Factories"), go home for power below the
    digs of a load plus ``2 x steps``. A factory with fewer than ``heavies`` HEAVY robots, at least a
    HEAVY's ``METAL_COST`` in metal and ``POWER_COST + build_power`` in power may only build a HEAVY
    (when the masks allow it: its center is free).

    The shipped net's heavies and lights dig almost no ore, so it keeps one HEAVY a factory while the
    scripted baseline builds a second (seed 1000111: 9 heavies against 18; its lights dug 4,328 of
    its 7,368 ore in seed 1000112, ``scripts/robot_budget.py``); with one heavy a factory the net
    cannot bring the water a larger lichen area costs (``notes/training.md``). Lights mine the ore
    here, so the heavies' ice is never spent on metal.

    Not part of :func:`action_masks` (the engine accepts the other choices): a decoding option of the
    playing agent (agent.json ``ore_guard``), like :func:`guard_ice`.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        load (int): ore units a LIGHT miner digs before carrying them home.
        steps (int): the farthest ore, in moves from the factory's tiles.
        build_power (int): factory power, beyond a HEAVY's ``POWER_COST``, needed to build one.
        heavies (int): HEAVY robots per factory from which it builds no more.

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    u, x, y, t0 = _robot_cells(state)
    f = state.my_factories
    if len(u) == 0 or len(f) == 0:
        return masks
    r = state.cfg.robot
    heavy = u.heavy.astype(bool)
    home = _factory_steps(x, y, f).argmin(1)
    n_heavy = np.bincount(home[heavy], minlength=len(f))
    fs = component_slice(C_FACTORY)
    build = ((f.cargo[:, RES_METAL] >= int(r["METAL_COST"][1])) & (f.power >= int(r["POWER_COST"][1]) + build_power)
             & (n_heavy < heavies) & masks[f.pos[:, 0], f.pos[:, 1], fs.start + F_HEAVY])
    out = masks
    if build.any():
        out = masks.copy()
        out[f.pos[build, 0], f.pos[build, 1], fs] = False
        out[f.pos[build, 0], f.pos[build, 1], fs.start + F_HEAVY] = True
    free_ore = state.board["ore"] > 0
    free_ore[x, y] = False  # ore cells no robot of ours stands on, as the miners' targets
    ore = np.argwhere(free_ore)
    if len(ore) == 0:
        return out
    near_ore = _factory_steps(ore[:, 0], ore[:, 1], f).min(0) <= steps
    uid = _unit_numbers(u)
    miners, homes = [], []
    for k in np.flatnonzero((n_heavy == 1) & near_ore):
        lights = np.flatnonzero(~heavy & (home == k))
        if len(lights):
            miners.append(lights[uid[lights].argmin()])
            homes.append(k)
    low = -(-load // int(r["DIG_RESOURCE_GAIN"][0])) * int(r["DIG_COST"][0]) + 2 * steps
    return _hold_miners(state, out, np.array(miners, np.int64), np.array(homes, np.int64), RES_ORE, load, low)


RAID_TURNS = 150    # the last turns of a game in which our robots dig the opponent's lichen
RAID_WATER = 50     # water a factory keeps beyond its consumption and watering to the last turn before its HEAVY robots raid
RAID_STEPS = 40     # the farthest opponent lichen, in moves, a raider sets out for
RAID_FILL = 0.9     # a raider on our factory with less than this share of its battery fills it there first
RAID_DIGS = 10      # digs a raider's power must pay for beyond its walk, else it fills up first when time allows


def guard_raid(state, masks, planes, base=None, turns=RAID_TURNS, water=RAID_WATER, steps=RAID_STEPS, fill=RAID_FILL,
               digs=RAID_DIGS):
    """``masks`` with our robots digging the opponent's lichen in the last ``turns`` turns of a game.

    The game's result is the lichen on each side's strains after the last turn (``LuxAI_S2.step``
    rewards), and a dig on a lichen cell removes ``DIG_LICHEN_REMOVED`` of it whatever its strain
    (LIGHT 10 for 5 power, HEAVY 100 for 60), leaving rubble where it digs the last
    (``LuxAI_S2._handle_dig_actions``; Lux S2 specs, "Lichen"), so the cell cannot grow back.
    Neither the scripted baseline nor the shipped net digs the other side's lichen. With
    ``remaining = max_episode_length - real_env_steps <= turns``, the *raiders* are all our LIGHT
    robots and the HEAVY robots of factories (the one each robot is nearest to) whose ``water +
    ice // ICE_WATER_RATIO >= remaining x (FACTORY_WATER_CONSUMPTION + cost) + water``, ``cost``
    being :func:`water_cost_bound` (an upper bound of this turn's watering): the ice they would
    bring no longer keeps our lichen. For a raider with power ``P``, ``Q = ACTION_QUEUE_POWER_COST``, ``D =
    DIG_COST`` and ``c`` its power to walk to the nearest cell of the opponent's lichen
    (:func:`agent.paths.cost_to` over :func:`agent.paths.step_cost`, opponent factory tiles and
    HEAVY robots barred):

    * on a cell of the opponent's lichen with ``P >= Q + D``: may only dig, or keep a dig head;
    * on our factory with less than ``fill`` of its battery, when the factory holds the power to fill
      it: may only pick up power, the whole free battery (amount 100 %);
    * otherwise, when the nearest such cell is fewer than ``remaining`` and at most ``steps`` moves
      away and ``P >= c + Q + D``: may only move down ``c`` (:func:`_step_down`); but a robot off
      our factory with ``P < c + Q + digs x D`` that has the time to fill up and come back (``2 x
      moves home + moves to the lichen + digs < remaining``) may only move home first
      (:func:`_step_to_factory`).

    A raider held to one of these starts from its ``base`` choices (the other guards would send a
    LIGHT short of power home, or keep a HEAVY's walk-home power, which the last turns no longer
    need); a robot whose ``base`` allows none of the kept choices keeps its ``masks`` choices, and so
    do the other robots. Not part of :func:`action_masks` (the engine accepts the other choices): a
    decoding option of the playing agent (agent.json ``raid_guard``), applied after every other guard.

    Args:
        state (agent.obs.GameState): the state ``masks`` were made for.
        masks (np.ndarray): bool (S, S, A), A = 34 (:func:`action_masks`).
        planes (np.ndarray): float (C, S, S) of :func:`agent.features.encode` for ``state`` (reads
            ``factory_theirs``).
        base (np.ndarray | None): bool (S, S, A), :func:`action_masks` before the other guards;
            ``masks`` when None.
        turns (int): the raid's length in turns, counted back from the last.
        water (int): water units a factory keeps beyond its needs to the last turn before its heavies raid.
        steps (int): the farthest opponent lichen, in moves, a raider sets out for.
        fill (float): share of its battery under which a raider on our factory fills it first.
        digs (int): digs a raider's power must pay for beyond its walk before it sets out without
            filling up (when it has the time to).

    Returns:
        np.ndarray: bool (S, S, A), a copy when anything was forbidden, else ``masks`` itself.
    """
    cfg = state.cfg
    remaining = remaining_turns(state)
    u, x, y, t0 = _robot_cells(state)
    f, o = state.my_factories, state.opp_factories
    if remaining > turns or len(u) == 0 or len(f) == 0 or len(o) == 0:
        return masks
    b = state.board
    target = (b["lichen"] > 0) & np.isin(b["lichen_strains"], o.strain)
    if not target.any():
        return masks
    heavy = u.heavy.astype(bool)
    fsteps = _factory_steps(x, y, f)
    home = fsteps.argmin(1)
    on_factory = fsteps.min(1) == 0
    spare = (f.cargo[:, RES_WATER] + f.cargo[:, RES_ICE] // int(cfg.ICE_WATER_RATIO)
             >= remaining * (cfg.FACTORY_WATER_CONSUMPTION + water_cost_bound(state)) + water)
    raiders = ~heavy | spare[home]
    if not raiders.any():
        return masks
    r = cfg.robot
    S = cfg.map_size
    barred = planes[PLANE["factory_theirs"]] > 0
    ou = state.opp_units
    if len(ou):
        oh = ou.heavy.astype(bool)
        barred[ou.pos[oh, 0], ou.pos[oh, 1]] = True
    goal = target & ~barred
    moves = cost_to(goal, np.where(barred, INF, 1), max_iter=steps + 1)
    cost = {t: cost_to(goal, np.where(barred, INF, step_cost(r, b["rubble"], t)), max_iter=steps + 1).astype(np.int64)
            for t in np.unique(heavy[raiders].astype(np.int64))}
    occupied = _occupied(S, x, y)
    base = masks if base is None else base
    out = masks.copy()
    for i in np.flatnonzero(raiders):
        t = int(heavy[i])
        cx, cy, power = int(x[i]), int(y[i]), int(u.power[i])
        q, d, battery = (int(r[k][t]) for k in ("ACTION_QUEUE_POWER_COST", "DIG_COST", "BATTERY_CAPACITY"))
        kept = out[cx, cy].copy()
        out[cx, cy] = base[cx, cy]  # the raid takes the robot from the other guards
        if target[cx, cy]:
            if power >= q + d and out[cx, cy, t0 + DIG]:
                _hold(out, cx, cy, DIG, keep=u.queue_len[i] > 0 and u.head[i, 0] == A_DIG)
        elif (on_factory[i] and power < fill * battery and f.power[home[i]] >= battery - power
              and _fill_allowed(out, cx, cy)):
            _hold_fill(out, cx, cy)
        elif moves[cx, cy] <= min(steps, remaining - 1) and power >= cost[t][cx, cy] + q + d and out[cx, cy, t0 + MOVE]:
            full = power >= cost[t][cx, cy] + q + digs * d
            back = int(fsteps[i, home[i]])  # moves home, then out again from no farther than here plus those
            if full or on_factory[i] or 2 * back + moves[cx, cy] + digs >= remaining:
                _step_down(out, u, i, cost[t], occupied)
            else:  # too little power for ``digs`` digs and the time to fill up first
                _step_to_factory(out, u, i, f, home[i], occupied)
        if np.array_equal(out[cx, cy], base[cx, cy]):
            out[cx, cy] = kept  # not raiding: the other guards' choices stand
    if np.array_equal(out, masks):
        return masks
    return out

# The decoding guards of the playing agent, in the order guarded_masks applies them: agent.json key
# -> what the guard forbids (the help text of --water-guard etc. and the bot's start-up line).
# One definition: the bot, the training env, the evaluation and packaging flags all loop over it.
GUARDS = {
    "water_guard": "factories never water lichen below the water they need to live to the last turn",
    "power_guard": "HEAVY robots never dig or step away below the power they need to walk home",
    "park_guard": "robots off our factories with half their battery or more never stand still",
    "frontier_guard": "LIGHT robots with no ice or ore cargo dig the rubble frontier cell they stand on",
    "rubble_guard": "LIGHT robots with no cargo and power to spare walk to the rubble frontier",
    "light_power_guard": "LIGHT robots go home for power before they run short and fill their battery there",
    "heavy_rubble_guard": "a factory with water to spare sends its second HEAVY robot to dig the rubble frontier",
    "ice_guard": "HEAVY robots of a factory short of water dig ice and carry it home",
    "ore_guard": "a factory's first LIGHT robot mines ore, and a factory with one HEAVY builds a second",
    "raid_guard": "in the last turns of a game our robots dig the opponent's lichen",
}


def guard_options(**guards):
    """Every guard of :data:`GUARDS` as a bool, from keyword arguments (missing ones are off).

    Raises:
        TypeError: an argument is not a key of :data:`GUARDS` (names the allowed keys).
    """
    unknown = sorted(set(guards) - set(GUARDS))
    if unknown:
        raise TypeError(f"unknown decoding guard(s) {unknown}; allowed: {list(GUARDS)}")
    return {k: bool(guards.get(k, False)) for k in GUARDS}


def guarded_masks(state, water_guard=False, power_guard=False, planes=None, park_guard=False, frontier_guard=False,
                  ice_guard=False, rubble_guard=False, ore_guard=False, light_power_guard=False,
                  heavy_rubble_guard=False, raid_guard=False):
    """The choices the playing agent may make: :func:`action_masks`, then :func:`guard_water`,
    :func:`guard_power`, :func:`guard_park`, :func:`guard_frontier`, :func:`guard_rubble`,
    :func:`guard_light_power`, :func:`guard_heavy_rubble`, :func:`guard_ice`, :func:`guard_ore` and :func:`guard_raid` when
    asked (the keys of :data:`GUARDS`, agent.json's names, in that order). The one place both the
    shipped bot (:class:`agent.player.NetPolicy`) and the training env (``wrappers.lux_env.LuxGridEnv``)
    compose them, so training samples what the bot may play.

    Args:
        state (agent.obs.GameState): a main-phase state.
        water_guard (bool): apply :func:`guard_water`.
        power_guard (bool): apply :func:`guard_power`, priced by the ``home_cost`` plane.
        planes (np.ndarray | None): float (C, S, S) of :func:`agent.features.encode` for ``state``,
            read by the power, frontier, rubble, light power and heavy rubble guards; encoded here when
            None and needed.
        park_guard (bool): apply :func:`guard_park`, last: a parked robot then moves or digs only
            where the other guards allow it, and stands still when they allow neither.
        frontier_guard (bool): apply :func:`guard_frontier` after it, reading ``planes``.
        ice_guard (bool): apply :func:`guard_ice` last: a thirsty factory's HEAVY robots bring it ice
            whatever the park guard asked.
        rubble_guard (bool): apply :func:`guard_rubble` after the frontier guard (before the ice
            guard), reading ``planes``.
        light_power_guard (bool): apply :func:`guard_light_power` after the rubble guard (before the
            ice guard), priced by the ``home_cost`` plane.
        heavy_rubble_guard (bool): apply :func:`guard_heavy_rubble` after the light power guard
            (before the ice guard), reading ``planes`` and priced by the ``home_cost`` plane.
        ore_guard (bool): apply :func:`guard_ore` after the ice guard (its miners are LIGHT robots,
            which the ice guard leaves alone; it also narrows factory choices to a HEAVY build).
        raid_guard (bool): apply :func:`guard_raid` last, from :func:`action_masks`' choices for the
            robots it sends to dig the opponent's lichen, reading ``planes``.

    Returns:
        np.ndarray: bool (S, S, A), A = 34.
    """
    masks = base = action_masks(state)
    if planes is None and (power_guard or frontier_guard or rubble_guard or light_power_guard or heavy_rubble_guard
                           or raid_guard):
        planes = encode(state)[0]  # once, for all the guards that read it
    home_cost = home_cost_map(planes) if power_guard or light_power_guard or heavy_rubble_guard else None
    if water_guard:
        masks = guard_water(state, masks)
    if power_guard:
        masks = guard_power(state, masks, home_cost)
    if park_guard:
        masks = guard_park(state, masks)
    if frontier_guard:
        masks = guard_frontier(state, masks, planes)
    if rubble_guard:
        masks = guard_rubble(state, masks, planes)
    if light_power_guard:
        masks = guard_light_power(state, masks, home_cost)
    if heavy_rubble_guard:
        masks = guard_heavy_rubble(state, masks, planes, home_cost)
    if ice_guard:
        masks = guard_ice(state, masks)
    if ore_guard:
        masks = guard_ore(state, masks)
    if raid_guard:
        masks = guard_raid(state, masks, planes, base)
    return masks
