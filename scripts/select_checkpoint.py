"""Choose the weights to ship: each candidate's games against the scripted baseline on validation seeds.

    python scripts/select_checkpoint.py runs/agent/bc1.pt runs/agent/bc2.pt runs/agent/bc3.pt \\
        --reference agent/weights/model.pt --seeds 1000110:1000122 --out runs/agent/select.json \\
        [--greedy --sample-factories --water-guard --power-guard]

Every candidate, and the reference (the weights shipped today), plays the opponent on every
validation seed, both sides: the games of test mode (``training.evaluation.evaluate.evaluate``, each game's
sampling seeded by its map seed), so a candidate and the reference meet the same maps. Candidates
rank by the mean lichen margin (own minus opponent lichen at the end of a game, what decides a Lux
S2 game, spec "Win Conditions"), then by wins; a tie keeps the earlier candidate. The margin comes
first because a dozen seeds cannot tell one win from luck: on the validation seeds, the earlier
rule (wins first) chose a PPO net with 1 win in 24 games and a margin of -39,574 over a fit with
0 wins, a margin of -31,265 and more lichen in 18 of the 24 paired games (notes/log/training_log.md,
issue #14). Why a choice at all: the closed loop of a DAgger round does not
improve monotonically (notes/log/training_log.md: the 62-plane recipe's round 2 validates above rounds 3
and 4, and the 53-plane recipe's round 4 below round 3), so the last round is not always the one
to ship.

The validation seeds must not overlap ``--test-seeds`` (the held-out test seeds are never used to
choose). Each evaluation is kept in ``select_games/<key>.json`` next to ``--out``, the key a hash
of the weights file's bytes and the settings, so a stopped selection resumes and a second call
with an already played candidate (or reference) costs nothing.

Writes ``--out``: ``selected`` (the chosen candidate's path), ``beats_reference`` (its margin and
wins rank above the reference's; true without a reference), ``rows`` (one per candidate:
games, wins, lichen, opp_lichen, margin, factories_alive, survival_rate, ice_dug, and ``paired``, the
:func:`training.evaluation.evaluate.paired_summary` against the reference's games), ``reference`` and the
settings. Prints a table and, last, the selected path. Exit code 2, before any game, for a
missing or unreadable checkpoint or bad seeds.
"""

import argparse
import hashlib
import json
import os
import sys


def margin(row):
    """Mean lichen margin of a row (float, lichen units): ``lichen - opp_lichen``, the mean lichen per
    game at the game's end, own minus the opponent's."""
    return row["lichen"] - row["opp_lichen"]


def rank_key(row):
    """Sort key of a candidate row (higher is better): (:func:`margin`, wins).

    ``row`` needs ``lichen``, ``opp_lichen`` (floats) and ``wins`` (int).
    """
    return (margin(row), row["wins"])


def choose(rows):
    """Index of the best row by :func:`rank_key`; the earliest of equal rows. ``rows`` must not be empty."""
    return max(range(len(rows)), key=lambda i: rank_key(rows[i]))  # max keeps the first of equal keys


def _games(path, settings, cache_dir):
    """The evaluation of one weights file under ``settings``, from the cache or played now."""
    from training.evaluation.evaluate import evaluate

    with open(path, "rb") as f:
        same_games = {k: v for k, v in settings.items() if k != "workers"}  # workers change the speed, not the games
        digest = hashlib.sha1(f.read() + json.dumps(same_games, sort_keys=True).encode()).hexdigest()[:16]
    cached = os.path.join(cache_dir, digest + ".json")
    if os.path.isfile(cached):
        with open(cached) as f:
            return json.load(f)
    kwargs = {k: v for k, v in settings.items() if k not in ("opponent", "seeds")}
    rep = evaluate(path, [settings["opponent"]], range(*settings["seeds"]), progress=False, **kwargs)[settings["opponent"]]
    os.makedirs(cache_dir, exist_ok=True)
    with open(cached + ".tmp", "w") as f:
        json.dump(dict(rep, checkpoint=path), f)
    os.replace(cached + ".tmp", cached)
    return rep


def _row(path, rep, base_games):
    from training.evaluation.evaluate import paired_summary

    row = dict(checkpoint=path, **{k: rep[k] for k in ("games", "wins", "lichen", "opp_lichen", "factories_alive",
                                                        "survival_rate", "ice_dug")})
    row["margin"] = margin(row)
    if base_games is not None:
        row["paired"] = paired_summary(rep["per_game"], base_games)
    return row


def _refuse(msg):
    """One line on stderr and exit code 2, before any game or file."""
    print(f"select_checkpoint.py: {msg}", file=sys.stderr)
    raise SystemExit(2)


def main(argv=None):
    from training.evaluation.evaluate import add_game_arguments, game_kwargs, games_by_seat

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="candidate weights files, in the order a tie prefers")
    ap.add_argument("--reference", default="", help="the weights to beat (e.g. agent/weights/model.pt); '' = none")
    add_game_arguments(ap, seeds="1000110:1000122")
    ap.add_argument("--test-seeds", default="1000000:1000050", help="held-out test seeds the validation must avoid")
    ap.add_argument("--out", default="runs/select.json")
    args = ap.parse_args(argv)

    from agent.net import CheckpointError, load_checkpoint
    from training.kv import ConfigError, check_disjoint, parse_seed_range

    try:
        seeds = parse_seed_range(args.seeds, "--seeds")
        check_disjoint(parse_seed_range(args.test_seeds, "--test-seeds"), seeds)
        for c in args.checkpoints + ([args.reference] if args.reference else []):
            load_checkpoint(c)
    except (ConfigError, CheckpointError) as e:
        _refuse(str(e))
    except ValueError:
        _refuse(f"--seeds {args.seeds} overlap the test seeds {args.test_seeds}: choose on validation seeds, "
                f"never on the test seeds")

    settings = dict(opponent=args.opponent, seeds=[seeds.start, seeds.stop], **game_kwargs(args))
    cache_dir = os.path.join(os.path.dirname(args.out), "select_games")
    ref = base_games = None
    if args.reference:
        rep = _games(args.reference, settings, cache_dir)
        base_games = games_by_seat(rep["per_game"])
        ref = _row(args.reference, rep, None)
    rows = []
    for c in args.checkpoints:
        rows.append(_row(c, _games(c, settings, cache_dir), base_games))
    best = choose(rows)
    beats = ref is None or rank_key(rows[best]) > rank_key(ref)

    print(f"{len(seeds)} validation seeds x 2 sides vs {args.opponent}:")
    print(f"  {'weights':<40} {'games':>5} {'wins':>4} {'lichen':>8} {'opp lichen':>10} {'margin':>8} {'factories':>9} "
          f"{'survived':>8} {'vs reference (up/down)':>22}")
    for r in ([ref] if ref else []) + rows:
        p = r.get("paired")
        tag = ("reference " if r is ref else ("selected " if r is rows[best] else "")) + os.path.basename(r["checkpoint"])
        vs = f"{p['lichen_up']}/{p['lichen_down']}" if p else "-"
        print(f"  {tag:<40} {r['games']:>5} {r['wins']:>4} {r['lichen']:>8.0f} {r['opp_lichen']:>10.0f} {r['margin']:>8.0f} "
              f"{r['factories_alive']:>9.2f} {r['survival_rate']:>8.2f} {vs:>22}")
    if ref is not None and not beats:
        print(f"  no candidate ranks above the reference {args.reference} (lichen margin, then wins)")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(dict(settings, seeds=args.seeds, selected=rows[best]["checkpoint"], beats_reference=beats,
                       reference=ref, rows=rows), f, indent=1)
    print(rows[best]["checkpoint"])


if __name__ == "__main__":
    main()
