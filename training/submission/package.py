"""Build the Kaggle submission and prove it plays: ``submission/`` and ``submission.tar.gz``.

    python scripts/package.py --weights runs/<name>/<run>/checkpoints/latest.pt
    python scripts/package.py --agent random            # no weights: the random-masked policy
    python scripts/package.py --weights W --full         # prove it on the default 64x64 rules

Steps (any failure prints one ``package.py: ...`` line and exits non-zero):

1. **Check** the weights with the bot's own start-up loader (``agent.player.load_registry`` with
   ``strict=True``): a missing file, a file that is not a luxkit checkpoint or tensors of the
   wrong shape fail here, naming the file. The weights are re-saved as a plain
   ``{"state_dict", "net_config", "step", "map_size"}`` dict, and the file is checked to use only
   pickle globals that torch 1.11 (Kaggle) can load.
2. **Build** ``<out>/``: ``main.py``, the ``agent/`` package (:func:`agent_sources`: ``agent/*.py``,
   ``agent/guards/*.py``), ``agent/weights/model.pt`` (net only) and
   ``agent/weights/agent.json``. Nothing from training/, wrappers/ or tests/. Then
   ``<out>.tar.gz`` with ``main.py`` at the archive root; its size is printed.
3. **Python 3.7 floor**: ``vermin -t=3.7- --violations`` on the built files (when vermin is
   installed).
4. **Prove**: extract the archive twice into a temp dir and play a full game between the two
   copies over the stdin/stdout protocol, driven here with the real engine
   (:func:`play_protocol_game`: the one protocol driver of :mod:`training.botproc`). The bot
   processes run with ``python -I`` and an import blocker (``training.botproc.BOT_BOOT``), so
   importing luxai_s2, luxai_runner, gymnasium, gym, pettingzoo, stable_baselines3 or
   sb3_contrib fails in them, as on Kaggle. Fails if a bot dies, times out (3 s per turn + 60 s
   overage, as on Kaggle), answers with something other than a JSON object, logs an error
   (``[luxkit] ERROR`` or a traceback), or if the engine rejects any action
   (``wrappers.engine.RejectionAudit``, refused waterings, skipped queue updates, engine errors).
   Default rules: 16x16 map (``tiny``), ``max_episode_length`` 100; ``--full``: the default rules
   (64x64, 1000 turns).

:func:`play_protocol_game` is also used by ``benchmarks/turn_latency.py``; ``scripts/package.py`` is
the command line.
"""

import argparse
import collections
import io
import json
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from training.botproc import KAGGLE_OVERAGE_S, KAGGLE_TURN_S, PLAYERS, BotError, ProtocolBot, run_protocol_game

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this file is training/submission/)

# pickle globals a checkpoint may use so that torch 1.11 loads it (all exist there)
TORCH111_GLOBALS = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2")} | {
    ("torch", n) for n in ("FloatStorage", "DoubleStorage", "HalfStorage", "LongStorage", "IntStorage",
                           "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage")}
TORCH111_MAX_FILE_VERSION = 6  # caffe2/serialize/versions.h kMaxSupportedFileFormatVersion of torch 1.x


class PackageError(Exception):
    """Packaging or the proof game failed; the message says why (and names the file)."""


# ---------------------------------------------------------------------- weights
def check_torch111_loadable(path):
    """Check that a torch.save zip file uses only what torch 1.11 can read.

    Reads the archive's ``version`` record and the pickle's globals (without running it).

    Raises:
        PackageError: naming the file and the first thing torch 1.11 could not load.
    """
    path = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PackageError(f"weights file {path} is not a torch zip archive") from None
    with zf:
        names = zf.namelist()
        version = [n for n in names if n.endswith("/version")]
        data = [n for n in names if n.endswith("/data.pkl")]
        if not version or not data:
            raise PackageError(f"weights file {path} lacks the version/data.pkl records of torch.save")
        v = int(zf.read(version[0]).decode().strip())
        if v > TORCH111_MAX_FILE_VERSION:
            raise PackageError(f"weights file {path} has file format version {v}; torch 1.11 reads <= "
                               f"{TORCH111_MAX_FILE_VERSION}")
        seen, bad = set(), []

        class _Any:  # stands in for every global: the pickle is read, never run
            def __init__(self, *args, **kwargs):
                pass

            def __setstate__(self, state):
                pass

        class _Scan(pickle.Unpickler):
            def find_class(self, module, name):
                seen.add((module, name))
                if (module, name) not in TORCH111_GLOBALS:
                    bad.append(f"{module}.{name}")
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    def rebuild(*args):
                        if len(args) != 6:
                            bad.append(f"_rebuild_tensor_v2 with {len(args)} arguments (torch 1.11 takes 6)")
                        return _Any()
                    return rebuild
                return _Any

            def persistent_load(self, pid):
                return None

        try:
            _Scan(io.BytesIO(zf.read(data[0]))).load()
        except Exception as e:
            bad.append(f"an unreadable pickle ({type(e).__name__}: {e})")
    if bad:
        raise PackageError(f"weights file {path} uses {sorted(set(bad))[:3]}, which torch 1.11 cannot load")
    return seen


def write_weights(src, dst):
    """Load ``src`` with the bot's loader (strict), re-save the plain dict the bot needs to ``dst``.

    Raises:
        PackageError: the weights are missing, unreadable or do not fit (the message names ``src``).
    """
    from agent.net import CheckpointError, load_checkpoint, save_checkpoint
    from agent.player import check_net

    try:
        net, payload = load_checkpoint(src)
        check_net(net, src)
    except CheckpointError as e:
        raise PackageError(str(e)) from None
    save_checkpoint(dst, net, step=payload.get("step"), map_size=payload.get("map_size"))
    check_torch111_loadable(dst)
    return payload


# ---------------------------------------------------------------------- build
def _default_weights_hint():
    runs = sorted(ROOT.glob("runs/**/checkpoints/latest.pt"), key=lambda p: p.stat().st_mtime)
    return f" (newest run: {runs[-1].relative_to(ROOT)})" if runs else ""


def agent_sources(root=ROOT):
    """The game-time code a submission carries: the ``.py`` files of the ``agent`` package and its
    subpackages (``agent/guards/``), as paths relative to ``root``, sorted."""
    root = Path(root)
    return sorted(p.relative_to(root) for p in (root / "agent").rglob("*.py") if "__pycache__" not in p.parts)


def build(out, agent="net", weights=None, greedy=True, sample_factories=False, joint_greedy=False, **guards):
    """Write ``out/`` and ``out.tar.gz``; returns (out dir, archive path).

    ``greedy``, ``sample_factories``, ``joint_greedy`` (greedy robot types by the joint argmax of the
    whole action, :func:`agent.policy.joint_robot_type`) and the ``guards`` that are on (keys of
    ``agent.guards.GUARDS``) go to the bot's ``agent.json`` (:mod:`agent.player`).

    Raises:
        PackageError: bad weights, an unknown guard or a non-submission folder in the way.
    """
    from agent.guards import guard_options
    from agent.player import AGENTS, load_registry

    try:
        guards = guard_options(**guards)
    except TypeError as e:
        raise PackageError(str(e)) from None

    out = Path(out).resolve()
    if agent not in AGENTS:
        raise PackageError(f"unknown --agent {agent!r}; choose one of {AGENTS}")
    if agent != "net" and weights is not None:
        raise PackageError(f"--weights is for --agent net, not {agent!r}")
    if agent == "net":
        if weights is None:
            default = ROOT / "agent" / "weights" / "model.pt"
            if not default.is_file():
                raise PackageError(f"no weights: pass --weights PATH (a checkpoints/latest.pt of a training run"
                                   f"{_default_weights_hint()}), or --agent random")
            weights = default
        weights = Path(weights).resolve()
    if out.exists():
        looks_ours = (out / "main.py").is_file() and (out / "agent").is_dir()
        only_readme = {p.name for p in out.iterdir()} <= {"README.md"}  # the repo's tracked submission/
        if not looks_ours and not only_readme:
            raise PackageError(f"{out} exists and is not a submission folder; remove it or pick another --out")
    with tempfile.TemporaryDirectory(prefix="luxkit-weights-") as stage:
        staged = Path(stage) / "model.pt"
        if agent == "net":  # checked before anything is written to out
            write_weights(weights, staged)
        readme = (out / "README.md").read_text() if (out / "README.md").is_file() else None
        if out.exists():
            shutil.rmtree(out)
        (out / "agent" / "weights").mkdir(parents=True)
        if readme is not None:
            (out / "README.md").write_text(readme)
        if agent == "net":
            shutil.copy2(staged, out / "agent" / "weights" / "model.pt")
    shutil.copy2(ROOT / "main.py", out / "main.py")
    for rel in agent_sources():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, out / rel)
    conf = {"agent": agent}
    if agent == "net":
        conf.update(weights="model.pt", greedy=bool(greedy))
        if sample_factories:
            conf["sample_factories"] = True
        if joint_greedy:
            conf["joint_greedy"] = True
        conf.update((k, True) for k, on in guards.items() if on)
    (out / "agent" / "weights" / "agent.json").write_text(json.dumps(conf, indent=1) + "\n")
    # the bot's own start-up path, strict: what the bot would log as an error fails here
    try:
        reg = load_registry(weights_dir=str(out / "agent" / "weights"), environ={}, strict=True)
    except Exception as e:
        raise PackageError(str(e)) from None
    print(f"built {out}: {reg.description}")

    archive = out.parent / (out.name + ".tar.gz")

    def _clean(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(out.rglob("*")):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            tar.add(path, arcname=str(path.relative_to(out)), recursive=False, filter=_clean)
    return out, archive


def check_archive(archive):
    """List the archive; ``main.py`` must be at its root. Returns the member names."""
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    if "main.py" not in names:
        raise PackageError(f"{archive} has no main.py at its root (members: {names[:5]})")
    return names


def run_vermin(paths):
    """``vermin -t=3.7- --violations`` on ``paths``; returns False when vermin is not installed."""
    exe = Path(sys.executable).parent / "vermin"
    exe = str(exe) if exe.is_file() else shutil.which("vermin")
    if not exe:
        return False
    cmd = [exe, "-t=3.7-", "--no-tips", "--violations", "--eval-annotations"]
    proc = subprocess.run(cmd + [str(p) for p in paths], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError("vermin: code newer than Python 3.7 in the submission:\n"
                           + (proc.stdout + proc.stderr).strip())
    return True


# ---------------------------------------------------------------------- proof game
def play_protocol_game(folders, rules="tiny", seed=42, turn_s=KAGGLE_TURN_S, overage_s=KAGGLE_OVERAGE_S,
                       **env_overrides):
    """Play one game between two bot folders over the stdin/stdout protocol, like the runner, and
    audit it: the game loop and the bots are :mod:`training.botproc`'s (:func:`run_protocol_game`,
    :class:`ProtocolBot` with ``isolated=True``: ``python -I``, training libraries blocked).

    Each step both bots get the observation (the full state first, change observations after;
    ``info.env_cfg`` on the first step), one after the other, and are timed. A turn may take
    ``turn_s`` seconds; beyond that it draws from the bot's ``overage_s`` budget, which is sent
    as ``remainingOverageTime`` (Kaggle: 3 s and 60 s; the first turn, process start-up included,
    gets no extra time).

    Args:
        folders (list): two folders holding ``main.py`` (player_0's, player_1's).
        rules (str), seed (int), **env_overrides: engine rules (``wrappers.engine.make_env``).
        turn_s (float), overage_s (float): the time budget, seconds.

    Returns:
        dict: ``problems`` (list[str], empty when all went well), ``steps``, ``rewards``,
        ``times`` (player -> list of seconds per turn; the first includes start-up),
        ``main_phase`` (list of bool per engine step: past bidding and placement),
        ``units`` (max robots per player seen), ``factories`` (left at the end), ``audit``,
        ``checked`` (action type -> count), ``peak_rss_kb`` (player -> VmHWM),
        ``stderr`` (player -> lines), ``real_env_steps``.
    """
    from wrappers.engine import RejectionAudit, make_env, queue_updates_skipped

    eng = make_env(rules, **env_overrides)
    engine_errors = []
    eng.log_error = lambda *m: engine_errors.append(f"real step {eng.state.real_env_steps}: {' '.join(map(str, m))}")
    bots = {p: ProtocolBot(folders[i], act_timeout=turn_s, overage=overage_s, startup=0.0, isolated=True, player=p,
                           stderr_lines=None) for i, p in enumerate(PLAYERS)}
    units_max = {p: 0 for p in PLAYERS}
    main_phase = []

    def on_step(env, acts, obs):
        main_phase.append(bool(env.state.real_env_steps - 1 >= 0))  # the step just played
        for p in PLAYERS:
            units_max[p] = max(units_max[p], len(env.state.units.get(p, {})))

    problems, rewards = [], {p: 0.0 for p in PLAYERS}
    audit = RejectionAudit()
    try:
        with audit:
            rewards = run_protocol_game(eng, seed, bots, on_step=on_step)
    except BotError as e:
        problems.append(str(e))
    except Exception as e:  # e.g. the engine choking on a malformed action
        problems.append(f"the engine raised {type(e).__name__}: {e} at step {eng.env_steps}")
    for p, bot in bots.items():
        code = bot.close()  # closed already: its exit code
        if code not in (0, None) and not problems:
            problems.append(f"{p} exited with code {code} at the end of the game")
        errs = bot.error_lines()
        if errs:
            problems.append(f"{p} logged errors: " + " | ".join(errs[:5]))
    if engine_errors:
        problems.append("the engine reported: " + " | ".join(engine_errors[:5]))
    if audit.total_rejected:
        problems.append(f"the engine rejected actions: {dict(audit.rejected)}")
    if audit.water_refused:
        problems.append(f"the engine refused {audit.water_refused} waterings")
    skipped = {p: n for p, n in queue_updates_skipped(eng).items() if n}
    if skipped:
        problems.append(f"queue updates skipped for lack of power: {skipped}")
    return dict(problems=problems, steps=int(eng.env_steps), rewards={p: float(rewards.get(p, 0)) for p in PLAYERS},
                times={p: bots[p].turn_times for p in PLAYERS}, main_phase=main_phase, units=units_max,
                factories={p: len(eng.state.factories.get(p, {})) for p in PLAYERS},
                audit=audit, checked=dict(audit.checked), peak_rss_kb={p: bots[p].peak_rss_kb for p in PLAYERS},
                stderr={p: [ln for ln in bots[p].stderr if ln] for p in PLAYERS},
                real_env_steps=int(eng.state.real_env_steps))


def prove(archive, full=False, seed=42, max_episode_length=100):
    """Extract ``archive`` twice and play a blocked-imports protocol game between the copies.

    Raises:
        PackageError: listing every problem seen.
    """
    with tempfile.TemporaryDirectory(prefix="luxkit-prove-") as tmp:
        folders = []
        for name in ("a", "b"):
            d = Path(tmp) / name
            d.mkdir()
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(d, filter="data")
                except TypeError:  # Python without extraction filters
                    tar.extractall(d)
            folders.append(d)
        kw = {} if full else dict(rules="tiny", max_episode_length=max_episode_length)
        rules = kw.pop("rules", "neurips")
        what = "default rules (64x64)" if full else f"16x16 map, max_episode_length {max_episode_length}"
        print(f"proving {archive.name}: extracted bot vs extracted bot, {what}, seed {seed}, "
              f"training libraries blocked", flush=True)
        res = play_protocol_game(folders, rules=rules, seed=seed, **kw)
    if res["problems"]:
        raise PackageError("the proof game failed:\n  " + "\n  ".join(res["problems"]))
    t = sorted(x for p in res["times"] for x in res["times"][p][1:]) or [0.0]
    first = max(res["times"][p][0] for p in res["times"])
    print(f"proof game OK: {res['steps']} steps (real step {res['real_env_steps']}), rewards {res['rewards']}, "
          f"robots max {res['units']}, factories left {res['factories']}, actions checked {sum(res['checked'].values())}, "
          f"0 rejected; first turn {first:.2f} s, later turns max {t[-1] * 1000:.0f} ms")
    lost = [p for p, n in res["factories"].items() if n == 0]
    if lost:
        print(f"note: {' and '.join(lost)} lost all factories by real step {res['real_env_steps']} "
              f"(how well the policy plays, not a packaging problem)")
    return res


def main(argv=None):
    from training.evaluation.evaluate import add_decoding_flags, guard_kwargs

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="checkpoint (.pt from train.py); default agent/weights/model.pt")
    ap.add_argument("--agent", default="net", help="net (default), random or scripted")
    ap.add_argument("--sample", action="store_true", help="sample from the policy instead of taking its most likely choices")
    add_decoding_flags(ap)
    ap.add_argument("--joint-greedy", action="store_true",
                    help="greedy robot types by the joint argmax of the whole action (agent.json joint_greedy)")
    ap.add_argument("--out", default=str(ROOT / "submission"),
                    help="output folder (default: submission); the archive is <out>.tar.gz")
    ap.add_argument("--full", action="store_true", help="prove on the default rules (64x64, 1000 turns) instead of 16x16/100")
    ap.add_argument("--seed", type=int, default=42, help="seed of the proof game")
    ap.add_argument("--no-prove", action="store_true", help="build only (not recommended)")
    args = ap.parse_args(argv)
    try:
        out, archive = build(args.out, agent=args.agent, weights=args.weights, greedy=not args.sample,
                              sample_factories=args.sample_factories, joint_greedy=args.joint_greedy,
                              **guard_kwargs(args))
        names = check_archive(archive)
        size = archive.stat().st_size
        print(f"wrote {archive} ({size / 1024:.1f} KiB, {len(names)} entries, main.py at the root)")
        if run_vermin([out / "main.py", out / "agent"]):
            print("vermin: the submission runs on Python 3.7")
        else:
            print("vermin not installed: Python 3.7 check skipped")
        if not args.no_prove:
            prove(archive, full=args.full, seed=args.seed)
    except PackageError as e:
        print(f"package.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
