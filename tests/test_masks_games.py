"""Full games against the real engine: a policy that only samples unmasked choices never has an
action thrown away by the engine.

Counted with :class:`wrappers.engine.RejectionAudit` (actions dropped by
``luxai_s2.actions.validate_actions``, waterings refused at execution) and
:func:`wrappers.engine.queue_updates_skipped` (queue updates skipped for lack of power):

(a) 20 games, 20 seeds, "neurips" rules (64x64), both players uniform among the unmasked choices
    (:func:`agent.policy.sample_uniform_masked`), early phase by :func:`agent.early.early_action`.
    Uniform play kills its factories by turn ~150, so
(b) 4 longer games, "kaggle" rules (48x48, up to 1000 turns), with a biased but still
    mask-respecting random policy (weights on the masked choices, sampled with
    :func:`agent.policy.sample_masked`): factories build robots when allowed and water only with
    more than 300 water, robots mostly dig / move / transfer / pickup towards ice, ore and their
    factory, never self-destruct. Lichen grows, so the water-cost bound of the masks is exercised.

(c) 20 games, "tiny" rules (16x16, up to 300 turns), with the biased policy told to keep its queue
    whenever keep is allowed (sticky actions, :mod:`agent.action_queue`): queues persist for many
    turns, so long digs, long walks and kept heads close to the power limit at night happen, and
    the test counts that they did.

The tests also check that the audit saw many actions of every type (the test cannot pass
vacuously) and print the counts and the run time (``pytest -s`` shows them).
"""

import dataclasses
import time

import numpy as np

from agent.actions import (
    C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, DIRECTION_DELTAS, F_HEAVY,
    F_LIGHT, F_WATER, KEEP, MOVE, OFFSETS, PICKUP, RECHARGE, SELF_DESTRUCT, TRANSFER, decode,
)
from agent.action_queue import A_DIG, A_MOVE, action_power_cost
from agent.early import early_action, manhattan_distance_map
from agent.masks import action_masks
from agent.obs import GameState
from agent.policy import sample_masked, sample_uniform_masked
from wrappers.engine import RejectionAudit, make_env, queue_updates_skipped

PLAYERS = ("player_0", "player_1")
ACTION_TYPES = ("move", "transfer", "pickup", "dig", "self_destruct", "recharge", "factory_build", "factory_water")
UNIFORM_SEEDS = tuple(range(20))
BIASED_SEEDS = (1, 3, 6, 7)
NEVER = -1e3  # logit of a choice the biased policy does not want (Gumbel noise never beats it)
WATER_THRESHOLD = 300


def play_game(seed, rules, choose, **overrides):
    """Play one full game; ``choose(state, masks, rng) -> cell actions`` for both players.

    Returns a dict of game facts (turns, queue updates skipped, peak robots and lichen...).
    """
    env = make_env(rules, **overrides)
    raw, _ = env.reset(seed=seed)
    cfg = dataclasses.asdict(env.env_cfg)
    states = {p: GameState(cfg, p) for p in PLAYERS}
    rng = np.random.default_rng(seed)
    max_robots = max_lichen = 0
    while True:
        acts = {}
        for p in PLAYERS:
            st = states[p]
            st.update(raw[p], step=env.env_steps)
            if st.is_early_phase:
                acts[p] = early_action(st)
            else:
                masks = action_masks(st)
                acts[p] = decode(st, choose(st, masks, rng))
        raw, rewards, term, trunc, _ = env.step(acts)
        max_robots = max(max_robots, sum(len(env.state.units[p]) for p in PLAYERS))
        max_lichen = max(max_lichen, int(env.state.board.lichen.sum()))
        if any(term[p] or trunc[p] for p in PLAYERS):
            break
    factories = {p: len(env.state.factories[p]) for p in PLAYERS}
    # a -1000 reward with factories left means the engine failed the agent (malformed actions)
    failed = [p for p in PLAYERS if rewards[p] == -1000 and factories[p] > 0]
    return dict(seed=seed, turns=env.state.real_env_steps, skipped=sum(queue_updates_skipped(env).values()),
                max_robots=max_robots, max_lichen=max_lichen, factories=factories, failed=failed)


def uniform(state, masks, rng):
    return sample_uniform_masked(masks, rng)


def biased_logits(state, masks):
    """float (S, S, 34) weights on the choices; the masks still decide what may be chosen."""
    cfg = state.cfg
    S = cfg.map_size
    b = state.board
    o = OFFSETS
    lg = np.zeros(masks.shape, np.float64)
    u = state.my_units
    f = state.my_factories
    occ = state.factory_occupancy()
    own_fac = np.isin(occ, f.strain) & (occ != -1)
    if len(u):
        d_ice = manhattan_distance_map(b["ice"] > 0)
        d_ore = manhattan_distance_map(b["ore"] > 0)
        d_fac = manhattan_distance_map(own_fac)
        mine = np.zeros((S, S), bool)
        mine[u.pos[:, 0], u.pos[:, 1]] = True
        centers = {(int(x), int(y)) for x, y in f.pos}
        for i in range(len(u)):
            x, y = (int(v) for v in u.pos[i])
            heavy = int(u.heavy[i])
            cap, bat = cfg.robot["CARGO_SPACE"][heavy], cfg.robot["BATTERY_CAPACITY"][heavy]
            cargo, power = u.cargo[i], u.power[i]
            lc = lg[x, y]
            t = o[C_TYPE]
            lc[t + KEEP] = -1.0
            lc[t + RECHARGE] = -1.0
            lc[t + SELF_DESTRUCT] = NEVER
            lc[t + MOVE] = 1.5 + 4.0 * ((x, y) in centers)  # clear the center for new robots
            lc[o[C_PRES]:o[C_PRES] + 4] = NEVER  # only power is picked up
            low_power = power < 0.25 * bat
            full = cargo[:2].sum() >= 0.5 * cap
            # heavies (and odd lights) mine ice, even lights ore
            if heavy or int(u.ids[i].split("_")[1]) % 2:
                d_res, on_res = d_ice, b["ice"][x, y] > 0
            else:
                d_res, on_res = d_ore, b["ore"][x, y] > 0
            if own_fac[x, y] and low_power:
                lc[t + PICKUP] += 4
                lc[o[C_PRES] + 4] += 5
                lc[o[C_AMOUNT] + 3] += 2
            if on_res and not (full or low_power):
                lc[t + DIG] += 4
            near_fac = False
            for k in range(5):  # transfer towards our factory, of what is held most
                tx, ty = x + DIRECTION_DELTAS[k, 0], y + DIRECTION_DELTAS[k, 1]
                if 0 <= tx < S and 0 <= ty < S and own_fac[tx, ty]:
                    lc[o[C_TDIR] + k] += 4
                    near_fac = True
            if near_fac and cargo[:2].sum() > 0:
                lc[t + TRANSFER] += 2 + 3 * full
                lc[o[C_TRES] + int(np.argmax(cargo))] += 5
                lc[o[C_AMOUNT] + 3] += 2
            target = d_fac if (full or low_power) else d_res
            for k in range(4):  # move towards the target, not onto our own robots
                tx, ty = x + DIRECTION_DELTAS[k + 1, 0], y + DIRECTION_DELTAS[k + 1, 1]
                if 0 <= tx < S and 0 <= ty < S:
                    lc[o[C_MOVE] + k] += 3.0 * (target[tx, ty] < target[x, y]) - 6.0 * mine[tx, ty]
    if len(f):
        fx, fy = f.pos[:, 0], f.pos[:, 1]
        fl = np.zeros((len(f), 4))
        busy = np.zeros((S, S), bool)
        if len(u):
            busy[u.pos[:, 0], u.pos[:, 1]] = True
        fl[:, F_LIGHT] = 5.0
        fl[:, F_HEAVY] = 8.0 if int(u.heavy.sum()) < len(f) else 3.0
        fl[busy[fx, fy], F_LIGHT] = NEVER  # a robot on the center would collide with the new one
        fl[busy[fx, fy], F_HEAVY] = NEVER
        fl[:, F_WATER] = np.where(f.cargo[:, 2] > WATER_THRESHOLD, 8.0, NEVER)
        lg[fx, fy, o[C_FACTORY]:o[C_FACTORY] + 4] = fl
    return lg


def biased(state, masks, rng):
    return sample_masked(biased_logits(state, masks), masks, rng)


def run_games(seeds, rules, choose, **overrides):
    t0 = time.time()
    with RejectionAudit() as audit:
        games = [play_game(s, rules, choose, **overrides) for s in seeds]
    return games, audit, time.time() - t0


def report(title, games, audit, seconds):
    print(f"\n{title}: {len(games)} games, {sum(g['turns'] for g in games)} turns, {seconds:.1f}s")
    for g in games:
        print(f"  seed {g['seed']}: {g['turns']} turns, peak robots {g['max_robots']}, "
              f"peak lichen {g['max_lichen']}, factories left {g['factories']}")
    print("  checked: " + ", ".join(f"{k} {audit.checked[k]}" for k in ACTION_TYPES))
    print(f"  rejected {dict(audit.rejected)}, waterings refused {audit.water_refused}, "
          f"queue updates skipped {sum(g['skipped'] for g in games)}")


def assert_nothing_rejected(games, audit):
    assert audit.total_rejected == 0, dict(audit.rejected)
    assert audit.water_refused == 0
    assert [g["skipped"] for g in games] == [0] * len(games)
    assert not [g for g in games if g["failed"]]


def test_uniform_masked_play_is_never_rejected():
    games, audit, seconds = run_games(UNIFORM_SEEDS, "neurips", uniform)
    report("uniform masked play, neurips rules", games, audit, seconds)
    assert_nothing_rejected(games, audit)
    assert len({g["seed"] for g in games}) == 20
    for kind in ACTION_TYPES:
        assert audit.checked[kind] >= 50, (kind, audit.checked[kind])


def test_long_biased_masked_play_is_never_rejected():
    games, audit, seconds = run_games(BIASED_SEEDS, "kaggle", biased, max_episode_length=1000)
    report("biased masked play, kaggle rules", games, audit, seconds)
    assert_nothing_rejected(games, audit)
    for g in games:
        assert g["max_lichen"] > 0, g
        assert g["max_robots"] > 20, g
    assert max(g["turns"] for g in games) == 1000
    assert audit.checked["self_destruct"] == 0  # the policy never self-destructs
    for kind in ACTION_TYPES:
        if kind != "self_destruct":
            assert audit.checked[kind] >= 200, (kind, audit.checked[kind])


STICKY_SEEDS = tuple(range(100, 120))


class StickyPlay:
    """The biased policy, but it keeps its queue whenever keep is allowed with probability
    ``p_keep``; counts the persisting queues it produces."""

    def __init__(self, p_keep=0.85):
        self.p_keep = p_keep
        self.run = {}  # unit_id -> (head type, turns kept in a row)
        self.longest = {}  # head type -> longest run of kept turns
        self.long_runs = {A_MOVE: 0, A_DIG: 0}  # runs of >= 5 kept moves / >= 10 kept digs
        self.night_low_power_keeps = 0  # kept a power-spending head at night with P - cost < 3 Q

    def __call__(self, state, masks, rng):
        a = biased(state, masks, rng)
        u = state.my_units
        if not len(u):
            return a
        x, y = u.pos[:, 0], u.pos[:, 1]
        keep_ok = masks[x, y, OFFSETS[C_TYPE] + KEEP] & (u.queue_len > 0)
        kept = keep_ok & (rng.random(len(u)) < self.p_keep)
        a[x[kept], y[kept], C_TYPE] = KEEP
        cost = action_power_cost(state, u.head, np.arange(len(u)))
        q = state.cfg.robot["ACTION_QUEUE_POWER_COST"][u.heavy.astype(np.int64)]
        night = not state.is_day()
        for i, uid in enumerate(u.ids):
            typ = int(u.head[i, 0])
            if not kept[i]:
                self.run.pop(uid, None)
                continue
            t, n = self.run.get(uid, (typ, 0))
            n = n + 1 if t == typ else 1
            self.run[uid] = (typ, n)
            self.longest[typ] = max(self.longest.get(typ, 0), n)
            if typ in self.long_runs and n == (5 if typ == A_MOVE else 10):
                self.long_runs[typ] += 1
            if night and cost[i] > 0 and u.power[i] - cost[i] < 3 * q[i]:
                self.night_low_power_keeps += 1
        return a


def test_sticky_queues_that_persist_are_never_rejected():
    policy = StickyPlay()
    games, audit, seconds = run_games(STICKY_SEEDS, "tiny", policy, max_episode_length=300)
    report("sticky biased masked play, tiny rules", games, audit, seconds)
    print(f"  longest kept run by engine type {policy.longest}, runs of >= 5 moves / >= 10 digs "
          f"{policy.long_runs}, night keeps near the power limit {policy.night_low_power_keeps}")
    assert_nothing_rejected(games, audit)
    assert len(games) >= 20
    assert policy.long_runs[A_MOVE] >= 20 and policy.long_runs[A_DIG] >= 20, policy.long_runs
    assert policy.night_low_power_keeps >= 20, policy.night_low_power_keeps
    for kind in ("move", "dig", "transfer", "pickup", "recharge", "factory_build"):
        assert audit.checked[kind] >= 100, (kind, audit.checked[kind])


def test_audit_sees_rejections_when_there_are_some():
    """The harness itself is not blind: unmasked actions that the engine must drop are counted."""
    env = make_env("tiny")
    raw, _ = env.reset(seed=0)
    cfg = dataclasses.asdict(env.env_cfg)
    states = {p: GameState(cfg, p) for p in PLAYERS}
    with RejectionAudit() as audit:
        while env.state.real_env_steps < 0:
            for p in PLAYERS:
                states[p].update(raw[p], step=env.env_steps)
            raw, *_ = env.step({p: early_action(states[p]) for p in PLAYERS})
        fid = next(iter(env.state.factories["player_0"]))
        env.state.factories["player_0"][fid].cargo.metal = 150
        env.step({"player_0": {fid: 1}, "player_1": {}})  # HEAVY: 150 -> 50 metal
        uid = next(iter(env.state.units["player_0"]))
        # a second HEAVY without the metal, and a dig on the factory center
        env.step({"player_0": {fid: 1, uid: [[3, 0, 0, 0, 0, 1]]}, "player_1": {}})
    assert audit.rejected["factory_build"] == 1
    assert audit.rejected["dig"] == 1


def test_exact_mask_rules_forbid_nothing_the_engine_accepts():
    """training.evaluation.mask_audit: in real states, the forbidden choices of the exact rules are all
    rejected by validate_actions; the deliberately stricter rules do forbid accepted choices."""
    from training.evaluation.mask_audit import REASONS, run, table

    counts = run(games=2, rules="tiny", every=3, seed0=2000, max_turns=300, progress=False)
    print("\n" + table(counts))
    for row, why in REASONS.items():
        if why == "exact":
            assert counts[row]["accepted"] == 0, (row, counts[row])
    for row in ("move_dir", "self_destruct", "build_heavy"):
        assert counts[row]["forbidden"] >= 20, (row, counts[row])  # not vacuous
    assert counts["transfer_dir"]["accepted"] > 0 and counts["dig"]["accepted"] > 0
