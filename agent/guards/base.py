"""The :class:`Guard` record of :mod:`agent.guards` and the helpers several guards share.

Every helper that edits masks takes ``out`` (bool (S, S, A), A = 34, laid out as
:data:`agent.actions.OFFSETS`) and changes it in place; the guards copy their input first.
"""

from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np

from agent import features
from agent.actions import (
    A_MOVE, AMOUNT_FRACTIONS, COMPONENTS, C_AMOUNT, C_MOVE, C_PRES, C_TYPE, DIRECTION_DELTAS, KEEP, MOVE, PICKUP,
    RES_POWER, component_slice,
)

# What a guard may ask for besides the state and the masks so far (:func:`agent.guards.guarded_masks`
# computes each once per turn, only when a guard that is on needs it):
NEEDS = {
    "planes": "float (C, S, S), agent.features.encode(state)[0]",
    "home_cost": "int64 (S, S), a HEAVY's power to our nearest factory tile: agent.features.home_cost_map(planes)",
    "base": "bool (S, S, A), agent.masks.action_masks(state): the choices before any guard",
}


@dataclass(frozen=True)
class Guard:
    """One decoding guard: a strategy rule that narrows the engine's masks.

    Attributes:
        key (str): its agent.json / train.py key, e.g. ``"water_guard"`` (flag ``--water-guard``).
        help (str): one line: what it makes our units do (flag help, README table, bot start-up line).
        apply (callable): ``apply(state, masks, **needs) -> masks``; returns ``masks`` itself when it
            forbids nothing, else a copy.
        needs (tuple of str): keys of :data:`NEEDS` passed to ``apply`` as keyword arguments.
    """

    key: str
    help: str
    apply: Callable
    needs: Tuple[str, ...] = ()

    def __post_init__(self):
        unknown = sorted(set(self.needs) - set(NEEDS))
        if unknown:
            raise ValueError(f"guard {self.key}: unknown needs {unknown}; allowed: {sorted(NEEDS)}")

    @property
    def flag(self):
        """The command-line flag of the guard: ``--water-guard`` for ``water_guard``."""
        return "--" + self.key.replace("_", "-")


def remaining_turns(state):
    """Turns from this one to the last: ``max_episode_length - real_env_steps`` (``real_env_steps``
    counted from 0 during bidding and placement; ``LuxAI_S2.step`` ends the game after
    ``max_episode_length`` main-phase turns).

    Returns:
        int: turns.
    """
    return state.cfg.max_episode_length - max(int(state.real_env_steps), 0)


def robot_cells(state):
    """(units, x, y, t0): ``state.my_units``, their cells (int64 (N,) each) and the index of the first
    robot-type entry of a cell's masks (``keep``), for the guards that edit robot types."""
    u = state.my_units
    return u, u.pos[:, 0], u.pos[:, 1], _T0


_MOVE_DELTAS = [(int(dx), int(dy)) for dx, dy in DIRECTION_DELTAS[1:]]  # up, right, down, left
WHOLE = int(np.flatnonzero(AMOUNT_FRACTIONS == 1.0)[0])  # the amount choice of 100 %: a whole cargo or battery
# first mask entries of the robot components, and each component's slice by name (for hold)
_T0, _M0, _P0, _A0 = (component_slice(k).start for k in (C_TYPE, C_MOVE, C_PRES, C_AMOUNT))
_TYPE = component_slice(C_TYPE)
_SLICES = {name: component_slice(k) for k, name in enumerate(COMPONENTS)}
_MOVE_DX = DIRECTION_DELTAS[1:, 0]  # the moves up, right, down, left
_MOVE_DY = DIRECTION_DELTAS[1:, 1]
_PICKUP_POWER = np.arange(_SLICES["pickup_res"].stop - _P0) == RES_POWER  # hold_fill's entries
_AMOUNT_WHOLE = np.arange(_SLICES["amount"].stop - _A0) == WHOLE


def queued_move(u, i):
    """The direction (1-4: up, right, down, left) of robot ``i``'s queued move (``u``:
    ``state.my_units``), 0 when its queue head is no move."""
    return int(u.head[i, 1]) if u.queue_len[i] > 0 and u.head[i, 0] == A_MOVE else 0


def unit_numbers(u):
    """int64 (N,): the numbers of our robots' unit_ids (``"unit_12"`` -> 12), in ``u`` order; a
    robot built later has a larger one (``LuxAI_S2.add_unit``). The parse (memoised) is
    :func:`agent.features.unit_numbers`. Raises ValueError for an id without one."""
    numbers = features.unit_numbers(u.ids)
    if (numbers < 0).any():
        raise ValueError(f"unit_id {u.ids[int(np.argmax(numbers < 0))]!r} has no unit number")
    return numbers


def occupied_cells(S, x, y):
    """bool (S, S): the cells ``(x, y)`` (int64 (N,) each) our robots stand on."""
    occupied = np.zeros((S, S), bool)
    occupied[x, y] = True
    return occupied


def step_to_factory(out, u, i, f, k, occupied):
    """Hold our robot ``i`` (of ``u``, ``state.my_units``) on ``out`` (edited in place) to a move
    closer to factory ``k`` of ``f`` (fewest moves to a tile of its 3x3), as :func:`hold_step`
    chooses it; ``occupied`` is :func:`occupied_cells`."""
    cx, cy = int(u.pos[i, 0]), int(u.pos[i, 1])
    fx, fy = int(f.pos[k, 0]), int(f.pos[k, 1])
    # factory_steps to factory k alone, in plain ints (called per robot: numpy's overhead dominates)
    here = max(abs(cx - fx) - 1, 0) + max(abs(cy - fy) - 1, 0)
    gain = [here - max(abs(cx + dx - fx) - 1, 0) - max(abs(cy + dy - fy) - 1, 0) for dx, dy in _MOVE_DELTAS]
    hold_step(out, cx, cy, queued_move(u, i), gain, occupied)


def step_down(out, u, i, dist, occupied):
    """Hold our robot ``i`` (of ``u``) on ``out`` (edited in place) to a move down ``dist`` (int64
    (S, S), steps to a target; off the map is never closer), as :func:`hold_step` chooses it."""
    cx, cy = int(u.pos[i, 0]), int(u.pos[i, 1])
    S = dist.shape[0]
    nx, ny = cx + DIRECTION_DELTAS[1:, 0], cy + DIRECTION_DELTAS[1:, 1]
    inside = (nx >= 0) & (nx < S) & (ny >= 0) & (ny < S)
    after = np.full(4, 10 ** 6, np.int64)
    after[inside] = dist[nx[inside], ny[inside]]
    hold_step(out, cx, cy, queued_move(u, i), dist[cx, cy] - after, occupied)


def fill_allowed(masks, x, y):
    """Whether ``masks`` (bool (S, S, A)) let the robot on ``(x, y)`` pick up power, the whole free
    battery (amount 100 %); ``x``, ``y`` may be ints (a bool) or int64 (N,) arrays (bool (N,))."""
    return masks[x, y, _T0 + PICKUP] & masks[x, y, _P0 + RES_POWER] & masks[x, y, _A0 + WHOLE]


def hold_fill(out, x, y):
    """Hold the robot on ``(x, y)`` of ``out`` (edited in place) to a pickup of its whole free
    battery (:func:`fill_allowed` must hold)."""
    hold(out, x, y, PICKUP, pickup_res=RES_POWER, amount=WHOLE)


def factory_steps(px, py, f):
    """int64 (N, F): moves from cells ``(px, py)`` (int64 (N,) each) to the nearest tile of each 3x3
    factory of ``f`` (agent.obs.FactoryArrays); 0 on a factory tile, 1 orthogonally next to one."""
    dx = np.maximum(np.abs(px[:, None] - f.pos[None, :, 0]) - 1, 0)
    dy = np.maximum(np.abs(py[:, None] - f.pos[None, :, 1]) - 1, 0)
    return dx + dy


def robot_factory_steps(state):
    """:func:`factory_steps` of our robots to our factories, int64 (N, F) in ``state.my_units`` and
    ``state.my_factories`` order; computed once per observation (cached in
    ``state.my_units.derived``), read-only."""
    u, f = state.my_units, state.my_factories
    hit = u.derived.get("factory_steps")
    if hit is not None and hit[0] is f:
        return hit[1]
    steps = factory_steps(u.pos[:, 0], u.pos[:, 1], f)
    steps.flags.writeable = False
    u.derived["factory_steps"] = (f, steps)
    return steps


def free_resource_steps(state, res):
    """(cells, steps) of the ``res`` (``"ice"`` or ``"ore"``) cells no robot of ours stands on:
    int64 (M, 2) ``np.argwhere`` order, and their :func:`factory_steps` int64 (M, F) (None when M =
    0); computed once per observation (cached in ``state.my_units.derived``), read-only."""
    u, f = state.my_units, state.my_factories
    key = "free_" + res
    hit = u.derived.get(key)
    if hit is not None and hit[0] is f:
        return hit[1], hit[2]
    free = state.board[res] > 0
    free[u.pos[:, 0], u.pos[:, 1]] = False
    cells = np.argwhere(free)
    steps = factory_steps(cells[:, 0], cells[:, 1], f) if len(cells) else None
    cells.flags.writeable = False
    if steps is not None:
        steps.flags.writeable = False
    u.derived[key] = (f, cells, steps)
    return cells, steps


def hold(out, x, y, rtype, keep=False, **only):
    """Hold the robot on cell ``(x, y)`` (ints) of ``out`` (bool (S, S, A), edited in place) to robot type
    ``rtype``, plus keep when ``keep``; each keyword names a component (``move_dir``,
    ``transfer_dir``, ``transfer_res``, ``pickup_res``, ``amount``) and gives the bool entries it
    keeps (a choice index or a bool mask). Callers pass only choices ``out`` already allows."""
    row = out[x, y]  # the cell's entries, a view
    keep = keep and bool(row[_T0 + KEEP])
    row[_TYPE] = False
    row[_T0 + rtype] = True
    row[_T0 + KEEP] = keep
    for name, allowed in only.items():
        c = _SLICES[name]
        entries = np.zeros(c.stop - c.start, bool)
        entries[allowed] = True
        row[c] = entries


def hold_fills(out, x, y):
    """:func:`hold_fill` for the robots on the cells ``(x, y)`` (int64 (R,) each, one robot a cell as
    in every game) at once."""
    out[x, y, _TYPE] = False
    out[x, y, _T0 + PICKUP] = True
    out[x, y, _SLICES["pickup_res"]] = _PICKUP_POWER
    out[x, y, _SLICES["amount"]] = _AMOUNT_WHOLE


def steps_to_factories(out, u, idx, f, homes, occupied):
    """:func:`step_to_factory` for our robots ``idx`` (int64 (R,) indices of ``u``, one robot a cell
    as in every game) toward the factories ``homes`` (int64 (R,) indices of ``f``) at once."""
    if len(idx) == 0:
        return
    cx, cy = u.pos[idx, 0], u.pos[idx, 1]
    fx, fy = f.pos[homes, 0][:, None], f.pos[homes, 1][:, None]
    # factory_steps to each robot's factory from its cell and from the four cells around it
    here = np.maximum(np.abs(cx - fx[:, 0]) - 1, 0) + np.maximum(np.abs(cy - fy[:, 0]) - 1, 0)
    nx, ny = cx[:, None] + _MOVE_DX, cy[:, None] + _MOVE_DY
    gain = here[:, None] - np.maximum(np.abs(nx - fx) - 1, 0) - np.maximum(np.abs(ny - fy) - 1, 0)
    head_dir = np.where((u.queue_len[idx] > 0) & (u.head[idx, 0] == A_MOVE), u.head[idx, 1], 0)  # queued_move
    S = occupied.shape[0]
    inside = (nx >= 0) & (nx < S) & (ny >= 0) & (ny < S)
    free = ~inside | ~occupied[np.minimum(np.maximum(nx, 0), S - 1), np.minimum(np.maximum(ny, 0), S - 1)]
    # hold_step, robot by robot in rows
    allowed = out[cx, cy, _M0:_M0 + 4]
    closer = allowed & (gain > 0)
    tiers = (closer & free, allowed & (gain == 0) & free, closer)
    first, second, third = (t.any(axis=1) for t in tiers)
    good = np.where(first[:, None], tiers[0], np.where(second[:, None], tiers[1], tiers[2]))
    held = first | second | third
    on_good = good[np.arange(len(idx)), np.minimum(np.maximum(head_dir - 1, 0), 3)]
    keep = (head_dir >= 1) & (head_dir <= 4) & on_good & out[cx, cy, _T0 + KEEP]
    cx, cy = cx[held], cy[held]
    out[cx, cy, _TYPE] = False
    out[cx, cy, _T0 + MOVE] = True
    out[cx, cy, _T0 + KEEP] = keep[held]
    out[cx, cy, _M0:_M0 + 4] = good[held]


def hold_step(out, x, y, head_dir, gain, occupied):
    """Hold the robot on cell ``(x, y)`` of ``out`` (edited in place) to a move that gets it closer.

    ``gain`` (int64 (4,), for directions up, right, down, left) is how much closer each move gets
    (positive: closer). The moves kept are the allowed ones that step closer into a cell none of our
    robots holds (``occupied``, bool (S, S); another robot standing there would stop it:
    :func:`agent.actions.avoid_own_collisions`), else the free ones that keep the distance (around
    the robot in the way), else the closer ones; keep stays allowed when the queued move
    (``head_dir``, 1-4, else 0) is one of them. Nothing changes when none of these is allowed.
    """
    S = occupied.shape[0]
    # four entries: plain Python (this runs per robot, where numpy's overhead dominates)
    free = [not (0 <= x + dx < S and 0 <= y + dy < S) or not occupied[x + dx, y + dy] for dx, dy in _MOVE_DELTAS]
    allowed = out[x, y, _M0:_M0 + 4].tolist()
    g = np.asarray(gain).tolist()
    for good in ([a and v > 0 and o for a, v, o in zip(allowed, g, free)],
                 [a and v == 0 and o for a, v, o in zip(allowed, g, free)],
                 [a and v > 0 for a, v in zip(allowed, g)]):
        if any(good):
            hold(out, x, y, MOVE, keep=1 <= head_dir <= 4 and bool(good[head_dir - 1]),
                 move_dir=np.array(good, bool))
            return
