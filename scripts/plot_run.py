"""Figures a person looks at: a run's learning curves and a test-mode evaluation table, as PNG.

    python scripts/plot_run.py --run runs/default/20261122-101500          # -> <run>/curves.png
    python scripts/plot_run.py --results runs/test/.../results.json        # -> .../results.png

Curves come from the run's TensorBoard log (episode reward, ice dug, water produced, lichen,
factories alive, win rate in training games and in the periodic evaluation, approx_kl); the
table is the per-opponent report of ``train.py mode=test``.
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from training.tblog import read_scalars  # noqa: E402

CURVES = [
    ("rollout/ep_rew_mean", "episode reward"),
    ("lux/ice_dug", "ice dug per game"),
    ("lux/water_produced", "water produced per game"),
    ("lux/lichen", "final lichen per game"),
    ("lux/factories_alive", "factories alive at game end"),
    ("lux/win_rate", "win rate (training games)"),
    ("eval/win_rate", "win rate (evaluation, held-out seeds)"),
    ("train/approx_kl", "approx_kl"),
]


def plot_curves(run_dir, out=None):
    """Write a grid of learning curves for ``run_dir``; returns the PNG path.

    Raises:
        SystemExit: the run has no TensorBoard scalars at all.
    """
    found = [(tag, title, *read_scalars(run_dir, tag)) for tag, title in CURVES]
    found = [f for f in found if len(f[2])]
    if not found:
        raise SystemExit(f"{run_dir} has no TensorBoard scalars under tb/")
    cols = 2
    rows = (len(found) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.8 * rows), squeeze=False)
    for ax, (tag, title, steps, vals) in zip(axes.flat, found):
        ax.plot(steps, vals, marker="." if len(steps) < 30 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("environment steps", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(found):]:
        ax.axis("off")
    fig.suptitle(run_dir, fontsize=9)
    fig.tight_layout()
    out = out or os.path.join(run_dir, "curves.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_results_table(results_path, out=None):
    """Render a test-mode results.json as a table PNG; returns its path."""
    data = json.load(open(results_path))
    cols = ["opponent", "games", "W/D/L", "win rate [95% CI]", "lichen", "opp lichen", "factories", "length",
            "lost robots"]
    cells = []
    for opp, r in data["report"].items():
        ci = r["win_rate_95ci"]
        cells.append([os.path.basename(opp), r["games"], f"{r['wins']}/{r['draws']}/{r['losses']}",
                      f"{r['win_rate']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]", f"{r['lichen']:.0f}", f"{r['opp_lichen']:.0f}",
                      f"{r['factories_alive']:.2f}", f"{r['game_length']:.0f}", f"{r['robots_lost_collisions']:.1f}"])
    fig, ax = plt.subplots(figsize=(11, 0.6 + 0.4 * (len(cells) + 1)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=cols, loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.3)
    ax.set_title(f"{os.path.basename(str(data['policy']))} on {data['rules']} rules, seeds {data['test_seeds']}", fontsize=9)
    out = out or os.path.splitext(results_path)[0] + ".png"
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a run folder (with tb/)")
    ap.add_argument("--results", help="a results.json from train.py mode=test")
    args = ap.parse_args(argv)
    if not (args.run or args.results):
        ap.error("give --run and/or --results")
    if args.run:
        print(f"wrote {plot_curves(args.run)}")
    if args.results:
        print(f"wrote {plot_results_table(args.results)}")


if __name__ == "__main__":
    main()
