"""A scripted baseline that plays through the map-shaped action head (a behaviour-cloning teacher).

``ScriptedPolicy(seed)(state)`` returns int64 (S, S, 7) cell actions, exactly what a learned
policy over :mod:`agent.actions` returns, and only choices that :func:`agent.masks.action_masks`
allows. Every planned choice is checked against the mask before it is planned; if one is still
masked when written it falls back to keep, and ``policy.fallbacks`` counts it (0 in every
benchmark game). Components the chosen robot type does not use hold the first legal choice, so each
robot cell has a complete legal choice. Cells without our robot (robot components) or factory
center (factory component) are 0. ``scripted_placement(state)`` is the matching factory placement.

Behaviour, per own factory. Its *home* robots are the ones it built; robots of a lost factory
move to the nearest one.

* **Placement.** Next to ice first, then near ore, with ice around and free ground for lichen
  (:func:`scripted_placement`); bid 0.
* **Builds.** A HEAVY on turn 0, and a HEAVY whenever the factory has none. A second HEAVY when
  metal >= 120 and power >= 1500. LIGHTs (up to :data:`LIGHT_CAP`) when power allows, leaving
  :data:`LIGHT_RESERVE` for the heavy. A factory with metal builds a HEAVY for another own factory
  that has none and cannot build one (a "gift": the new heavy's home is the needy factory), and a
  factory with two heavies hands one to a factory with none. Never builds while an own robot will
  stand on the factory center after this turn's moves.
* **Roles.** Heavies mine ice. One heavy mines ore for the next heavy while the factory's
  water is comfortable (hysteresis between :data:`WATER_OK` and :data:`WATER_LOW`). The first
  light mines ore and the others dig rubble on the edge of the open ground around the factory
  (where its lichen can spread). Without a heavy, lights mine ice. Targets are sticky and claimed,
  so no two own robots share one. They are chosen by the weighted cost of the way home, within a
  robot's battery range.
* **Robot cycle.** ``out``: walk to the target and dig while the power left after the dig still
  pays for the way home. ``home`` when cargo is full or power is low: walk back, transfer the
  cargo from the first cell next to the factory (or from on it), and pick up power on the factory
  (fill up; lights leave :data:`LIGHT_RESERVE` for the heavies). Go out again once the power covers a round trip plus
  :data:`OUT_DIGS` digs. The way home is priced with the weighted cost-to-home map: every step
  pays ``floor(MOVE_COST + RUBBLE_MOVEMENT_COST x rubble)`` plus ``ACTION_QUEUE_POWER_COST`` (a
  change of direction re-sends the queue; counted on every step as a margin), with a 10 % +
  :data:`POWER_MARGIN` margin. Solar charge is
  never counted on, so nights are safe. A heavy whose ice tile touches the factory transfers
  from the tile and only steps in for power.
* **Water.** A factory waters lichen only when ``water - cost >= remaining_turns x
  FACTORY_WATER_CONSUMPTION + WATER_GUARD_MARGIN`` (30; :func:`agent.guards.water.water_reserve_ok`).
  Here ``cost`` is the mask's upper bound of the watering cost, so watering never endangers
  survival, even with no more ice. Below :data:`URGENT_WATER`, a heavy hands its ice in at once.
* **Moves.** Greedy steps that reduce the distance to the goal, cheapest rubble first: down the
  weighted cost-to-home maps going home, down BFS step maps (around opponent factories, cached)
  going out; among equal steps, the direction of a sticky move the robot already has (free).
  Never into an opponent robot or factory tile. Never (unless stuck for several turns,
  or already exposed) onto a cell where an opponent robot could move in and win: any cell an
  opponent heavy reaches, for a light; one a heavy with at least our power reaches, for a heavy.
  A robot stuck for 2+ turns also tries detours.
* **Own collisions.** Resolved after all robots have decided. A robot that does not move owns its
  cell. Movers claim cells in priority order (heavies and ice miners first) and fall back to their
  next direction, then to staying, until no cell is claimed twice.

Per-turn cost: one ``action_masks`` call, weighted cost maps for every own factory and both robot
types (batched Bellman-Ford relaxation in numpy, refreshed every :data:`HOME_MAP_PERIOD` turns),
and a short Python loop per robot. About 3-12 ms a turn on the kaggle 48x48 maps.

Only the standard library, numpy and ``agent.*`` are used (this runs on Kaggle).
"""

import numpy as np

from agent.actions import (
    C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, DIRECTION_DELTAS, F_HEAVY,
    A_MOVE, A_RECHARGE, F_LIGHT, F_NONE, F_WATER, KEEP, MOVE, NUM_COMPONENTS, PICKUP, RECHARGE, TRANSFER,
    component_slice,
)
from agent.early import placement_action
from agent.guards.water import water_reserve_ok
from agent.masks import action_masks, water_cost_bound
from agent.paths import INF, cost_to, dilate4, step_cost

LIGHT_CAP = 4          # lights per factory
HEAVY_CAP = 2          # heavies per factory
URGENT_WATER = 40      # below this a heavy hands its ice in at once
RUBBLE_RADIUS = 8      # rubble targets within this many steps of the factory
POWER_MARGIN = (3, 40)  # extra power kept for the trip home (LIGHT, HEAVY)
OUT_DIGS = (6, 8)      # digs a robot should afford before leaving the factory (LIGHT, HEAVY)
LIGHT_RESERVE = 300    # factory power lights leave for heavies when the factory has a heavy
HOME_MAP_PERIOD = 3    # turns between recomputations of the weighted cost-to-home maps
WATER_OK = 400         # a factory this wet lets a heavy mine ore for the next heavy ...
WATER_LOW = 200        # ... until its water falls below this
HEAVY_ORE_REACH = 600  # weighted heavy cost from the factory to ore worth the trip
LIGHT_REACH = 30       # weighted light cost from the factory to a light's resource target
RES_ICE, RES_ORE, RES_WATER, RES_METAL, RES_POWER = range(5)
ENGINE_MOVE, ENGINE_RECHARGE = A_MOVE, A_RECHARGE  # luxai_s2 action types in a queue head

_SL = {k: component_slice(k) for k in range(NUM_COMPONENTS)}
_DIRS = DIRECTION_DELTAS[1:]  # move_dir choice d -> (dx, dy); transfer dir = d + 1


def _dilate_max(a):
    """Max over each cell and its 4 neighbours (no wrap-around)."""
    out = a.copy()
    np.maximum(out[1:, :], a[:-1, :], out=out[1:, :])
    np.maximum(out[:-1, :], a[1:, :], out=out[:-1, :])
    np.maximum(out[:, 1:], a[:, :-1], out=out[:, 1:])
    np.maximum(out[:, :-1], a[:, 1:], out=out[:, :-1])
    return out


def scripted_placement(state):
    """Factory placement of the scripted agent: :func:`agent.early.placement_action` (ice next to
    the factory first, then ore, ice around, room for lichen, away from opponent factories).

    Returns:
        dict: the placement action (``{}`` when it is not our turn or nothing is valid).
    """
    return placement_action(state)


class _Robot:
    """Per-turn view of one robot (plain Python numbers)."""

    __slots__ = ("i", "uid", "x", "y", "heavy", "t", "power", "cargo", "mem", "plan", "cands",
                 "prio", "queue_len", "head", "wants_move")


class ScriptedPolicy:
    """Rule-based player acting through the map-shaped head.

    Args:
        seed (int): seeds tie-breaking randomness (the policy is deterministic given the seed).
        anchor (bool): label another player's states (a DAgger shadow, ``training.imitation.bc collect
            shadow_anchor=true``): the teacher's memory of targets and modes was made by its own
            choices, which the student did not follow, so each turn, before any robot decides, a robot
            whose cell is one its role would pick (in reach; in priority order) takes and claims it
            as its target, and a robot off the factories with room in its cargo counts as ``out``
            when its power covers the trip the teacher leaves the factory with, or when it stands
            on its target with the power to dig and still walk home. Without it (the default, the
            baseline's own games) nothing changes.

    Attributes:
        memory (dict): unit_id -> {"home": factory_id, "role": str, "target": (x, y) | None,
            "mode": "out" | "home", "blocked": int}.
        fallbacks (int): preferred choices that the mask refused (expected 0).
    """

    def __init__(self, seed=0, anchor=False):
        self.rng = np.random.default_rng(seed)
        self.anchor = bool(anchor)
        self.memory = {}
        self.fallbacks = 0
        self._bfs_cache = {}
        self._bfs_key = None
        self._rubble_targets = {}
        self._home_key = None
        self._fac_mem = {}
        self._home_step = -10**9
        self._anchored = {}

    # ------------------------------------------------------------------ maps
    def _bfs(self, target):
        """int-valued float (S, S) step distance to ``target`` around opponent factories (cached)."""
        d = self._bfs_cache.get(target)
        if d is None:
            goal = np.zeros_like(self._opp_tile)
            goal[target] = True
            d = cost_to(goal, self._bfs_step)
            if len(self._bfs_cache) > 400:
                self._bfs_cache.clear()
            self._bfs_cache[target] = d
        return d

    def _prepare(self, state):
        cfg = state.cfg
        S = cfg.map_size
        b = state.board
        self.S = S
        self.cfg = cfg
        self.state = state
        self.masks = action_masks(state)
        occ = state.factory_occupancy()
        self.occ = occ
        f = state.my_factories
        self.fac_ids = list(f.ids)
        own = state.own_factory_tiles()
        self._own_tile = own
        self._opp_tile = (occ != -1) & ~own
        self.fac_index = np.full((S, S), -1, np.int64)
        for i, s in enumerate(f.strain):
            self.fac_index[occ == s] = i
        key = tuple(state.opp_factories.ids)
        if key != self._bfs_key:
            self._bfs_key = key
            self._bfs_cache.clear()
            self._bfs_step = np.where(self._opp_tile, INF, 1.0)
        rubble = b["rubble"].astype(np.float64)
        r = cfg.robot
        # cost of stepping into each cell, including the queue-update cost of a new move
        self.step_cost = []
        for t in (0, 1):
            self.step_cost.append(np.where(self._opp_tile, INF, step_cost(r, rubble, t)))
        # weighted cost from every cell to each own factory, per robot type
        # (refreshed every HOME_MAP_PERIOD turns: rubble changes slowly, the power margins absorb it)
        hkey = (tuple(f.ids), key)
        if hkey != self._home_key or state.real_env_steps - self._home_step >= HOME_MAP_PERIOD:
            self._home_key, self._home_step = hkey, state.real_env_steps
            F = len(f)
            goals = self.fac_index[None, None] == np.arange(F)[None, :, None, None]  # (1, F, S, S)
            steps = np.stack(self.step_cost)[:, None]  # (2, 1, S, S)
            maps = cost_to(np.broadcast_to(goals, (2, F, S, S)), steps)
            self.home_cost = [list(maps[0]), list(maps[1])]
        # opponent danger
        o = state.opp_units
        self.opp_at = np.zeros((S, S), bool)
        # the most power an opponent heavy / light can have on each cell after this turn's moves
        self.opp_heavy_pow = np.full((S, S), -1, np.int64)
        self.opp_light_pow = np.full((S, S), -1, np.int64)
        if len(o):
            self.opp_at[o.pos[:, 0], o.pos[:, 1]] = True
            for heavy, arr in ((True, self.opp_heavy_pow), (False, self.opp_light_pow)):
                sel = o.heavy == heavy
                here = np.full((S, S), -1, np.int64)
                np.maximum.at(here, (o.pos[sel, 0], o.pos[sel, 1]), o.power[sel])
                arr[:] = _dilate_max(here)

    # ------------------------------------------------------------------ roles and targets
    def _assign_homes(self, robots):
        f = self.state.my_factories
        by_home = {fid: [] for fid in self.fac_ids}
        for rb in robots:
            mem = rb.mem
            if mem.get("home") not in by_home:
                if len(f) == 0:
                    mem["home"] = None
                    continue
                fi = self.fac_index[rb.x, rb.y]
                if fi < 0:
                    d = np.abs(f.pos[:, 0] - rb.x) + np.abs(f.pos[:, 1] - rb.y)
                    fi = int(np.argmin(d))
                home = self.fac_ids[fi]
                if rb.heavy:
                    gift = self._fac_mem.get(home, {}).pop("gift", None)
                    if gift is not None and gift[0] in by_home:
                        home = gift[0]  # built here for a factory that had no heavy and no metal
                mem["home"] = home
                mem["target"] = None
                mem["mode"] = "home"
            by_home[mem["home"]].append(rb)
        # a factory without a heavy takes a spare one from a factory that has two
        for fid in self.fac_ids:
            if any(rb.heavy for rb in by_home[fid]):
                continue
            donors = [g for g in self.fac_ids if sum(rb.heavy for rb in by_home[g]) >= 2]
            if donors:
                rb = max((rb for rb in by_home[donors[0]] if rb.heavy), key=lambda rb: int(rb.uid.split("_")[-1]))
                by_home[donors[0]].remove(rb)
                by_home[fid].append(rb)
                rb.mem.update(home=fid, target=None, mode="home")
        return by_home

    def _assign_roles(self, by_home):
        """Roles per home factory from its robots, water and metal (see the module docstring)."""
        f = self.state.my_factories
        b = self.state.board
        heavy_metal = int(self.cfg.robot["METAL_COST"][1])
        for fi, fid in enumerate(self.fac_ids):
            rbs = by_home.get(fid, [])
            heavies = sorted((rb for rb in rbs if rb.heavy), key=lambda rb: int(rb.uid.split("_")[-1]))
            lights = sorted((rb for rb in rbs if not rb.heavy), key=lambda rb: int(rb.uid.split("_")[-1]))
            water, metal = int(f.cargo[fi, RES_WATER]), int(f.cargo[fi, RES_METAL])
            fm = self._fac_mem.setdefault(fid, {"heavy_ore": False})
            ore_near = bool(((b["ore"] > 0) & (self.home_cost[1][fi] <= HEAVY_ORE_REACH)).any())
            # a heavy mines ore for the next heavy while water is comfortable (hysteresis)
            if fm["heavy_ore"]:
                fm["heavy_ore"] = water >= WATER_LOW and metal < heavy_metal and ore_near
            else:
                fm["heavy_ore"] = (water >= WATER_OK and metal < heavy_metal and ore_near
                                   and len(heavies) < HEAVY_CAP)
            for k, rb in enumerate(heavies):
                ore = fm["heavy_ore"] and k == len(heavies) - 1 and (len(heavies) > 1 or water >= WATER_OK
                                                                      or rb.mem.get("role") == "ore")
                self._set_role(rb, "ore" if ore else "ice")
            for k, rb in enumerate(lights):
                if heavies:
                    role = "ore" if k == 0 else "rubble"
                elif water < WATER_LOW:
                    role = "ice" if k < 3 else "ore"
                else:
                    role = "ice" if k == 0 else ("ore" if k < 3 else "rubble")
                self._set_role(rb, role)

    @staticmethod
    def _set_role(rb, role):
        if rb.mem.get("role") != role:
            rb.mem["role"] = role
            rb.mem["target"] = None

    def _rubble_frontier(self, fi):
        """bool (S, S): rubble cells bordering the open area the factory's lichen could reach."""
        cached = self._rubble_targets.get(fi)
        step = self.state.real_env_steps
        if cached is not None and step - cached[0] < 5:
            return cached[1]
        b = self.state.board
        open_ = (b["rubble"] == 0) & (b["ice"] == 0) & (b["ore"] == 0) & (self.occ == -1)
        fac = self.fac_index == fi
        ring = dilate4(fac) & ~fac
        reach = ring & open_
        while True:
            grown = (dilate4(reach) & open_) | reach
            if grown.sum() == reach.sum():
                break
            reach = grown
        near = self.home_cost[0][fi] <= RUBBLE_RADIUS * 2.5
        frontier = ((dilate4(reach) | ring) & (b["rubble"] > 0) & (b["ice"] == 0) & (b["ore"] == 0)
                    & (self.occ == -1) & (b["lichen"] == 0) & near)
        self._rubble_targets[fi] = (step, frontier)
        return frontier

    def _target_cells(self, t, fi, role):
        """bool (S, S): the cells a robot of class ``t`` (0 LIGHT, 1 HEAVY) with ``role`` may take as
        its target for factory ``fi``: its resource (or the rubble frontier), free of factories and
        opponents, within battery range of the factory."""
        b = self.state.board
        if role == "ice":
            cand = b["ice"] > 0
        elif role == "ore":
            cand = b["ore"] > 0
        else:
            cand = self._rubble_frontier(fi)
        cand = cand & (self.occ == -1) & ~self.opp_at
        hc = self.home_cost[t][fi]
        cap = self.cfg.robot["BATTERY_CAPACITY"][t]
        dig = self.cfg.robot["DIG_COST"][t] + self.cfg.robot["ACTION_QUEUE_POWER_COST"][t]
        if t == 0:
            reach = 2.2 * hc + OUT_DIGS[t] * dig <= 0.9 * cap
            if role in ("ice", "ore"):
                reach &= hc <= LIGHT_REACH
        else:
            reach = 2.1 * hc + dig <= 0.95 * cap
        return cand & reach

    def _anchor(self, robots, claimed):
        """Shadow mode (``anchor``), before any robot decides: each robot (in priority order) whose
        cell is one its role would pick takes it as its target and claims it, so the label is what
        the teacher does from where the student put the robot; a robot whose remembered target is
        such a cell picks another. Returns {unit_id: cell} of the anchored robots."""
        anchored = {}
        for rb in robots:
            fid = rb.mem.get("home")
            here = (rb.x, rb.y)
            if fid is None or here in claimed:
                continue
            if self._target_cells(rb.t, self.fac_ids.index(fid), rb.mem["role"])[here]:
                rb.mem["target"] = here  # (the rubble frontier already excludes lichen tiles)
                anchored[rb.uid] = here
                claimed.add(here)
        return anchored

    def _pick_target(self, rb, fi, claimed):
        """Choose (and remember) a target tile for the robot's role; None if there is none."""
        mem = rb.mem
        b = self.state.board
        t = int(rb.heavy)
        tgt = mem.get("target")
        role = mem["role"]
        if tgt is not None:
            x, y = tgt
            ok = (tgt not in claimed or self._anchored.get(rb.uid) == tgt) and self.occ[x, y] == -1 and \
                not (self.opp_at[x, y] and (x, y) != (rb.x, rb.y))
            if role == "ice":
                ok = ok and b["ice"][x, y] > 0
            elif role == "ore":
                ok = ok and b["ore"][x, y] > 0
            else:
                ok = ok and b["rubble"][x, y] > 0 and b["lichen"][x, y] == 0
            if ok:
                claimed.add(tgt)
                return tgt
        hc = self.home_cost[t][fi]
        score = np.where(self._target_cells(t, fi, role), hc, INF)
        if role == "rubble":
            score = score + 0.5 * b["rubble"]  # prefer thin rubble
        if claimed:
            cx, cy = zip(*claimed)
            score[list(cx), list(cy)] = INF
        k = int(np.argmin(score))
        if score.flat[k] >= INF:
            mem["target"] = None
            return None
        tgt = divmod(k, self.S)
        tgt = (int(tgt[0]), int(tgt[1]))
        mem["target"] = tgt
        claimed.add(tgt)
        return tgt

    # ------------------------------------------------------------------ per-robot decision
    def _mask(self, rb, comp):
        return self.masks[rb.x, rb.y, _SL[comp]]

    def _danger(self, rb, x, y):
        """Whether an opponent robot could move onto (x, y) this turn and destroy ours there
        (a heavy beats any light, the stronger of two movers of a class survives)."""
        if self._own_tile[x, y]:
            return False
        if rb.heavy:
            return bool(self.opp_heavy_pow[x, y] >= rb.power - 30)
        return bool(self.opp_heavy_pow[x, y] >= 0 or self.opp_light_pow[x, y] >= rb.power - 3)

    def _move_cands(self, rb, dist, strict=True, risky=False):
        """Legal move directions (move_dir choices) toward lower ``dist``, best first.

        Never into an opponent robot or factory. ``strict``: only moves that reduce ``dist``;
        ``risky``: also cells where an opponent could destroy the robot (ranked last), which are
        otherwise left out unless the robot's own cell is just as exposed.
        """
        t = int(rb.heavy)
        if not self._mask(rb, C_TYPE)[MOVE]:
            return []
        here = dist[rb.x, rb.y]
        mm = self._mask(rb, C_MOVE)
        out = []
        here_danger = self._danger(rb, rb.x, rb.y)
        for d in range(4):
            if not mm[d]:
                continue
            nx, ny = rb.x + int(_DIRS[d, 0]), rb.y + int(_DIRS[d, 1])
            if self.opp_at[nx, ny] or self._opp_tile[nx, ny]:
                continue
            nd = dist[nx, ny]
            if nd >= INF or (strict and not nd < here):
                continue
            danger = self._danger(rb, nx, ny) and not here_danger
            if danger and not risky:
                continue
            step = self.step_cost[t][nx, ny]
            if rb.queue_len > 0 and rb.head[0] == ENGINE_MOVE and rb.head[4] > 0 and rb.head[1] == d + 1:
                step -= self.cfg.robot["ACTION_QUEUE_POWER_COST"][t]  # going on with a sticky move is free
            out.append(((danger, nd >= here, nd + step), d))
        out.sort()
        return [d for _, d in out]

    def _go(self, rb, dist):
        """Plan a step toward lower ``dist``. A robot stuck for a few turns also tries detours,
        then exposed cells."""
        rb.wants_move = True
        blocked = rb.mem.get("blocked", 0)
        dirs = self._move_cands(rb, dist, strict=True, risky=blocked >= 4)
        if blocked >= 2:
            extra = [d for d in self._move_cands(rb, dist, strict=False, risky=blocked >= 6) if d not in dirs]
            if blocked % 3 == 2:
                self.rng.shuffle(extra)
            dirs += extra
        rb.plan = ("move", dirs) if dirs else ("keep",)
        return dirs

    def _adjacent_home_dir(self, rb, fi):
        """Transfer direction (0 = center .. 4) onto factory ``fi``, or None."""
        if self.fac_index[rb.x, rb.y] == fi:
            return 0
        for d in range(4):
            nx, ny = rb.x + int(_DIRS[d, 0]), rb.y + int(_DIRS[d, 1])
            if 0 <= nx < self.S and 0 <= ny < self.S and self.fac_index[nx, ny] == fi:
                return d + 1
        return None

    def _try_transfer(self, rb, tdir):
        """Plan a transfer of the largest cargo in direction ``tdir``; False if not legal."""
        if not self._mask(rb, C_TYPE)[TRANSFER] or not self._mask(rb, C_TDIR)[tdir]:
            return False
        res = int(np.argmax(rb.cargo))
        if rb.cargo[res] <= 0 or not self._mask(rb, C_TRES)[res]:
            return False
        rb.plan = ("transfer", tdir, res, 3)
        return True

    def _try_pickup_power(self, rb, fi, want, reserve, least):
        """Plan a power pickup of about ``want`` (at least ``least``) leaving the factory
        ``reserve``; False if there is no such pickup."""
        if not self._mask(rb, C_TYPE)[PICKUP] or not self._mask(rb, C_PRES)[RES_POWER]:
            return False
        f = self.state.my_factories
        stock = int(f.power[fi])
        space = int(self.cfg.robot["BATTERY_CAPACITY"][int(rb.heavy)] - rb.power)
        base = min(stock, space)
        spare = stock - reserve
        amts = [max(1, int(np.floor((a + 1) * 0.25 * base))) for a in range(4)]
        ok = [a for a in range(4) if amts[a] <= spare]
        if not ok:
            return False
        enough = [a for a in ok if amts[a] >= want]
        best = enough[0] if enough else ok[-1]
        if amts[best] < least:
            return False  # not worth a turn and the queue cost
        rb.plan = ("pickup", RES_POWER, best)
        return True

    def _decide(self, rb, claimed, fac_water):
        cfg = self.cfg
        r = cfg.robot
        t = int(rb.heavy)
        mem = rb.mem
        rb.plan = ("keep",)
        fid = mem.get("home")
        if fid is None:
            return
        fi = self.fac_ids.index(fid)
        q = int(r["ACTION_QUEUE_POWER_COST"][t])
        dig_cost = int(r["DIG_COST"][t]) + q
        cap_cargo = int(r["CARGO_SPACE"][t])
        cap_power = int(r["BATTERY_CAPACITY"][t])
        gain = int(r["DIG_RESOURCE_GAIN"][t])
        hc = self.home_cost[t][fi]
        margin = POWER_MARGIN[t]
        need_home = hc[rb.x, rb.y] * 1.1 + margin
        cargo = int(rb.cargo.sum())
        role = mem["role"]
        tgt = self._pick_target(rb, fi, claimed)
        on_home = self.fac_index[rb.x, rb.y] == fi
        tdir = self._adjacent_home_dir(rb, fi)
        water_low = fac_water[fi] < URGENT_WATER
        if tgt is not None:
            trip = 2.2 * hc[tgt] + margin
            ready = min(0.9 * cap_power, trip + OUT_DIGS[t] * dig_cost)
        else:
            ready = INF
        if self.anchor and not on_home and tgt is not None and (role == "rubble" or cargo + gain <= cap_cargo) and \
                (rb.power >= ready or ((rb.x, rb.y) == tgt and rb.power - dig_cost >= need_home)):
            mem["mode"] = "out"  # the teacher would have sent it out with this power, or would dig on here

        # ---- on the home factory: unload, refuel, leave
        if on_home:
            if cargo > 0 and self._try_transfer(rb, 0):
                return
            if rb.power < 0.95 * cap_power:
                # fill up (a pickup costs a turn and Q, a trip in and out costs more)
                reserve = 0 if rb.heavy else (LIGHT_RESERVE if self._home_has_heavy.get(fid) else 60)
                least = min(cap_power - rb.power, 10 * (1 + 9 * t))
                if self._try_pickup_power(rb, fi, int(cap_power - rb.power), reserve, least):
                    return
            if tgt is not None and rb.power >= ready:
                mem["mode"] = "out"
                self._go(rb, self._bfs(tgt))
                return
            # wait; never idle on the center
            fx, fy = self.state.my_factories.pos[fi]
            if (rb.x, rb.y) == (int(fx), int(fy)) and self._mask(rb, C_TYPE)[MOVE]:
                dirs = [d for d in range(4) if self._mask(rb, C_MOVE)[d]]
                rb.plan = ("move", dirs) if dirs else ("keep",)
            return

        if mem.get("mode") == "out" and tgt is not None:
            at_target = (rb.x, rb.y) == tgt
            full = cargo + gain > cap_cargo if role in ("ice", "ore") else False
            # a heavy on an ice tile next to its factory hands ice in from the tile
            if at_target and tdir is not None and cargo > 0:
                if full or (water_low and rb.cargo[RES_ICE] > 0) or \
                        (rb.power - dig_cost < need_home and cargo >= gain):
                    if self._try_transfer(rb, tdir):
                        return
            if at_target and not full:
                if rb.power - dig_cost >= need_home and self._mask(rb, C_TYPE)[DIG]:
                    rb.plan = ("dig",)
                    return
            elif not at_target:
                # go on while the power covers the next step, a dig and the way back from there
                step = self.step_cost[t]
                if rb.power >= need_home + dig_cost:
                    dirs = self._go(rb, self._bfs(tgt))
                    ok = [d for d in dirs if rb.power - step[rb.x + int(_DIRS[d, 0]), rb.y + int(_DIRS[d, 1])]
                          >= hc[rb.x + int(_DIRS[d, 0]), rb.y + int(_DIRS[d, 1])] * 1.1 + margin + dig_cost]
                    if ok or not dirs:
                        rb.plan = ("move", ok) if ok else ("keep",)
                        return
            mem["mode"] = "home"

        # ---- going home (or no target)
        if tdir is not None and cargo > 0 and self._try_transfer(rb, tdir):
            return
        if tdir is not None and cargo == 0 and tgt is not None and rb.power >= ready and mem.get("mode") == "home":
            # next to the factory with enough power: straight back out
            mem["mode"] = "out"
            self._go(rb, self._bfs(tgt))
            return
        if tgt is None and cargo == 0 and rb.power >= need_home + 2 * dig_cost and not self._own_tile[rb.x, rb.y]:
            # nothing to do: stay near the factory, out of the way
            if hc[rb.x, rb.y] <= 3 * self.step_cost[t].min():
                return
        mem["mode"] = "home"
        self._go(rb, hc)

    # ------------------------------------------------------------------ collisions
    def _keep_cell(self, rb):
        """Where the robot ends the turn if it sends no move: its cell, unless a queued move
        (set by another controller) runs because not even a recharge can be sent."""
        m = self.masks[rb.x, rb.y, _SL[C_TYPE]]
        if rb.queue_len > 0 and rb.head[0] == ENGINE_MOVE and 1 <= rb.head[1] <= 4 and not m[RECHARGE]:
            dx, dy = DIRECTION_DELTAS[rb.head[1]]
            nx, ny = rb.x + int(dx), rb.y + int(dy)
            if 0 <= nx < self.S and 0 <= ny < self.S and not self._opp_tile[nx, ny]:
                return (nx, ny)
        return (rb.x, rb.y)

    def _resolve(self, robots):
        """Give each robot a final next cell; no two own robots end on the same cell."""
        for rb in robots:
            if rb.plan[0] == "move":
                rb.cands = [(rb.x + int(_DIRS[d, 0]), rb.y + int(_DIRS[d, 1]), d) for d in rb.plan[1]]
            else:
                rb.cands = []
            rb.cands.append(self._keep_cell(rb) + (None,))  # staying is the last resort
        choice = {rb.uid: 0 for rb in robots}
        order = {rb.uid: rb.prio for rb in robots}
        while True:
            cells = {}
            for rb in robots:
                c = rb.cands[choice[rb.uid]]
                cells.setdefault((c[0], c[1]), []).append(rb)
            changed = False
            for cell, rbs in cells.items():
                if len(rbs) < 2:
                    continue
                stayers = [rb for rb in rbs if rb.cands[choice[rb.uid]][2] is None]
                winner = stayers[0] if stayers else min(rbs, key=lambda rb: order[rb.uid])
                for rb in rbs:
                    if rb is not winner and choice[rb.uid] < len(rb.cands) - 1:
                        choice[rb.uid] += 1
                        changed = True
            if not changed:
                break
        for rb in robots:
            c = rb.cands[choice[rb.uid]]
            if rb.plan[0] == "move":
                rb.plan = ("keep",) if c[2] is None else ("move", [c[2]])
            moved = rb.plan[0] == "move"
            rb.mem["blocked"] = rb.mem.get("blocked", 0) + 1 if (rb.wants_move and not moved) else 0
        return {rb.cands[choice[rb.uid]][:2] for rb in robots}

    # ------------------------------------------------------------------ main
    def __call__(self, state):
        S = state.cfg.map_size
        out = np.zeros((S, S, NUM_COMPONENTS), np.int64)
        if state.is_early_phase:
            return out
        self._prepare(state)
        u = state.my_units
        f = state.my_factories
        live = set(u.ids)
        for uid in list(self.memory):
            if uid not in live:
                del self.memory[uid]
        robots = []
        for i, uid in enumerate(u.ids):
            rb = _Robot()
            rb.i, rb.uid = i, uid
            rb.x, rb.y = int(u.pos[i, 0]), int(u.pos[i, 1])
            rb.heavy = bool(u.heavy[i])
            rb.t = int(rb.heavy)
            rb.power = int(u.power[i])
            rb.cargo = u.cargo[i].copy()
            rb.mem = self.memory.setdefault(uid, {"mode": "home", "target": None, "blocked": 0})
            rb.queue_len = int(u.queue_len[i])
            rb.head = u.head[i]
            rb.wants_move = False
            robots.append(rb)
        by_home = self._assign_homes(robots)
        self._assign_roles(by_home)
        self._home_has_heavy = {fid: any(rb.heavy for rb in rbs) for fid, rbs in by_home.items()}
        fac_water = f.cargo[:, RES_WATER] if len(f) else np.zeros(0, np.int64)
        # heavies and ice miners first
        robots.sort(key=lambda rb: (not rb.heavy, rb.mem.get("role") != "ice", int(rb.uid.split("_")[-1])))
        for k, rb in enumerate(robots):
            rb.prio = k
        claimed = set()
        self._anchored = self._anchor(robots, claimed) if self.anchor else {}
        for rb in robots:
            self._decide(rb, claimed, fac_water)
        occupied_next = self._resolve(robots)
        for rb in robots:
            self._write_robot(out, rb)
        self._factories(out, by_home, occupied_next)
        return out

    def _write_robot(self, out, rb):
        m = self.masks[rb.x, rb.y]
        row = np.zeros(NUM_COMPONENTS, np.int64)
        for k in range(6):
            mk = m[_SL[k]]
            row[k] = int(np.argmax(mk)) if mk.any() else 0
        plan = rb.plan
        want = {}
        if plan[0] == "move":
            want = {C_TYPE: MOVE, C_MOVE: plan[1][0]}
        elif plan[0] == "dig":
            want = {C_TYPE: DIG}
        elif plan[0] == "transfer":
            want = {C_TYPE: TRANSFER, C_TDIR: plan[1], C_TRES: plan[2], C_AMOUNT: plan[3]}
        elif plan[0] == "pickup":
            want = {C_TYPE: PICKUP, C_PRES: plan[1], C_AMOUNT: plan[2]}
        elif rb.queue_len > 0 and rb.head[0] != ENGINE_RECHARGE and m[_SL[C_TYPE]][RECHARGE]:
            # keep would run a queued action (set by someone else): stand still with a recharge
            want = {C_TYPE: RECHARGE, C_AMOUNT: 0}
        else:
            want = {C_TYPE: KEEP}
        if all(m[_SL[k]][v] for k, v in want.items()):
            for k, v in want.items():
                row[k] = v
        else:  # not expected: plans are checked against the mask when made
            self.fallbacks += 1
            types = m[_SL[C_TYPE]]
            row[C_TYPE] = KEEP if types[KEEP] else (RECHARGE if types[RECHARGE] else row[C_TYPE])
        row[C_FACTORY] = 0
        out[rb.x, rb.y, :] = row

    def _factories(self, out, by_home, occupied_next):
        f = self.state.my_factories
        if not len(f):
            return
        cfg = self.cfg
        r = cfg.robot
        costs = water_cost_bound(self.state, self.occ)
        reserve_ok = water_reserve_ok(self.state, costs)  # the rule of agent.guards.water.guard_water
        heavy_metal = r["METAL_COST"][1]
        for m in self._fac_mem.values():  # a gift not collected the next turn is void
            if "gift" in m and self.state.real_env_steps - m["gift"][1] > 1:
                del m["gift"]
        gifts = {m["gift"][0] for m in self._fac_mem.values() if "gift" in m}
        needs_heavy = [fid for fi, fid in enumerate(self.fac_ids)
                       if not any(rb.heavy for rb in by_home.get(fid, [])) and f.cargo[fi, RES_METAL] < heavy_metal
                       and fid not in gifts]
        for fi, fid in enumerate(self.fac_ids):
            x, y = int(f.pos[fi, 0]), int(f.pos[fi, 1])
            fm = self.masks[x, y, _SL[C_FACTORY]]
            rbs = by_home.get(fid, [])
            n_heavy = sum(rb.heavy for rb in rbs)
            n_light = len(rbs) - n_heavy
            metal, power = int(f.cargo[fi, RES_METAL]), int(f.power[fi])
            choice = F_NONE
            center_free = (x, y) not in occupied_next
            needy = [g for g in needs_heavy if g != fid]
            if center_free and fm[F_HEAVY] and (
                    n_heavy == 0 or (n_heavy < HEAVY_CAP and metal >= r["METAL_COST"][1] + 20
                                     and power >= r["POWER_COST"][1] + 1000)):
                choice = F_HEAVY
            elif center_free and fm[F_HEAVY] and needy and "gift" not in self._fac_mem.setdefault(fid, {}):
                # build a heavy for the nearest own factory that has none and cannot build one
                gi = min(needy, key=lambda g: abs(int(f.pos[self.fac_ids.index(g), 0]) - x)
                         + abs(int(f.pos[self.fac_ids.index(g), 1]) - y))
                self._fac_mem[fid]["gift"] = (gi, self.state.real_env_steps)
                needs_heavy.remove(gi)
                choice = F_HEAVY
            elif center_free and fm[F_LIGHT] and n_light < LIGHT_CAP and \
                    (n_heavy > 0 or metal < r["METAL_COST"][1]) and \
                    power >= r["POWER_COST"][0] + (LIGHT_RESERVE if n_heavy else 0):
                choice = F_LIGHT
            elif fm[F_WATER] and reserve_ok[fi]:
                choice = F_WATER
            if not fm[choice]:
                self.fallbacks += 1
                choice = F_NONE
            out[x, y, C_FACTORY] = choice
