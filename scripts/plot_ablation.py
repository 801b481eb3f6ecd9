"""Redraw the invalid-action-masking paper's two figures from local TensorBoard logs:
episode reward vs steps and approx_kl vs steps, one curve per masking mode with a min-max band
over seeds (runs named ``<mode>_seed<s>`` under ``--runs``, as scripts/masking_ablation.py
writes them).

    python scripts/plot_ablation.py --runs runs/ablation --out notes

The reward plotted is ``lux/game_reward`` (the episode's reward *without* the invalid-action
penalty, so the penalty arm is compared on the same scale); ``--tag`` picks another scalar.
"""

import argparse
import glob
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from training.tblog import band  # noqa: E402

COLORS = {"full": "tab:blue", "naive": "tab:orange", "penalty": "tab:green"}


def plot(runs_root, tag, ylabel, path, title):
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = 0
    for mode in ("full", "naive", "penalty"):
        runs = sorted(glob.glob(os.path.join(runs_root, f"{mode}_seed*")))
        grid, mean, lo, hi = band(runs, tag)
        if grid is None:
            continue
        ax.plot(grid, mean, color=COLORS[mode], label=f"{mode} masking ({len(runs)} seeds)" if mode != "penalty"
                else f"invalid-action penalty ({len(runs)} seeds)")
        ax.fill_between(grid, lo, hi, color=COLORS[mode], alpha=0.2)
        drawn += 1
    if not drawn:
        plt.close(fig)
        raise SystemExit(f"no run under {runs_root} has the scalar {tag!r}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs/ablation")
    ap.add_argument("--out", default="notes")
    ap.add_argument("--tag", default="lux/game_reward")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    plot(args.runs, args.tag, "episode reward (no penalty)", os.path.join(args.out, "ablation_reward.png"),
         "Episode reward")
    plot(args.runs, "train/approx_kl", "approx_kl", os.path.join(args.out, "ablation_approx_kl.png"),
         "approx_kl (new vs old policy)")


if __name__ == "__main__":
    main()
