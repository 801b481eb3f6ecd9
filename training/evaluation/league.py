"""A local league: every agent you have, rated against each other on the same maps.

    python -m training.evaluation.league add scripted scripted
    python -m training.evaluation.league add shipped agent/weights               # an agent folder (agent.json)
    python -m training.evaluation.league add ppo_step24576 runs/default/<run>/checkpoints/step_000024576.pt
    python -m training.evaluation.league add ryandy bot:path/to/bot              # a protocol bot (main.py)
    python -m training.evaluation.league play games=20 rules=small workers=2     # backend=ray ray_address=auto
    python -m training.evaluation.league table
    python -m training.evaluation.league plot out=league.png
    python -m training.evaluation.league compare new shipped                     # exit 0 when new beats shipped

An *agent* is a name for a policy spec of :func:`training.evaluation.evaluate.make_policy`: ``random``,
``scripted``, a weights file (played sampled, no guards, on both sides), an agent folder (a folder
with ``agent.json``, or a packaged ``submission/``: played exactly as its agent.json says, greedy
robots, sampled factories, guards) or ``bot:PATH`` (a subprocess speaking the Lux protocol).

Keys: ``db=FILE`` (default ``runs/league/league.sqlite``), ``rules=`` (a preset of
``wrappers.engine.RULES``, default neurips), ``max_episode_length=`` (turns, default 1000),
``seeds=A:B`` (map seeds, default the validation range 1000110:1000134: never the test seeds
1000000:1000099 unless asked), ``games=N`` (games this ``play`` starts, rounded up to finish both
sides of its last seed; ``all``: until every pair has played every seed both sides),
``backend=local|ray``, ``ray_address=`` (training/cluster.py), ``workers=2`` (local processes),
``replays=true`` (one replay JSON per game beside the database, ``replays/game_<id>.json``).
A league keeps the ``rules`` and ``max_episode_length`` of its first ``play``: a later ``play``
with others is refused (one line), so every rated game is of the same game.

**The database** is a SQLite file (python's ``sqlite3``, WAL journal, ``busy_timeout`` 60 s): tables
``meta`` (``schema_version``, the league's rules), ``agents`` (name, spec, the sha256 of its files,
the training step its weights record: ``grad_steps``, else ``step``) and ``games``: one row per game with the map seed, the two
sides (``player_0``, ``player_1``), both specs with the sha256 of their files (a weights file's
bytes; a folder's agent.json and weights; a bot's main.py; ``builtin:NAME`` for random and
scripted), ``status``, ``result`` (+1 player_0 won, -1 player_1 won, 0 draw), each side's final
lichen and factories, ``length`` (main-phase turns), ``replay`` (path or NULL), ``error`` (the
first line of what went wrong), the host and process that played it and the start and finish
times (UTC). ``status`` is ``running`` while a game is played, then ``finished``, or
``crashed`` (a bot died or timed out, or a policy raised: the game is kept with its error line
and not rated), or ``abandoned`` (its ``play`` process died first: a later ``play`` on the same
host finds the process gone and marks the row). A game is claimed (a ``running`` row) and recorded
in short ``BEGIN IMMEDIATE`` transactions, so two ``play`` processes (or one killed with
``kill -9``) on one database neither corrupt it nor lose a finished game nor play the same game
twice. A database of another schema version, or a file that is not one, is refused in one line.

**Ratings**: openskill's Plackett-Luce model (Weng & Lin 2011, a Bayesian approximation with the
same mu/sigma semantics as TrueSkill: 25 +- 8.33 at the start, ``ordinal = mu - 3 sigma`` a
conservative rating), replayed over all finished games in the order they were claimed, so every
reader gets the same numbers from the same rows and a concurrent writer cannot lose an update;
crashed and abandoned games are not rated. Why openskill and not trueskill: openskill is
maintained (the ``trueskill`` package's last release is 0.4.5 of 2018), MIT-licensed and free of
the TrueSkill patent and trademark, closed-form (no factor-graph message passing, so replaying
thousands of games at every claim is cheap) and takes draws as tied ranks.

**Matchmaking**: the next pair is the one whose result is least certain: the largest
``(sigma_a^2 + sigma_b^2) * 4 p (1 - p) / (1 + n_ab)``, with ``p`` openskill's probability that a
beats b and ``n_ab`` the games between them (running ones included). New agents (large sigma, no
games) meet everyone first; a pair whose outcome is settled (p near 0 or 1) or often played comes
up rarely. The pair then plays the first seed of ``seeds=`` it has not played, both sides (each
agent once as ``player_0``), so a pair's games are on the same maps with sides swapped. A pair
that has played every seed is left out; ``play`` stops when every pair has.
"""

import datetime
import hashlib
import os
import re
import socket
import sqlite3
import sys
import time

SCHEMA_VERSION = 1
DEFAULT_DB = os.path.join("runs", "league", "league.sqlite")
DEFAULT_SEEDS = "1000110:1000134"  # validation seeds: disjoint from the test seeds 1000000:1000099
BUSY_TIMEOUT_MS = 60000
STATUSES = ("running", "finished", "crashed", "abandoned")
KEYS = {  # key: (default, what)
    "db": (DEFAULT_DB, "the league's SQLite file"),
    "rules": (None, "a preset of wrappers.engine.RULES (default neurips, or the league's)"),
    "max_episode_length": (None, "main-phase turns (default 1000, or the league's)"),
    "seeds": (DEFAULT_SEEDS, "map seeds A:B"),
    "games": ("20", "games to play, or all"),
    "backend": ("local", "local | ray"),
    "ray_address": ("", "'' (Ray on this machine) | auto | HOST:PORT"),
    "workers": ("2", "local processes playing games"),
    "replays": ("false", "write one replay JSON per game"),
    "out": ("", "plot: the PNG to write"),
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    step INTEGER,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS games (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seed INTEGER NOT NULL,
    rules TEXT NOT NULL,
    max_episode_length INTEGER NOT NULL,
    player_0 TEXT NOT NULL REFERENCES agents(name),
    player_1 TEXT NOT NULL REFERENCES agents(name),
    spec_0 TEXT NOT NULL,
    spec_1 TEXT NOT NULL,
    sha256_0 TEXT NOT NULL,
    sha256_1 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'crashed', 'abandoned')),
    result INTEGER,
    lichen_0 INTEGER,
    lichen_1 INTEGER,
    factories_0 INTEGER,
    factories_1 INTEGER,
    length INTEGER,
    replay TEXT,
    error TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS games_by_pair ON games (player_0, player_1, seed);
"""


class LeagueError(ValueError):
    """Bad input or a database this module cannot use; the message is one line."""


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _first_line(e):
    text = str(e).strip()
    return (text.splitlines()[0] if text else "") or type(e).__name__


# ----------------------------------------------------------------------------- specs

def _sha256(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def spec_files(spec):
    """The files that make an agent, whose sha256 the league records: a weights file; an agent
    folder's agent.json and its weights; a bot's main.py; none for ``random`` / ``scripted``.

    Raises:
        LeagueError: an unknown spec or a missing file (one line).
    """
    from agent.player import bot_folder, is_bot_spec
    from agent.player import agent_folder_config

    if spec in ("random", "scripted"):
        return []
    if is_bot_spec(spec):
        try:
            return [os.path.join(bot_folder(spec), "main.py")]
        except ValueError as e:
            raise LeagueError(str(e)) from None
    if not os.path.exists(spec):
        raise LeagueError(f"spec {spec!r}: no such file or folder (a spec is random, scripted, a weights file, "
                          f"an agent folder holding agent.json, or bot:PATH)")
    if os.path.isdir(spec):
        try:
            conf = agent_folder_config(spec)
        except ValueError as e:
            raise LeagueError(_first_line(e)) from None
        if conf is None:
            raise LeagueError(f"spec {spec!r}: a folder without agent.json (nor agent/weights/agent.json); "
                              f"for a protocol bot write bot:{spec}")
        wdir = spec if os.path.isfile(os.path.join(spec, "agent.json")) else os.path.join(spec, "agent", "weights")
        files = [os.path.join(wdir, "agent.json")]
        if conf["spec"] not in ("random", "scripted"):
            if not os.path.isfile(conf["spec"]):
                raise LeagueError(f"spec {spec!r}: its agent.json names weights {conf['spec']} that do not exist")
            files.append(conf["spec"])
        return files
    return [spec]


def spec_sha256(spec):
    """sha256 of :func:`spec_files` (``builtin:random`` / ``builtin:scripted`` for those)."""
    files = spec_files(spec)
    return _sha256(*files) if files else f"builtin:{spec}"


def _weights_step(spec):
    """The training step the weights of a spec record (``grad_steps``, else ``step``), or None."""
    from agent.player import agent_folder_config

    path = spec
    if os.path.isdir(spec):
        path = (agent_folder_config(spec) or {}).get("spec", "")
    if not os.path.isfile(path):
        return None
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    for key in ("grad_steps", "step"):  # grad_steps: BC and PPO count them alike (PPO adds its own to its init's)
        if isinstance(payload, dict) and isinstance(payload.get(key), (int, float)):
            return int(payload[key])
    return None


def check_spec(spec):
    """Normalise and check a spec: returns (absolute spec, sha256). Loads a net once (a weights file
    that does not fit is refused here, not in the middle of a league).

    Raises:
        LeagueError: one line.
    """
    from training.cluster import absolute_spec
    from training.evaluation.evaluate import make_policy

    spec = absolute_spec(str(spec))
    sha = spec_sha256(spec)
    try:
        make_policy(spec)
    except Exception as e:  # ValueError, CheckpointError, ...
        raise LeagueError(f"spec {spec!r}: {_first_line(e)}") from None
    return spec, sha


# ----------------------------------------------------------------------------- database

def open_db(path, create=True):
    """A connection to a league database (autocommit; writes use explicit transactions).

    Raises:
        LeagueError: no database at ``path`` (``create=False``), not a database, or another schema
            version.
    """
    if not create and not os.path.isfile(path):
        raise LeagueError(f"no league at {path}: add agents first (python -m training.evaluation.league add NAME SPEC db={path})")
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA journal_mode=WAL")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            con.execute("BEGIN IMMEDIATE")
            try:
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        con.execute(stmt)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            tables = {"meta", "agents", "games"}
        if "meta" not in tables:
            raise LeagueError(f"{path} is an SQLite database but not a league's (no meta table); use another db=")
        row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = row[0] if row else None
        if version != str(SCHEMA_VERSION):
            raise LeagueError(f"{path} is a league database of schema version {version}; this luxkit reads "
                              f"version {SCHEMA_VERSION}: use another db= (or move that file aside)")
    except sqlite3.DatabaseError as e:
        con.close()
        raise LeagueError(f"{path} is not a league database: {_first_line(e)}") from None
    except LeagueError:
        con.close()
        raise
    return con


class _Transaction:
    """``with _Transaction(con):`` BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception)."""

    def __init__(self, con):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, typ, value, tb):
        self.con.execute("COMMIT" if typ is None else "ROLLBACK")
        return False


def get_meta(con, key, default=None):
    row = con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else default


def check_agent(name, spec):
    """Check an agent's name and spec before anything is written: returns (absolute spec, sha256,
    training step or None).

    Raises:
        LeagueError: a bad name or spec (one line).
    """
    if not re.fullmatch(r"[A-Za-z0-9_.:+\-/]+", name or ""):
        raise LeagueError(f"agent name {name!r}: use letters, digits and _ . : + - /")
    spec, sha = check_spec(spec)
    return spec, sha, _weights_step(spec)


def add_agent(con, name, spec, checked=None):
    """Add an agent (``checked``: :func:`check_agent`'s answer, else it is called). Returns a
    one-line message.

    Raises:
        LeagueError: a bad name or spec, or the name taken by other files.
    """
    spec, sha, step = checked or check_agent(name, spec)
    with _Transaction(con):
        row = con.execute("SELECT spec, sha256 FROM agents WHERE name=?", (name,)).fetchone()
        if row is not None:
            if tuple(row) == (spec, sha):
                return f"{name} is already in the league ({spec})"
            raise LeagueError(f"{name} is already in the league as {row[0]} (sha256 {row[1][:12]}); choose another name")
        con.execute("INSERT INTO agents VALUES (?, ?, ?, ?, ?)", (name, spec, sha, step, _now()))
    what = sha if sha.startswith("builtin:") else f"sha256 {sha[:12]}"
    return f"added {name}: {spec} ({what}" + (f", step {step})" if step is not None else ")")


def agents(con):
    """``{name: {spec, sha256, step, added_at}}`` in name order."""
    return {r[0]: dict(spec=r[1], sha256=r[2], step=r[3], added_at=r[4])
            for r in con.execute("SELECT name, spec, sha256, step, added_at FROM agents ORDER BY name")}


# ----------------------------------------------------------------------------- ratings

def _model():
    from openskill.models import PlackettLuce

    return PlackettLuce()


def ratings(con, model=None):
    """Ratings replayed over every finished game, in claim order.

    Returns:
        dict: ``{name: {"mu", "sigma", "ordinal", "games"}}`` for every agent (25 +- 8.33 and 0
        games for one that has not finished a game).
    """
    model = model or _model()
    rs = {name: model.rating(name=name) for name in agents(con)}
    games = {name: 0 for name in rs}
    for p0, p1, result in con.execute("SELECT player_0, player_1, result FROM games WHERE status='finished' "
                                      "AND result IS NOT NULL ORDER BY id"):
        if p0 not in rs or p1 not in rs or p0 == p1:
            continue
        ranks = [0, 1] if result > 0 else ([1, 0] if result < 0 else [0, 0])
        [[rs[p0]], [rs[p1]]] = model.rate([[rs[p0]], [rs[p1]]], ranks=ranks)
        games[p0] += 1
        games[p1] += 1
    return {n: dict(mu=r.mu, sigma=r.sigma, ordinal=r.mu - 3 * r.sigma, games=games[n], rating=r) for n, r in rs.items()}


def _priority(model, ra, rb, n_ab):
    """How uncertain a pair's next result is: (sigma_a^2 + sigma_b^2) * 4 p (1 - p) / (1 + n_ab)."""
    p = model.predict_win([[ra], [rb]])[0]
    return (ra.sigma ** 2 + rb.sigma ** 2) * 4 * p * (1 - p) / (1 + n_ab)


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def reap_abandoned(con, host=None):
    """Mark ``running`` rows of dead ``play`` processes on this host ``abandoned``; returns how many.
    Call inside a transaction."""
    host = host or socket.gethostname()
    dead = [(gid, pid) for gid, pid in con.execute("SELECT id, pid FROM games WHERE status='running' AND host=?", (host,))
            if pid != os.getpid() and not _pid_alive(pid)]
    for gid, pid in dead:
        con.execute("UPDATE games SET status='abandoned', error=?, finished_at=? WHERE id=? AND status='running'",
                    (f"its play process (pid {pid}) ended before the game finished", _now(), gid))
    return len(dead)


def claim(con, seeds, rules, max_episode_length, playable=None, model=None):
    """Choose the next games (see module docstring) and record them as ``running``, atomically.

    Args:
        seeds (range): the map seeds to draw from.
        playable (set | None): the agent names that may play (None: all).

    Returns:
        list of dict: 1 or 2 games (``id``, ``seed``, ``player_0``, ``player_1``, ``spec_0``,
        ``spec_1``, ``sha256_0``, ``sha256_1``); empty when every pair has played every seed.
    """
    model = model or _model()
    host, pid = socket.gethostname(), os.getpid()
    with _Transaction(con):
        reap_abandoned(con, host)
        ags = {n: a for n, a in agents(con).items() if playable is None or n in playable}
        names = sorted(ags)
        rs = ratings(con, model)
        seen, n_pair = set(), {}
        for p0, p1, seed in con.execute("SELECT player_0, player_1, seed FROM games WHERE status != 'abandoned'"):
            seen.add((p0, p1, seed))
            key = tuple(sorted((p0, p1)))
            n_pair[key] = n_pair.get(key, 0) + 1
        best = None
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                seed = next((s for s in seeds if (a, b, s) not in seen or (b, a, s) not in seen), None)
                if seed is None:
                    continue
                prio = _priority(model, rs[a]["rating"], rs[b]["rating"], n_pair.get((a, b), 0))
                if best is None or prio > best[0] + 1e-12:
                    best = (prio, a, b, seed)
        if best is None:
            return []
        _, a, b, seed = best
        out = []
        for p0, p1 in ((a, b), (b, a)):
            if (p0, p1, seed) in seen:
                continue
            row = dict(seed=seed, player_0=p0, player_1=p1, spec_0=ags[p0]["spec"], spec_1=ags[p1]["spec"],
                       sha256_0=ags[p0]["sha256"], sha256_1=ags[p1]["sha256"])
            cur = con.execute(
                "INSERT INTO games (seed, rules, max_episode_length, player_0, player_1, spec_0, spec_1, sha256_0, "
                "sha256_1, status, host, pid, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (seed, rules, max_episode_length, p0, p1, row["spec_0"], row["spec_1"], row["sha256_0"],
                 row["sha256_1"], host, pid, _now()))
            out.append(dict(row, id=cur.lastrowid))
        return out


def record(con, game_id, outcome):
    """Write a played game's outcome (:func:`_play_task`) into its row."""
    if outcome.get("status") == "finished":
        con.execute("UPDATE games SET status='finished', result=?, lichen_0=?, lichen_1=?, factories_0=?, factories_1=?, "
                    "length=?, replay=?, finished_at=? WHERE id=?",
                    (outcome["result"], outcome["lichen_0"], outcome["lichen_1"], outcome["factories_0"],
                     outcome["factories_1"], outcome["length"], outcome.get("replay"), _now(), game_id))
    else:
        con.execute("UPDATE games SET status=?, error=?, finished_at=? WHERE id=?",
                    (outcome.get("status", "crashed"), outcome.get("error", "unknown error"), _now(), game_id))


# ----------------------------------------------------------------------------- playing

def _play_task(task):
    """Play one claimed game (a local process, this process or a Ray task); never raises."""
    t0 = time.time()
    try:
        import torch

        from training.evaluation.evaluate import play_game

        torch.set_num_threads(1)
        r = play_game(task["spec_0"], task["spec_1"], task["seed"], a_side="player_0", rules=task["rules"],
                      max_episode_length=task["max_episode_length"], replay_path=task.get("replay"),
                      policy_seed=task["seed"])
        return dict(status="finished", result=r["result"], lichen_0=r["lichen"], lichen_1=r["opp_lichen"],
                    factories_0=r["factories_alive"], factories_1=r["opp_factories_alive"], length=r["length"],
                    replay=task.get("replay"), seconds=time.time() - t0)
    except Exception as e:  # a bot that died or timed out (BotError), a policy that raised
        return dict(status="crashed", error=f"{type(e).__name__}: {_first_line(e)}", seconds=time.time() - t0)


class _Runner:
    """Runs :func:`_play_task` in this process (workers=1), a fork pool, or Ray tasks; ``submit`` a
    task, ``next()`` yields (task, outcome) of a finished one."""

    def __init__(self, workers, ray=None):
        self.ray, self.workers, self.pending = ray, workers, {}
        self.pool, self._count = None, 0
        if ray is None and workers > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
        self.slots = max(1, workers)
        if ray is not None:
            from training.cluster import cluster_cpus

            self.remote = ray.remote(num_cpus=1, max_retries=1)(_play_task)  # a dead worker is retried once
            self.slots = int(cluster_cpus(ray))

    def submit(self, task):
        if self.ray is not None:
            self.pending[self.remote.remote(task)] = task
        elif self.pool is not None:
            self.pending[self.pool.submit(_play_task, task)] = task
        else:
            self._count += 1
            self.pending[self._count] = task

    def next(self):
        if self.ray is not None:
            done, _ = self.ray.wait(list(self.pending), num_returns=1)
            task = self.pending.pop(done[0])
            try:
                return task, self.ray.get(done[0])
            except Exception as e:  # its Ray worker died twice
                return task, dict(status="crashed", error=f"its Ray worker died: {type(e).__name__}: {_first_line(e)}")
        if self.pool is not None:
            from concurrent.futures import FIRST_COMPLETED, wait

            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            fut = next(iter(done))
            task = self.pending.pop(fut)
            try:
                return task, fut.result()
            except Exception as e:  # BrokenProcessPool: a worker process died
                return task, dict(status="crashed", error=f"its worker process died: {type(e).__name__}")
        key = next(iter(self.pending))
        task = self.pending.pop(key)
        return task, _play_task(task)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _describe(task, out):
    head = f"game {task['id']}: seed {task['seed']}, {task['player_0']} (player_0) vs {task['player_1']} (player_1): "
    if out["status"] != "finished":
        return head + f"{out['status']}: {out.get('error')} (not rated)"
    who = {1: f"{task['player_0']} wins", -1: f"{task['player_1']} wins", 0: "draw"}[out["result"]]
    return head + (f"{who}, lichen {out['lichen_0']}-{out['lichen_1']}, {out['length']} turns, "
                   f"{out.get('seconds', 0):.1f} s")


def _league_settings(con, rules, max_episode_length):
    """The league's rules and turns: those given (checked against the league's), else the league's,
    else neurips / 1000; stored at the first ``play``.

    Raises:
        LeagueError: the league plays other rules or turns.
    """
    from wrappers.engine import RULES

    with _Transaction(con):
        have_rules, have_len = get_meta(con, "rules"), get_meta(con, "max_episode_length")
        rules = rules or have_rules or "neurips"
        mel = int(max_episode_length) if max_episode_length is not None else int(have_len or 1000)
        if rules not in RULES:
            raise LeagueError(f"rules={rules!r}: choose one of {sorted(RULES)}")
        if mel <= 0:
            raise LeagueError(f"max_episode_length={mel} must be positive")
        if have_rules is not None and (have_rules, int(have_len)) != (rules, mel):
            raise LeagueError(f"this league plays rules={have_rules} max_episode_length={have_len}, not rules={rules} "
                              f"max_episode_length={mel}: use another db= for other games")
        if have_rules is None:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('rules', ?)", (rules,))
            con.execute("INSERT OR REPLACE INTO meta VALUES ('max_episode_length', ?)", (str(mel),))
    return rules, mel


def play(db, games=20, seeds=range(1000110, 1000134), rules=None, max_episode_length=None, workers=2, ray=None,
         replays=False, log=print):
    """Play ``games`` games (None: until every pair has played every seed both sides) and record them.

    Returns:
        dict: ``played``, ``finished``, ``crashed``, ``seconds``.

    Raises:
        LeagueError: fewer than two agents that can play, other rules than the league's.
    """
    con = open_db(db, create=False)
    playable = set()
    for name, a in agents(con).items():
        try:
            sha = spec_sha256(a["spec"])
        except LeagueError as e:
            log(f"league: {name} is left out: {e}")
            continue
        if sha != a["sha256"]:
            log(f"league: {name} is left out: its files changed since it was added (sha256 {a['sha256'][:12]}, now "
                f"{sha[:12]}); add them under a new name")
            continue
        playable.add(name)
    try:
        if len(playable) < 2:
            raise LeagueError(f"{db}: a league needs at least two agents that can play ({len(playable)}); "
                              f"add some: python -m training.evaluation.league add NAME SPEC db={db}")
        rules, mel = _league_settings(con, rules, max_episode_length)
    except LeagueError:
        con.close()
        raise
    replay_dir = os.path.join(os.path.dirname(os.path.abspath(db)), "replays") if replays else None
    model = _model()
    runner = _Runner(workers, ray)
    t0, started, counts, exhausted = time.time(), 0, {"finished": 0, "crashed": 0}, False
    mine = set()
    try:
        while True:
            while not exhausted and len(runner.pending) < runner.slots and (games is None or started < games):
                batch = claim(con, seeds, rules, mel, playable, model)
                if not batch:
                    exhausted = True
                    break
                for g in batch:
                    task = dict(g, rules=rules, max_episode_length=mel,
                                replay=os.path.join(replay_dir, f"game_{g['id']}.json") if replay_dir else None)
                    mine.add(g["id"])
                    runner.submit(task)
                    started += 1
            if not runner.pending:
                break
            task, out = runner.next()
            with _Transaction(con):
                record(con, task["id"], out)
            mine.discard(task["id"])
            counts["finished" if out["status"] == "finished" else "crashed"] += 1
            log(_describe(task, out))
    finally:
        runner.close()
        if mine:  # interrupted (Ctrl-C, an error): these games were not played to the end
            with _Transaction(con):
                for gid in mine:
                    con.execute("UPDATE games SET status='abandoned', error=?, finished_at=? WHERE id=? AND status='running'",
                                ("its play process stopped before the game finished", _now(), gid))
        con.close()
    if exhausted and games is not None:
        log(f"league: every pair has played every seed of {seeds.start}:{seeds.stop} both sides; give more seeds= for more games")
    return dict(played=counts["finished"] + counts["crashed"], **counts, seconds=time.time() - t0)


# ----------------------------------------------------------------------------- reports

def _pair_stats(con):
    """``{(a, b): [wins of a, draws, games]}`` over finished games, both orders."""
    out = {}
    for p0, p1, result in con.execute("SELECT player_0, player_1, result FROM games WHERE status='finished'"):
        for a, b, r in ((p0, p1, result), (p1, p0, -result)):
            s = out.setdefault((a, b), [0, 0, 0])
            s[0] += r > 0
            s[1] += r == 0
            s[2] += 1
    return out


def table(con):
    """The league table (text): agents from the highest ordinal down, rating mu +- sigma, ordinal,
    rated games, crashed games, the mean final lichen of the agent's rated games, and the win rate
    (and games) against each other agent; then one line on the time a game took to play (from the
    games' start and finish times: mean seconds a game and games an hour per playing process)."""
    rs = ratings(con)
    order = sorted(rs, key=lambda n: (-rs[n]["ordinal"], n))
    pairs = _pair_stats(con)
    crashed = {}
    for p0, p1 in con.execute("SELECT player_0, player_1 FROM games WHERE status='crashed'"):
        for n in (p0, p1):
            crashed[n] = crashed.get(n, 0) + 1
    lichen = {}
    for p0, p1, l0, l1 in con.execute("SELECT player_0, player_1, lichen_0, lichen_1 FROM games WHERE status='finished'"):
        for n, v in ((p0, l0), (p1, l1)):
            lichen.setdefault(n, []).append(v or 0)
    n_fin = con.execute("SELECT COUNT(*) FROM games WHERE status='finished'").fetchone()[0]
    n_crash = con.execute("SELECT COUNT(*) FROM games WHERE status='crashed'").fetchone()[0]
    rules, mel = get_meta(con, "rules"), get_meta(con, "max_episode_length")
    head = (f"{len(order)} agents, {n_fin} rated games, {n_crash} crashed (not rated)"
            + (f"; rules={rules} max_episode_length={mel}" if rules else "")
            + "; sorted by ordinal = mu - 3 sigma; 'vs #k': win rate (games) against agent #k")
    width = max([5] + [len(n) for n in order])
    cols = "".join(f"{'vs #' + str(i + 1):>11}" for i in range(len(order)))
    lines = [head, f"{'#':>3}  {'agent':<{width}}  {'mu ± sigma':>13}  {'ordinal':>7}  {'games':>5}  {'crashed':>7}"
                   f"  {'lichen':>7}{cols}"]
    for i, n in enumerate(order):
        r = rs[n]
        cells = ""
        for m in order:
            s = pairs.get((n, m))
            cells += f"{'-':>11}" if m == n or not s else f"{f'{100 * s[0] / s[2]:.0f}% ({s[2]})':>11}"
        mean_lichen = f"{sum(lichen[n]) / len(lichen[n]):>7.0f}" if lichen.get(n) else f"{'-':>7}"
        lines.append(f"{i + 1:>3}  {n:<{width}}  {r['mu']:>6.1f} ± {r['sigma']:<4.1f}  {r['ordinal']:>7.1f}  "
                     f"{r['games']:>5}  {crashed.get(n, 0):>7}  {mean_lichen}{cells}")
    lines.append(_play_time(con))
    return "\n".join(lines)


def _play_time(con):
    """One line: how long the league's finished games took to play (seconds from ``started_at`` to
    ``finished_at``, UTC ISO times), as a mean, a range and games an hour per playing process."""
    secs = []
    for a, b in con.execute("SELECT started_at, finished_at FROM games WHERE status='finished' AND finished_at IS NOT NULL"):
        try:
            secs.append((datetime.datetime.fromisoformat(b) - datetime.datetime.fromisoformat(a)).total_seconds())
        except (TypeError, ValueError):
            continue
    if not secs:
        return "play time: no finished game"
    mean = sum(secs) / len(secs)
    return (f"play time: {len(secs)} games, {mean:.1f} s a game on average ({min(secs):.1f}-{max(secs):.1f} s), "
            f"{3600 / max(mean, 1e-9):.0f} games an hour per playing process")


def compare(con, a, b):
    """Whether agent ``a`` beats agent ``b`` on the games both played on the same seed, side and
    opponent (their games against each other pair up with sides swapped): more wins, a tie broken
    by the mean lichen margin (own minus the opponent's lichen at the end).

    Returns:
        (bool, str): a beats b, and one line saying so with the counts.

    Raises:
        LeagueError: an unknown agent or no game in common.
    """
    known = agents(con)
    for n in (a, b):
        if n not in known:
            raise LeagueError(f"no agent {n!r} in the league (agents: {', '.join(known) or 'none'})")
    games = {a: {}, b: {}}
    for p0, p1, seed, result, l0, l1 in con.execute(
            "SELECT player_0, player_1, seed, result, lichen_0, lichen_1 FROM games WHERE status='finished' ORDER BY id"):
        for me, opp, side, r, mine, theirs in ((p0, p1, 0, result, l0, l1), (p1, p0, 1, -result, l1, l0)):
            if me in games:
                games[me][("other" if opp in games else opp, seed, side)] = (r, mine - theirs)
    common = sorted(set(games[a]) & set(games[b]), key=str)
    if not common:
        raise LeagueError(f"{a} and {b} have no game in common (the same seed, side and opponent)")
    wins = {n: sum(games[n][k][0] > 0 for k in common) for n in (a, b)}
    margin = {n: sum(games[n][k][1] for k in common) / len(common) for n in (a, b)}
    better = wins[a] > wins[b] or (wins[a] == wins[b] and margin[a] > margin[b])
    line = (f"{a} {'beats' if better else 'does not beat'} {b} on {len(common)} games each (same seeds, sides and "
            f"opponents): wins {wins[a]} vs {wins[b]}, mean lichen margin {margin[a]:+.0f} vs {margin[b]:+.0f}")
    return better, line


def _step_of(name, step):
    """The training step of an agent: its weights' record (grad_steps, else step), else the number ending its name."""
    if step is not None:
        return int(step)
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else None


def plot(con, out):
    """Rating (mu +- sigma) against training step, one line per family of agents (the name without
    its trailing number); agents without a step as dashed horizontal lines. Returns the figure path.

    Raises:
        LeagueError: no agent has a training step.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs, ags = ratings(con), agents(con)
    series, flat = {}, []
    for name, a in ags.items():
        step = _step_of(name, a["step"])
        if step is None:
            flat.append(name)
        else:
            stem = re.sub(r"[_\-.:/]*\d+$", "", name) or name
            series.setdefault(stem, []).append((step, rs[name]["mu"], rs[name]["sigma"], name))
    if not series:
        raise LeagueError("no agent has a training step (a name ending in a number, or weights recording step or "
                          "grad_steps): nothing to plot")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for stem, pts in sorted(series.items()):
        pts.sort()
        x, mu, sig = [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]
        ax.errorbar(x, mu, yerr=sig, marker="o", capsize=3, label=stem)
    for i, name in enumerate(sorted(flat)):
        ax.axhline(rs[name]["mu"], linestyle="--", linewidth=1, color=f"C{(len(series) + i) % 10}", label=name)
    ax.set_xlabel("training step (the weights' grad_steps, else step, else the number ending the name)")
    ax.set_ylabel("rating mu ± sigma (openskill)")
    ax.set_title(f"league: {sum(r['games'] for r in rs.values()) // 2} rated games")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


# ----------------------------------------------------------------------------- command line

def _parse(argv):
    """(positional words, key -> value text) of the command line (:func:`training.kv.split_kv`).

    Raises:
        LeagueError: a key not in :data:`KEYS`.
    """
    from training.kv import split_kv

    pos, kw = split_kv(argv, paths=True)
    for key in kw:
        if key not in KEYS:
            raise LeagueError(f"unknown key {key!r}; keys: {', '.join(KEYS)}")
    return pos, kw


def _int(kw, key, default):
    try:
        return int(kw.get(key, default))
    except ValueError:
        raise LeagueError(f"{key}={kw[key]!r} is not a number") from None


def _seeds(text):
    try:
        a, b = text.split(":")
        r = range(int(a), int(b))
    except ValueError:
        raise LeagueError(f"seeds={text!r} must be start:stop, e.g. {DEFAULT_SEEDS}") from None
    if not len(r):
        raise LeagueError(f"seeds={text!r} is empty")
    return r


def run(argv, log=print):
    """The command line without the exit: returns the exit code. Raises LeagueError for bad input."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        log(__doc__)
        return 0 if argv else 2
    cmd, (pos, kw) = argv[0], _parse(argv[1:])
    db = kw.get("db", DEFAULT_DB)
    if cmd == "add":
        if len(pos) != 2:
            raise LeagueError("usage: python -m training.evaluation.league add NAME SPEC [db=FILE]")
        checked = check_agent(pos[0], pos[1])  # a bad spec writes nothing
        con = open_db(db)
        try:
            log(add_agent(con, pos[0], pos[1], checked))
        finally:
            con.close()
        return 0
    if cmd == "compare":
        if len(pos) != 2:
            raise LeagueError("usage: python -m training.evaluation.league compare A B [db=FILE]")
        con = open_db(db, create=False)
        try:
            better, line = compare(con, *pos)
        finally:
            con.close()
        log(line)
        return 0 if better else 1
    if cmd not in ("play", "table", "plot"):
        raise LeagueError(f"unknown command {cmd!r}; commands: add, play, table, plot, compare")
    if pos:
        raise LeagueError(f"{cmd}: unexpected argument {pos[0]!r}")
    if cmd == "play":
        games = None if kw.get("games") == "all" else _int(kw, "games", KEYS["games"][0])
        if games is not None and games <= 0:
            raise LeagueError(f"games={games} must be positive (or all)")
        workers = _int(kw, "workers", KEYS["workers"][0])
        backend = kw.get("backend", "local")
        if backend not in ("local", "ray"):
            raise LeagueError(f"backend={backend!r}: choose local or ray")
        seeds = _seeds(kw.get("seeds", DEFAULT_SEEDS))
        replays = kw.get("replays", "false").lower() in ("1", "true", "yes", "on")
        open_db(db, create=False).close()  # bad database: one line before Ray starts
        ray = None
        if backend == "ray":
            from training.cluster import ClusterError, connect

            try:
                ray = connect(kw.get("ray_address", ""))
            except ClusterError as e:
                raise LeagueError(str(e)) from None
        mel = _int(kw, "max_episode_length", 0) if "max_episode_length" in kw else None
        res = play(db, games=games, seeds=seeds, rules=kw.get("rules"), max_episode_length=mel,
                   workers=workers, ray=ray, replays=replays, log=log)
        log(f"league: played {res['played']} games ({res['crashed']} crashed) in {res['seconds']:.0f} s; "
            f"python -m training.evaluation.league table db={db}")
        return 0
    con = open_db(db, create=False)
    try:
        if cmd == "table":
            log(table(con))
        else:
            out = kw.get("out") or os.path.join(os.path.dirname(db) or ".", "league.png")
            log(f"plot: {plot(con, out)}")
    finally:
        con.close()
    return 0


def main(argv=None):
    """``python -m training.evaluation.league``: exit 0, 1 (``compare``: A does not beat B) or 2 with one line
    (bad input, a database of another schema)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(argv, log=lambda m: print(m, flush=True))
    except LeagueError as e:
        print(f"league: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("league: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
