"""The Ray backend (training/cluster.py) against a real Ray head started here on 127.0.0.1.

The module's fixture runs ``ray start --head`` (2 CPUs) and ``ray stop`` at the end. Test mode, BC
collection and a short PPO run go through ``ray_address=127.0.0.1:PORT`` as subprocesses, as a user
runs them, and must give exactly what the local backend gives for the same seeds.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train.py")
RAY = os.path.join(os.path.dirname(sys.executable), "ray")
SHIPPED = os.path.join(ROOT, "agent", "weights", "model.pt")
PPO = ["rules=tiny", "total_timesteps=96", "n_steps=24", "batch_size=24", "n_envs=2", "init_weights=none", "teacher=none",
       "eval_interval=0", "progress_bar=false", "checkpoint_interval=48", "pool_interval=48"]
TEST = ["mode=test", "rules=tiny", "max_episode_length=80", "test_seeds=1000000:1000002", f"checkpoint={SHIPPED}",
        "greedy=true", "opponents=random,scripted", "progress_bar=false", "replays=false"]

pytestmark = pytest.mark.skipif(not os.path.exists(RAY), reason="ray is not installed (scripts/setup.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    port = free_port()
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    start = subprocess.run([RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
                            "--include-dashboard=false", "--disable-usage-stats"],
                           capture_output=True, text=True, timeout=120, env=env)
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


def run(args, cwd, module=None, timeout=300):
    cmd = [sys.executable, "-m", module] if module else [sys.executable, TRAIN]
    return subprocess.run(cmd + list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))


def test_test_mode_on_ray_equals_local(ray_head, tmp_path):
    ray = run(TEST + ["backend=ray", f"ray_address={ray_head}", "run_dir=ray"], tmp_path)
    assert ray.returncode == 0, ray.stdout + ray.stderr
    local = run(TEST + ["backend=local", "test_workers=1", "run_dir=local"], tmp_path)
    assert local.returncode == 0, local.stdout + local.stderr
    a, b = (json.load(open(tmp_path / d / "results.json")) for d in ("ray", "local"))
    assert (a["backend"], b["backend"]) == ("ray", "local")
    assert a["report"]["scripted"]["games"] == 4 and a["report"]["random"]["worker_failures"] == 0
    assert a["report"] == b["report"]  # every game's numbers, game by game


def test_ppo_with_ray_actors_equals_subproc(ray_head, tmp_path):
    """vec_env=ray: the same observations, masks and rewards as subproc, hence the same weights."""
    for v in ("ray", "subproc"):
        p = run(PPO + [f"vec_env={v}", f"ray_address={ray_head}", f"run_dir={v}"], tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "trained 96 steps" in p.stdout
    a, b = (torch.load(tmp_path / v / "checkpoints" / "latest.pt", weights_only=False)["state_dict"]
            for v in ("ray", "subproc"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ray_vec_env_steps_like_subproc(ray_head):
    """Observation, action masks, rewards and dones of RayVecEnv and SubprocVecEnv, step by step."""
    from agent.policy import sample_uniform_masked
    from training.cluster import connect, make_ray_vec_env
    from training.ppo.config import parse_overrides
    from training.ppo.run import build_venv, make_env_fn

    cfg = parse_overrides(PPO + ["opponent=random", "max_episode_length=12"])
    ray = connect(ray_head)
    try:
        envs = [make_ray_vec_env(ray, [make_env_fn(cfg, i, "") for i in range(2)]), build_venv(cfg, "")]
        try:
            obs = [e.reset() for e in envs]
            rng = np.random.default_rng(0)
            for t in range(14):  # past the end of an episode: auto-reset and terminal_observation
                masks = [np.stack(e.env_method("action_masks")) for e in envs]
                for k in obs[0]:
                    assert np.array_equal(obs[0][k], obs[1][k]), (t, k)
                assert np.array_equal(masks[0], masks[1])
                S = cfg.resolved_map_size()
                acts = np.stack([sample_uniform_masked(m.reshape(S, S, -1), rng).reshape(-1) for m in masks[0]])
                steps = [e.step(acts) for e in envs]
                obs = [s[0] for s in steps]
                assert np.array_equal(steps[0][1], steps[1][1]) and np.array_equal(steps[0][2], steps[1][2])
                ends = [[("terminal_observation" in i) for i in s[3]] for s in steps]
                assert ends[0] == ends[1]
        finally:
            for e in envs:
                e.close()
    finally:
        ray.shutdown()


def test_bc_collect_on_ray_equals_local(ray_head, tmp_path):
    args = ["collect", "teacher=scripted", "rules=tiny", "games=3", "max_turns=40", "stride=4"]
    r = run(args + ["backend=ray", f"ray_address={ray_head}", "out=ray.npz"], tmp_path, module="training.imitation.bc")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(args + ["out=local.npz"], tmp_path, module="training.imitation.bc")
    assert r.returncode == 0, r.stdout + r.stderr
    a, b = np.load(tmp_path / "ray.npz"), np.load(tmp_path / "local.npz")
    assert len(a["actions"]) > 0
    for k in ("planes", "globals", "masks", "actions", "map_size"):
        assert np.array_equal(a[k], b[k]), k


def test_sweep_indices_on_ray(ray_head, tmp_path):
    sweep = tmp_path / "tinysweep.json"
    sweep.write_text(json.dumps(dict(rules="tiny", total_timesteps=48, n_steps=24, batch_size=24, n_envs=1, vec_env="dummy",
                                     init_weights="none", teacher="none", eval_interval=0, checkpoint_interval=48,
                                     pool_interval=48, eval_max_turns=20, eval_seeds="1000000:1000001",
                                     learning_rate=[3e-4, 1e-3])))
    p = run([f"sweep={sweep}", "index=0:2", "backend=ray", f"ray_address={ray_head}"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    for i, lr in ((0, 3e-4), (1, 1e-3)):
        res = json.load(open(tmp_path / "runs" / "sweeps" / "tinysweep" / "results" / f"run_{i}.json"))
        assert res["index"] == i and res["setting"]["learning_rate"] == lr and res["seed"] == 0
        assert res["results"]["eval_vs_random"]["games"] == 2


def test_unreachable_ray_address_is_one_line_and_exit_2(tmp_path):
    port = free_port()  # nothing listens there
    addr = f"ray_address=127.0.0.1:{port}"
    for args, module in ((TEST + ["backend=ray", addr, "run_dir=t"], None),
                         (PPO + ["vec_env=ray", addr, "run_dir=p"], None),
                         ([f"sweep={os.path.join(ROOT, 'sweeps', 'example.json')}", "index=0:2", "backend=ray", addr], None),
                         (["collect", "teacher=scripted", "rules=tiny", "games=1", "backend=ray", addr, "out=c.npz"],
                          "training.imitation.bc")):
        p = run(args, tmp_path, module=module, timeout=120)
        out = (p.stdout + p.stderr).strip()
        assert p.returncode == 2, out
        assert f"127.0.0.1:{port}" in out and "Traceback" not in out and len(out.splitlines()) == 1, out
    assert os.listdir(tmp_path) == []  # nothing written


def test_a_dead_worker_loses_only_its_task_retried_once(ray_head, tmp_path):
    from training.cluster import connect, map_tasks

    marker = str(tmp_path / "died_once")

    def dies_once(x):
        if x == 1 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker process dies mid-task
        return x * 10

    def always_dies(x):
        if x == 2:
            os._exit(1)
        return x * 10

    lines = []
    ray = connect(ray_head)
    try:
        assert sorted(map_tasks(ray, dies_once, [0, 1, 2], describe=lambda x: f"game {x}", log=lines.append)) == \
            [(0, 0), (1, 10), (2, 20)]
        assert len(lines) == 1 and "game 1" in lines[0] and "retrying it once" in lines[0]
        lines.clear()
        assert sorted(map_tasks(ray, always_dies, [0, 2], describe=lambda x: f"game {x}", log=lines.append)) == \
            [(0, 0), (1, None)]
        assert len(lines) == 2 and "left out" in lines[1]
    finally:
        ray.shutdown()



def test_league_play_on_ray_records_the_games_local_play_records(ray_head, tmp_path):
    """``league play backend=ray``: one Ray task per game, every game in the SQLite file with the
    result local play gives for the same seed and sides (same matchmaking, same games)."""
    import sqlite3

    mod = "training.evaluation.league"
    rows = {}
    for backend in ("ray", "local"):
        db = f"db={tmp_path / backend / 'league.sqlite'}"
        for name, spec in (("random", "random"), ("scripted", "scripted")):
            p = run(["add", name, spec, db], tmp_path, module=mod)
            assert p.returncode == 0, p.stdout + p.stderr
        extra = ["backend=ray", f"ray_address={ray_head}"] if backend == "ray" else ["workers=1"]
        p = run(["play", "games=2", "rules=tiny", "max_episode_length=30", "seeds=1000110:1000111", db] + extra,
                tmp_path, module=mod)
        assert p.returncode == 0 and "played 2 games (0 crashed)" in p.stdout, p.stdout + p.stderr
        con = sqlite3.connect(tmp_path / backend / "league.sqlite")
        rows[backend] = sorted(con.execute("SELECT seed, player_0, player_1, status, result, lichen_0, lichen_1, length "
                                           "FROM games").fetchall())
        con.close()
    assert len(rows["ray"]) == 2 and all(r[3] == "finished" for r in rows["ray"])
    assert rows["ray"] == rows["local"]
