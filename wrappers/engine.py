"""Making games of the real engine (``luxai_s2.env.LuxAI_S2``) and auditing what it rejects.

Rule presets (``rules=``):

=========  ========  =========================  ===============================================
name       map       factories per team         what it is
=========  ========  =========================  ===============================================
neurips    64x64     4-10                       luxai-s2 3.0.1 defaults (NeurIPS 2023 edition)
kaggle     48x48     2-5                        the original Kaggle season
small      32x32     2-3                        curriculum stage
tiny       16x16     1-2                        curriculum stage / fast tests
=========  ========  =========================  ===============================================
"""

import contextlib
import warnings
from collections import Counter

import luxai_s2.env as lux_env
from luxai_s2.env import LuxAI_S2

# The engine validates actions with gymnasium Box.contains, which warns for every JSON-style list.
warnings.filterwarnings("ignore", message=".*Casting input x to numpy array.*")

RULES = {
    "neurips": dict(map_size=64, MIN_FACTORIES=4, MAX_FACTORIES=10),
    "kaggle": dict(map_size=48, MIN_FACTORIES=2, MAX_FACTORIES=5),
    "small": dict(map_size=32, MIN_FACTORIES=2, MAX_FACTORIES=3),
    "tiny": dict(map_size=16, MIN_FACTORIES=1, MAX_FACTORIES=2),
}


def rules_kwargs(rules="neurips", **overrides):
    """EnvConfig keyword arguments of a rule preset (see table), with overrides.

    Raises:
        ValueError: unknown preset name.
    """
    if rules not in RULES:
        raise ValueError(f"unknown rules={rules!r}; choose one of {sorted(RULES)}")
    kw = dict(RULES[rules])
    kw.update(overrides)
    return kw


def make_env(rules="neurips", collect_stats=True, verbose=0, **overrides):
    """A ``LuxAI_S2`` engine for a rule preset; ``verbose=0`` keeps it quiet."""
    return LuxAI_S2(collect_stats=collect_stats, verbose=verbose, **rules_kwargs(rules, **overrides))


class RejectionAudit:
    """Counts actions the engine throws away, by wrapping the engine's own checks.

    While active (``with RejectionAudit() as audit:``) it wraps
    ``luxai_s2.env.validate_actions`` (counts, per action type, how many queued actions it drops),
    ``LuxAI_S2._handle_factory_water_actions`` (waterings refused at execution because the cost
    rose) and the queue update in ``LuxAI_S2.step`` (queue updates skipped for lack of power,
    read from the engine's own ``action_queue_updates_total/success`` stats).

    Attributes:
        rejected (Counter): action type -> count dropped by ``validate_actions``.
        water_refused (int): waterings refused at execution.
        checked (Counter): action type -> count seen by ``validate_actions``.
    """

    def __init__(self):
        self.rejected = Counter()
        self.checked = Counter()
        self.water_refused = 0

    def __enter__(self):
        self._orig_validate = lux_env.validate_actions
        self._orig_water = LuxAI_S2._handle_factory_water_actions
        audit = self

        def validate(env_cfg, state, actions_by_type, verbose=1):
            out = audit._orig_validate(env_cfg, state, actions_by_type, verbose=verbose)
            for kind, acts in actions_by_type.items():
                audit.checked[kind] += len(acts)
                dropped = len(acts) - len(out.get(kind, []))
                if dropped:
                    audit.rejected[kind] += dropped
            return out

        def water(env_self, actions_by_type):
            for factory, _ in actions_by_type["factory_water"]:
                if factory.water_cost(env_self.env_cfg) > factory.cargo.water:
                    audit.water_refused += 1
            return audit._orig_water(env_self, actions_by_type)

        lux_env.validate_actions = validate
        LuxAI_S2._handle_factory_water_actions = water
        return self

    def __exit__(self, *exc):
        lux_env.validate_actions = self._orig_validate
        LuxAI_S2._handle_factory_water_actions = self._orig_water
        return False

    @property
    def total_rejected(self):
        return sum(self.rejected.values())


def queue_updates_skipped(env):
    """Queue updates the engine skipped for lack of power, per player (needs collect_stats)."""
    out = {}
    for p, s in env.state.stats.items():
        out[p] = int(s["action_queue_updates_total"] - s["action_queue_updates_success"])
    return out


@contextlib.contextmanager
def quiet_engine():
    """Silence the engine's prints (it prints through ``print`` when verbose > 0)."""
    import io
    import sys

    old = sys.stdout
    sys.stdout = io.StringIO()
    try:
        yield
    finally:
        sys.stdout = old


def run_game(env, map_seed, act, on_step=None, on_reset=None):
    """Play one game on ``env`` (a ``LuxAI_S2``) to its end.

    Both players keep an :class:`agent.obs.GameState`; bidding and placement use
    :func:`agent.early.early_action`; in the main phase ``act(player, state)`` returns that
    player's action dict. ``on_reset(env)`` runs once after the reset, ``on_step(env, acts, obs)``
    after every engine step.

    Returns:
        (rewards, states): the engine's final rewards per player and the two GameStates.
    """
    import dataclasses

    from agent.early import early_action
    from agent.obs import GameState

    obs, _ = env.reset(seed=map_seed)
    if on_reset is not None:
        on_reset(env)
    cfg = dataclasses.asdict(env.env_cfg)
    states = {p: GameState(cfg, p) for p in ("player_0", "player_1")}
    rewards = {p: 0 for p in states}
    done = False
    while not done:
        acts = {}
        for p, st in states.items():
            st.update(obs[p], step=env.env_steps)
            acts[p] = early_action(st) if (st.step == 0 or st.is_early_phase) else act(p, st)
        obs, rewards, term, trunc, _ = env.step(acts)
        done = any(term.values()) or any(trunc.values())
        if on_step is not None:
            on_step(env, acts, obs)
    return rewards, states
