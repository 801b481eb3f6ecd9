"""Per-step cost of the wrapper's own work vs the raw Lux S2 engine step, at mid-game unit counts.

Usage::

    .venv/bin/python benchmarks/env_step.py [--rules neurips] [--seeds 3] [--turns 300]
                                            [--warmup-units N] [--no-profile]

For each map seed ``0 .. seeds-1`` one game is played with a fixed-seed *scripted-random* action
stream for both sides (see :func:`scripted_cell_actions`), for at most ``--turns`` main-phase
turns (a game can end earlier when a side loses its last factory). Turns are measured once both
sides have at least ``--warmup-units`` robots (the warm-up turns are played the same way but not
timed). Per measured turn the script times, with ``time.perf_counter`` (wall clock, the
headline numbers; ``time.process_time`` is recorded alongside because on a busy machine the
wall clock also counts time the process spent descheduled):

* ``engine``: the raw ``LuxAI_S2.step`` call, and
* the wrapper's own work for the learner (``player_0``): ``GameState.update`` of the new
  observation, ``features.encode`` (into a reused buffer), ``masks.action_masks`` and
  ``actions.decode``, and
* the guarded masks as the shipped bot computes them: ``agent.guards.guarded_masks`` with this
  turn's planes and the guards that ``agent/weights/agent.json`` turns on (it calls
  ``action_masks`` itself; ``agent.player.NetPolicy`` and ``wrappers.lux_env.LuxGridEnv`` with
  guards do the same).

The action stream itself (the scripted policy, and everything the opponent does) is not timed:
it stands in for the policy network and the opponent; it chooses from the exact masks, so both
paths are timed on the same turns of the same game. Two ratios are reported:
``(engine + update + encode + action_masks + decode) / engine`` (the exact-mask path, goal <= 1.3)
and ``(engine + update + encode + guarded_masks + decode) / engine`` (the guarded path: what the
shipped bot and a guarded training env pay; goal <= 1.4, the guards' own work on top of 1.3).

Then the same seeds and the same action stream are replayed through
``wrappers.lux_env.LuxGridEnv`` (``cell_masks()`` + ``step()``), timing the full call and,
inside it, the engine step and the opponent callable; the script checks that the replay is the
same game (same robot counts on every turn).

Finally (unless ``--no-profile``) the wrapper work of the first seed is run under ``cProfile``
(the profiler is enabled only around the four wrapper calls) and the top functions are printed.

Why not uniform random actions: under ``agent.policy.sample_uniform_masked`` robots self-destruct,
factories water lichen at random and nobody delivers ice, so factories die by turn ~150 and
fewer than ~10 robots per side are alive, far from the ~50-150 robots per side of a real
64x64 mid-game. A stream where robots only move/dig/keep at random is not enough either: every
factory starts with 150 water and burns 1 per turn, so without ice deliveries all factories die
at turn ~150 (and ends the game), and random robots on the factory center kill the robots built
there (measured: 5-9 robots per side). The scripted stream therefore also delivers ice/ore,
picks up power, avoids its own collisions and builds LIGHT robots (10 metal each) whenever the
mask allows. It only ever picks choices the masks allow; see :func:`scripted_cell_actions`.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import os
import pstats
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from agent.actions import (  # noqa: E402
    C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, DIRECTION_DELTAS, F_LIGHT,
    F_NONE, F_WATER, KEEP, MOVE, NUM_COMPONENTS, PICKUP, RECHARGE, TRANSFER, component_slice, decode,
)
from agent.early import early_action, manhattan_distance_map  # noqa: E402
from agent.features import NUM_PLANES, encode  # noqa: E402
from agent.guards import GUARDS, guarded_masks  # noqa: E402
from agent.masks import action_masks  # noqa: E402
from agent.obs import GameState  # noqa: E402
from wrappers.engine import RULES, make_env  # noqa: E402
from wrappers.lux_env import LuxGridEnv  # noqa: E402

# the engine's own action-space check warns when actions are lists (as decode returns them)
warnings.filterwarnings("ignore", message=".*Casting input x to numpy array")

PLAYERS = ("player_0", "player_1")
LEARNER, OPPONENT = PLAYERS
SL_TYPE, SL_MOVE, SL_TDIR, SL_TRES, SL_PRES, SL_FACTORY = (
    component_slice(k) for k in (C_TYPE, C_MOVE, C_TDIR, C_TRES, C_PRES, C_FACTORY))
WATER_THRESHOLD = 400  # factories water lichen only above this much water


def shipped_guards():
    """The decoding guards agent/weights/agent.json turns on, as guarded_masks keywords."""
    conf = json.loads((ROOT / "agent" / "weights" / "agent.json").read_text())
    return {k: True for k in GUARDS if conf.get(k, False)}


# ---------------------------------------------------------------------- the action stream
def scripted_cell_actions(state, masks, rng):
    """A fixed-seed scripted-random choice per cell, (S, S, 7) int64, using only unmasked choices.

    Factories build a LIGHT robot whenever the mask allows it (unless a robot of ours could not
    leave the factory center, where the new robot appears) and water lichen only when they hold
    more than 400 water. Robots never self-destruct; each one, in a random order:

    1. holding ice/ore next to (or on) our factory: transfers it there (transfer choice masked);
    2. on our factory with < 30% battery: picks up power (masked);
    3. on an ice/ore tile, with cargo room and power: digs (90%);
    4. otherwise moves (80%; a masked direction, 80% of the time one that gets closer to ice
       (80%) / any resource, or to our factories when its cargo is 25% full or its battery 15%
       empty), else keeps (or digs, 30%).

    Moves that would put two of our robots (or a robot and a newly built one) on one cell become
    keep, so robots die only in fights with the opponent, as in a real game.
    """
    S = state.cfg.map_size
    out = np.zeros((S, S, NUM_COMPONENTS), np.int64)
    b = state.board
    occ = state.factory_occupancy()
    f = state.my_factories
    u = state.my_units
    own_tile = np.isin(occ, f.strain) & (occ != -1)
    fchoice = np.zeros(len(f), np.int64)
    if len(f):
        fm = masks[f.pos[:, 0], f.pos[:, 1]][:, SL_FACTORY]
        fchoice = np.where(fm[:, F_LIGHT], F_LIGHT, F_NONE)
        water = (fchoice == F_NONE) & fm[:, F_WATER] & (f.cargo[:, 2] > WATER_THRESHOLD)
        fchoice[water] = F_WATER
    spawn = {(int(f.pos[j, 0]), int(f.pos[j, 1])) for j in np.flatnonzero(fchoice == F_LIGHT)}
    if len(u):
        d_ice = manhattan_distance_map(b["ice"] > 0)
        d_res = manhattan_distance_map((b["ice"] > 0) | (b["ore"] > 0))
        d_home = manhattan_distance_map(own_tile)
        heavy = u.heavy.astype(np.int64)
        cap = state.cfg.robot["CARGO_SPACE"][heavy]
        bat = state.cfg.robot["BATTERY_CAPACITY"][heavy]
        n = len(u)
        rtype = np.zeros(n, np.int64)
        comp = np.zeros((n, NUM_COMPONENTS), np.int64)
        dest = u.pos.copy()

        def stay_choice(i):
            t = masks[u.pos[i, 0], u.pos[i, 1]][SL_TYPE]
            return KEEP if t[KEEP] else RECHARGE  # keep is forced valid when nothing else is

        for i in rng.permutation(n):
            x, y = int(u.pos[i, 0]), int(u.pos[i, 1])
            m = masks[x, y]
            t, mv, tdir, tres = m[SL_TYPE], m[SL_MOVE], m[SL_TDIR], m[SL_TRES]
            ice, ore = u.cargo[i, 0], u.cargo[i, 1]
            rt = None
            if t[TRANSFER] and (ice > 0 or ore > 0):
                for d in range(5):
                    tx, ty = x + DIRECTION_DELTAS[d, 0], y + DIRECTION_DELTAS[d, 1]
                    if tdir[d] and 0 <= tx < S and 0 <= ty < S and own_tile[tx, ty]:
                        r = 0 if (ice > 0 and tres[0]) else 1
                        if tres[r]:
                            rt = TRANSFER
                            comp[i, C_TDIR], comp[i, C_TRES], comp[i, C_AMOUNT] = d, r, 3
                        break
            if rt is None and own_tile[x, y] and t[PICKUP] and m[SL_PRES][4] and u.power[i] < 0.3 * bat[i]:
                rt = PICKUP
                comp[i, C_PRES], comp[i, C_AMOUNT] = 4, 1
            full = ice + ore >= 0.25 * cap[i]
            low = u.power[i] < 0.15 * bat[i]
            on_res = b["ice"][x, y] > 0 or b["ore"][x, y] > 0
            if rt is None and t[DIG] and on_res and not full and not low and rng.random() < 0.9:
                rt = DIG
            must_leave = (x, y) in spawn
            if rt is None or must_leave:
                target = d_home if (full or low) else (d_ice if rng.random() < 0.8 else d_res)
                dirs = [k for k in range(4) if mv[k]]
                if t[MOVE] and dirs and (must_leave or rng.random() < 0.8):
                    if rng.random() < 0.8:
                        dv = [target[x + DIRECTION_DELTAS[k + 1, 0], y + DIRECTION_DELTAS[k + 1, 1]] for k in dirs]
                        dirs = [k for k, v in zip(dirs, dv) if v == min(dv)]
                    k = dirs[rng.integers(len(dirs))]
                    rt = MOVE
                    comp[i, C_MOVE] = k
                    dest[i] = (x + DIRECTION_DELTAS[k + 1, 0], y + DIRECTION_DELTAS[k + 1, 1])
                elif rt is None:
                    rt = DIG if (t[DIG] and rng.random() < 0.3) else stay_choice(i)
            rtype[i] = rt
        # no two of our robots (or a robot and a new one) may end on one cell
        while True:
            cells = {c: [-1] for c in spawn}
            for i in range(n):
                cells.setdefault((int(dest[i, 0]), int(dest[i, 1])), []).append(i)
            changed = False
            for cell, who in cells.items():
                if len(who) < 2:
                    continue
                movers = [i for i in who if i >= 0 and rtype[i] == MOVE]
                stayers = [i for i in who if i < 0 or rtype[i] != MOVE]
                for i in (movers if stayers else movers[1:]):
                    rtype[i] = stay_choice(i)
                    dest[i] = u.pos[i]
                    changed = True
                if len(stayers) > 1 and -1 in stayers:  # a robot stays on the center: no build
                    spawn.discard(cell)
                    changed = True
            if not changed:
                break
        out[u.pos[:, 0], u.pos[:, 1]] = comp
        out[u.pos[:, 0], u.pos[:, 1], C_TYPE] = rtype
    if len(f):
        for j in range(len(f)):
            if fchoice[j] == F_LIGHT and (int(f.pos[j, 0]), int(f.pos[j, 1])) not in spawn:
                fchoice[j] = F_NONE
        out[f.pos[:, 0], f.pos[:, 1], C_FACTORY] = fchoice
    return out


class ScriptedOpponent:
    """``opponent(state) -> action dict`` for LuxGridEnv, the same stream as the manual loop.

    Deliberately has no ``reseed`` method: LuxGridEnv.reset must not replace its fixed stream.
    """

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.seconds = 0.0

    def __call__(self, state):
        t0 = time.perf_counter()
        acts = decode(state, scripted_cell_actions(state, action_masks(state), self.rng))
        self.seconds += time.perf_counter() - t0
        return acts


def stream_seeds(map_seed):
    """Fixed seeds of the learner's and the opponent's action streams for a map seed."""
    return 1000 * map_seed + 1, 1000 * map_seed + 2


# ---------------------------------------------------------------------- measurements
def _now():
    """(wall, cpu) seconds: ``time.perf_counter()`` and this process's CPU time
    (``time.process_time()``, which leaves out time spent descheduled on a busy machine)."""
    return time.perf_counter(), time.process_time()


def run_manual(rules, map_seed, turns, warmup_units, profiler=None):
    """Raw engine step vs the learner's wrapper work, turn by turn, on one game.

    Returns a dict of per-measured-turn arrays (seconds) and the per-turn robot counts.
    """
    env = make_env(rules)
    raw, _ = env.reset(seed=map_seed)
    cfg = dataclasses.asdict(env.state.env_cfg)
    S = env.env_cfg.map_size
    states = {p: GameState(cfg, p).update(raw[p], step=env.env_steps) for p in PLAYERS}
    while env.state.real_env_steps < 0:  # early phase: heuristic bid/placement, not measured
        raw, _, _, _, _ = env.step({p: early_action(states[p]) for p in PLAYERS})
        for p in PLAYERS:
            states[p].update(raw[p], step=env.env_steps)
    learner, opp_state = states[LEARNER], states[OPPONENT]
    rng_l, rng_o = (np.random.default_rng(s) for s in stream_seeds(map_seed))
    buf = np.zeros((NUM_PLANES, S, S), np.float32)
    encode(learner, out=buf)
    keys = ("engine", "update", "encode", "masks", "decode", "guarded")
    guards = shipped_guards()
    rec = {k: [] for k in keys}
    counts, measured_counts = [], []
    measuring = False
    pc = _now
    prof_on = profiler.enable if profiler else (lambda: None)
    prof_off = profiler.disable if profiler else (lambda: None)
    for _ in range(turns):
        n_units = (len(learner.my_units), len(learner.opp_units))
        counts.append(n_units)
        measuring = measuring or min(n_units) >= warmup_units
        t0 = pc()
        prof_on()
        m = action_masks(learner)
        prof_off()
        t1 = pc()
        prof_on()
        guarded_masks(learner, planes=buf, **guards)  # the shipped bot's masks (planes: this turn's)
        prof_off()
        tg = pc()
        cell = scripted_cell_actions(learner, m, rng_l)  # the "policy": not timed
        t2 = pc()
        prof_on()
        a_l = decode(learner, cell)
        prof_off()
        t3 = pc()
        a_o = decode(opp_state, scripted_cell_actions(opp_state, action_masks(opp_state), rng_o))
        t4 = pc()
        raw, _, term, trunc, _ = env.step({LEARNER: a_l, OPPONENT: a_o})
        t5 = pc()
        prof_on()
        learner.update(raw[LEARNER], step=env.env_steps)
        prof_off()
        t6 = pc()
        prof_on()
        encode(learner, out=buf)
        prof_off()
        t7 = pc()
        opp_state.update(raw[OPPONENT], step=env.env_steps)  # the opponent's own work
        if measuring:
            for k, (a, b) in zip(keys, ((t4, t5), (t5, t6), (t6, t7), (t0, t1), (t2, t3), (t1, tg))):
                rec[k].append((b[0] - a[0], b[1] - a[1]))
            measured_counts.append(n_units)
        if any(term.values()) or any(trunc.values()):
            break
    out = {k: np.array(v, dtype=float).reshape(-1, 2) for k, v in rec.items()}
    out["counts"] = counts
    out["measured_counts"] = np.array(measured_counts, dtype=float).reshape(-1, 2)
    out["turns_played"] = len(counts)
    return out


def run_lux_env(rules, map_seed, turns):
    """The same game through LuxGridEnv: full cell_masks()+step() time, engine and opponent inside."""
    l_seed, o_seed = stream_seeds(map_seed)
    opponent = ScriptedOpponent(o_seed)
    env = LuxGridEnv(rules=rules, opponent=opponent)
    engine_step = env.engine.step
    engine_time = [0.0]

    def timed_step(actions):
        t0 = time.perf_counter()
        r = engine_step(actions)
        engine_time[0] += time.perf_counter() - t0
        return r

    env.engine.step = timed_step
    env.reset(seed=0, options={"map_seed": map_seed})
    rng_l = np.random.default_rng(l_seed)
    counts, full, engine, opp = [], [], [], []
    invalid = 0
    pc = time.perf_counter
    for _ in range(turns):
        st = env.states[LEARNER]
        counts.append((len(st.my_units), len(st.opp_units)))
        e0, o0 = engine_time[0], opponent.seconds
        t0 = pc()
        m = env.cell_masks()
        t1 = pc()
        cell = scripted_cell_actions(st, m, rng_l)  # the "policy": not timed
        t2 = pc()
        _, _, terminated, truncated, info = env.step(cell)
        t3 = pc()
        full.append((t1 - t0) + (t3 - t2))
        engine.append(engine_time[0] - e0)
        opp.append(opponent.seconds - o0)
        invalid += info["invalid_choices"]
        if terminated or truncated:
            break
    return dict(counts=counts, full=np.array(full), engine=np.array(engine), opp=np.array(opp),
                invalid=invalid)


def _ratio(ms, keys=None):
    return (ms["engine"] + sum(ms[k] for k in (keys or WRAPPER_KEYS))) / ms["engine"]


WRAPPER_KEYS = ("update", "encode", "masks", "decode")
GUARDED_KEYS = ("update", "encode", "guarded", "decode")
LABELS = {"engine": "raw engine LuxAI_S2.step", "update": "GameState.update (learner)",
          "encode": "features.encode", "masks": "masks.action_masks", "decode": "actions.decode",
          "guarded": "guards.guarded_masks (shipped)"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", default="neurips", choices=sorted(RULES))
    ap.add_argument("--seeds", type=int, default=3, help="map seeds 0 .. SEEDS-1 (default 3)")
    ap.add_argument("--turns", type=int, default=300, help="main-phase turns per game (default 300)")
    ap.add_argument("--warmup-units", type=int, default=None,
                    help="measure only once both sides have this many robots "
                         "(default 30 on 64x64, scaled by map area)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    args = ap.parse_args(argv)
    S = RULES[args.rules]["map_size"]
    warmup = args.warmup_units if args.warmup_units is not None else max(1, round(30 * (S / 64) ** 2))

    print(f"rules={args.rules} ({S}x{S}), seeds 0..{args.seeds - 1}, up to {args.turns} turns each, "
          f"measuring once both sides have >= {warmup} robots")
    load0 = os.getloadavg()
    keys = ("engine",) + WRAPPER_KEYS + ("guarded",)
    allrec = {k: [] for k in keys}
    all_counts = []
    env_rec = {"full": [], "engine": [], "opp": []}
    per_seed = []
    for seed in range(args.seeds):
        man = run_manual(args.rules, seed, args.turns, warmup)
        lux = run_lux_env(args.rules, seed, args.turns)
        same = man["counts"] == lux["counts"]
        n = len(man["engine"])
        for k in keys:
            allrec[k].append(man[k])
        all_counts.append(man["measured_counts"])
        skip = man["turns_played"] - n  # LuxGridEnv turns matching the measured ones
        for k in env_rec:
            env_rec[k].append(lux[k][skip:skip + n])
        mc = man["measured_counts"]
        wrap = sum(man[k][:, 0].sum() for k in WRAPPER_KEYS)
        per_seed.append((seed, man["turns_played"], n, mc.mean(axis=0) if n else (0, 0),
                         1e3 * man["engine"][:, 0].mean() if n else float("nan"),
                         1e3 * wrap / n if n else float("nan"), same, lux["invalid"]))
    load1 = os.getloadavg()
    print(f"(1-min load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end, "
          f"{os.cpu_count()} CPUs: wall-clock times are inflated when the machine is busy)")
    print()
    print("seed  turns  measured  robots/side (ours, theirs)  engine ms  wrapper ms  same game in LuxGridEnv  invalid")
    for seed, played, n, mc, eng, wrap, same, inv in per_seed:
        print(f"{seed:>4}  {played:>5}  {n:>8}  {mc[0]:>12.1f}, {mc[1]:<12.1f}  {eng:>9.3f}  {wrap:>10.3f}  "
              f"{'yes' if same else 'NO':>23}  {inv:>7}")
    rec = {k: np.concatenate(v) for k, v in allrec.items()}
    n = len(rec["engine"])
    if n == 0:
        print("\nno measured turns: lower --warmup-units")
        return 1
    counts = np.concatenate(all_counts)
    print(f"\nmeasured turns: {n}; mean robots per side over them: ours {counts[:, 0].mean():.1f}, "
          f"theirs {counts[:, 1].mean():.1f} (min {counts.min():.0f}, max {counts.max():.0f})")
    wall = {k: 1e3 * rec[k][:, 0].mean() for k in keys}
    med = {k: 1e3 * np.median(rec[k][:, 0]) for k in keys}
    cpu = {k: 1e3 * rec[k][:, 1].mean() for k in keys}
    print()
    print("per step, ms                          wall mean  % engine   wall median   CPU mean")
    for k in keys:
        print(f"  {LABELS[k]:<34}  {wall[k]:8.3f}  {100 * wall[k] / wall['engine']:8.1f}  "
              f"{med[k]:12.3f}  {cpu[k]:9.3f}")
    tot = {d: sum(v[k] for k in WRAPPER_KEYS) for d, v in (("wall", wall), ("med", med), ("cpu", cpu))}
    print(f"  {'wrapper work total':<34}  {tot['wall']:8.3f}  {100 * tot['wall'] / wall['engine']:8.1f}  "
          f"{tot['med']:12.3f}  {tot['cpu']:9.3f}")
    print(f"  (the guarded path replaces action_masks by guarded_masks, which calls it: "
          f"guards {cpu['guarded'] - cpu['masks']:.3f} ms CPU on top)")
    ratio = _ratio(wall)
    print(f"\nratio (raw + wrapper work) / raw = {ratio:.3f}   goal <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'}")
    print(f"  same ratio from per-turn medians {_ratio(med):.3f}, from CPU time {_ratio(cpu):.3f}")
    g_ratio = _ratio(wall, GUARDED_KEYS)
    print(f"guarded path (engine + update + encode + guarded_masks + decode) / raw = {g_ratio:.3f}   "
          f"goal <= 1.4: {'met' if g_ratio <= 1.4 else 'NOT met'}")
    print(f"  same ratio from per-turn medians {_ratio(med, GUARDED_KEYS):.3f}, "
          f"from CPU time {_ratio(cpu, GUARDED_KEYS):.3f}   (guards: {', '.join(shipped_guards())})")
    dominant = max(WRAPPER_KEYS, key=lambda k: wall[k])
    print(f"  dominant wrapper part: {dominant} ({100 * wall[dominant] / tot['wall']:.0f}% of the wrapper work)")

    full, eng, opp = (1e3 * np.concatenate(env_rec[k]).mean() for k in ("full", "engine", "opp"))
    print("\nLuxGridEnv, same turns (cell_masks() + step(), wall mean):")
    print(f"  full call {full:8.3f} ms = engine {eng:.3f} + opponent policy {opp:.3f} "
          f"+ env's own work {full - eng - opp:.3f}")
    print(f"  full / engine = {full / eng:.3f};  (full - opponent) / engine = {(full - opp) / eng:.3f}")

    if not args.no_profile:
        prof = cProfile.Profile()
        run_manual(args.rules, 0, args.turns, warmup, profiler=prof)
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(15)
        print("\ncProfile of the wrapper work (seed 0, all turns; profiler on only around "
              "update/encode/masks/decode and guarded_masks), top 15 by own time:")
        print("\n".join(line for line in s.getvalue().splitlines()[4:] if line.strip()))
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(
            r"\((update|encode|action_masks|guarded_masks|decode|water_cost_bound|_robot_choice_masks|"
            r"path_planes|_targets|cost_to_update|source_keys|relax_scan|_scan_lines|_rubble_frontier|"
            r"guard_\w+)\)")
        print("\ncumulative time of the entry points:")
        print("\n".join(line for line in s.getvalue().splitlines()[4:] if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
