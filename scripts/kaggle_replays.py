"""Kaggle episodes of Lux AI Season 2: download the top teams' games, or play one locally.

    python scripts/kaggle_replays.py download --top 5 --out replays/kaggle            # top-5 teams
    python scripts/kaggle_replays.py download --team "Team Name" --out replays/kaggle --max-episodes 50
    python scripts/kaggle_replays.py play --out /tmp/episode.json [--map-size 16 --max-episode-length 40]
    python -m training.imitation.replays import replays/kaggle out=runs/bc/kaggle.npz stride=2

``download`` uses the ``kaggle`` package's simulation-competition API (what ``kaggle competitions
leaderboard``, ``team-submissions``, ``episodes SUBMISSION_ID`` and ``replay EPISODE_ID`` call):
the top ``--top`` teams of the leaderboard (or the team named ``--team``), each of their
submissions, each submission's episodes, one ``episode-<id>-replay.json`` per episode in
``--out``, with a tqdm progress bar. Episodes already in ``--out`` are skipped (resume); a download
goes to a temporary folder first, so a killed run leaves no half file. ``--max-episodes`` caps the
episodes per team (newest first).

``play`` plays a genuine Kaggle-format episode locally: kaggle-environments 1.14.17 (installed by
scripts/setup.sh with ``--no-deps`` into ``.venv/kaggle_env``, a folder put on ``PYTHONPATH`` of a
subprocess that plays the episode; found
through ``--kaggle-env``, ``$LUXKIT_KAGGLE_ENV``, ``<repo>/.venv/kaggle_env`` or
``<sys.prefix>/kaggle_env``) hosts ``main.py`` for both sides exactly as Kaggle does (``exec`` of
main.py, ``agent_fn(observation, configuration)``), and ``env.toJSON()`` is written: ``steps[t][p]``
with ``action`` and ``observation``, ``obs`` a JSON string of change observations,
``configuration.env_cfg``. Our main.py picks its agent from ``LUXKIT_AGENT`` as usual.

Credentials (as ``scripts/submit.py``): ``~/.kaggle/kaggle.json``, ``KAGGLE_USERNAME`` and
``KAGGLE_KEY``, or an API token. Exit codes: 0 done; 2 nothing could be tried (no credentials, no
``kaggle`` package, Kaggle unreachable, no kaggle-environments for ``play``), one
``kaggle_replays.py: ...`` line on stderr; 1 some episodes failed (one line each, the others are
kept).
"""

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from training.submission import kaggle_api
from training.submission.kaggle_api import SubmitError

ROOT = Path(__file__).resolve().parents[1]

COMPETITION = "lux-ai-season-2"
PROG = "kaggle_replays.py"


def _get(obj, *names, default=None):
    """Attribute of a kagglesdk object (snake_case) or dict (camelCase), whichever exists."""
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def connect(timeout, environ=None):
    """An authenticated ``KaggleApi``; raises ``SubmitError`` (exit 2) when that is impossible."""
    return kaggle_api.connect(timeout, environ)[0]


def list_episodes(api, competition, top, team, max_episodes, log):
    """Episode ids to fetch: [(team name, episode id)], newest first per team."""
    board = api.competition_leaderboard_view(competition, page_size=max(top, 1) if not team else 200)
    teams = []
    for row in board or []:
        name = _get(row, "team_name", "teamName", default="?")
        if team and name != team:
            continue
        teams.append((name, _get(row, "team_id", "teamId")))
        if not team and len(teams) >= top:
            break
    if not teams:
        raise SubmitError(f"no team {team!r} on the {competition} leaderboard (first 200 rows)" if team
                          else f"the {competition} leaderboard is empty", 1)
    out = []
    for name, team_id in teams:
        eps = {}
        for sub in api.competition_team_submissions(team_id) or []:
            sid = _get(sub, "id", "submission_id")
            for ep in api.competition_list_episodes(sid) or []:
                eid = _get(ep, "id")
                if eid is not None:
                    eps[int(eid)] = str(_get(ep, "create_time", "createTime", default=""))
        ids = sorted(eps, key=lambda e: eps[e], reverse=True)
        if max_episodes:
            ids = ids[:max_episodes]
        log(f"{name}: {len(eps)} episodes, fetching {len(ids)}")
        out += [(name, e) for e in ids]
    seen, uniq = set(), []
    for name, e in out:
        if e not in seen:
            seen.add(e)
            uniq.append((name, e))
    return uniq


def download(args):
    api = connect(args.timeout)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def log(s):
        print(f"{PROG}: {s}", file=sys.stderr, flush=True)

    todo = list_episodes(api, args.competition, args.top, args.team, args.max_episodes, log)
    have = {p.name for p in out.glob("episode-*-replay.json")}
    missing = [(n, e) for n, e in todo if f"episode-{e}-replay.json" not in have]
    log(f"{len(todo)} episodes, {len(todo) - len(missing)} already in {out}, downloading {len(missing)}")
    from tqdm import tqdm

    failed = 0
    with tempfile.TemporaryDirectory(dir=out, prefix=".partial-") as tmp:
        for name, eid in tqdm(missing, desc="episodes", unit="ep"):
            try:
                api.competition_episode_replay(eid, path=tmp, quiet=True)
                os.replace(os.path.join(tmp, f"episode-{eid}-replay.json"), out / f"episode-{eid}-replay.json")
            except Exception as e:
                failed += 1
                text = f"{type(e).__name__}: {e}".replace("\n", " ")[:200]
                log(f"episode {eid} ({name}) failed: {text}")
            time.sleep(args.pause)
    print(f"{len(missing) - failed} downloaded, {failed} failed, {len(todo) - len(missing)} skipped -> {out}")
    return 1 if failed else 0


def kaggle_env_dirs(explicit=None):
    cands = [explicit, os.environ.get("LUXKIT_KAGGLE_ENV"), str(ROOT / ".venv" / "kaggle_env"),
             os.path.join(sys.prefix, "kaggle_env")]
    return [c for c in cands if c]


def import_kaggle_environments(explicit=None):
    """``kaggle_environments.make``, importable in this process (see module docstring).

    Returns:
        ``make``, or the folder (str) that holds ``kaggle_environments`` when this process cannot
        import it: the caller runs again in a subprocess with that folder on ``PYTHONPATH``
        (:func:`play`), so no script edits ``sys.path``.

    Raises:
        SubmitError: exit 2, naming the folders tried.
    """
    tried = [d for d in kaggle_env_dirs(explicit)]
    found = next((d for d in tried if os.path.isdir(os.path.join(d, "kaggle_environments"))), None)
    try:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per environment it cannot load
            from kaggle_environments import make
        return make
    except ImportError as e:
        if found and found not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
            return found
        err = e
    except Exception as e:  # importable but broken
        err = e
    raise SubmitError(f"kaggle-environments is not importable ({type(err).__name__}: {err}); tried {tried}; "
                      f"install it with scripts/setup.sh (pip install --no-deps --target .venv/kaggle_env "
                      f"kaggle-environments==1.14.17 flask click itsdangerous blinker)", 2) from None


def play(args):
    make = import_kaggle_environments(args.kaggle_env)
    if isinstance(make, str):  # the folder: play in a subprocess that has it on PYTHONPATH
        import subprocess

        path = os.pathsep.join([make] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        return subprocess.run([sys.executable, os.path.abspath(__file__)] + args.argv,
                              env=dict(os.environ, PYTHONPATH=path)).returncode
    import json

    env_cfg = {"map_size": args.map_size}
    if args.map_size <= 16:
        env_cfg.update(MIN_FACTORIES=1, MAX_FACTORIES=2)
    elif args.map_size <= 32:
        env_cfg.update(MIN_FACTORIES=2, MAX_FACTORIES=3)
    elif args.map_size <= 48:
        env_cfg.update(MIN_FACTORIES=2, MAX_FACTORIES=5)
    max_f = env_cfg.get("MAX_FACTORIES", 10)
    conf = {"seed": args.seed, "max_episode_length": args.max_episode_length,
            "episodeSteps": args.max_episode_length + 2 * max_f + 2, "env_cfg": env_cfg}
    t0 = time.time()
    env = make("lux_ai_s2", configuration=conf, debug=True)
    agents = [str(Path(a).resolve()) for a in args.agents]
    env.run(agents)
    episode = env.toJSON()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(episode, f)
    statuses = [s["status"] for s in episode["steps"][-1]]
    print(f"{len(episode['steps'])} steps, statuses {statuses}, rewards {episode.get('rewards')}, "
          f"{time.time() - t0:.1f} s -> {args.out}")
    return 0 if all(s == "DONE" for s in statuses) else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("download", help="download episodes of the top teams")
    d.add_argument("--out", default="replays/kaggle")
    d.add_argument("--top", type=int, default=5, help="top N teams of the leaderboard (default 5)")
    d.add_argument("--team", default=None, help="one team by its leaderboard name instead")
    d.add_argument("--max-episodes", type=int, default=0, help="per team, newest first (0 = all)")
    d.add_argument("--competition", default=COMPETITION)
    d.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the Kaggle host")
    d.add_argument("--pause", type=float, default=0.2, help="seconds between downloads (be polite)")
    p = sub.add_parser("play", help="play a Kaggle-format episode locally with kaggle-environments")
    p.add_argument("--out", required=True)
    p.add_argument("--agents", nargs=2, default=[str(ROOT / "main.py")] * 2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--map-size", type=int, default=48, choices=(16, 32, 48, 64))
    p.add_argument("--max-episode-length", type=int, default=1000)
    p.add_argument("--kaggle-env", default=None, help="folder holding kaggle_environments")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return download(args) if args.cmd == "download" else play(args)
    except SubmitError as e:
        print(f"{PROG}: {str(e).replace('nothing was submitted', 'nothing was downloaded')}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (downloaded episodes are kept; rerun to resume)", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback
        text = " ".join(str(e).split())[:300]
        network = isinstance(e, (OSError, socket.timeout)) or type(e).__module__.startswith(("requests", "urllib3"))
        print(f"{PROG}: {'network error' if network else 'unexpected'} {type(e).__name__}: {text}", file=sys.stderr)
        return 2 if network else 1


if __name__ == "__main__":
    sys.exit(main())
