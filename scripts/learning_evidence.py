"""Does a checkpoint play better than the random-masked policy on held-out maps?

    python scripts/learning_evidence.py CHECKPOINT [--rules small] [--seeds 1000000:1000020] [--turns 1000]

Plays CHECKPOINT against the random-masked policy and, as the baseline, the random-masked policy
against itself, on the same held-out seeds with sides swapped (training/evaluate.py), and prints
for each: ice dug per game, factories alive at the end, main-phase turns its factories lasted
(game length; a game ends when either side has no factory left) and win rate. "Learned" means
more ice dug and more factories alive at the end than the baseline.
"""

import argparse
import json
import sys



def main(argv=None):
    from training.config import parse_seed_range
    from training.evaluate import evaluate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--rules", default="small")
    ap.add_argument("--seeds", default="1000000:1000020")
    ap.add_argument("--turns", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    seeds = parse_seed_range(args.seeds, "--seeds")
    rows = {}
    for name, spec in (("checkpoint", args.checkpoint), ("random-masked", "random")):
        rows[name] = evaluate(spec, ["random"], seeds, rules=args.rules, max_episode_length=args.turns,
                              workers=args.workers, progress=False)["random"]
    print(f"{len(seeds)} held-out seeds x 2 sides, rules={args.rules}, opponent: random-masked")
    print(f"{'policy':<16} {'ice dug':>9} {'factories alive':>16} {'game length':>12} {'win rate':>9}")
    for name, r in rows.items():
        print(f"{name:<16} {r['ice_dug']:>9.1f} {r['factories_alive']:>16.2f} {r['game_length']:>12.1f} {r['win_rate']:>9.2f}")
    c, b = rows["checkpoint"], rows["random-masked"]
    verdict = c["ice_dug"] > b["ice_dug"] and c["factories_alive"] > b["factories_alive"]
    print("learned (more ice dug and more factories alive than random-masked):", "yes" if verdict else "no")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({k: {kk: vv for kk, vv in v.items() if kk != "per_game"} for k, v in rows.items()}, f, indent=1)
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
