"""Run the invalid-action-masking ablation (Huang & Ontanon 2020) on Lux: full vs naive masking vs
an invalid-action penalty, each on several seeds with everything else fixed.

    python scripts/masking_ablation.py                       # the small default budget
    python scripts/masking_ablation.py --steps 100000 --seeds 0 1 2 --out runs/ablation_big \\
        -- rules=kaggle n_envs=2                             # anything after -- goes to train.py

Each run is ``train.py masking=<mode> seed=<s> run_dir=<out>/<mode>_seed<s> ...``; a finished run
is skipped (so an interrupted ablation resumes where it stopped). Then draw the figures with
``python scripts/plot_ablation.py --runs <out>``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("full", "naive", "penalty")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6144, help="total_timesteps per run (default 6144)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--out", default="runs/ablation")
    ap.add_argument("extra", nargs="*", help="extra key=value overrides for train.py (after --)")
    args = ap.parse_args(argv)
    base = ["init_weights=none", "rules=tiny",
            "n_envs=2", "n_steps=128", "batch_size=128", "n_epochs=4", "max_episode_length=300",
            "opponent=random", "eval_interval=0", "progress_bar=false", "checkpoint_interval=100000",
            f"total_timesteps={args.steps}"]
    log = []
    for mode in args.modes:
        for seed in args.seeds:
            run_dir = os.path.join(args.out, f"{mode}_seed{seed}")
            state = os.path.join(run_dir, "checkpoints", "state.json")
            if os.path.isfile(state) and json.load(open(state))["num_timesteps"] >= args.steps:
                print(f"{run_dir}: done, skipped")
                continue
            cmd = [sys.executable, os.path.join(ROOT, "train.py"), *base, *args.extra, f"masking={mode}",
                   f"seed={seed}"]
            cmd.append(f"resume={run_dir}" if os.path.isfile(os.path.join(run_dir, "checkpoints", "latest.zip"))
                       else f"run_dir={run_dir}")
            print(" ".join(cmd[1:]), flush=True)
            t0 = time.time()
            subprocess.run(cmd, check=True, cwd=os.getcwd())
            log.append(dict(mode=mode, seed=seed, seconds=time.time() - t0))
    with open(os.path.join(args.out, "ablation.json"), "w") as f:
        json.dump(dict(steps=args.steps, seeds=args.seeds, modes=args.modes, base=base + args.extra, runs=log), f, indent=1)
    print(f"now: python scripts/plot_ablation.py --runs {args.out}")


if __name__ == "__main__":
    main()
