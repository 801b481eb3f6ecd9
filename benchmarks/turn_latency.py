"""Turn latency of the submission bot over the stdin/stdout protocol, on a full game.

    python benchmarks/turn_latency.py --weights runs/<name>/<run>/checkpoints/latest.pt
    python benchmarks/turn_latency.py --agent random --rules kaggle
    python benchmarks/turn_latency.py --greedy --sample-factories --water-guard ... --raid-guard  # the shipped decoding

Builds the submission into a temp folder (``scripts/package.py``'s ``build``, so exactly what
would be shipped), starts two copies of its ``main.py`` as subprocesses (``python -I`` with the
training libraries blocked, as on Kaggle) and plays one full game between them on the chosen
rules (default ``neurips``: 64x64, 1000 turns), asking the two bots one after the other so they
do not compete for the CPU. The opponent is the same bot, so both sides field robots mid-game.

Prints, per player: the first turn (process start to first answer: imports and weights loading
included), p50 / p99 / max of the later turns and of the main-phase turns, and the peak RSS
(``VmHWM`` of the bot process). Goal: p99 < 100 ms, first turn < 3 s (Kaggle: 3 s per turn,
60 s overage).
"""

import argparse
import resource
import sys
import tempfile
from pathlib import Path

import numpy as np

from training.submission import package
from training.evaluation.evaluate import add_decoding_flags, guard_kwargs

ROOT = Path(__file__).resolve().parents[1]


def _ms(xs, q):
    return float(np.percentile(np.asarray(xs) * 1000.0, q)) if len(xs) else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", help="checkpoint to ship (default agent/weights/model.pt)")
    ap.add_argument("--agent", default="net", help="net (default), random or scripted")
    ap.add_argument("--greedy", action="store_true", help="most likely choices (default: sample, for a longer game)")
    ap.add_argument("--rules", default="neurips", help="rule preset (default neurips, 64x64)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--max-episode-length", type=int, default=None)
    add_decoding_flags(ap)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="luxkit-latency-") as tmp:
        try:
            out, _ = package.build(Path(tmp) / "submission", agent=args.agent, weights=args.weights,
                                   greedy=args.greedy, sample_factories=args.sample_factories, **guard_kwargs(args))
        except package.PackageError as e:
            print(f"turn_latency.py: {e}", file=sys.stderr)
            return 1
        kw = {} if args.max_episode_length is None else dict(max_episode_length=args.max_episode_length)
        res = package.play_protocol_game([out, out], rules=args.rules, seed=args.seed, **kw)
    rusage_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    main_phase = res["main_phase"]
    print(f"\nturn latency, {args.agent} ({'greedy' if args.greedy else 'sampling'}), rules {args.rules}, "
          f"seed {args.seed}: {res['steps']} steps (real step {res['real_env_steps']}), "
          f"robots max {res['units']}, factories left {res['factories']}")
    head = (f"{'player':<9} {'first turn s':>12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'main p50':>9} {'main p99':>9} {'main max':>9} {'turns':>6} {'peak RSS MB':>12}")
    print(head)
    print("-" * len(head))
    worst_p99, worst_first = 0.0, 0.0
    for p, times in res["times"].items():
        later = times[1:]
        main = [t for t, m in zip(times, main_phase) if m]
        worst_p99 = max(worst_p99, _ms(later, 99))
        worst_first = max(worst_first, times[0])
        print(f"{p:<9} {times[0]:>12.2f} {_ms(later, 50):>8.1f} {_ms(later, 99):>8.1f} {_ms(later, 100):>8.1f} "
              f"{_ms(main, 50):>9.1f} {_ms(main, 99):>9.1f} {_ms(main, 100):>9.1f} {len(times):>6} "
              f"{res['peak_rss_kb'][p] / 1024:>12.0f}")
    print(f"getrusage(RUSAGE_CHILDREN).ru_maxrss: {rusage_kb / 1024:.0f} MB")
    ok_p99, ok_first = worst_p99 < 100.0, worst_first < 3.0
    print(f"goal p99 < 100 ms: {'met' if ok_p99 else 'MISSED'} ({worst_p99:.1f} ms); "
          f"first turn < 3 s: {'met' if ok_first else 'MISSED'} ({worst_first:.2f} s)")
    if res["problems"]:
        print("problems seen during the game:\n  " + "\n  ".join(res["problems"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
