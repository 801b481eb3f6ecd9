"""Where the time of ``python -m training.imitation.replays import`` goes, for one replay.

Usage::

    .venv/bin/python benchmarks/replay_import.py REPLAY [--stride 2] [--queues sticky] [--turns N]

Times, by CPU time (``time.process_time``) in this one process:

* reading the file: decompression (gzip / xz) and the JSON parse, with the stdlib ``json`` and
  with ``orjson`` (what ``training.replay_io.read_json`` uses) on the same bytes, and their ratio;
* :func:`training.imitation.replays.import_replay` (both players, as the CLI), its turns/s (the
  figure the CLI prints, game turns per second of import work) and, inside it, the parts:
  ``features.encode`` (and its path planes, ``features.path_planes``), ``masks.action_masks``,
  ``label_turn`` and the sticky-queue steps (``queues=sticky``); the rest is the observation
  updates (``GameState.update``) and the bookkeeping.

The parts are timed by wrapping the module functions the importer calls, so their sum is a little
above the import's own time. ``--turns N`` stops after N turns (the first turns of a game hold
few robots and import several times faster than the middle and the end).
Bad input (a missing or unreadable replay) is one line and exit 2.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("replay")
    ap.add_argument("--stride", type=int, default=2)
    ap.add_argument("--queues", choices=("recorded", "sticky"), default="sticky")
    ap.add_argument("--turns", type=int, default=0, help="stop after this many turns (0: the whole game)")
    args = ap.parse_args(argv)

    import agent.features as features
    import agent.masks as masks
    import training.imitation.replays as R
    import training.replay_io as io

    try:
        t0 = time.process_time()
        raw = io.read_bytes(args.replay)
        t_unzip = time.process_time() - t0
        t0 = time.process_time()
        json.loads(raw)
        t_json = time.process_time() - t0
        if io.orjson is not None:
            t0 = time.process_time()
            io.orjson.loads(raw)
            t_orjson = time.process_time() - t0
        else:
            t_orjson = float("nan")
        rep = R.load_replay(args.replay)
    except (OSError, ValueError, R.ReplayError) as e:
        print(f"replay_import: {e}", file=sys.stderr)
        return 2
    if args.turns:
        rep.actions = rep.actions[:args.turns]

    spent = collections.Counter()

    def timed(owner, name, key):
        f = getattr(owner, name)

        def wrapper(*a, **k):
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                spent[key] += time.process_time() - t
        setattr(owner, name, wrapper)

    timed(features, "encode", "features.encode (all)")
    timed(features, "path_planes", "  of which path planes")
    timed(masks, "action_masks", "masks.action_masks")
    timed(R, "label_turn", "label_turn")
    timed(R.StickyQueues, "step", "sticky queues (step)")
    t0 = time.process_time()
    stats, sink = R.import_replay(rep, stride=args.stride, queues=args.queues)
    t_import = time.process_time() - t0
    n = max(len(sink["actions"]), 1)
    size_mb = len(raw) / 1e6
    print(f"{args.replay}: {size_mb:.0f} MB of JSON, {stats.steps} turns, {len(sink['actions'])} samples "
          f"(stride {args.stride}, queues={args.queues})")
    print(f"read: decompress {t_unzip:.2f} s; JSON parse json {t_json:.2f} s, orjson {t_orjson:.2f} s "
          f"(orjson {t_json / t_orjson:.2f}x json)")
    print(f"import_replay: {t_import:.2f} s CPU, {stats.steps / t_import:.0f} turns/s (both players)")
    accounted = 0.0
    for key in ("features.encode (all)", "  of which path planes", "masks.action_masks", "label_turn",
                "sticky queues (step)"):
        v = spent[key]
        if not key.startswith("  "):
            accounted += v
        print(f"  {key:24s} {v:6.2f} s  {100 * v / t_import:5.1f} %  {1000 * v / n:6.2f} ms a sample")
    rest = t_import - accounted
    print(f"  {'the rest (updates, ...)':24s} {rest:6.2f} s  {100 * rest / t_import:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
