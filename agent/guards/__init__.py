"""The decoding guards: strategy rules that narrow :func:`agent.masks.action_masks` further.

``agent.masks`` says what the engine accepts; a guard says what the playing agent should not do
though the engine accepts it (water its lichen to death, strand a HEAVY far from home, ...). Each
guard is one module here (its constants, its function, its :class:`~agent.guards.base.Guard`
record) and one line of :data:`REGISTRY`, the order in which :func:`guarded_masks` applies them.
Everything else loops over the registry: agent.json's keys (:data:`agent.player.CONFIG_KEYS`),
train.py's ``key=value`` config (``training.ppo.config.TrainConfig``), the ``--xxx-guard`` flags of
the evaluation and packaging scripts, ``scripts/shipped_guards.py``, the tests' guard chain and the
README's table of guards (``python scripts/guard_table.py``).

Adding a guard: a module here with a ``GUARD = Guard(key, help, apply, needs)``, its line in
:data:`REGISTRY` (where it applies relative to the others), a test in tests/test_masks_rules.py,
and ``python scripts/guard_table.py --write`` for the README.

Only the standard library and numpy are used here (game-time code: Python 3.7, numpy 1.21).
"""

from agent.features import encode, home_cost_map
from agent.guards import frontier, heavy_rubble, ice, light_power, ore, park, power, raid, rubble, water
from agent.guards.base import NEEDS, Guard
from agent.masks import action_masks

# The decoding guards in the order guarded_masks applies them (each sees the masks the ones before
# it left). One definition: the bot, the training env, the evaluation and packaging flags, the
# train.py config and the README table all loop over it.
REGISTRY = (
    water.GUARD,         # first: only narrows factory watering
    power.GUARD,
    park.GUARD,          # a parked robot then moves or digs only where the guards before allow it
    frontier.GUARD,
    rubble.GUARD,
    light_power.GUARD,
    heavy_rubble.GUARD,
    ice.GUARD,           # after the robot guards: a thirsty factory's heavies bring it ice whatever they asked
    ore.GUARD,           # after ice: its miners are LIGHT robots, which the ice guard leaves alone
    raid.GUARD,          # last: takes its raiders from the unguarded masks (needs "base")
)

# agent.json key -> what the guard does (the help text of --water-guard etc. and the bot's start-up line)
GUARDS = {g.key: g.help for g in REGISTRY}

__all__ = ["GUARDS", "Guard", "NEEDS", "REGISTRY", "guard_options", "guarded_masks"]


def guard_options(**guards):
    """Every guard of :data:`REGISTRY` as a bool, from keyword arguments (missing ones are off).

    Raises:
        TypeError: an argument is not a key of :data:`GUARDS` (names the allowed keys).
    """
    unknown = sorted(set(guards) - set(GUARDS))
    if unknown:
        raise TypeError(f"unknown decoding guard(s) {unknown}; allowed: {list(GUARDS)}")
    return {k: bool(guards.get(k, False)) for k in GUARDS}


def guarded_masks(state, planes=None, **guards):
    """The choices the playing agent may make: :func:`agent.masks.action_masks`, then each guard
    of :data:`REGISTRY` that is on, in registry order. The one place both the shipped bot
    (:class:`agent.player.NetPolicy`) and the training env (``wrappers.lux_env.LuxGridEnv``)
    compose them, so training samples what the bot may play.

    Args:
        state (agent.obs.GameState): a main-phase state.
        planes (np.ndarray | None): float (C, S, S) of :func:`agent.features.encode` for ``state``,
            for the guards that need it (or the ``home_cost`` map); encoded here when None and needed.
        **guards (bool): which guards apply, keys of :data:`GUARDS` (missing ones are off).

    Returns:
        np.ndarray: bool (S, S, A), A = 34.

    Raises:
        TypeError: an unknown guard keyword.
    """
    options = guard_options(**guards)
    on = [g for g in REGISTRY if options[g.key]]
    masks = base = action_masks(state)
    needs = {n for g in on for n in g.needs}
    if planes is None and needs & {"planes", "home_cost"}:
        planes = encode(state)[0]  # once, for all the guards that read it
    inputs = dict(planes=planes, base=base,
                  home_cost=home_cost_map(planes) if "home_cost" in needs else None)
    for guard in on:
        masks = guard.apply(state, masks, **{n: inputs[n] for n in guard.needs})
    return masks
