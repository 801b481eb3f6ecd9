"""What the masks forbid that the engine would accept: false negatives per mask rule.

    python -m training.evaluation.mask_audit [games=4] [rules=kaggle] [every=5] [seed0=2000]

The masks (:mod:`agent.masks`) promise that every allowed choice is accepted by the engine; this
measures the other direction. In real game states (the scripted baseline against itself and
against the random-masked policy, both sides), every choice the masks forbid for one of our robots
or factories is put to the engine's own check, ``luxai_s2.actions.validate_actions``, on the live
engine state, after the queue-update cost the choice would pay (the engine skips a queue update
the robot cannot pay, ``LuxAI_S2.step``, so a choice of a robot with less than
``ACTION_QUEUE_POWER_COST`` is never accepted). Watering is checked against both of the engine's
prices: the validate-time cache and the cache recomputed on the current board
(``Factory.cache_water_info``), an estimate of the execution-time cost that assumes no rubble or
lichen changes this turn. A forbidden choice the engine would accept is a false negative of its
rule. Each row is a component's choice entries (``transfer_dir``: the 5 directions of a robot
that may transfer, ...).

Rules that are exact give 0; the others are stricter on purpose, and :data:`REASONS` says why.
"""

import sys
import time
from collections import Counter, defaultdict

import numpy as np

from agent.actions import (
    A_DIG, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, F_HEAVY, F_LIGHT, F_WATER, KEEP, MOVE,
    PICKUP, RECHARGE, SELF_DESTRUCT, TRANSFER, component_slice,
)
from agent.action_queue import dig_useful
from agent.masks import action_masks

ROWS = ("keep_power", "keep_useless_dig", "move_dir", "transfer_dir", "transfer_res", "pickup", "pickup_res", "dig",
        "self_destruct",
        "recharge", "build_light", "build_heavy", "water")
REASONS = {
    "keep_power": "deliberate: a power-spending head that stays queued must leave Q after it, else the "
                  "robot could be stuck with an invalid head it cannot replace",
    "keep_useless_dig": "deliberate (useful): a kept dig head needs something to dig, as dig",
    "move_dir": "exact",
    "transfer_dir": "deliberate (useful): only onto our factory or our robot; elsewhere the cargo is lost",
    "transfer_res": "deliberate (useful): only a resource the robot holds (a transfer of 0 does nothing)",
    "pickup": "deliberate (useful): a pickup needs a resource with stock and room for it",
    "pickup_res": "deliberate (useful): stock > 0, room for it, water keeps the factory's 50-water reserve",
    "dig": "deliberate (useful): rubble, lichen, or ice/ore with room in that cargo",
    "self_destruct": "exact",
    "recharge": "exact",
    "build_light": "exact",
    "build_heavy": "exact",
    "water": "the watering cost is an upper bound (agent.masks.water_cost_bound) of the engine's two prices",
}


def _accepts(env, unit_or_factory, vec=None, factory_action=None, action=None):
    """Whether ``validate_actions`` keeps one action of one unit (or factory) on the live state:
    an engine action vector, a factory action, or an engine ``Action`` object."""
    from luxai_s2.actions import format_action_vec, format_factory_action, validate_actions

    if action is not None:
        act = action
    elif vec is not None:
        act = format_action_vec(np.asarray(vec))
    else:
        act = format_factory_action(factory_action)
    by_type = defaultdict(list)
    by_type[act.act_type].append((unit_or_factory, act))
    out = validate_actions(env.env_cfg, env.state, by_type, verbose=0)
    return len(out.get(act.act_type, [])) == 1


def audit_state(env, state, counts):
    """Add this state's forbidden choices and false negatives to ``counts``.

    Args:
        env (luxai_s2.env.LuxAI_S2): the engine, at the turn ``state`` observes (before its step).
        state (agent.obs.GameState): a main-phase state of one player.
        counts (dict[str, Counter]): row -> Counter(forbidden=..., accepted=...), updated in place.
    """
    masks = action_masks(state)
    cfg = env.env_cfg
    units = env.state.units[state.player]
    u = state.my_units
    useful_dig = dig_useful(state) if len(u) else np.zeros(0, bool)
    for i, uid in enumerate(u.ids):
        U = units[uid]
        x, y = (int(v) for v in u.pos[i])
        m = masks[x, y]
        t = m[component_slice(C_TYPE)]
        q = cfg.ROBOTS[U.unit_type.name].ACTION_QUEUE_POWER_COST
        if not t[KEEP] and u.queue_len[i] > 0:
            useless = u.head[i, 0] == A_DIG and not useful_dig[i]
            row = "keep_useless_dig" if useless else "keep_power"
            counts[row]["forbidden"] += 1
            counts[row]["accepted"] += _accepts(env, U, action=U.action_queue[0])
        if U.power < q:
            continue  # no queue update would take effect: nothing but keep can be accepted
        U.power -= q  # the choice pays the queue update first (LuxAI_S2.step)
        try:
            checks = []
            if t[MOVE]:
                checks += [("move_dir", not m[component_slice(C_MOVE)][d], [0, d + 1, 0, 0, 0, 1]) for d in range(4)]
            td, tr = m[component_slice(C_TDIR)], m[component_slice(C_TRES)]
            if t[TRANSFER] or td.any():
                checks += [("transfer_dir", not td[d], [1, d, int(np.argmax(tr)), 1, 0, 1]) for d in range(5)]
            if t[TRANSFER] or tr.any():
                checks += [("transfer_res", not tr[r], [1, int(np.argmax(td)), r, 1, 0, 1]) for r in range(5)]
            pr = m[component_slice(C_PRES)]
            checks.append(("pickup", not t[PICKUP], [2, 0, 4, 1, 0, 1]))
            if t[PICKUP]:
                checks += [("pickup_res", not pr[r], [2, 0, r, 1, 0, 1]) for r in range(5)]
            checks.append(("dig", not t[DIG], [3, 0, 0, 0, 0, 1]))
            checks.append(("self_destruct", not t[SELF_DESTRUCT], [4, 0, 0, 0, 0, 1]))
            checks.append(("recharge", not t[RECHARGE], [5, 0, 0, 1, 0, 1]))
            for row, forbidden, vec in checks:
                if forbidden:
                    counts[row]["forbidden"] += 1
                    counts[row]["accepted"] += _accepts(env, U, vec=vec)
        finally:
            U.power += q
    factories = env.state.factories[state.player]
    f = state.my_factories
    for i, fid in enumerate(f.ids):
        F = factories[fid]
        x, y = (int(v) for v in f.pos[i])
        fm = masks[x, y, component_slice(C_FACTORY)]
        for row, choice, action in (("build_light", F_LIGHT, 0), ("build_heavy", F_HEAVY, 1)):
            if not fm[choice]:
                counts[row]["forbidden"] += 1
                counts[row]["accepted"] += _accepts(env, F, factory_action=action)
        if not fm[F_WATER]:
            counts["water"]["forbidden"] += 1
            cached = F.water_cost(cfg)
            saved = (F.grow_lichen_positions, F.connected_lichen_positions)
            F.cache_water_info(env.state.board, cfg)
            now = F.water_cost(cfg)
            F.grow_lichen_positions, F.connected_lichen_positions = saved
            counts["water"]["accepted"] += int(F.cargo.water >= max(cached, now))


def run(games=4, rules="kaggle", every=5, seed0=2000, max_turns=1000, progress=True):
    """Play ``games`` games (scripted self-play and scripted vs random-masked, alternating) and audit
    every ``every``-th main-phase turn of both players.

    Returns:
        dict[str, Counter]: row -> Counter(forbidden, accepted).
    """
    from agent.actions import decode
    from agent.policy import RandomMaskedPolicy
    from agent.scripted import ScriptedPolicy
    from wrappers.engine import make_env, quiet_engine, run_game

    counts = {row: Counter() for row in ROWS}
    for g in range(games):
        seed = seed0 + g
        env = make_env(rules, max_episode_length=max_turns)
        kinds = ("scripted", "scripted") if g % 2 == 0 else (("scripted", "random") if g % 4 == 1 else ("random", "scripted"))
        policies = {p: (ScriptedPolicy(seed) if k == "scripted" else RandomMaskedPolicy(seed))
                    for p, k in zip(("player_0", "player_1"), kinds)}

        def act(p, st, env=env):
            if st.real_env_steps % every == 0:
                audit_state(env, st, counts)
            return decode(st, policies[p](st))

        t0 = time.perf_counter()
        with quiet_engine():
            run_game(env, seed, act)
        if progress:
            print(f"game {g + 1}/{games}: seed {seed}, {kinds[0]} vs {kinds[1]}, {env.state.real_env_steps} turns, "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return counts


def table(counts):
    """The markdown table of false negatives per rule."""
    lines = ["| rule | forbidden choices checked | the engine would accept | rate | why |",
             "| --- | ---: | ---: | ---: | --- |"]
    for row in ROWS:
        c = counts[row]
        rate = c["accepted"] / c["forbidden"] if c["forbidden"] else 0.0
        lines.append(f"| {row} | {c['forbidden']} | {c['accepted']} | {rate:.1%} | {REASONS[row]} |")
    return "\n".join(lines)


def main(argv=None):
    from training.kv import ConfigError, convert_value, split_kv

    kw = dict(games=4, rules="kaggle", every=5, seed0=2000, max_turns=1000)
    try:
        for key, value in split_kv(sys.argv[1:] if argv is None else argv, keys=sorted(kw))[1].items():
            if key not in kw:
                raise ConfigError(f"unknown key {key!r}; valid keys: {', '.join(sorted(kw))}")
            kw[key] = convert_value(key, type(kw[key]), value)
    except ConfigError as e:
        print(f"mask_audit: {e}", file=sys.stderr)
        return 2
    print(table(run(**kw)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
