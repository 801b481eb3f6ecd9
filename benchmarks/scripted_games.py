"""Games of the scripted baseline (agent.scripted) on the real engine, and a results table.

    .venv/bin/python benchmarks/scripted_games.py                 # 10 seeds, kaggle rules
    .venv/bin/python benchmarks/scripted_games.py --seeds 20 --first-seed 10 --jobs 2
    .venv/bin/python benchmarks/scripted_games.py --rules small --no-selfplay

Per seed, it plays scripted vs random-masked twice (sides swapped) and scripted vs scripted once.
Every game runs inside ``wrappers.engine.RejectionAudit`` and :class:`CollisionAudit`. For the
scripted side(s) of each matchup it prints:

* wins/draws/losses;
* mean final lichen;
* factories alive at the end, and factories lost (placed - alive);
* survived (sides with a factory at the end), and mean game length;
* robots lost, from the engine's ``stats["destroyed"]`` LIGHT + HEAVY (the scripted agent never
  self-destructs, so these are all collisions), and robots lost to own-only collisions;
* actions rejected by ``validate_actions`` (plus refused waterings), and queue updates skipped;
* mean milliseconds per turn of the scripted policy, ``action_masks`` included (with ``--jobs``
  > 1 the processes share the CPUs, so this time is inflated).

A game ends when a side has no factory left. Against random-masked this happens around turn
100-150, when random-masked's factories run dry, so those games never reach the lichen phase.

``play_game`` is also what ``tests/test_scripted.py`` uses.
"""

import argparse
import dataclasses
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from luxai_s2.actions import move_deltas  # noqa: E402
from luxai_s2.env import LuxAI_S2  # noqa: E402

from agent.actions import decode  # noqa: E402
from agent.early import early_action  # noqa: E402
from agent.obs import GameState  # noqa: E402
from agent.policy import RandomMaskedPolicy  # noqa: E402
from agent.scripted import ScriptedPolicy, scripted_placement  # noqa: E402
from wrappers.engine import RejectionAudit, make_env, queue_updates_skipped  # noqa: E402

PLAYERS = ("player_0", "player_1")


class CollisionAudit:
    """Counts robots the engine destroys in collisions, split by cause, per player.

    Wraps ``LuxAI_S2._handle_movement_actions``: before the engine resolves moves it computes
    every robot's end cell; a destroyed robot whose end cell held only robots of its own team
    counts as ``own``, otherwise as ``opponent``.

    Attributes:
        own (Counter): player -> robots lost to collisions with own robots only.
        opponent (Counter): player -> robots lost in cells an opponent robot also ended in.
    """

    def __init__(self):
        self.own = Counter()
        self.opponent = Counter()

    def __enter__(self):
        self._orig = LuxAI_S2._handle_movement_actions
        audit = self

        def movement(env_self, actions_by_type):
            moving = {}
            for unit, a in actions_by_type["move"]:
                if a.move_dir != 0:
                    moving[unit.unit_id] = unit.pos + a.dist * move_deltas[a.move_dir]
            end = {}
            before = {}
            for agent, units in env_self.state.units.items():
                for uid, unit in units.items():
                    p = moving.get(uid, unit.pos)
                    end.setdefault((int(p.x), int(p.y)), []).append(agent)
                    before[uid] = (agent, (int(p.x), int(p.y)))
            out = audit._orig(env_self, actions_by_type)
            alive = {uid for units in env_self.state.units.values() for uid in units}
            for uid, (agent, cell) in before.items():
                if uid not in alive:
                    if all(a == agent for a in end[cell]):
                        audit.own[agent] += 1
                    else:
                        audit.opponent[agent] += 1
            return out

        LuxAI_S2._handle_movement_actions = movement
        return self

    def __exit__(self, *exc):
        LuxAI_S2._handle_movement_actions = self._orig
        return False


def play_game(seed, kinds=("scripted", "random"), rules="kaggle", max_turns=None, policy_seed=0, on_turn=None):
    """Play one game and return its statistics.

    Args:
        seed (int): map seed.
        kinds (tuple[str, str]): ``"scripted"`` or ``"random"`` for player_0, player_1.
        rules (str): a ``wrappers.engine`` preset.
        max_turns (int | None): stop after this many main-phase turns (None: the full game).
        policy_seed (int): seed of the policies' own randomness.
        on_turn (callable | None): ``on_turn(player, state, cell_actions, policy)`` after each
            main-phase decision (tests use it to check every action).

    Returns:
        dict with ``kinds``, ``turns`` (main-phase turns played), ``lichen``/``factories``/
        ``robots``/``lost``/``own_collisions``/``opp_collisions`` (per player), ``rewards``,
        ``winner`` (player, or None for a draw), ``rejected`` (Counter), ``water_refused``,
        ``queue_skipped`` (per player), ``fallbacks`` and ``ms_per_turn`` (per scripted player).
    """
    env = make_env(rules)
    obs, _ = env.reset(seed=seed)
    cfg = dataclasses.asdict(env.env_cfg)
    states = {p: GameState(cfg, p) for p in PLAYERS}
    policies = {}
    for k, p in enumerate(PLAYERS):
        if kinds[k] == "scripted":
            policies[p] = ScriptedPolicy(seed=policy_seed + k)
        elif kinds[k] == "random":
            policies[p] = RandomMaskedPolicy(seed=policy_seed + 100 + k)
        else:
            raise ValueError(f"unknown player kind {kinds[k]!r}")
    times = {p: [] for p in PLAYERS}
    rewards = {p: 0 for p in PLAYERS}
    with RejectionAudit() as audit, CollisionAudit() as coll:
        done = False
        while not done:
            acts = {}
            for k, p in enumerate(PLAYERS):
                s = states[p].update(obs[p], step=env.env_steps)
                if s.step == 0 or s.is_early_phase:
                    acts[p] = scripted_placement(s) if (kinds[k] == "scripted" and s.step > 0) else early_action(s)
                else:
                    t0 = time.perf_counter()
                    cell = policies[p](s)
                    if kinds[k] == "scripted":
                        times[p].append(time.perf_counter() - t0)
                    if on_turn is not None:
                        on_turn(p, s, cell, policies[p])
                    acts[p] = decode(s, cell)
            obs, rewards, term, trunc, _ = env.step(acts)
            done = all(term.values()) or all(trunc.values()) or not env.agents
            if max_turns is not None and env.state.real_env_steps >= max_turns:
                done = True
        state = env.state
        lichen, factories, robots, lost, placed = {}, {}, {}, {}, {}
        for p in PLAYERS:
            placed[p] = len(state.teams[p].factory_strains)
            strains = state.teams[p].factory_strains
            lichen[p] = int(state.board.lichen[np.isin(state.board.lichen_strains, strains)].sum())
            factories[p] = len(state.factories[p])
            robots[p] = len(state.units[p])
            d = state.stats[p]["destroyed"]
            lost[p] = int(d["LIGHT"] + d["HEAVY"])
        r0, r1 = (float(rewards.get(p, 0)) for p in PLAYERS)
        if factories["player_0"] == 0 and factories["player_1"] > 0:
            winner = "player_1"
        elif factories["player_1"] == 0 and factories["player_0"] > 0:
            winner = "player_0"
        else:
            winner = None if lichen["player_0"] == lichen["player_1"] else max(PLAYERS, key=lambda p: lichen[p])
        return dict(
            kinds=tuple(kinds), seed=seed, turns=int(state.real_env_steps), lichen=lichen,
            factories=factories, placed=placed, robots=robots, lost=lost, own_collisions=dict(coll.own),
            opp_collisions=dict(coll.opponent), rewards={"player_0": r0, "player_1": r1},
            winner=winner, rejected=Counter(audit.rejected), water_refused=audit.water_refused,
            queue_skipped=queue_updates_skipped(env),
            fallbacks={p: policies[p].fallbacks for p in PLAYERS if kinds[PLAYERS.index(p)] == "scripted"},
            ms_per_turn={p: 1000 * float(np.mean(times[p])) for p in PLAYERS if times[p]},
        )


def scripted_sides(game):
    return [p for k, p in zip(game["kinds"], PLAYERS) if k == "scripted"]


def summarize(name, games):
    """One table row (dict) for the scripted side(s) of ``games``."""
    w = d = ln = 0
    lichen, fac, lost, own, ms, rej, skip = [], [], [], [], [], 0, 0
    fac_lost = []
    survived = 0
    for g in games:
        sides = scripted_sides(g)
        for p in sides:
            if len(sides) == 1:
                if g["winner"] == p:
                    w += 1
                elif g["winner"] is None:
                    d += 1
                else:
                    ln += 1
            lichen.append(g["lichen"][p])
            fac.append(g["factories"][p])
            fac_lost.append(g["placed"][p] - g["factories"][p])
            survived += g["factories"][p] > 0
            lost.append(g["lost"][p])
            own.append(g["own_collisions"].get(p, 0))
            ms.append(g["ms_per_turn"].get(p, 0.0))
            skip += g["queue_skipped"][p]
        rej += sum(g["rejected"].values()) + g["water_refused"]
    n = len(lichen)
    return dict(
        matchup=name, games=len(games), wdl=f"{w}/{d}/{ln}" if w + d + ln else "-",
        lichen=np.mean(lichen), factories=np.mean(fac), fac_lost=np.mean(fac_lost), survived=f"{survived}/{n}",
        length=np.mean([g["turns"] for g in games]), lost=np.mean(lost), own=np.mean(own),
        rejected=rej, skipped=skip, ms=np.mean(ms),
    )


def print_table(rows):
    head = ("matchup", "games", "W/D/L", "lichen", "factories alive", "factories lost", "survived", "length",
            "robots lost", "own-coll lost", "rejected", "q-skipped", "ms/turn")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(" | ".join([
            r["matchup"], str(r["games"]), r["wdl"], f"{r['lichen']:.0f}", f"{r['factories']:.2f}",
            f"{r['fac_lost']:.2f}",
            r["survived"], f"{r['length']:.0f}", f"{r['lost']:.2f}", f"{r['own']:.2f}",
            str(r["rejected"]), str(r["skipped"]), f"{r['ms']:.1f}",
        ]))


def _play_job(job):
    seed, kinds, rules = job
    return play_game(seed, kinds, rules=rules)


def _report(g, vs_random, selfplay):
    sides = scripted_sides(g)
    ms = " ".join(f"{g['ms_per_turn'][p]:.1f}" for p in sides)
    print(f"seed {g['seed']} {g['kinds'][0]} vs {g['kinds'][1]}: turns {g['turns']} winner {g['winner']} "
          f"lichen {g['lichen']} factories {g['factories']} lost {g['lost']} own-coll {g['own_collisions']} "
          f"rejected {sum(g['rejected'].values())} ms {ms}", flush=True)
    (selfplay if len(sides) == 2 else vs_random).append(g)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="number of map seeds (0..N-1)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--rules", default="kaggle")
    ap.add_argument("--no-selfplay", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="games played in parallel processes")
    args = ap.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = []
    for seed in seeds:
        jobs.append((seed, ("scripted", "random"), args.rules))
        jobs.append((seed, ("random", "scripted"), args.rules))
        if not args.no_selfplay:
            jobs.append((seed, ("scripted", "scripted"), args.rules))
    t0 = time.perf_counter()
    vs_random, selfplay = [], []
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(args.jobs) as pool:
            games = pool.imap(_play_job, jobs)
            for g in games:
                _report(g, vs_random, selfplay)
    else:
        for job in jobs:
            _report(_play_job(job), vs_random, selfplay)
    rows = [summarize("scripted vs random-masked", vs_random)]
    if selfplay:
        rows.append(summarize("scripted vs scripted (both sides)", selfplay))
    print()
    print(f"rules={args.rules}, seeds {seeds.start}..{seeds.stop - 1}, {time.perf_counter() - t0:.0f} s")
    print_table(rows)


if __name__ == "__main__":
    main()
