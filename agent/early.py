"""The early phase: bidding and factory placement.

Placement uses the same map-shaped machinery as the main phase: a categorical over cells,
masked by ``board["valid_spawns_mask"]`` (the engine's ``Board.valid_spawns_mask``, updated by
``LuxAI_S2.add_factory``). The default logits are a heuristic (ice next to the factory first,
then ore, room for lichen) that a learned placement head can later replace.

Step 0 is the bid (``LuxAI_S2._handle_bid``): ``{"faction": ..., "bid": b}``; the winner pays
``|b|`` water and metal and places first (a negative bid means "let the other place first").
Placement turns alternate (``luxai_s2.utils.my_turn_to_place_factory``);
the action is ``{"spawn": [x, y], "metal": m, "water": w}`` (``_handle_factory_placement_step``).

Only the standard library and numpy are used (this runs on Kaggle).
"""

import numpy as np

FACTION = "AlphaStrike"


def bid_action(bid=0, faction=FACTION):
    """Step-0 action: ``{"faction": faction, "bid": bid}`` (bid in water=metal units, int)."""
    return {"faction": str(faction), "bid": int(bid)}


def manhattan_distance_map(targets):
    """Manhattan distance (cells) from every cell to the nearest True cell of ``targets``.

    Args:
        targets (np.ndarray): bool (S, S).

    Returns:
        np.ndarray: int64 (S, S); ``2 * S`` everywhere when there is no target.
    """
    S = targets.shape[0]
    big = 2 * S
    dist = np.where(targets, 0, big).astype(np.int64)
    # two-pass separable exact L1 distance transform: rows then columns
    for axis in (0, 1):
        d = np.moveaxis(dist, axis, 0).copy()
        for i in range(1, S):
            d[i] = np.minimum(d[i], d[i - 1] + 1)
        for i in range(S - 2, -1, -1):
            d[i] = np.minimum(d[i], d[i + 1] + 1)
        dist = np.moveaxis(d, 0, axis)
    return np.minimum(dist, big)


def placement_mask(state):
    """bool (S, S): cells where a factory center may be placed now (``valid_spawns_mask``)."""
    return np.asarray(state.board["valid_spawns_mask"], bool)


def _box_sum(a, r):
    """Sum of ``a`` over the (2r+1)x(2r+1) box around every cell (zero outside the map)."""
    S = a.shape[0]
    pad = np.pad(a.astype(np.float64), r)
    return sum(pad[r + dx:r + dx + S, r + dy:r + dy + S] for dx in range(-r, r + 1) for dy in range(-r, r + 1))


def placement_logits(state):
    """Heuristic placement scores, float32 (S, S) (higher is better; invalid cells -inf).

    Score per valid center cell: ``-3 x d_ice - 0.3 x min(d_ore, 12) + 0.5 x min(ice cells
    within 5, 4) + 0.02 x (open cells within 5) - 0.2 x max(0, 8 - distance to the nearest
    opponent factory)``, with ``d`` the Manhattan distance (cells) from the factory's 3x3 edge.
    Ice comes first: a factory without ice in reach dies of thirst (150 water, 1 a turn).
    """
    b = state.board
    S = b["rubble"].shape[0]
    ice = b["ice"] > 0
    ice_d = np.maximum(manhattan_distance_map(ice) - 2, 0)
    ore_d = np.maximum(manhattan_distance_map(b["ore"] > 0) - 2, 0)
    free = _box_sum((b["rubble"] == 0) & ~ice & (b["ore"] == 0), 5)
    score = -3.0 * ice_d - 0.3 * np.minimum(ore_d, 12) + 0.5 * np.minimum(_box_sum(ice, 5), 4) + 0.02 * free
    opp = state.opp_factories
    if len(opp):
        xs, ys = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
        dmin = np.min(np.abs(xs[None] - opp.pos[:, 0, None, None]) + np.abs(ys[None] - opp.pos[:, 1, None, None]),
                      axis=0)
        score = score - 0.2 * np.maximum(0, 8 - dmin)
    return np.where(placement_mask(state), score, -np.inf).astype(np.float32)


def placement_action(state, logits=None):
    """Factory placement for this turn, or ``{}`` when it is not our turn or nothing is valid.

    Args:
        state (agent.obs.GameState): an early-phase state.
        logits (np.ndarray | None): float (S, S) scores; the heuristic when omitted. The argmax
            over valid cells is taken.

    Returns:
        dict: ``{"spawn": [x, y], "metal": m, "water": w}`` with the team's remaining water and
        metal split evenly over the factories still to place (the last one takes the rest).
    """
    if not state.my_turn_to_place():
        return {}
    mask = placement_mask(state)
    if not mask.any():
        return {}
    scores = placement_logits(state) if logits is None else np.where(mask, logits, -np.inf)
    flat = int(np.argmax(scores))
    S = mask.shape[0]
    x, y = divmod(flat, S)
    team = state.teams[state.player]
    left = max(int(team.get("factories_to_place", 1)), 1)
    metal = int(team.get("metal", 0)) // left
    water = int(team.get("water", 0)) // left
    return {"spawn": [int(x), int(y)], "metal": metal, "water": water}


def early_action(state, bid=0):
    """The action for a bidding or placement step: bid at step 0, placement afterwards."""
    if state.step == 0:
        return bid_action(bid)
    return placement_action(state)
