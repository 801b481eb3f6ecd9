"""Combine a sweep's per-run result JSONs into a table and plot the best setting's curve.

    python scripts/sweep_report.py sweeps/example.json [--metric eval_vs_random.win_rate] [--tag lux/game_reward]

Reads ``runs/sweeps/<stem>/results/run_*.json`` (training/ppo/sweep.py), groups runs by setting,
prints mean / min / max of the metric over seeds per setting, names the best setting, writes
``runs/sweeps/<stem>/summary.json`` and plots the best setting's ``--tag`` curve (mean with a
min-max band over its seeds) to ``runs/sweeps/<stem>/best_<tag>.png``.
"""

import argparse
import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from training.ppo.sweep import sweep_root  # noqa: E402
from training.tblog import band  # noqa: E402


def metric_of(result, metric):
    v = result["results"]
    for part in metric.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return float(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep_file")
    ap.add_argument("--metric", default="eval_vs_random.win_rate",
                    help="dotted key into a result's 'results' (e.g. lux/ice_dug, eval_vs_random.lichen)")
    ap.add_argument("--tag", default="lux/game_reward", help="TensorBoard scalar to plot for the best setting")
    args = ap.parse_args(argv)
    root = sweep_root(args.sweep_file)
    files = sorted(glob.glob(os.path.join(root, "results", "run_*.json")))
    if not files:
        raise SystemExit(f"no results under {root}/results: run `python train.py sweep={args.sweep_file} index=i` first")
    groups = {}
    for f in files:
        r = json.load(open(f))
        key = json.dumps(r["setting"], sort_keys=True)
        groups.setdefault(key, []).append(r)
    rows = []
    for key, runs in groups.items():
        vals = [metric_of(r, args.metric) for r in runs]
        vals = [v for v in vals if v is not None]
        rows.append(dict(setting=json.loads(key), seeds=sorted(r["seed"] for r in runs),
                         indices=sorted(r["index"] for r in runs), run_dirs=[r["run_dir"] for r in runs],
                         mean=float(np.mean(vals)) if vals else None,
                         min=float(np.min(vals)) if vals else None, max=float(np.max(vals)) if vals else None))
    rows.sort(key=lambda r: -np.inf if r["mean"] is None else -r["mean"])
    varying = sorted({k for r in rows for k in r["setting"] if len({json.dumps(x["setting"].get(k)) for x in rows}) > 1})
    print(f"{args.metric} over seeds, best first ({len(files)} runs, {len(rows)} settings):")
    for r in rows:
        desc = ", ".join(f"{k}={r['setting'].get(k)}" for k in varying) or "(single setting)"
        m = "n/a" if r["mean"] is None else f"{r['mean']:.3f} [{r['min']:.3f}, {r['max']:.3f}]"
        print(f"  {desc:<50} seeds={r['seeds']} indices={r['indices']}  {m}")
    best = rows[0]
    with open(os.path.join(root, "summary.json"), "w") as f:
        json.dump(dict(metric=args.metric, rows=rows, best=best), f, indent=1)
    grid, mean, lo, hi = band(best["run_dirs"], args.tag)
    if grid is not None:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(grid, mean, label="best setting (mean)")
        ax.fill_between(grid, lo, hi, alpha=0.25, label=f"min-max over {len(best['run_dirs'])} seed(s)")
        ax.set_xlabel("environment steps")
        ax.set_ylabel(args.tag)
        ax.set_title(", ".join(f"{k}={best['setting'].get(k)}" for k in varying) or "best setting")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        out = os.path.join(root, f"best_{args.tag.replace('/', '_')}.png")
        fig.savefig(out, dpi=120)
        plt.close(fig)
        print(f"wrote {out}")
    print(f"wrote {os.path.join(root, 'summary.json')}")


if __name__ == "__main__":
    main()
