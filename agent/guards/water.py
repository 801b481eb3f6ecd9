"""The water guard: a factory never waters lichen below the water it needs to live to the last turn.

Also the rule itself (:func:`water_reserve_ok`), which the scripted baseline (:mod:`agent.scripted`)
and the bot's cheap turn-budget path (:func:`agent.player.cheap_action`) water by.
"""

import numpy as np

from agent.actions import C_FACTORY, F_WATER, RES_WATER, component_slice
from agent.guards.base import Guard, remaining_turns
from agent.masks import coarse_water_cost_bound, water_cost_bound


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
    have, need = f.cargo[:, RES_WATER], water_to_last_turn(state, margin)
    if costs is None:
        # water_cost_bound's flood fill only where cheaper bounds leave the answer open: the cost is
        # >= 0 and at most coarse_water_cost_bound
        ok = have - coarse_water_cost_bound(state) >= need
        if (ok | (have < need)).all():
            return ok
        costs = water_cost_bound(state)
    return have - costs >= need


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
    water = component_slice(C_FACTORY).start + F_WATER
    unsafe = masks[f.pos[:, 0], f.pos[:, 1], water]  # only where watering is allowed
    if unsafe.any():
        unsafe = unsafe & ~water_reserve_ok(state, margin=margin)
    if not unsafe.any():
        return masks
    masks = masks.copy()
    masks[f.pos[unsafe, 0], f.pos[unsafe, 1], water] = False
    return masks


GUARD = Guard("water_guard", "factories never water lichen below the water they need to live to the last turn",
              guard_water)
