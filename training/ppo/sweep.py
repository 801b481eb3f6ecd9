"""Reproducible hyperparameter sweeps by index.

A sweep file is JSON: keys are TrainConfig keys (``reward.<term>`` allowed); a *list* value is a
grid axis, anything else is fixed for every run::

    {"rules": "tiny", "total_timesteps": 4096, "learning_rate": [3e-4, 1e-3], "ent_coef": [0.0, 0.01]}

The grid has N settings (the product of the list lengths, axes in sorted key order). Run index
``i`` (``python train.py sweep=FILE index=i``) trains setting ``i mod N`` with ``seed = i div N``,
so any run can be repeated exactly and indices N..2N-1 are the second seed of every setting.
``index=A:B`` (or ``index=3,5,8``) runs several indices: one after another, or with
``backend=ray`` one Ray task per index (training/cluster.py; each task reserves ``n_envs`` CPUs,
at most the cluster's), the driver writing every results JSON. Each
run goes to ``runs/sweeps/<file stem>/run_<i>/`` and, when done, writes
``runs/sweeps/<file stem>/results/run_<i>.json`` with its index, setting, seed, overrides and
results (final training statistics from its TensorBoard log and an evaluation against the
random-masked policy on held-out seeds). ``python scripts/sweep_report.py FILE`` combines them.
"""

import itertools
import json
import os

from training.ppo.config import ConfigError


def load_sweep(path):
    """(fixed dict, axes list of (key, values)) from a sweep JSON file.

    Raises:
        ConfigError: missing/unreadable file, not an object, empty list axis.
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"sweep file {path} does not exist") from None
    except ValueError as e:
        raise ConfigError(f"sweep file {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"sweep file {path} must hold a JSON object of config keys")
    fixed = {k: v for k, v in data.items() if not isinstance(v, list)}
    axes = sorted((k, v) for k, v in data.items() if isinstance(v, list))
    for k, v in axes:
        if not v:
            raise ConfigError(f"sweep file {path}: axis {k!r} is an empty list")
    return fixed, axes


def grid_size(axes):
    n = 1
    for _, v in axes:
        n *= len(v)
    return n


def setting_for_index(path, index):
    """(setting dict, seed, overrides list) of run ``index`` of the sweep in ``path``."""
    if index < 0:
        raise ConfigError(f"index={index} must be >= 0")
    fixed, axes = load_sweep(path)
    n = grid_size(axes)
    combos = list(itertools.product(*[v for _, v in axes]))
    setting = dict(fixed)
    setting.update({k: v for (k, _), v in zip(axes, combos[index % n])})
    seed = index // n
    overrides = [f"{k}={json.dumps(v) if isinstance(v, dict) else v}" for k, v in sorted(setting.items())]
    return setting, seed, overrides + [f"seed={seed}"]


def sweep_root(path):
    return os.path.join("runs", "sweeps", os.path.splitext(os.path.basename(path))[0])


def run_index(path, index, extra_overrides=()):
    """Train run ``index`` of a sweep, evaluate it and write its results JSON; returns its path."""
    from training.ppo.run import train
    from training.ppo.config import parse_overrides
    from training.evaluation.evaluate import evaluate
    from training.tblog import read_scalars

    setting, seed, overrides = setting_for_index(path, index)
    root = sweep_root(path)
    run_dir = os.path.join(root, f"run_{index}")
    resume = os.path.isfile(os.path.join(run_dir, "checkpoints", "latest.zip"))
    args = list(overrides) + list(extra_overrides) + ([f"resume={run_dir}"] if resume else [f"run_dir={run_dir}"])
    cfg = parse_overrides(args)
    train(cfg, args)
    results = {}
    for tag in ("rollout/ep_rew_mean", "lux/game_reward", "lux/ice_dug", "lux/water_produced", "lux/lichen",
                "lux/win_rate", "lux/factories_alive", "train/approx_kl"):
        steps, vals = read_scalars(run_dir, tag)
        if len(vals):
            results[tag] = float(vals[-1])
    from training.kv import parse_seed_range

    report = evaluate(os.path.join(run_dir, "checkpoints", "latest.pt"), ["random"],
                      parse_seed_range(cfg.eval_seeds, "eval_seeds"), rules=cfg.rules,
                      max_episode_length=cfg.eval_max_turns or cfg.max_episode_length, workers=1,
                      progress=False)["random"]  # eval_max_turns=0: full games
    results["eval_vs_random"] = {k: v for k, v in report.items() if k != "per_game"}
    out = dict(index=index, setting=setting, seed=seed, overrides=args, run_dir=run_dir, results=results)
    os.makedirs(os.path.join(root, "results"), exist_ok=True)
    path_out = os.path.join(root, "results", f"run_{index}.json")
    with open(path_out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"sweep result: {path_out}")
    return path_out


def parse_indices(text):
    """``"3"`` -> [3]; ``"0:4"`` -> [0, 1, 2, 3]; ``"1,5"`` -> [1, 5].

    Raises:
        ConfigError: not an index, range or list of indices >= 0, or an empty range.
    """
    try:
        if ":" in text:
            a, b = text.split(":")
            out = list(range(int(a), int(b)))
        else:
            out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"index={text!r}: expected i, A:B or i,j,k (integers >= 0)") from None
    if not out or min(out) < 0:
        raise ConfigError(f"index={text!r}: expected i, A:B or i,j,k (integers >= 0)")
    return out


def _index_task(args):
    """A Ray task: run one sweep index in the driver's working directory; returns its results dict."""
    cwd, path, index, extra = args
    os.chdir(cwd)
    with open(run_index(path, index, extra)) as f:
        return json.load(f)


def run_indices(path, indices, extra_overrides=(), log=print):
    """Run the sweep ``indices`` of ``path``: locally one after another, or (``backend=ray`` among
    the overrides) one Ray task per index; returns the list of results JSON paths written.

    Raises:
        ConfigError: a bad sweep file or override (checked for every index before anything runs).
        training.cluster.ClusterError: ``ray_address`` cannot be reached.
    """
    from training.ppo.config import parse_overrides

    extra = list(extra_overrides)
    cfgs = {i: parse_overrides(setting_for_index(path, i)[2] + extra) for i in indices}
    cfg = cfgs[indices[0]]
    ray = None
    if cfg.backend == "ray":
        from training.cluster import cluster_cpus, connect, map_tasks

        ray = connect(cfg.ray_address)  # None: one line said why; the indices run here
    if ray is None:
        return [run_index(path, i, extra) for i in indices]
    root = os.path.abspath(sweep_root(path))
    inner = extra + ["backend=local", "progress_bar=false"]
    cpus = min(max(c.n_envs for c in cfgs.values()), cluster_cpus(ray))
    written = []
    tasks = [(os.getcwd(), os.path.abspath(path), i, inner) for i in indices]
    for k, res in map_tasks(ray, _index_task, tasks, num_cpus=cpus, describe=lambda t: f"sweep index {t[2]}", log=log):
        if res is None:
            continue
        os.makedirs(os.path.join(root, "results"), exist_ok=True)
        out = os.path.join(root, "results", f"run_{indices[k]}.json")
        with open(out, "w") as f:  # the driver's copy (the worker wrote one on its own node)
            json.dump(res, f, indent=1)
        log(f"sweep result: {out}")
        written.append(out)
    return written
