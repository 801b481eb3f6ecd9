"""The :class:`Guard` record of :mod:`agent.guards` and the helpers several guards share.

Every helper that edits masks takes ``out`` (bool (S, S, A), A = 34, laid out as
:data:`agent.actions.OFFSETS`) and changes it in place; the guards copy their input first.
"""

from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np

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
    return u, u.pos[:, 0], u.pos[:, 1], component_slice(C_TYPE).start


_MOVE_DELTAS = [(int(dx), int(dy)) for dx, dy in DIRECTION_DELTAS[1:]]  # up, right, down, left
WHOLE = int(np.flatnonzero(AMOUNT_FRACTIONS == 1.0)[0])  # the amount choice of 100 %: a whole cargo or battery


def queued_move(u, i):
    """The direction (1-4: up, right, down, left) of robot ``i``'s queued move (``u``:
    ``state.my_units``), 0 when its queue head is no move."""
    return int(u.head[i, 1]) if u.queue_len[i] > 0 and u.head[i, 0] == A_MOVE else 0


def unit_numbers(u):
    """int64 (N,): the numbers of our robots' unit_ids (``"unit_12"`` -> 12), in ``u`` order; a
    robot built later has a larger one (``LuxAI_S2.add_unit``)."""
    return np.array([int(s.rsplit("_", 1)[-1]) for s in u.ids], np.int64)


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
    gain = np.array([here - max(abs(cx + dx - fx) - 1, 0) - max(abs(cy + dy - fy) - 1, 0)
                     for dx, dy in _MOVE_DELTAS], np.int64)
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
    return (masks[x, y, component_slice(C_TYPE).start + PICKUP] & masks[x, y, component_slice(C_PRES).start + RES_POWER]
            & masks[x, y, component_slice(C_AMOUNT).start + WHOLE])


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


def hold(out, x, y, rtype, keep=False, **only):
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
    m0 = component_slice(C_MOVE).start
    allowed = out[x, y, m0:m0 + 4].tolist()
    g = np.asarray(gain).tolist()
    for good in ([a and v > 0 and o for a, v, o in zip(allowed, g, free)],
                 [a and v == 0 and o for a, v, o in zip(allowed, g, free)],
                 [a and v > 0 for a, v in zip(allowed, g)]):
        if any(good):
            hold(out, x, y, MOVE, keep=1 <= head_dir <= 4 and bool(good[head_dir - 1]),
                 move_dir=np.array(good, bool))
            return
