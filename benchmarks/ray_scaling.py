"""The Ray backend against the local one, measured in the same run on this machine.

    python benchmarks/ray_scaling.py [--ppo-steps 2048] [--n-envs 2] [--games 8] [--rules small]
        [--ray-address ADDR]

Prints (1) PPO steps/s of ``train.py`` with ``vec_env=ray`` and with ``vec_env=subproc`` at the same
``n_envs`` (one run each, from ``MaskablePPO.learn``'s own "trained N steps in T s" line: start-up
excluded) and their ratio, and (2) test-mode games/hour with ``backend=ray`` and with the local
backend (``test_workers`` = this machine's cores), wall clock of the whole command (Ray start-up
included), and their ratio. Every run goes through ``train.py`` as a user would run it.
``--ray-address`` joins an existing cluster; empty starts Ray on this machine for each command.
On one node both backends share the same cores: the ratios show Ray's overhead, and a cluster's
gain is that ratio times its cores over this machine's (the games are independent tasks).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_py(args, cwd):
    t0 = time.time()
    p = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), *args], cwd=cwd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"train.py {' '.join(args)} failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ppo-steps", type=int, default=2048)
    ap.add_argument("--n-envs", type=int, default=2)
    ap.add_argument("--games", type=int, default=8, help="test-mode games per backend (seeds x 2 sides)")
    ap.add_argument("--rules", default="small")
    ap.add_argument("--ray-address", default="")
    a = ap.parse_args()
    addr = [f"ray_address={a.ray_address}"] if a.ray_address else []
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        ppo = [f"rules={a.rules}", f"total_timesteps={a.ppo_steps}", f"n_envs={a.n_envs}", "n_steps=256", "batch_size=128",
               "init_weights=none", "teacher=none", "eval_interval=0", "progress_bar=false", "seed=0"]
        rate = {}
        for v in ("subproc", "ray"):
            out, _ = train_py(ppo + [f"vec_env={v}", f"run_dir={tmp}/ppo_{v}"] + addr, tmp)
            rate[v] = float(re.search(r"\(([\d.]+) steps/s\)", out).group(1))
        print(f"PPO {a.rules}, n_envs={a.n_envs}, {a.ppo_steps} steps: subproc {rate['subproc']:.1f} steps/s, "
              f"ray {rate['ray']:.1f} steps/s, ratio ray/subproc {rate['ray'] / rate['subproc']:.2f}")
        seeds = max(1, a.games // 2)
        test = ["mode=test", f"rules={a.rules}", f"test_seeds=1000000:{1000000 + seeds}", "opponents=scripted",
                f"checkpoint={os.path.join(ROOT, 'agent', 'weights', 'model.pt')}", "greedy=true", "progress_bar=false",
                "replays=false"]
        gph = {}
        for b in ("local", "ray"):
            _, dt = train_py(test + [f"backend={b}", f"test_workers={cores}", f"run_dir={tmp}/test_{b}"] + addr, tmp)
            gph[b] = 2 * seeds * 3600 / dt
        print(f"test mode {a.rules}, {2 * seeds} games vs scripted: local ({cores} workers) {gph['local']:.0f} games/h, "
              f"ray {gph['ray']:.0f} games/h, ratio ray/local {gph['ray'] / gph['local']:.2f}")


if __name__ == "__main__":
    main()
