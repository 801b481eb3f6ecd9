"""Learning curve of a series of checkpoints: win rate and mean lichen against gradient steps.

    python scripts/checkpoint_curves.py runs/agent/bc0_ep2.pt runs/agent/bc0_ep4.pt ... \\
        --opponent scripted --seeds 1000100:1000105 --out notes/bc_curve.png [--greedy [--sample-factories]]

Each checkpoint plays the opponent on every held-out seed, both sides (test mode's
``training.evaluation.evaluate.evaluate``, 1000-turn 64x64 games by default). The x axis is the checkpoint's
``grad_steps``: written by ``python -m training.imitation.bc fit``, and by train.py as the init weights'
gradient steps plus PPO's epochs x minibatches, so BC, DAgger and PPO share one axis (older
checkpoints without it are plotted against ``step``, their environment steps). Writes the PNG and a
JSON of the numbers next to it.
"""

import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    from training.evaluation.evaluate import add_game_arguments, evaluate, game_kwargs, guard_kwargs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+")
    add_game_arguments(ap, seeds="1000100:1000105")
    ap.add_argument("--out", default="notes/checkpoint_curve.png")
    args = ap.parse_args(argv)
    kwargs = game_kwargs(args)
    guards = guard_kwargs(args)  # every guard of agent.guards.REGISTRY, on or off

    from agent.net import CheckpointError, load_checkpoint
    from training.kv import ConfigError, parse_seed_range

    try:
        seeds = parse_seed_range(args.seeds, "--seeds")
        xs, all_bc = [], True
        for c in args.checkpoints:
            payload = load_checkpoint(c)[1]
            xs.append(int(payload.get("grad_steps", payload.get("step", 0))))
            all_bc = all_bc and "grad_steps" in payload
    except (CheckpointError, ConfigError) as e:
        raise SystemExit(f"checkpoint_curves.py: {e}")
    rows = []
    for c, x in sorted(zip(args.checkpoints, xs), key=lambda t: t[1]):
        r = evaluate(c, [args.opponent], seeds, progress=False, **kwargs)[args.opponent]
        rows.append(dict(checkpoint=c, x=x, win_rate=r["win_rate"], win_rate_95ci=r["win_rate_95ci"],
                         lichen=r["lichen"], opp_lichen=r["opp_lichen"], survival_rate=r["survival_rate"],
                         game_length=r["game_length"], games=r["games"]))
        print(f"{c}: x={x} win rate {r['win_rate']:.2f} lichen {r['lichen']:.0f} (opponent {r['opp_lichen']:.0f}) "
              f"survival {r['survival_rate']:.2f} length {r['game_length']:.0f}", flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["x"] for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    ax[0].plot(x, [r["win_rate"] for r in rows], "o-", label="win rate")
    ax[0].fill_between(x, [r["win_rate_95ci"][0] for r in rows], [r["win_rate_95ci"][1] for r in rows], alpha=0.2)
    ax[0].set_ylim(-0.02, 1.02)
    ax[0].set_title(f"win rate vs {os.path.basename(args.opponent)} (95% CI)")
    ax[1].plot(x, [r["lichen"] for r in rows], "o-", label="ours")
    ax[1].plot(x, [r["opp_lichen"] for r in rows], "s--", label="opponent")
    ax[1].set_title("mean lichen at the end")
    ax[1].legend()
    ax[2].plot(x, [r["survival_rate"] for r in rows], "o-", label="factories alive at the end")
    ax[2].plot(x, [r["game_length"] / args.max_episode_length for r in rows], "s--", label="game length / max")
    ax[2].set_ylim(-0.02, 1.02)
    ax[2].set_title("survival")
    ax[2].legend()
    xlabel = "gradient steps (BC, DAgger, PPO: epochs x minibatches)" if all_bc else "training steps"
    for a in ax:
        a.set_xlabel(xlabel)
        a.grid(alpha=0.3)
    fig.suptitle(f"{len(seeds)} held-out seeds x 2 sides, {args.rules}" + (", greedy" if args.greedy else "")
                 + (", factories sampled" if args.sample_factories else "")
                 + "".join(", " + k.replace("_", " ") for k, on in guards.items() if on))
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=110)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(dict(opponent=args.opponent, seeds=args.seeds, rules=args.rules, greedy=args.greedy,
                       sample_factories=args.sample_factories, **guards, rows=rows), f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
