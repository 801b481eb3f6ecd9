"""Observation features: planes float32 (C, S, S) and a global vector float32 (G,).

Everything is from the acting player's point of view ("ours" / "theirs"); cells are indexed
``[x, y]`` like the engine's boards; S = ``env_cfg.map_size`` (16, 32, 48 or 64). Values are
scaled to roughly [0, 1] by the constants named below (from ``EnvConfig``).

Planes (C = 62):

====  ======================  ==========================================================
ch    name                    meaning / normalisation
====  ======================  ==========================================================
0     ice                     1 where ice
1     ore                     1 where ore
2     rubble                  rubble / MAX_RUBBLE
3     lichen                  lichen / MAX_LICHEN_PER_TILE
4     lichen_ours             1 where the lichen strain is one of our factories
5     lichen_theirs           1 where the strain is one of theirs
6     factory_ours            1 on the 3x3 tiles of our factories
7     factory_theirs          1 on their factories' tiles
8     factory_center_ours     1 on our factory centers (where the factory action lives)
9     factory_center_theirs   1 on theirs
10    light_ours              1 where our LIGHT robot stands
11    heavy_ours              1 where our HEAVY robot stands
12    light_theirs            their LIGHT
13    heavy_theirs            their HEAVY
14    robot_power             robot power / its BATTERY_CAPACITY (either team)
15    robot_ice               robot ice / its CARGO_SPACE
16    robot_ore               robot ore / CARGO_SPACE
17    robot_water             robot water / CARGO_SPACE
18    robot_metal             robot metal / CARGO_SPACE
19    robot_queue_empty       1 where a robot (either team) has an empty action queue
20    queue_move_up           1 where a robot's queue head is a move up (y - 1)
21    queue_move_right        ... a move right (x + 1)
22    queue_move_down         ... a move down (y + 1)
23    queue_move_left         ... a move left (x - 1)
24    queue_dig               ... a dig
25    queue_transfer          ... a transfer
26    queue_pickup            ... a pickup
27    queue_recharge          ... a recharge
28    queue_other             ... a self-destruct, a move to the center or an unknown type
29    queue_resource          (resource + 1) / 5 where the head is a transfer or pickup (ice 0.2 ..
                              power 1.0)
30    queue_sticky            1 where the head stays queued after it runs (repeat > 0, n > 1 or
                              more actions queued): keep goes on with it (agent.actions)
31    factory_power           factory power / 3000, on all 9 tiles (either team)
32    factory_ice             factory ice / 1000
33    factory_ore             factory ore / 1000
34    factory_water           factory water / 1000
35    factory_metal           factory metal / 1000
36    valid_spawn             valid_spawns_mask (placement phase; 0 afterwards)
37    is_day                  1 during day (constant plane)
38    turn                    real_env_steps / max_episode_length (constant plane)
39    on_map                  1 (lets convolutions see the map edge through zero padding)
40    dist_factory_ours       Manhattan distance (cells) to the nearest tile of our factories,
                              min(d, 48) / 16 (3 when we have none)
41    dist_factory_theirs     the same for their factories
42    dist_ice                the same for the nearest ice cell
43    dist_ore                the same for the nearest ore cell
44    last_move_up            1 where a robot (either team) moved up (y - 1) since the previous
                              observation (by unit_id; 0 for new robots and on the first turn)
45    last_move_right         ... moved right (x + 1)
46    last_move_down          ... moved down (y + 1)
47    last_move_left          ... moved left (x - 1)
48    last_cargo_gain         1 where a robot's ice + ore grew since the previous turn (it dug)
49    last_cargo_loss         1 where a robot's cargo (ice, ore, water, metal) shrank (it gave)
50    last_power_pickup       1 where a robot's power grew by more than its solar CHARGE (it took
                              power from a factory)
51    factory_lights          LIGHT robots of the factory's team whose nearest factory of that team
                              (Manhattan distance to the center) is this one, / 5, on all 9 tiles
52    factory_heavies         the same for HEAVY robots
53    ice_target              1 on each of our factories' cheapest ice cell: the ice cell off the
                              factory tiles with the least HEAVY power cost to reach the factory
                              (``path_planes``; ties: the lowest x * S + y)
54    ore_target              the same for ore
55    dist_ice_target         steps (around their factories) to the nearest ice_target cell,
                              min(d, 48) / 16 (3 when there is none)
56    dist_ore_target         the same for ore_target
57    home_cost               HEAVY power cost of the cheapest path to our nearest factory tile,
                              min(cost, 3000) / 1000 (3 when we have none or it is unreachable)
58    rubble_frontier         1 on the rubble our lichen must have cleared to grow: rubble cells
                              (no ice, ore, factory or lichen) on our factories' border or 4-adjacent
                              to the open ground (no rubble, ice, ore or factory) connected to it,
                              within FRONTIER_REACH LIGHT power of our factories (``path_planes``)
59    dist_rubble_frontier    steps (around their factories) to the nearest rubble_frontier cell,
                              min(d, 48) / 16 (3 when there is none)
60    robot_rank              on each of our robots: min((k + 1) / 4, 1) for the k-th (k = 0, 1, ...)
                              robot of its class, in unit_id order, among our robots of that class
                              counted for the same factory as in factory_lights (``_rank_planes``)
61    robot_last              1 on the robot of each such group with the highest unit_id
====  ======================  ==========================================================

The distance planes (40-43) let a 3x3 convolution read the direction home or to the nearest ice
from its neighbours (the steepest descent of the plane), which a small receptive field cannot see
otherwise: the ``small`` net sees 11x11 cells and a 64x64 map is much wider. The ``last_*``
planes (44-50) are a one-turn memory of what each robot did (a robot sent a one-shot action has an
empty queue again the next turn). The robot-count planes (51-52) let a factory's build choice
depend on how many robots already work around it (the scripted baseline builds LIGHTs up to a cap
per factory), which a convolution cannot count over a whole map. The path planes (53-57) show
what the scripted baseline plans with and a convolution cannot compute: which ice and ore cell
each factory's heavies mine (the cheapest by power, often not the nearest: rubble costs power),
the way there and the power-cheapest way home. The frontier planes (58-59) show where the
baseline's LIGHT robots dig rubble: lichen spreads only onto rubble-free cells next to lichen, so
the rubble that borders our factories' open ground is what holds their lichen back; which cells
those are depends on a flood fill over the whole map. They are a function of other planes only
(``path_planes``), so stored data can have them computed again. The rank planes (60-61) tell a
factory's robots apart the way the baseline does: it gives roles by build order (its first LIGHT
mines ore, the others dig rubble; its last HEAVY mines ore while water is comfortable), the
engine numbers unit_ids in build order, and a net without memory cannot otherwise tell which
robot is which. The queue planes (19-30) show what keep would do: robots are sent sticky actions
(:mod:`agent.actions`), so a robot's queue head is
the action it goes on with unless the policy chooses another one.

Global vector (G = 12): turn fraction, day flag, cycle phase (step % CYCLE_LENGTH / CYCLE_LENGTH),
factories ours / 10, theirs / 10, robots ours / 100, theirs / 100, our total factory water / 1000,
our total metal / 1000, our lichen / 10000, their lichen / 10000, map_size / 64.

Only the standard library and numpy are used (this runs on Kaggle).
"""

from itertools import repeat

import numpy as np

from agent.action_queue import A_DIG, A_MOVE, A_PICKUP, A_RECHARGE, A_TRANSFER
from agent.early import manhattan_distance_map
from agent.obs import isin_int
from agent.paths import INF, NO_SOURCE, cost_to, cost_to_update, dilate4, source_keys, step_cost

PLANE_NAMES = (
    "ice", "ore", "rubble", "lichen", "lichen_ours", "lichen_theirs", "factory_ours",
    "factory_theirs", "factory_center_ours", "factory_center_theirs", "light_ours", "heavy_ours",
    "light_theirs", "heavy_theirs", "robot_power", "robot_ice", "robot_ore", "robot_water",
    "robot_metal", "robot_queue_empty", "queue_move_up", "queue_move_right", "queue_move_down",
    "queue_move_left", "queue_dig", "queue_transfer", "queue_pickup", "queue_recharge", "queue_other",
    "queue_resource", "queue_sticky", "factory_power", "factory_ice", "factory_ore", "factory_water",
    "factory_metal", "valid_spawn", "is_day", "turn", "on_map", "dist_factory_ours",
    "dist_factory_theirs", "dist_ice", "dist_ore", "last_move_up", "last_move_right", "last_move_down",
    "last_move_left", "last_cargo_gain", "last_cargo_loss", "last_power_pickup", "factory_lights",
    "factory_heavies", "ice_target", "ore_target", "dist_ice_target", "dist_ore_target", "home_cost",
    "rubble_frontier", "dist_rubble_frontier", "robot_rank", "robot_last",
)
GLOBAL_NAMES = (
    "turn", "is_day", "cycle_phase", "factories_ours", "factories_theirs", "robots_ours",
    "robots_theirs", "water_ours", "metal_ours", "lichen_ours", "lichen_theirs", "map_size",
)
NUM_PLANES = len(PLANE_NAMES)
NUM_GLOBALS = len(GLOBAL_NAMES)
P = {name: i for i, name in enumerate(PLANE_NAMES)}

_FACTORY_SCALE = np.array([1000.0, 1000.0, 1000.0, 1000.0])
DIST_CLIP = 48     # cells: distances beyond this read as this (distance planes)
DIST_SCALE = 16.0  # cells per unit of a distance plane
ROBOT_COUNT_SCALE = 5.0  # robots per unit of the factory_lights / factory_heavies planes
HOME_COST_CLIP = 3000.0  # power: home costs beyond this read as this (a HEAVY's BATTERY_CAPACITY)
HOME_COST_SCALE = 1000.0  # power per unit of the home_cost plane
FRONTIER_REACH = 20  # LIGHT power: rubble_frontier cells lie this close to our factories (scripted RUBBLE_RADIUS x 2.5)
TARGET_CAP_MARGIN = 100  # power: slack of _targets' key cap over the last turn's dearest target
RANK_CLIP = 4  # robots: the robot_rank plane reads 1 from the 4th robot of a class at a factory on
PATH_PLANES = tuple(range(P["ice_target"], P["dist_rubble_frontier"] + 1))  # 53 .. 59, written by path_planes


_NINE = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], dtype=np.int64)  # (9, 2)


def _tiles_3x3(centers, S):
    """On-map cells of the 3x3 around each center (N, 2): (x, y, owner index), each (M,), read-only.

    Factories do not move, so the answer is memoised (a few games' worth of factory sets)."""
    centers = np.asarray(centers, np.int64)
    key = (int(S), centers.shape, centers.tobytes())
    hit = _TILES.get(key)
    if hit is not None:
        return hit
    cells = centers[:, None, :] + _NINE[None, :, :]  # (N, 9, 2)
    owner = np.broadcast_to(np.arange(len(centers))[:, None], cells.shape[:2])
    ok = ((cells >= 0) & (cells < S)).all(axis=2)
    out = (cells[ok, 0], cells[ok, 1], owner[ok])
    for a in out:
        a.flags.writeable = False
    if len(_TILES) >= 256:
        _TILES.clear()
    _TILES[key] = out
    return out


_TILES = {}  # _tiles_3x3's memo


# planes written per factory (on its 3x3) and per robot (on its cell), in channel order
_FACTORY_VALUE_PLANES = np.array([P[n] for n in (
    "factory_power", "factory_ice", "factory_ore", "factory_water", "factory_metal")])
_COUNT_PLANES = np.array([P["factory_lights"], P["factory_heavies"]])
_ROBOT_VALUE_PLANES = np.arange(P["robot_power"], P["queue_sticky"] + 1)  # 14 .. 30
# queue-head plane by (engine action type + 1, direction): row 0 = empty queue; types the engine
# does not have, self-destruct and moves to the center go to queue_other
_FIRST_QUEUE_PLANE = P["robot_queue_empty"]
# channel ranges [lo, hi) that encode writes only in places (robots, factories, the placement
# phase's valid_spawn, the last_* and rank planes): a reused ``out`` buffer is zeroed there only;
# every other plane is assigned whole (path_planes zeroes the sparse path planes itself)
_SPARSE_PLANES = ((P["factory_ours"], P["valid_spawn"] + 1), (P["last_move_up"], P["factory_heavies"] + 1),
                  (P["robot_rank"], P["robot_last"] + 1))
_QUEUE_PLANE_BY_TYPE = np.full((8, 5), P["queue_other"], np.int64)
_QUEUE_PLANE_BY_TYPE[0, :] = P["robot_queue_empty"]
_QUEUE_PLANE_BY_TYPE[A_MOVE + 1, 1:] = (P["queue_move_up"], P["queue_move_right"], P["queue_move_down"],
                                        P["queue_move_left"])
for _typ, _name in ((A_DIG, "queue_dig"), (A_TRANSFER, "queue_transfer"), (A_PICKUP, "queue_pickup"),
                    (A_RECHARGE, "queue_recharge")):
    _QUEUE_PLANE_BY_TYPE[_typ + 1, :] = P[_name]


def nearest_factory(factories, units):
    """int64 (R,): for each robot, the index of the factory whose center is nearest in Manhattan
    distance (cells), the lowest index on a tie: a stateless stand-in for the factory that built it.

    Args:
        factories (agent.obs.FactoryArrays): N >= 1 factories of one team (centers ``pos`` (N, 2)).
        units (agent.obs.UnitArrays): R robots of the same team (``pos`` (R, 2)).
    """
    if len(units) == 0:
        return np.zeros(0, np.int64)
    d = np.abs(units.pos[:, None, :] - factories.pos[None, :, :]).sum(axis=2)  # (R, N)
    return d.argmin(axis=1)


def factory_robot_counts(factories, units, nearest=None):
    """Robots of each kind nearest to each factory: int64 (2, N) rows LIGHT, HEAVY.

    Args:
        factories (agent.obs.FactoryArrays): N >= 1 factories of one team (centers ``pos`` (N, 2)).
        units (agent.obs.UnitArrays): R robots of the same team (``pos`` (R, 2), ``heavy`` (R,) bool).
        nearest (np.ndarray | None): int64 (R,), :func:`nearest_factory` of these arguments when the
            caller has it already.

    A robot counts for its :func:`nearest_factory`.
    """
    n = len(factories)
    if len(units) == 0:
        return np.zeros((2, n), np.int64)
    if nearest is None:
        nearest = nearest_factory(factories, units)
    return np.stack([np.bincount(nearest[~units.heavy], minlength=n),
                     np.bincount(nearest[units.heavy], minlength=n)])


def unit_numbers(ids):
    """int64 (R,): the number of each unit_id (``"unit_12"`` -> 12); -1 for an id without one.

    The engine (``luxai_s2.state.State.generate_unit_data`` / ``LuxAI_S2.add_unit``) numbers units
    from a counter shared by both teams, so the numbers follow build order.
    """
    memo = _UNIT_NUMBERS
    if len(memo) > 100000:
        memo.clear()
    out = []
    for uid in ids:
        n = memo.get(uid)
        if n is None:
            tail = str(uid).rpartition("_")[2]
            n = memo[uid] = int(tail) if tail.isdigit() else -1
        out.append(n)
    return np.array(out, np.int64).reshape(len(out))


_UNIT_NUMBERS = {}  # unit_numbers' memo: unit_id -> number (ids recur turn after turn)


def _rank_planes(planes, units, nearest):
    """Write ``robot_rank`` and ``robot_last`` (module table) for our robots ``units`` (UnitArrays)
    counted for their factory ``nearest`` (int64 (R,), :func:`nearest_factory`), as in
    :func:`factory_robot_counts`.

    Within each (factory, class) group the robots are ranked by unit number (:func:`unit_numbers`),
    ties (ids without a number) by engine order.
    """
    if len(units) == 0:
        return
    group = nearest * 2 + units.heavy.astype(np.int64)
    order = np.lexsort((np.arange(len(units)), unit_numbers(units.ids), group))
    g = group[order]
    first = np.r_[True, g[1:] != g[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
    rank = np.arange(len(g)) - start
    last = np.r_[g[1:] != g[:-1], True]
    x, y = units.pos[order, 0], units.pos[order, 1]
    planes[P["robot_rank"], x, y] = np.minimum((rank + 1) / RANK_CLIP, 1.0)
    planes[P["robot_last"], x, y] = last


def _distance_plane(state, name, target):
    """float32 (S, S) distance plane to the True cells of ``target``, cached on ``state``.

    Ice and ore never change during a game and factories rarely do, so the distance transform
    (about 0.4 ms at 64x64) is recomputed only when the target cells differ from the cached ones.
    """
    cache = state.__dict__.setdefault("_distance_planes", {})
    hit = cache.get(name)
    if hit is not None and np.array_equal(hit[0], target):
        return hit[1]
    plane = (np.minimum(manhattan_distance_map(target), DIST_CLIP) * (1.0 / DIST_SCALE)).astype(np.float32)
    cache[name] = (target.copy(), plane)
    return plane


def path_planes(planes, cfg, cache=None):
    """Write the path planes (``ice_target`` .. ``dist_rubble_frontier``, 53-59) of ``planes`` in
    place, from its other planes only (``ice``, ``ore``, ``rubble``, ``lichen``, ``factory_*``).

    A HEAVY's power cost of stepping into a cell is ``floor(MOVE_COST + RUBBLE_MOVEMENT_COST *
    rubble) + ACTION_QUEUE_POWER_COST`` (Lux S2 specs, "Movement" and "Action queue"; the cost the
    scripted baseline plans with); their factory tiles cannot be entered. Rubble is read back from
    its plane as ``rint(plane * MAX_RUBBLE)``, which is exact for float32 and float16 planes, so
    planes stored as float16 (``training.imitation.bc collect``) get the same path planes as ``encode``.

    The ice / ore targets of all factories come from one map per resource
    (:func:`agent.paths.source_keys`: the cheapest source of every cell), the cost maps from
    directional scans (:func:`agent.paths.relax_scan`). With a ``cache`` (a dict kept from one
    turn of a game to the next: :func:`encode` keeps one on the state) the planes are *updated*
    from the previous turn's rather than recomputed: the maps restart from the previous ones
    (:func:`agent.paths.cost_to_update`, :func:`agent.paths.source_keys`), and the open ground of
    the frontier grows from the previous one. The updated maps are also read only as far as the
    planes need them (``cap`` of :func:`agent.paths.cost_to_update` and
    :func:`agent.paths.source_keys`): home costs up to HOME_COST_CLIP, step distances up to
    DIST_CLIP, a LIGHT's costs home up to FRONTIER_REACH + 1, and the target keys up to a cap over
    the previous turn's dearest target (:func:`_targets`), so changes beyond those do not
    propagate. The planes are the same either way (tests/test_path_cache.py compares both over
    whole games).

    Args:
        planes (np.ndarray): float32 or float16 (C, S, S), C = NUM_PLANES.
        cfg (agent.obs.GameConfig): ``robot`` constants and ``MAX_RUBBLE``.
        cache (dict | None): the previous turn's intermediate results (filled here), or None.

    Returns:
        np.ndarray: ``planes`` (about 1.4 ms of CPU a turn at 64x64 mid-game updated with a cache,
        ``benchmarks/env_step.py``; about 4 ms from scratch).

    Raises:
        ValueError: ``planes`` is not (NUM_PLANES, S, S).
    """
    if planes.ndim != 3 or planes.shape[0] != NUM_PLANES:
        raise ValueError(f"planes has shape {planes.shape}, expected ({NUM_PLANES}, S, S)")
    S = planes.shape[-1]
    rubble = np.rint(planes[P["rubble"]].astype(np.float64) * cfg.MAX_RUBBLE)
    ours = planes[P["factory_ours"]] > 0
    theirs = planes[P["factory_theirs"]] > 0
    r = cfg.robot
    step = np.minimum(np.where(theirs, INF, step_cost(r, rubble, 1)), INF).astype(np.int32)
    walk = np.where(theirs, INF, 1).astype(np.int32)
    if cache is None:
        memo = {}
    else:
        memo = cache
        frame = memo.get("frame")
        if (frame is None or frame[0] is not cfg or frame[1].shape != ours.shape
                or not np.array_equal(frame[1], ours) or not np.array_equal(frame[2], theirs)):
            memo.clear()  # a factory appeared or was destroyed: start again
        memo["frame"] = (cfg, ours, theirs)
    planes[PATH_PLANES[0]:PATH_PLANES[-1] + 1] = 0.0  # a contiguous range of channels
    centers = np.argwhere(planes[P["factory_center_ours"]] > 0)  # (F, 2)
    F = len(centers)
    if F:
        free = ~ours & ~theirs
        cands = [(planes[P["ice"]] > 0) & free, (planes[P["ore"]] > 0) & free]
        best = _targets(centers, step, cands, memo if cache is not None else None)
        for name, k in zip(("ice_target", "ore_target"), best):
            k = k[k >= 0]
            planes[P[name], k // S, k % S] = 1.0
        # Exact costs equal cost_to's 400 sweeps once clipped: a path of more than 400 steps costs
        # more than HOME_COST_CLIP (each step costs at least m).
        m = int(step[step < INF].min()) if (step < INF).any() else INF
        prev = memo.get("home") if m * 400 > HOME_COST_CLIP else None
        home, memo["home"] = cost_to_update(ours, step, prev, cap=HOME_COST_CLIP)  # read up to the clip
    else:
        home = np.full((S, S), INF, np.int64)
    for name, target in (("dist_ice_target", "ice_target"), ("dist_ore_target", "ore_target")):
        goal = planes[P[target]] > 0
        # DIST_CLIP sweeps: exact up to DIST_CLIP steps, and farther cells read DIST_CLIP anyway
        d, memo[name] = cost_to_update(goal, walk, memo.get(name), max_iter=DIST_CLIP, cap=DIST_CLIP)
        planes[P[name]] = np.minimum(d, DIST_CLIP) * (1.0 / DIST_SCALE)
    planes[P["home_cost"]] = np.minimum(home, HOME_COST_CLIP) * (1.0 / HOME_COST_SCALE)
    if F:
        frontier = _rubble_frontier(planes, rubble, ours, theirs, step_cost(r, rubble, 0), memo)
        planes[P["rubble_frontier"]] = frontier
        d, memo["dist_rubble_frontier"] = cost_to_update(frontier, walk, memo.get("dist_rubble_frontier"),
                                                         max_iter=DIST_CLIP, cap=DIST_CLIP)
    else:
        d = np.full((S, S), INF)
    planes[P["dist_rubble_frontier"]] = np.minimum(d, DIST_CLIP) * (1.0 / DIST_SCALE)
    return planes


def _targets(centers, step, cands, memo):
    """int64 (2, F): the flat index of each factory's cheapest ice and ore cell (``cands``), -1
    for none: the argmin over the candidates of :func:`agent.paths.cost_to` from the factory's 3x3 (``centers``
    int64 (F, 2), ``step`` int32 (S, S) capped at INF), read off one map of
    :func:`agent.paths.source_keys` per resource for all factories at once. With ``memo`` (a dict,
    or None) the keys are updated from the previous turn's, and read only up to a cap per resource
    above the previous turn's dearest factory (:func:`_target_cap`): the factory tiles are all the
    keys are read at, and a cheapest path only passes keys below its own. A factory whose least
    key reaches the cap has its answer above it: then the keys are read in full again."""
    S = step.shape[-1]
    N = S * S
    x, y, owner = _tiles_3x3(centers, S)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # each factory's first tile
    sources = np.stack(cands)
    cap = None if memo is None else memo.get("target_cap")
    keys, m = source_keys(sources, step, None if memo is None else memo.get("targets"), cap=cap)
    least = np.minimum.reduceat(keys[:, x, y], starts, axis=1)  # (2, F)
    if cap is not None and ((least >= cap[:, None]) & (cap[:, None] < NO_SOURCE)).any():
        keys, m = source_keys(sources, step, m)  # in full, from the capped keys
        least = np.minimum.reduceat(keys[:, x, y], starts, axis=1)
    if memo is not None:
        memo["targets"] = m
        memo["target_cap"] = _target_cap(least, N)
    return np.where(least // N < INF, least % N, -1)


def _target_cap(least, N):
    """int64 (2,): the key cap of each resource for the next turn's :func:`_targets`, from this
    turn's least keys ``least`` int64 (2, F): the keys of paths that cost up to TARGET_CAP_MARGIN
    more power than the dearest factory's cheapest path (a cheapest path only gets dearer when
    rubble is left on it: destroyed robots), or ``NO_SOURCE`` (no cap) when a factory has no
    reachable source."""
    cost = least.max(axis=1) // N  # (2,)
    capped = (cost + TARGET_CAP_MARGIN + 1) * N
    return np.where(cost < INF, capped, NO_SOURCE).astype(np.int64)


def _rubble_frontier(planes, rubble, ours, theirs, light_step, memo=None):
    """bool (S, S): the ``rubble_frontier`` plane (module table) from the ice, ore and lichen planes,
    ``rubble`` (int, (S, S)), the factory tiles ``ours`` / ``theirs`` (bool (S, S)) and a LIGHT's
    step cost ``light_step`` (int (S, S), :func:`agent.paths.step_cost`). Lichen spreads to
    rubble-free cells 4-adjacent to lichen of its strain (Lux S2 specs, "Lichen"); the open ground
    reachable from our factories' border is where it can spread, and the rubble around it is
    what a LIGHT should clear. ``memo`` (dict | None): the previous turn's open ground, from which
    the flood fill grows while the open ground only grew."""
    factory = ours | theirs
    resource = (planes[P["ice"]] > 0) | (planes[P["ore"]] > 0)
    open_ = (rubble == 0) & ~resource & ~factory
    ring = dilate4(ours) & ~ours
    # flood fill: open cells connected to the ring through open cells
    prev = None if memo is None else memo.get("reach")
    seed = ring & open_
    if prev is not None and not (prev[0] & ~open_).any():
        seed = seed | prev[1]  # the open ground only grew: what was reached still is
    reach = _flood(seed, open_)
    if memo is not None:
        memo["reach"] = (open_, reach)
    # A path of cost <= FRONTIER_REACH has at most FRONTIER_REACH // m steps (m: the cheapest
    # LIGHT step), so that many sweeps decide `<= FRONTIER_REACH` as cost_to's FRONTIER_REACH + 1 do,
    # and so do the exact costs (updated from the previous turn's with a memo).
    c = np.where(theirs, INF, light_step)
    if memo is None:
        m = max(int(c.min()), 1)
        light_home = cost_to(ours, c, max_iter=min(FRONTIER_REACH // m + 1, FRONTIER_REACH + 1))
    else:
        light_home, memo["light_home"] = cost_to_update(ours, c, memo.get("light_home"), cap=FRONTIER_REACH + 1)
    return ((dilate4(reach) | ring) & (rubble > 0) & ~resource & ~factory & (planes[P["lichen"]] == 0)
            & (light_home <= FRONTIER_REACH))


def _flood(seed, open_):
    """bool (S, S): the cells of ``open_`` 4-connected through ``open_`` to ``seed & open_``."""
    reach = seed & open_
    n = int(reach.sum())
    while True:
        reach = dilate4(reach) & open_
        k = int(reach.sum())
        if k == n:
            return reach
        n = k


def home_cost_map(planes):
    """A HEAVY's power to our nearest factory tile, int64 (S, S), read back from the ``home_cost``
    plane of ``planes`` (float (C, S, S), :func:`encode`); ``HOME_COST_CLIP`` where farther or
    unreachable. Exact: the plane holds ``min(cost, HOME_COST_CLIP) / HOME_COST_SCALE``."""
    return np.rint(planes[P["home_cost"]].astype(np.float64) * HOME_COST_SCALE).astype(np.int64)


_LAST_MOVE_PLANES = {(0, -1): P["last_move_up"], (1, 0): P["last_move_right"], (0, 1): P["last_move_down"],
                     (-1, 0): P["last_move_left"]}
_LAST_MOVE_TABLE = np.full((3, 3), -1, np.int64)  # [dx + 1, dy + 1] -> plane, -1 for no move plane
for (_dx, _dy), _ch in _LAST_MOVE_PLANES.items():
    _LAST_MOVE_TABLE[_dx + 1, _dy + 1] = _ch


def _last_turn_planes(planes, u, prev, cfg):
    """Write the ``last_*`` planes of robots ``u`` (UnitArrays) against ``prev`` (the previous
    turn's UnitArrays of the same team), matched by unit_id."""
    if len(u) == 0 or len(prev) == 0:
        return
    index = dict(zip(prev.ids, range(len(prev.ids))))
    j = np.fromiter(map(index.get, u.ids, repeat(-1, len(u.ids))), np.int64, len(u.ids))
    seen = j >= 0
    if not seen.any():
        return
    x, y = u.pos[seen, 0], u.pos[seen, 1]
    jj = j[seen]
    d = u.pos[seen] - prev.pos[jj]
    ch = _LAST_MOVE_TABLE[np.clip(d[:, 0], -1, 1) + 1, np.clip(d[:, 1], -1, 1) + 1]
    m = (ch >= 0) & (np.abs(d) <= 1).all(axis=1)  # one step in one of the four directions
    planes[ch[m], x[m], y[m]] = 1.0
    cargo, pcargo = u.cargo[seen], prev.cargo[jj]
    planes[P["last_cargo_gain"], x, y] = cargo[:, :2].sum(1) > pcargo[:, :2].sum(1)
    planes[P["last_cargo_loss"], x, y] = (cargo < pcargo).any(1)
    charge = cfg.robot["CHARGE"][u.heavy[seen].astype(np.int64)]
    planes[P["last_power_pickup"], x, y] = u.power[seen] - prev.power[jj] > charge


def encode(state, out=None):
    """Feature planes and global vector of ``state`` for ``state.player``.

    Args:
        state (agent.obs.GameState): any phase.
        out (np.ndarray | None): optional float32 (C, S, S) buffer to fill (avoids allocation).

    Returns:
        (planes, globals): float32 (62, S, S) and float32 (12,); see the module table.

    Raises:
        ValueError: ``out`` has the wrong shape.
    """
    cfg = state.cfg
    S = cfg.map_size
    b = state.board
    if out is None:
        planes = np.zeros((NUM_PLANES, S, S), np.float32)
    else:
        if out.shape != (NUM_PLANES, S, S):
            raise ValueError(f"out has shape {out.shape}, expected {(NUM_PLANES, S, S)}")
        planes = out
        for lo, hi in _SPARSE_PLANES:  # the other planes are written whole below
            planes[lo:hi] = 0.0
    planes[P["ice"]] = b["ice"] > 0
    planes[P["ore"]] = b["ore"] > 0
    planes[P["rubble"]] = b["rubble"] * (1.0 / cfg.MAX_RUBBLE)
    planes[P["lichen"]] = b["lichen"] * (1.0 / cfg.MAX_LICHEN_PER_TILE)
    strains = b["lichen_strains"]
    my_strains = np.asarray(state.teams.get(state.player, {}).get("factory_strains", []), np.int64)
    opp_strains = np.asarray(state.teams.get(state.opponent, {}).get("factory_strains", []), np.int64)
    lichen_ours = isin_int(strains, my_strains) & (strains >= 0)
    lichen_theirs = isin_int(strains, opp_strains) & (strains >= 0)
    planes[P["lichen_ours"]] = lichen_ours
    planes[P["lichen_theirs"]] = lichen_theirs
    for side, fa, units in (("ours", state.my_factories, state.my_units),
                            ("theirs", state.opp_factories, state.opp_units)):
        if len(fa):
            x, y, owner = _tiles_3x3(fa.pos, S)
            planes[P["factory_" + side], x, y] = 1.0
            planes[P["factory_center_" + side], fa.pos[:, 0], fa.pos[:, 1]] = 1.0
            values = np.empty((5, len(fa)))  # power, ice, ore, water, metal (float64 like before)
            values[0] = fa.power / 3000.0
            values[1:] = fa.cargo.T / _FACTORY_SCALE[:, None]
            planes[_FACTORY_VALUE_PLANES[:, None], x[None, :], y[None, :]] = values[:, owner]
            nearest = nearest_factory(fa, units)
            counts = factory_robot_counts(fa, units, nearest) / ROBOT_COUNT_SCALE  # (2, N)
            planes[_COUNT_PLANES[:, None], x[None, :], y[None, :]] = counts[:, owner]
            if side == "ours":
                _rank_planes(planes, units, nearest)
    for side, u in (("ours", state.my_units), ("theirs", state.opp_units)):
        if len(u) == 0:
            continue
        x, y = u.pos[:, 0], u.pos[:, 1]
        h = u.heavy.astype(np.int64)
        planes[P["light_" + side], x[~u.heavy], y[~u.heavy]] = 1.0
        planes[P["heavy_" + side], x[u.heavy], y[u.heavy]] = 1.0
        cap = cfg.robot["CARGO_SPACE"][h]
        values = np.zeros((_FIRST_QUEUE_PLANE - _ROBOT_VALUE_PLANES[0], len(u)))
        values[0] = u.power / cfg.robot["BATTERY_CAPACITY"][h]
        values[1:5] = u.cargo.T / cap  # ice, ore, water, metal
        # queue head: one plane per (type, direction) of the head, by table lookup
        queued = u.queue_len > 0
        known = (u.head[:, 0] >= 0) & (u.head[:, 0] <= A_RECHARGE)
        typ = np.where(queued, np.where(known, u.head[:, 0], A_RECHARGE + 1), -1)
        ch = _QUEUE_PLANE_BY_TYPE[typ + 1, np.clip(u.head[:, 1], 0, 4)]
        planes[ch, x, y] = 1.0
        carries = (typ == A_TRANSFER) | (typ == A_PICKUP)
        planes[P["queue_resource"], x[carries], y[carries]] = (np.clip(u.head[carries, 2], 0, 4) + 1) / 5.0
        sticky = (u.queue_len > 1) | (queued & ((u.head[:, 4] > 0) | (u.head[:, 5] > 1)))
        planes[P["queue_sticky"], x[sticky], y[sticky]] = 1.0
        planes[_ROBOT_VALUE_PLANES[:len(values), None], x[None, :], y[None, :]] = values
    if state.real_env_steps < 0:
        planes[P["valid_spawn"]] = b["valid_spawns_mask"]
    t = max(state.real_env_steps, 0)
    day = float(state.is_day(t))
    planes[P["is_day"]] = day
    planes[P["turn"]] = t / cfg.max_episode_length
    planes[P["on_map"]] = 1.0
    for name, target in (("dist_factory_ours", planes[P["factory_ours"]] > 0),
                         ("dist_factory_theirs", planes[P["factory_theirs"]] > 0),
                         ("dist_ice", b["ice"] > 0), ("dist_ore", b["ore"] > 0)):
        planes[P[name]] = _distance_plane(state, name, target)
    path_planes(planes, cfg, state.__dict__.setdefault("_path_cache", {}))
    for u, prev in ((state.my_units, state.prev_my_units), (state.opp_units, state.prev_opp_units)):
        _last_turn_planes(planes, u, prev, cfg)
    lichen = b["lichen"]
    glob = np.array([
        t / cfg.max_episode_length,
        day,
        (t % cfg.CYCLE_LENGTH) / cfg.CYCLE_LENGTH,
        len(state.my_factories) / 10.0,
        len(state.opp_factories) / 10.0,
        len(state.my_units) / 100.0,
        len(state.opp_units) / 100.0,
        state.my_factories.cargo[:, 2].sum() / 1000.0 if len(state.my_factories) else 0.0,
        state.my_factories.cargo[:, 3].sum() / 1000.0 if len(state.my_factories) else 0.0,
        lichen[lichen_ours].sum() / 10000.0,
        lichen[lichen_theirs].sum() / 10000.0,
        S / 64.0,
    ], np.float32)
    return planes, glob
