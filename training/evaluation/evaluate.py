"""Test mode: play a policy against opponents on held-out map seeds and report how it does.

    python train.py mode=test checkpoint=runs/.../checkpoints/latest.pt \\
        opponents=random,scripted,runs/other/checkpoints/latest.pt test_seeds=1000:1100

Every seed is played twice with sides swapped, in parallel over ``test_workers`` processes (or,
``backend=ray``, one Ray task per game: training/cluster.py). Per
opponent it reports wins/draws/losses with a 95% Wilson interval of the win rate, mean final
lichen (ours and theirs), factories alive at the end, mean game length and robots lost to
collisions, writes ``results.json`` and (``replays=true``) one replay JSON per game that the Lux
visualizer opens (the luxai-s2 runner's format with compressed observations).

Train seeds and test seeds are disjoint ranges (``train_seeds`` vs ``test_seeds``), as in the
ProcGen train/test level splits: :func:`training.kv.check_disjoint` refuses overlapping ranges.

A policy spec is ``random`` (random-masked), ``scripted`` (agent/scripted.py, when present), a
path to a weights file written by train.py (played by agent.player.NetPolicy), or ``bot:PATH``, a
folder whose main.py speaks the Lux protocol (a subprocess, :mod:`training.botproc`; such games go
through the protocol driver, and a game whose bot crashes or times out is reported in one line and
left out of the results, counted as ``bot_errors``).
"""

import json
import math
import os
import time

import numpy as np

PLAYERS = ("player_0", "player_1")


def make_policy(spec, seed=0, greedy=False, sample_factories=False, **guards):
    """A ``policy(state) -> action dict`` for a spec of :func:`agent.player.policy_from_spec`
    (random | scripted | path to weights | an agent folder, played as its agent.json says whatever
    the other arguments), or a stand-in that names the folder of a
    ``bot:PATH`` (the protocol driver plays those). ``guards``: the decoding guards of a net (keys
    of ``agent.guards.GUARDS``).

    Raises:
        ValueError: unknown spec, or a bot folder without main.py; agent.net.CheckpointError for a
            bad weights file; TypeError for an unknown guard keyword.
    """
    from agent.actions import decode
    from agent.player import bot_folder, is_bot_spec, policy_from_spec

    if is_bot_spec(spec):
        folder = bot_folder(spec)  # ValueError without main.py

        def played_by_the_driver(state):
            raise RuntimeError(f"{spec} is a protocol bot: play_game runs it as a subprocess")

        played_by_the_driver.bot_folder = folder
        return played_by_the_driver
    pol = policy_from_spec(spec, seed=seed, greedy=greedy, sample_factories=sample_factories, **guards)
    return lambda state: decode(state, pol(state))


def wilson_interval(wins, n, z=1.96):
    """95% Wilson score interval (low, high) of a win rate; (0, 1) when n == 0."""
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    d = 1 + z * z / n
    c = p + z * z / (2 * n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (c - h) / d), min(1.0, (c + h) / d)


def play_game(spec_a, spec_b, map_seed, a_side="player_0", rules="neurips", max_episode_length=1000,
              replay_path=None, policy_seed=0, greedy=False, sample_factories=False, **guards):
    """Play one game of policy A against policy B; returns A's view of the result.

    ``greedy`` plays policy A (when it is a weights file) by its most likely legal choices;
    ``sample_factories`` then still samples A's factory head (agent.json ``sample_factories``);
    ``guards`` are A's decoding guards (the keys of ``agent.guards.GUARDS``, agent.json's names).

    Returns:
        dict: ``result`` (+1 / 0 / -1 for A), ``lichen``, ``opp_lichen``, ``factories_alive``,
        ``opp_factories_alive``, ``length`` (main-phase turns), ``survived`` (A still has a factory
        after the last turn, ``max_episode_length``), ``robots_lost_collisions`` (A's
        robots destroyed other than by self-destruct), ``ice_dug``, ``map_seed``, ``side``.
    """
    from agent.actions import ENGINE_TYPE, SELF_DESTRUCT
    from wrappers.engine import make_env, run_game

    env = make_env(rules, max_episode_length=max_episode_length)
    b_side = PLAYERS[1 - PLAYERS.index(a_side)]
    pols = {a_side: make_policy(spec_a, seed=policy_seed, greedy=greedy, sample_factories=sample_factories, **guards),
            b_side: make_policy(spec_b, seed=policy_seed + 1)}
    self_destructs = {p: 0 for p in PLAYERS}

    def act(p, st):
        a = pols[p](st)
        self_destructs[p] += sum(1 for k, v in a.items() if k.startswith("unit_") and v[0][0] == ENGINE_TYPE[SELF_DESTRUCT])
        return a

    from agent.player import is_bot_spec
    from training.botproc import InProcessAgent, ProtocolBot, ReplayRecorder, run_protocol_game

    rec = ReplayRecorder() if replay_path else None  # the luxai-s2 runner's format, plus env_cfg
    hooks = dict(on_reset=rec.on_reset, on_step=rec.on_step) if rec is not None else {}
    specs = {a_side: spec_a, b_side: spec_b}
    if any(is_bot_spec(s) for s in specs.values()):  # raises BotError when a bot fails
        agents = {p: ProtocolBot(s) if is_bot_spec(s) else InProcessAgent(lambda st, p=p: act(p, st), p)
                  for p, s in specs.items()}
        rewards = run_protocol_game(env, map_seed, agents, **hooks)
    else:
        rewards, _ = run_game(env, map_seed, act, **hooks)
    if rec is not None:
        rec.save(replay_path, env, map_seed, specs)
    st = env.state

    def lichen(p):
        strains = st.teams[p].factory_strains if p in st.teams else []
        return int(st.board.lichen[np.isin(st.board.lichen_strains, strains)].sum()) if strains else 0

    ra, rb = rewards[a_side], rewards[b_side]
    destroyed = st.stats[a_side]["destroyed"]
    return dict(
        result=1 if ra > rb else (-1 if ra < rb else 0), lichen=lichen(a_side), opp_lichen=lichen(b_side),
        factories_alive=len(st.factories[a_side]), opp_factories_alive=len(st.factories[b_side]),
        length=int(st.real_env_steps),
        survived=bool(len(st.factories[a_side]) > 0 and st.real_env_steps >= max_episode_length),
        robots_lost_collisions=int(destroyed["LIGHT"] + destroyed["HEAVY"] - self_destructs[a_side]),
        ice_dug=int(st.stats[a_side]["generation"]["ice"]["LIGHT"] + st.stats[a_side]["generation"]["ice"]["HEAVY"]),
        map_seed=int(map_seed), side=a_side,
    )


def _play_task(task):
    """(opponent, play_game result or None, message or None) of one test game (a pool or Ray task)."""
    import torch

    from training.botproc import BotError

    torch.set_num_threads(1)
    try:
        return task["opponent"], play_game(**{k: v for k, v in task.items() if k != "opponent"}), None
    except BotError as e:  # the game ends; the evaluation goes on with the next one
        return task["opponent"], None, f"{_describe(task)}: {e}; game left out"


def _describe(task):
    return f"game vs {task['opponent']}, seed {task['map_seed']} ({task['a_side']})"


def _run_tasks(tasks, workers, ray):
    """Yield (task, _play_task result) over a fork pool, this process, or Ray tasks (a game whose
    Ray worker dies twice yields (task, None))."""
    if ray is not None:
        from training.cluster import map_tasks

        for i, res in map_tasks(ray, _play_task, tasks, describe=_describe):
            yield tasks[i], res
    elif workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            yield from zip(tasks, pool.imap(_play_task, tasks))
    else:
        for t in tasks:
            yield t, _play_task(t)


def summarize(games):
    """Aggregate a list of play_game results into the report row (see module docstring)."""
    n = len(games)
    wins = sum(g["result"] > 0 for g in games)
    draws = sum(g["result"] == 0 for g in games)
    lo, hi = wilson_interval(wins, n)

    def mean(k):
        return float(np.mean([g[k] for g in games])) if games else 0.0

    return dict(games=n, wins=wins, draws=draws, losses=n - wins - draws, win_rate=wins / n if n else 0.0,
                win_rate_95ci=[lo, hi], lichen=mean("lichen"), opp_lichen=mean("opp_lichen"),
                factories_alive=mean("factories_alive"), opp_factories_alive=mean("opp_factories_alive"),
                game_length=mean("length"), survival_rate=mean("survived"), robots_lost_collisions=mean("robots_lost_collisions"),
                ice_dug=mean("ice_dug"))


def evaluate(policy, opponents, seeds, rules="neurips", max_episode_length=1000, workers=2, replay_dir=None,
             progress=True, greedy=False, ray=None, sample_factories=False, **guards):
    """Play ``policy`` against each opponent on every seed, both sides; returns {opponent: summary}.

    ``greedy`` plays ``policy`` by its most likely legal choices (opponents always sample);
    ``sample_factories`` then still samples its factory head; ``guards`` are its decoding guards
    (the keys of ``agent.guards.GUARDS``, :func:`agent.guards.guarded_masks`).
    ``survival_rate`` in a summary is the fraction of games that reached ``max_episode_length``
    with at least one of the policy's factories alive. ``ray`` (the module of
    :func:`training.cluster.connect`) plays one Ray task per game instead of ``workers`` local
    processes: the same games, so the same results; replays are written by the worker (on a
    cluster, on the node that played the game). A game whose Ray worker died twice is left out and
    counted in ``worker_failures``.
    """
    from agent.guards import guard_options
    from training.cluster import absolute_spec

    guards = guard_options(**guards)  # TypeError now, not in a worker
    tasks = []
    for opp in opponents:
        for s in seeds:
            for side in PLAYERS:
                rp = None
                if replay_dir:
                    tag = os.path.basename(opp.rstrip("/")) if (os.path.exists(opp) or opp.startswith("bot:")) else opp
                    rp = os.path.join(replay_dir, f"{tag}_seed{s}_{side}.json")
                tasks.append(dict(opponent=opp, spec_a=absolute_spec(policy), spec_b=absolute_spec(opp), map_seed=s, a_side=side,
                                  rules=rules, max_episode_length=max_episode_length, replay_path=rp, policy_seed=s,
                                  greedy=greedy, sample_factories=sample_factories, **guards))
    results = {opp: [] for opp in opponents}
    worker_failures = {opp: 0 for opp in opponents}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="test games", unit="game")
    for task, out in _run_tasks(tasks, workers, ray):
        if out is None:  # its Ray worker died twice (training.cluster.map_tasks said so)
            worker_failures[task["opponent"]] += 1
        else:
            opp, res, msg = out
            if msg:
                print(msg, flush=True)
            results[opp].append(res)
        bar and bar.update(1)
    bar and bar.close()
    out = {}
    for opp, games in results.items():
        ok = [g for g in games if g is not None]
        out[opp] = dict(summarize(ok), bot_errors=len(games) - len(ok), worker_failures=worker_failures[opp],
                        per_game=sorted(ok, key=lambda g: (g["map_seed"], g["side"])))
    return out


def add_game_arguments(ap, seeds):
    """Add the game settings of :func:`evaluate` to an argparse parser (the scripts that evaluate
    checkpoints: checkpoint_curves.py, select_checkpoint.py): ``--opponent``, ``--seeds``
    (``start:stop``, default ``seeds``), ``--rules``, ``--max-episode-length`` (turns),
    ``--workers`` and the decoding flags of agent.json (``--greedy``, ``--sample-factories``,
    ``--water-guard``, ``--power-guard``, ...). :func:`game_kwargs` turns the parsed values into
    :func:`evaluate`'s keyword arguments."""
    ap.add_argument("--opponent", default="scripted", help="random | scripted | a weights file | bot:PATH")
    ap.add_argument("--seeds", default=seeds, help="held-out map seeds start:stop")
    ap.add_argument("--rules", default="neurips")
    ap.add_argument("--max-episode-length", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--greedy", action="store_true", help="robots play their most likely legal choice")
    add_decoding_flags(ap)


def add_decoding_flags(ap):
    """Add ``--sample-factories`` and one flag per guard of ``agent.guards.GUARDS`` (``--water-guard``
    for ``water_guard`` and so on: the agent.json keys, agent/player.py) to an argparse parser: the
    game-time decoding of a net, shared by the evaluation scripts (:func:`add_game_arguments`) and
    the packager (training/submission/package.py)."""
    from agent.guards import GUARDS

    ap.add_argument("--sample-factories", action="store_true",
                    help="robots take their most likely legal choices, the factory head (builds, watering) samples "
                         "(agent.json sample_factories)")
    for key, what in GUARDS.items():
        ap.add_argument("--" + key.replace("_", "-"), action="store_true", help=f"{what} (agent.json {key})")


def guard_kwargs(values):
    """``{guard: bool}`` for every key of ``agent.guards.GUARDS``, read as attributes of ``values``
    (parsed :func:`add_decoding_flags` arguments, or a ``TrainConfig``)."""
    from agent.guards import GUARDS

    return {k: bool(getattr(values, k)) for k in GUARDS}


def game_kwargs(args):
    """:func:`evaluate`'s keyword arguments from the values of :func:`add_game_arguments`."""
    return dict(rules=args.rules, max_episode_length=args.max_episode_length, workers=args.workers,
                greedy=args.greedy, sample_factories=args.sample_factories, **guard_kwargs(args))


def _seat(game):
    """A game's pairing key: (map seed, the side the policy played)."""
    return int(game["map_seed"]), game["side"]


def games_by_seat(games):
    """``{(map_seed, side): game}`` of the :func:`play_game` results in ``games`` that can be paired
    (dicts with map_seed, side, lichen and result): a ``base`` of :func:`paired_summary`."""
    return {_seat(g): g for g in games if isinstance(g, dict) and {"map_seed", "side", "lichen", "result"} <= set(g)}


def load_baseline(path):
    """Games of an earlier evaluation to pair this one's with (``train.py mode=test baseline=PATH``).

    Args:
        path (str): a ``results.json`` of test mode (``{"report": {opponent: {"per_game": [...]}}}``)
            or a JSON list of :func:`play_game` results (as in ``notes/results/*_validation*.json``; their
            opponent is not recorded, so they pair with every opponent of this run).

    Returns:
        dict: ``{opponent or None: {(map_seed, side): game}}`` (``None`` for a plain list).

    Raises:
        ValueError: the file is missing, is not JSON, or holds no games.
    """
    if not os.path.isfile(path):
        raise ValueError(f"baseline={path!r} does not exist (give the results.json of an earlier mode=test run)")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"baseline={path!r} is not a JSON file: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("report"), dict):
        groups = {opp: r.get("per_game", []) for opp, r in data["report"].items() if isinstance(r, dict)}
    elif isinstance(data, list):
        groups = {None: data}
    else:
        raise ValueError(f"baseline={path!r}: expected a results.json of mode=test or a list of games")
    out = {}
    for opp, games in groups.items():
        keyed = games_by_seat(games)
        if keyed:
            out[opp] = keyed
    if not out:
        raise ValueError(f"baseline={path!r} holds no games (each needs map_seed, side, lichen and result)")
    return out


def paired_summary(games, base):
    """Compare ``games`` (play_game results) with the baseline's game on the same map seed and side.

    Args:
        games (list of dict): this run's games against one opponent.
        base (dict): ``{(map_seed, side): game}``, one entry of :func:`load_baseline`.

    Returns:
        dict or None (no game in common): ``games`` (paired count), ``lichen`` / ``base_lichen``
        (means over the paired games), ``lichen_up`` / ``lichen_down`` (games with more / less
        lichen than the baseline's), ``wins`` / ``base_wins``, ``factories_alive`` /
        ``base_factories_alive`` (means), ``same`` (games with the same lichen and length: the
        same play, as after a change that should not alter it).
    """
    pairs = [(g, base[key]) for g in games if (key := _seat(g)) in base]
    if not pairs:
        return None
    n = len(pairs)

    def mean(k, i):
        return float(np.mean([p[i].get(k, 0) for p in pairs]))

    return dict(games=n, lichen=mean("lichen", 0), base_lichen=mean("lichen", 1),
                lichen_up=sum(a["lichen"] > b["lichen"] for a, b in pairs),
                lichen_down=sum(a["lichen"] < b["lichen"] for a, b in pairs),
                wins=sum(a["result"] > 0 for a, _ in pairs), base_wins=sum(b["result"] > 0 for _, b in pairs),
                factories_alive=mean("factories_alive", 0), base_factories_alive=mean("factories_alive", 1),
                same=sum(a["lichen"] == b["lichen"] and a.get("length") == b.get("length") for a, b in pairs))


def format_paired(opponent, paired):
    """One line of :func:`paired_summary` for the test-mode printout."""
    return (f"{_opponent_tag(opponent)}: paired with the baseline on {paired['games']} games: lichen {paired['lichen']:.0f} vs "
            f"{paired['base_lichen']:.0f} (up in {paired['lichen_up']}, down in {paired['lichen_down']}), wins "
            f"{paired['wins']} vs {paired['base_wins']}, factories alive {paired['factories_alive']:.2f} vs "
            f"{paired['base_factories_alive']:.2f}, same play in {paired['same']}")


def _opponent_tag(opponent):
    """An opponent's name in the printed tables: a weights file by its file name."""
    if os.path.isdir(opponent):
        return os.path.basename(os.path.abspath(opponent)) + "/"
    return os.path.basename(opponent) if os.path.isfile(opponent) else opponent


def format_table(report):
    lines = [f"{'opponent':<28} {'games':>5} {'W/D/L':>11} {'win rate (95% CI)':>22} {'lichen':>8} "
             f"{'opp lichen':>10} {'factories':>9} {'survived':>8} {'length':>7} {'lost robots':>11}"]
    for opp, r in report.items():
        tag = _opponent_tag(opp)
        ci = r["win_rate_95ci"]
        lines.append(f"{tag:<28} {r['games']:>5} {r['wins']:>3}/{r['draws']:>3}/{r['losses']:>3} "
                     f"{r['win_rate']:>8.2f} [{ci[0]:.2f}, {ci[1]:.2f}] {r['lichen']:>8.0f} {r['opp_lichen']:>10.0f} "
                     f"{r['factories_alive']:>9.2f} {r['survival_rate']:>8.2f} {r['game_length']:>7.0f} "
                     f"{r['robots_lost_collisions']:>11.1f}")
    return "\n".join(lines)


def write_replay_plots(replay_dir):
    """Write ``<replay>.png``, the timeline of :func:`training.evaluation.render.plot_timeline`, beside every
    ``*.json`` replay in ``replay_dir``; returns the PNG paths. A replay that cannot be read is
    reported in one line and skipped."""
    from training.evaluation.render import plot_timeline, timeline
    from training.replay_io import ReplayError, load_replay

    out = []
    for name in sorted(os.listdir(replay_dir)) if os.path.isdir(replay_dir) else []:
        if not name.endswith(".json"):
            continue
        path = os.path.join(replay_dir, name)
        try:
            rep = load_replay(path)
            png = path[:-5] + ".png"
            plot_timeline(timeline(rep), png, title=name[:-5])
            out.append(png)
        except (ReplayError, ValueError) as e:
            print(f"train.py: no timeline for {path}: {e}")
    return out


def main_test(cfg):
    """``train.py mode=test``: evaluate ``cfg.checkpoint`` and write results.json (+ replays)."""
    from training.kv import check_disjoint, parse_seed_range

    test_seeds = parse_seed_range(cfg.test_seeds, "test_seeds")
    try:
        check_disjoint(parse_seed_range(cfg.train_seeds, "train_seeds"), test_seeds)
    except ValueError as e:
        print(f"train.py: {e}")
        return 2
    policy = cfg.checkpoint or "random"
    opponents = [o for o in cfg.opponents.split(",") if o]
    try:
        for spec in [policy] + opponents:
            make_policy(spec)
    except Exception as e:
        print(f"train.py: {e}")
        return 2
    baseline = None
    if cfg.baseline:
        try:
            baseline = load_baseline(cfg.baseline)
        except ValueError as e:
            print(f"train.py: {e}")
            return 2
    ray = None
    if cfg.backend == "ray":
        from training.cluster import ClusterError, connect

        try:
            ray = connect(cfg.ray_address)  # None: Ray cannot start here (one line said why); local backend
        except ClusterError as e:
            print(f"train.py: {e}")
            return 2
    out_dir = os.path.abspath(cfg.run_dir or os.path.join("runs", "test", time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    report = evaluate(policy, opponents, test_seeds, rules=cfg.rules, max_episode_length=cfg.max_episode_length,
                      workers=cfg.test_workers, replay_dir=os.path.join(out_dir, "replays") if cfg.replays else None,
                      progress=cfg.progress_bar, greedy=cfg.greedy, ray=ray, sample_factories=cfg.sample_factories,
                      **guard_kwargs(cfg))
    if cfg.replays and cfg.replay_plots:
        write_replay_plots(os.path.join(out_dir, "replays"))
    paired_lines = []
    for opp, r in (report.items() if baseline else ()):
        base = baseline.get(opp, baseline.get(None))
        paired = paired_summary(r["per_game"], base) if base else None
        if paired:
            r["paired"] = paired
            paired_lines.append(format_paired(opp, paired))
        else:  # e.g. other seeds, or the opponent named otherwise (a relative vs an absolute path)
            paired_lines.append(f"{opp}: no game in common with the baseline {cfg.baseline}")
    out = dict(policy=policy, baseline=cfg.baseline or None, greedy=cfg.greedy, sample_factories=cfg.sample_factories,
               **guard_kwargs(cfg), rules=cfg.rules, test_seeds=cfg.test_seeds, seconds=time.time() - t0,
               backend="ray" if ray is not None else "local", report=report)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(format_table(report))
    for line in paired_lines:
        print(line)
    print(f"results: {os.path.join(out_dir, 'results.json')}")
    return 0
