"""GameState: one player's view of a Lux S2 game, rebuilt from the engine's observations.

The same class is fed by

* the Python engine (``luxai_s2.env.LuxAI_S2``): full observation dicts with numpy arrays, and
* the JSON protocol (``luxai-s2`` runner and Kaggle): one JSON object per turn whose ``obs`` is a
  full observation on the first turn and a *change observation* afterwards
  (``luxai_s2.state.State.get_change_obs``): the board layers ``rubble``, ``lichen`` and
  ``lichen_strains`` arrive as ``{"x,y": value}`` deltas against the previous turn, ``ice``,
  ``ore`` and (after placement) ``valid_spawns_mask`` are left out; units, factories and teams
  arrive in full every turn.

Coordinates follow the engine: every board array is indexed ``[x, y]`` (``board.rubble[x, y]``),
positions are ``(x, y)`` and "up" is ``y - 1`` (``luxai_s2.actions.move_deltas``).

Besides the current board the state keeps the previous turn's ``lichen`` and
``lichen_strains``: the factory water-cost bound in :mod:`agent.masks` needs them (the engine
prices watering from a cache computed during the previous step).

Only the standard library and numpy are used (this runs on Kaggle).
"""

import json
from itertools import repeat
from operator import itemgetter

import numpy as np

PLAYERS = ("player_0", "player_1")
UNIT_TYPES = ("LIGHT", "HEAVY")
CARGO = ("ice", "ore", "water", "metal")
BOARD_INT_LAYERS = ("rubble", "ice", "ore", "lichen", "lichen_strains")

# Robot constants used by features and masks, as a (2,) array per name indexed by
# 0 = LIGHT, 1 = HEAVY (EnvConfig.ROBOTS in luxai_s2/config.py).
ROBOT_KEYS = (
    "METAL_COST", "POWER_COST", "CARGO_SPACE", "BATTERY_CAPACITY", "CHARGE", "INIT_POWER",
    "MOVE_COST", "RUBBLE_MOVEMENT_COST", "DIG_COST", "DIG_RUBBLE_REMOVED", "DIG_RESOURCE_GAIN",
    "DIG_LICHEN_REMOVED", "SELF_DESTRUCT_COST", "RUBBLE_AFTER_DESTRUCTION",
    "ACTION_QUEUE_POWER_COST",
)
SUPPORTED_MAP_SIZES = (16, 32, 48, 64)


def isin_int(values, ids):
    """``np.isin(values, ids)`` for integer arrays, by table lookup.

    A few times faster than ``np.isin`` on a (S, S) board checked against a handful of strain
    ids; falls back to ``np.isin`` for non-integer input or a value range wider than 65536.
    """
    values = np.asarray(values)
    ids = np.asarray(ids).reshape(-1)
    if values.size == 0 or values.dtype.kind not in "iu" or (ids.size and ids.dtype.kind not in "iu"):
        return np.isin(values, ids)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > 65535 or lo < -(2 ** 62) or hi > 2 ** 62:
        return np.isin(values, ids)
    table = np.zeros(hi - lo + 1, bool)
    table[ids[(ids >= lo) & (ids <= hi)].astype(np.int64) - lo] = True
    return table[values.astype(np.int64, copy=False) - lo]


class _Around(dict):
    """map size S -> int64 (9,): the flat offsets ``dx * S + dy`` of a 3x3 around its center."""

    def __missing__(self, S):
        d = np.arange(-1, 2, dtype=np.int64)
        self[S] = v = (d[:, None] * S + d[None, :]).ravel()
        return v


_AROUND = _Around()
_CARGO_OF = itemgetter(*CARGO)  # a cargo dict -> (ice, ore, water, metal)


def _int_rows(rows, n, k):
    """int64 (n, k) of ``rows`` (n sequences of k numbers), as ``int()`` of each entry would give it.

    The whole list goes through one ``np.array`` call when that yields a signed integer (n, k)
    array (Python or numpy integers: exact); anything else (floats, strings, rows of another
    length) takes the per-entry ``int()`` of the checked parsers, which raises where they raise.
    """
    if n and list(map(len, rows)).count(k) == n:
        arr = np.array(rows)
        if arr.dtype.kind == "i" and arr.shape == (n, k):
            return arr.astype(np.int64, copy=False)
    return np.array([[int(r[j]) for j in range(k)] for r in rows], np.int64).reshape(n, k)


def _apply_deltas(arr, layer, S):
    """Write a change observation's ``{"x,y": value}`` into ``arr`` (int64 (S, S)) all at once.

    Done only when every key is two ``int()``-readable coordinates inside the map and the values
    make an integer array (exact); returns False (``arr`` untouched) otherwise, and the key-by-key
    loop of :meth:`GameState.update` decides (it raises on what is malformed).
    """
    try:
        keys = list(layer)
        m = len(keys)
        if m == 0:
            return True
        if list(map(str.count, keys, repeat(","))).count(1) != m:
            return False
        xy = np.array(list(map(int, ",".join(keys).split(","))), np.int64).reshape(m, 2)
        values = np.array(list(layer.values()))
    except Exception:
        return False
    if values.dtype.kind != "i" or values.shape != (m,) or xy.min() < 0 or xy.max() >= S:
        return False
    arr[xy[:, 0], xy[:, 1]] = values
    return True


class ObservationError(ValueError):
    """A Lux observation, protocol line or env_cfg is malformed; the message names what."""


def _need(mapping, key, where):
    if not isinstance(mapping, dict):
        raise ObservationError(f"{where} must be a JSON object/dict, got {type(mapping).__name__}")
    if key not in mapping:
        raise ObservationError(f"{where} is missing the key {key!r} (has {sorted(mapping)[:12]})")
    return mapping[key]


def _per_player(mapping, player, what):
    """``mapping[player]`` as a dict (``{}`` when absent or null), else an ObservationError."""
    if not isinstance(mapping, dict):
        raise ObservationError(f"observation[{what!r}] must be a JSON object, got {type(mapping).__name__}")
    value = mapping.get(player) or {}
    if not isinstance(value, dict):
        raise ObservationError(f"observation[{what!r}][{player!r}] must be a JSON object of "
                               f"{what} by id, got {type(value).__name__}")
    return dict(value)


class GameConfig:
    """The subset of ``luxai_s2.config.EnvConfig`` that features, masks and decoding use.

    Args:
        env_cfg: ``dataclasses.asdict(EnvConfig)`` (what the protocol sends as
            ``info["env_cfg"]`` on the first turn) or an ``EnvConfig`` instance.

    Attributes:
        map_size (int): cells per side (64 in luxai-s2 3.0.1, 48 on the Kaggle season).
        robot (dict[str, np.ndarray]): ``robot["DIG_COST"]`` is an int64/float64 array of
            shape (2,), index 0 = LIGHT, 1 = HEAVY.
        raw (dict): the full env_cfg dict.

    Raises:
        ObservationError: a key is missing or ``map_size`` is not one of 16, 32, 48, 64
            (the sizes luxai-s2 3.0.1's map generator accepts).
    """

    def __init__(self, env_cfg):
        if not isinstance(env_cfg, dict):
            if hasattr(env_cfg, "__dataclass_fields__"):
                import dataclasses

                env_cfg = dataclasses.asdict(env_cfg)
            else:
                raise ObservationError(f"env_cfg must be a dict, got {type(env_cfg).__name__}")
        self.raw = env_cfg
        self.map_size = int(_need(env_cfg, "map_size", "env_cfg"))
        if self.map_size not in SUPPORTED_MAP_SIZES:
            raise ObservationError(
                f"env_cfg map_size={self.map_size} is not supported; use one of {SUPPORTED_MAP_SIZES}"
            )
        for key in ("max_episode_length", "CYCLE_LENGTH", "DAY_LENGTH", "MAX_RUBBLE",
                    "MAX_LICHEN_PER_TILE", "MIN_LICHEN_TO_SPREAD", "LICHEN_WATERING_COST_FACTOR",
                    "FACTORY_WATER_CONSUMPTION", "INIT_WATER_METAL_PER_FACTORY",
                    "max_transfer_amount", "FACTORY_CHARGE", "ICE_WATER_RATIO", "ORE_METAL_RATIO"):
            setattr(self, key, _need(env_cfg, key, "env_cfg"))
        robots = _need(env_cfg, "ROBOTS", "env_cfg")
        self.robot = {}
        for key in ROBOT_KEYS:
            vals = []
            for t in UNIT_TYPES:
                cfg = _need(robots, t, "env_cfg['ROBOTS']")
                if not isinstance(cfg, dict):
                    cfg = vars(cfg)
                vals.append(_need(cfg, key, f"env_cfg['ROBOTS'][{t!r}]"))
            self.robot[key] = np.array(vals)


class UnitArrays:
    """One player's robots as parallel arrays (N = number of robots, engine order).

    Attributes:
        ids (list[str]): unit_id, e.g. ``"unit_12"``.
        pos (np.ndarray): int64 (N, 2), ``(x, y)``.
        heavy (np.ndarray): bool (N,), True for HEAVY.
        power (np.ndarray): int64 (N,), power units.
        cargo (np.ndarray): int64 (N, 4): ice, ore, water, metal.
        queue_len (np.ndarray): int64 (N,), length of the action queue.
        head (np.ndarray): int64 (N, 6), first queued action ``[type, dir, resource, amount,
            repeat, n]`` (``luxai_s2.actions`` encoding); rows of -1 where the queue is empty.
        derived (dict): values computed from these robots and this turn's board, cached for the
            turn (a new UnitArrays comes with every observation); ``agent.action_queue`` keeps its
            queue view here.
    """

    def __init__(self, units_dict):
        self.derived = {}
        try:
            self._parse_fast(units_dict)
        except Exception:
            # the checked parser below raises an ObservationError naming the problem
            self._parse_checked(units_dict)

    def _parse_fast(self, units_dict):
        """Same result as :meth:`_parse_checked` for well-formed input (one list per field, built
        by comprehensions, and one numpy conversion per field); raises on anything the checked
        parser would reject, and on anything it cannot convert exactly (then the checked parser
        decides)."""
        ids = list(units_dict.keys())
        vals = list(units_dict.values())
        n = len(vals)
        if not all(map(isinstance, vals, repeat(dict))):
            raise TypeError("unit is not a dict")
        types = [u["unit_type"] for u in vals]
        n_heavy = types.count("HEAVY")
        if n_heavy + types.count("LIGHT") != n:
            raise ValueError("unknown unit_type")
        cargos = [u["cargo"] for u in vals]
        if not all(map(isinstance, cargos, repeat(dict))):
            raise TypeError("cargo is not a dict")
        queues = [u.get("action_queue", []) for u in vals]
        queue_len = list(map(len, queues))
        self.ids = ids
        self.pos = _int_rows([u["pos"] for u in vals], n, 2)
        self.heavy = np.array([t == "HEAVY" for t in types], bool).reshape(n)
        self.power = np.array([int(u["power"]) for u in vals], np.int64).reshape(n)
        self.cargo = _int_rows(list(map(_CARGO_OF, cargos)), n, 4)
        self.queue_len = np.array(queue_len, np.int64).reshape(n)
        self.head = np.full((n, 6), -1, np.int64)
        heads = [q[0] for q, k in zip(queues, queue_len) if k]
        if heads:
            h = np.array(heads, dtype=np.int64)  # raises on ragged heads
            if h.shape != (len(heads), 6):
                raise ValueError("queued action of the wrong length")
            self.head[self.queue_len > 0] = h

    def _parse_checked(self, units_dict):
        n = len(units_dict)
        self.ids = list(units_dict.keys())
        self.pos = np.zeros((n, 2), np.int64)
        self.heavy = np.zeros(n, bool)
        self.power = np.zeros(n, np.int64)
        self.cargo = np.zeros((n, 4), np.int64)
        self.queue_len = np.zeros(n, np.int64)
        self.head = np.full((n, 6), -1, np.int64)
        for i, (uid, u) in enumerate(units_dict.items()):
            where = f"unit {uid!r}"
            pos = _need(u, "pos", where)
            self.pos[i] = (int(pos[0]), int(pos[1]))
            utype = _need(u, "unit_type", where)
            if utype not in UNIT_TYPES:
                raise ObservationError(f"{where} has unknown unit_type {utype!r}; expected LIGHT or HEAVY")
            self.heavy[i] = utype == "HEAVY"
            self.power[i] = int(_need(u, "power", where))
            cargo = _need(u, "cargo", where)
            for j, r in enumerate(CARGO):
                self.cargo[i, j] = int(_need(cargo, r, f"{where} cargo"))
            queue = u.get("action_queue", [])
            self.queue_len[i] = len(queue)
            if len(queue):
                head = np.asarray(queue[0]).reshape(-1)
                if head.shape[0] != 6:
                    raise ObservationError(f"{where} has a queued action of length {head.shape[0]}, expected 6")
                self.head[i] = head.astype(np.int64)

    def __len__(self):
        return len(self.ids)


class FactoryArrays:
    """One player's factories as parallel arrays (N = number of factories, engine order).

    Attributes:
        ids (list[str]): ``"factory_3"``.
        pos (np.ndarray): int64 (N, 2), factory center ``(x, y)``; the factory covers 3x3.
        power (np.ndarray): int64 (N,).
        cargo (np.ndarray): int64 (N, 4): ice, ore, water, metal.
        strain (np.ndarray): int64 (N,), lichen strain id (the factory's number).
        derived (dict): values computed for this turn and cached (a new FactoryArrays comes with
            every observation): the factory occupancy of :meth:`GameState.factory_occupancy`.
    """

    def __init__(self, factories_dict):
        self.derived = {}
        try:
            self._parse_fast(factories_dict)
        except Exception:
            # the checked parser below raises an ObservationError naming the problem
            self._parse_checked(factories_dict)

    def _parse_fast(self, factories_dict):
        """Same result as :meth:`_parse_checked` for well-formed input (one list and one numpy
        conversion per field); raises on anything the checked parser would reject."""
        vals = list(factories_dict.values())
        n = len(vals)
        if not all(map(isinstance, vals, repeat(dict))):
            raise TypeError("factory is not a dict")
        cargos = [f["cargo"] for f in vals]
        if not all(map(isinstance, cargos, repeat(dict))):
            raise TypeError("cargo is not a dict")
        self.ids = list(factories_dict.keys())
        self.pos = _int_rows([f["pos"] for f in vals], n, 2)
        self.power = np.array([int(f["power"]) for f in vals], np.int64).reshape(n)
        self.cargo = _int_rows(list(map(_CARGO_OF, cargos)), n, 4)
        self.strain = np.array([int(f["strain_id"]) for f in vals], np.int64).reshape(n)

    def _parse_checked(self, factories_dict):
        n = len(factories_dict)
        self.ids = list(factories_dict.keys())
        self.pos = np.zeros((n, 2), np.int64)
        self.power = np.zeros(n, np.int64)
        self.cargo = np.zeros((n, 4), np.int64)
        self.strain = np.zeros(n, np.int64)
        for i, (fid, f) in enumerate(factories_dict.items()):
            where = f"factory {fid!r}"
            pos = _need(f, "pos", where)
            self.pos[i] = (int(pos[0]), int(pos[1]))
            self.power[i] = int(_need(f, "power", where))
            cargo = _need(f, "cargo", where)
            for j, r in enumerate(CARGO):
                self.cargo[i, j] = int(_need(cargo, r, f"{where} cargo"))
            self.strain[i] = int(_need(f, "strain_id", where))

    def __len__(self):
        return len(self.ids)


class GameState:
    """Full board, robots, factories and teams of one game, seen by ``player``.

    Build with :meth:`from_obs` (engine dict) or feed protocol turns with :meth:`update`.

    Attributes:
        cfg (GameConfig): rules of this game.
        player (str), opponent (str): ``"player_0"`` / ``"player_1"``.
        step (int): protocol step (``env_steps``: 0 is bidding, then placement turns).
        real_env_steps (int): turn of the main phase (negative during bidding/placement).
        board (dict[str, np.ndarray]): int64 (S, S) ``rubble, ice, ore, lichen,
            lichen_strains``, bool (S, S) ``valid_spawns_mask``, and int ``factories_per_team``.
        prev_lichen, prev_lichen_strains (np.ndarray): int64 (S, S), the previous turn's.
        prev_my_units, prev_opp_units (UnitArrays): the robots of the previous observation (empty
            before the second one); :mod:`agent.features` compares them by ``unit_id`` to show
            what each robot did last turn.
        units, factories (dict[str, dict]): raw per-player dicts as in the observation.
        teams (dict[str, dict]): raw team dicts (``factory_strains``, ``water``, ``metal``,
            ``factories_to_place``, ``place_first``, ``bid``...).
        my_units, opp_units (UnitArrays), my_factories, opp_factories (FactoryArrays).
        global_id (int).
    """

    def __init__(self, env_cfg, player):
        if player not in PLAYERS:
            raise ObservationError(f"player must be one of {PLAYERS}, got {player!r}")
        self.cfg = env_cfg if isinstance(env_cfg, GameConfig) else GameConfig(env_cfg)
        self.player = player
        self.opponent = PLAYERS[1 - PLAYERS.index(player)]
        self.step = 0
        self.real_env_steps = 0
        self.global_id = 0
        self.board = None
        self.prev_lichen = None
        self.prev_lichen_strains = None
        self.units = {p: {} for p in PLAYERS}
        self.factories = {p: {} for p in PLAYERS}
        self.teams = {}
        self._arrays()
        self.prev_my_units, self.prev_opp_units = self.my_units, self.opp_units

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_obs(cls, obs, env_cfg, player, step=None):
        """Build a state from one *full* observation dict.

        Args:
            obs (dict): ``LuxAI_S2`` observation (``env.state.get_obs()`` or one player's entry of
                ``env.step`` output), numpy arrays or nested lists.
            env_cfg (dict | GameConfig | EnvConfig): rules of the game.
            player (str): whose view, ``"player_0"`` or ``"player_1"``.
            step (int | None): protocol step; derived from ``real_env_steps`` if omitted.

        Raises:
            ObservationError: missing keys, wrong board shape, or a change observation given
                where a full one is needed.
        """
        state = cls(env_cfg, player)
        state.update(obs, step=step)
        return state

    def update(self, obs, step=None):
        """Apply the next turn's observation (full or change observation) in place.

        Args:
            obs (dict | str): observation dict, or its JSON text (Kaggle passes a string).
            step (int | None): protocol step of this observation.

        Raises:
            ObservationError: malformed observation, or a change observation before any full one.
        """
        if isinstance(obs, (str, bytes)):
            try:
                obs = json.loads(obs)
            except ValueError as e:
                raise ObservationError(f"observation is not valid JSON: {e}") from None
        board = _need(obs, "board", "observation")
        S = self.cfg.map_size
        new = {} if self.board is None else dict(self.board)
        for name in BOARD_INT_LAYERS:
            if name not in board:
                if self.board is None:
                    raise ObservationError(
                        f"observation board lacks {name!r} and no earlier full observation was seen"
                    )
                continue
            layer = board[name]
            if isinstance(layer, dict):  # change observation: {"x,y": value}
                if self.board is None:
                    raise ObservationError(
                        f"observation board[{name!r}] is a change observation but no full board was seen"
                    )
                arr = new[name].copy()
                if _apply_deltas(arr, layer, S):
                    new[name] = arr
                    continue
                for key, v in layer.items():
                    try:
                        x, y = (int(c) for c in key.split(","))
                        if x < 0 or y < 0:  # numpy would wrap negative indices silently
                            raise IndexError(key)
                        arr[x, y] = v
                    except (ValueError, IndexError):
                        raise ObservationError(
                            f"board[{name!r}] delta key {key!r} is not 'x,y' inside the {S}x{S} map"
                        ) from None
                new[name] = arr
            else:
                arr = np.asarray(layer, dtype=np.int64)
                if arr.shape != (S, S):
                    raise ObservationError(
                        f"board[{name!r}] has shape {arr.shape}, expected ({S}, {S}) from env_cfg map_size"
                    )
                new[name] = arr
        if "valid_spawns_mask" in board:
            vsm = np.asarray(board["valid_spawns_mask"], dtype=bool)
            if vsm.shape != (S, S):
                raise ObservationError(f"board['valid_spawns_mask'] has shape {vsm.shape}, expected ({S}, {S})")
            new["valid_spawns_mask"] = vsm
        elif "valid_spawns_mask" not in new:
            new["valid_spawns_mask"] = np.zeros((S, S), bool)
        if "factories_per_team" in board:
            new["factories_per_team"] = int(board["factories_per_team"])
        elif "factories_per_team" not in new:
            raise ObservationError("observation board lacks 'factories_per_team'")
        # Validate and parse everything before touching self: a malformed observation leaves the
        # state exactly as it was (the next good turn still applies cleanly).
        units = _need(obs, "units", "observation")
        factories = _need(obs, "factories", "observation")
        units = {p: _per_player(units, p, "units") for p in PLAYERS}
        factories = {p: _per_player(factories, p, "factories") for p in PLAYERS}
        teams = _need(obs, "teams", "observation") or {}
        if not isinstance(teams, dict):
            raise ObservationError(f"observation['teams'] must be a JSON object, got {type(teams).__name__}")
        teams = dict(teams)
        real_env_steps = int(_need(obs, "real_env_steps", "observation"))
        arrays = (UnitArrays(units[self.player]), UnitArrays(units[self.opponent]),
                  FactoryArrays(factories[self.player]), FactoryArrays(factories[self.opponent]))
        if self.board is not None:
            self.prev_lichen = self.board["lichen"]
            self.prev_lichen_strains = self.board["lichen_strains"]
        else:
            self.prev_lichen = new["lichen"].copy()
            self.prev_lichen_strains = new["lichen_strains"].copy()
        self.board = new
        self.prev_my_units, self.prev_opp_units = self.my_units, self.opp_units
        self.units, self.factories, self.teams = units, factories, teams
        self.real_env_steps = real_env_steps
        self.global_id = int(obs.get("global_id", 0))
        if step is None:
            step = self.real_env_steps + 2 * self.board["factories_per_team"] + 1
        self.step = int(step)
        self.my_units, self.opp_units, self.my_factories, self.opp_factories = arrays
        return self

    def _arrays(self):
        self.my_units = UnitArrays(self.units[self.player])
        self.opp_units = UnitArrays(self.units[self.opponent])
        self.my_factories = FactoryArrays(self.factories[self.player])
        self.opp_factories = FactoryArrays(self.factories[self.opponent])

    # ------------------------------------------------------------------ derived views
    @property
    def is_early_phase(self):
        """True during bidding and factory placement (``real_env_steps < 0``)."""
        return self.real_env_steps < 0

    def is_day(self, real_step=None):
        """Day/night of a main-phase turn (``luxai_s2.utils.is_day``): step % CYCLE < DAY."""
        t = self.real_env_steps if real_step is None else real_step
        return (t % self.cfg.CYCLE_LENGTH) < self.cfg.DAY_LENGTH

    def factory_occupancy(self):
        """int64 (S, S): strain id of the factory covering each cell, -1 where none.

        Source: ``Board.factory_occupancy_map`` (each factory covers the 3x3 around its center).
        Computed once per observation (cached in ``my_factories.derived``); do not modify it.
        """
        cache = self.my_factories.derived
        occ = cache.get("occupancy")
        if occ is not None and cache.get("occupancy_of") is self.opp_factories:
            return occ
        S = self.cfg.map_size
        occ = np.full((S, S), -1, np.int64)
        pos = np.concatenate([self.my_factories.pos, self.opp_factories.pos])
        strain = np.concatenate([self.my_factories.strain, self.opp_factories.strain])
        # all 3x3 at once where no 3x3 leaves the map, none overlaps and no strain is -1 (always, in a
        # game); else one factory after the other, later ones written over earlier ones
        fast = len(pos) and pos.min() >= 1 and pos.max() <= S - 2 and strain.min() >= 0
        if fast:
            cells = (pos[:, 0, None] * S + pos[:, 1, None] + _AROUND[S]).ravel()
            occ.ravel()[cells] = np.repeat(strain, 9)
            fast = np.count_nonzero(occ != -1) == len(cells)
            if not fast:
                occ[...] = -1
        if not fast:
            for (x, y), s in zip(pos, strain):
                occ[max(x - 1, 0):x + 2, max(y - 1, 0):y + 2] = s
        occ.flags.writeable = False
        cache["occupancy"], cache["occupancy_of"] = occ, self.opp_factories
        return occ

    def own_factory_tiles(self):
        """bool (S, S): True on the 3x3 tiles of our factories (:meth:`factory_occupancy` holding one of
        our strains). Computed once per observation (cached like the occupancy); do not modify it."""
        cache = self.my_factories.derived
        own = cache.get("own_tiles")
        if own is not None and cache.get("own_tiles_of") is self.opp_factories:
            return own
        occ = self.factory_occupancy()
        own = isin_int(occ, np.asarray(self.my_factories.strain, np.int64)) & (occ != -1)
        own.flags.writeable = False
        cache["own_tiles"], cache["own_tiles_of"] = own, self.opp_factories
        return own

    def my_turn_to_place(self):
        """Whether this player places a factory on this step (``luxai_s2.utils.my_turn_to_place_factory``)."""
        team = self.teams.get(self.player)
        if team is None or self.step == 0:
            return False
        if team.get("factories_to_place", 0) <= 0:
            return False
        place_first = bool(team.get("place_first", False))
        return (self.step % 2 == 1) if place_first else (self.step % 2 == 0)

    # ------------------------------------------------------------------ comparison
    def to_obs(self):
        """A canonical full observation (plain Python types) of this state.

        Used by the tests to check that a state rebuilt from the change-observation stream equals
        the engine's full observation: compare ``canonical_obs(env_obs)`` with this.
        """
        b = {k: self.board[k].tolist() for k in BOARD_INT_LAYERS}
        b["factories_per_team"] = int(self.board["factories_per_team"])
        if self.real_env_steps < 0:
            b["valid_spawns_mask"] = self.board["valid_spawns_mask"].tolist()
        return canonical_obs(dict(units=self.units, factories=self.factories, teams=self.teams,
                                  board=b, real_env_steps=self.real_env_steps,
                                  global_id=self.global_id))


def _plain(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def canonical_obs(obs):
    """Plain-Python copy of a full observation, comparable with ``==``.

    ``valid_spawns_mask`` is kept only during the early phase (the protocol stops sending it).
    """
    out = _plain(obs)
    board = out["board"]
    if out.get("real_env_steps", 0) >= 0:
        board.pop("valid_spawns_mask", None)
    else:
        board["valid_spawns_mask"] = [[bool(v) for v in row] for row in board["valid_spawns_mask"]]
    return out


def parse_protocol_line(line):
    """Parse one line of the Lux stdin protocol (``luxai_runner.bot.Bot.step``).

    Args:
        line (str): JSON text with keys ``obs``, ``step``, ``player``, ``remainingOverageTime``,
            ``info`` (the first turn's ``info["env_cfg"]`` holds the rules).

    Returns:
        dict with ``obs`` (dict), ``step`` (int), ``player`` (str), ``remaining_overage``
        (float, seconds) and ``env_cfg`` (dict or None).

    Raises:
        ObservationError: not JSON, or a required key is missing.
    """
    try:
        msg = json.loads(line)
    except ValueError as e:
        raise ObservationError(f"protocol line is not valid JSON: {e}") from None
    obs = _need(msg, "obs", "protocol line")
    if isinstance(obs, str):
        try:
            obs = json.loads(obs)
        except ValueError as e:
            raise ObservationError(f"protocol line 'obs' is not valid JSON: {e}") from None
    info = msg.get("info") or {}
    return dict(
        obs=obs,
        step=int(_need(msg, "step", "protocol line")),
        player=_need(msg, "player", "protocol line"),
        remaining_overage=float(msg.get("remainingOverageTime", 60.0)),
        env_cfg=info.get("env_cfg") if isinstance(info, dict) else None,
    )
