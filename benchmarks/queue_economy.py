"""Action economy of the scripted baseline in self-play: how often robots are sent a new action queue.

    python benchmarks/queue_economy.py [--seeds 7600 7601] [--rules neurips] [--turns 1000]

Per game and player it prints robot-turns (robots alive summed over main-phase turns), queue
submissions (robots sent a new queue that turn), their ratio, the power those submissions cost
(``ACTION_QUEUE_POWER_COST``: LIGHT 1, HEAVY 10 each) and the final lichen. Every robot sent a queue
pays for it (the masks never let a robot without the power be sent one), so the power figure is
exact. The script uses only APIs that also existed before sticky actions (``ScriptedPolicy``,
``decode``, ``wrappers.engine``), so a copy of it run from an older checkout measures the old
semantics on the same seeds.
"""

import argparse
import time

import numpy as np

from agent.actions import decode
from agent.scripted import ScriptedPolicy
from wrappers.engine import make_env, quiet_engine, run_game


def play(seed, rules, turns):
    """One scripted self-play game; returns {player: dict(robot_turns, sent, power, lichen)}."""
    env = make_env(rules, max_episode_length=turns)
    policies = {p: ScriptedPolicy(seed=seed + i) for i, p in enumerate(("player_0", "player_1"))}
    stats = {p: dict(robot_turns=0, sent=0, power=0) for p in policies}

    def act(p, st):
        out = decode(st, policies[p](st))
        u = st.my_units
        q = st.cfg.robot["ACTION_QUEUE_POWER_COST"]
        sent = np.array([uid in out for uid in u.ids], bool)
        s = stats[p]
        s["robot_turns"] += len(u)
        s["sent"] += int(sent.sum())
        s["power"] += int(q[u.heavy[sent].astype(np.int64)].sum())
        return out

    with quiet_engine():
        run_game(env, seed, act)
    for p, s in stats.items():
        strains = [f.num_id for f in env.state.factories[p].values()]
        s["lichen"] = int(env.state.board.lichen[np.isin(env.state.board.lichen_strains, strains)].sum())
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7600, 7601])
    ap.add_argument("--rules", default="neurips")
    ap.add_argument("--turns", type=int, default=1000)
    args = ap.parse_args(argv)
    tot = dict(robot_turns=0, sent=0, power=0)
    print(f"{'seed':>6} {'player':>8} {'robot-turns':>11} {'sent':>7} {'ratio':>6} {'queue power':>11} {'lichen':>7}")
    t0 = time.perf_counter()
    for seed in args.seeds:
        for p, s in play(seed, args.rules, args.turns).items():
            print(f"{seed:>6} {p:>8} {s['robot_turns']:>11} {s['sent']:>7} {s['sent'] / max(s['robot_turns'], 1):>6.3f} "
                  f"{s['power']:>11} {s['lichen']:>7}")
            for k in tot:
                tot[k] += s[k]
    n = 2 * len(args.seeds)
    print(f"all: {tot['sent']} queues sent over {tot['robot_turns']} robot-turns = "
          f"{tot['sent'] / max(tot['robot_turns'], 1):.3f} per robot-turn; queue power {tot['power'] / n:.0f} per player-game "
          f"({len(args.seeds)} games, {args.rules}, {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
