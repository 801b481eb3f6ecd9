"""A learning curve from test-mode results: win rate, lichen, ice dug and game length against the
gradient steps of the weights each ``results.json`` played (``python train.py mode=test ...``).

    python scripts/plot_validation_curve.py runs/val/a/results.json runs/val/b/results.json ...
        --opponent scripted --out notes/img/curve.png [--json notes/results/curve.json]

The weights are the results' ``policy``: a weights file or an agent folder (its agent.json's
weights); their ``grad_steps`` is the x axis. Bad input is one line and exit 2.
"""

import argparse
import json
import os
import sys


def _grad_steps(policy):
    import torch

    from agent.player import agent_folder_config

    folder = agent_folder_config(policy)
    path = folder["spec"] if folder else policy
    return int(torch.load(path, map_location="cpu", weights_only=False).get("grad_steps", 0))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--opponent", default="scripted")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    rows = []
    for path in args.results:
        try:
            res = json.load(open(path))
            rep = res["report"][args.opponent]
            steps = _grad_steps(res["policy"])
        except (OSError, ValueError, KeyError) as e:
            print(f"plot_validation_curve.py: {path}: not a test-mode results.json against {args.opponent} ({e})",
                  file=sys.stderr)
            return 2
        policy = os.path.relpath(res["policy"]) if os.path.isabs(res["policy"]) else res["policy"]
        rows.append(dict(results=path, policy=policy, grad_steps=steps, games=rep["games"],
                         win_rate=rep["win_rate"], lichen=rep["lichen"], opp_lichen=rep["opp_lichen"],
                         ice_dug=rep["ice_dug"], game_length=rep["game_length"], seeds=res["test_seeds"]))
    rows.sort(key=lambda r: r["grad_steps"])
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2))
    axes = fig.subplots(1, 4)
    x = [r["grad_steps"] for r in rows]
    for ax, key, title in zip(axes, ("win_rate", "lichen", "ice_dug", "game_length"),
                              ("win rate", "own lichen (mean)", "ice dug per game", "game length (turns)")):
        ax.plot(x, [r[key] for r in rows], marker="o")
        ax.set(title=title, xlabel="gradient steps")
        ax.grid(alpha=0.3)
    fig.suptitle(f"against {args.opponent}, {rows[0]['games']} games a point")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
