"""scripts/kaggle_replays.py: failure lines and exit codes, resume with a fake Kaggle API, and a
genuine Kaggle-format episode (kaggle-environments hosting main.py) imported by training.imitation.replays."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "kaggle_replays.py"


def _run(args, env, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_") and "proxy" not in k.lower()}
    env.update(HOME=str(tmp_path), **extra)
    return env


def test_missing_credentials_is_one_line_and_exit_2(tmp_path):
    p = _run(["download", "--top", "2", "--out", str(tmp_path / "eps")], _clean_env(tmp_path))
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kaggle_replays.py: no Kaggle credentials"), p.stderr
    assert not (tmp_path / "eps").exists()


def test_no_network_is_one_line_and_exit_2(tmp_path):
    env = _clean_env(tmp_path, KAGGLE_USERNAME="someone", KAGGLE_KEY="0" * 32,
                     HTTPS_PROXY="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    p = _run(["download", "--top", "2", "--out", str(tmp_path / "eps"), "--timeout", "3"], env)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0] and "nothing was downloaded" in lines[0], p.stderr


def _load_script():
    spec = importlib.util.spec_from_file_location("kaggle_replays", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class FakeApi:
    """The four simulation-competition calls, with kagglesdk-style snake_case attributes."""

    class Obj:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.downloads = []

    def competition_leaderboard_view(self, competition, page_size=20):
        return [self.Obj(team_id=10 + i, team_name=f"team{i}", score=1000 - i) for i in range(page_size)]

    def competition_team_submissions(self, team_id):
        return [self.Obj(id=team_id * 100 + k) for k in range(2)]

    def competition_list_episodes(self, submission_id):
        return [self.Obj(id=submission_id * 10 + e, create_time=f"2023-04-0{e + 1}") for e in range(3)]

    def competition_episode_replay(self, episode_id, path=None, quiet=True):
        if episode_id in self.fail:
            raise OSError("connection reset")
        self.downloads.append(episode_id)
        Path(path, f"episode-{episode_id}-replay.json").write_text(json.dumps({"name": "lux_ai_s2", "steps": []}))


def test_download_top_teams_resumes_and_reports_failures(tmp_path, monkeypatch, capsys):
    mod = _load_script()
    api = FakeApi(fail={10001})
    monkeypatch.setattr(mod, "connect", lambda timeout: api)
    out = tmp_path / "eps"
    rc = mod.main(["download", "--top", "2", "--out", str(out), "--max-episodes", "4", "--pause", "0"])
    assert rc == 1  # one episode failed, the others are kept
    files = sorted(p.name for p in out.glob("episode-*-replay.json"))
    assert len(files) == 7 and "episode-10001-replay.json" not in files
    assert not list(out.glob(".partial-*"))
    err = capsys.readouterr().err
    assert "episode 10001 (team0) failed: OSError: connection reset" in err
    api.fail.clear()
    api.downloads.clear()
    rc = mod.main(["download", "--top", "2", "--out", str(out), "--max-episodes", "4", "--pause", "0"])
    assert rc == 0 and api.downloads == [10001]  # resume: only the missing one
    rc = mod.main(["download", "--team", "team1", "--out", str(out), "--max-episodes", "1", "--pause", "0"])
    assert rc == 0 and api.downloads == [10001]
    assert mod.main(["download", "--team", "nobody", "--out", str(out)]) == 1


def _kaggle_env_dir():
    mod = _load_script()
    for d in mod.kaggle_env_dirs():
        if os.path.isdir(os.path.join(d, "kaggle_environments")):
            return d
    return None


@pytest.mark.timeout(120)
def test_genuine_kaggle_episode_of_main_py_imports_and_replays(tmp_path):
    """kaggle-environments 1.14.17 hosts main.py (scripted) on both sides on a 16x16 map for 40 turns;
    the episode JSON imports, and its labels reproduce the engine."""
    kenv = _kaggle_env_dir()
    if kenv is None:
        pytest.skip("kaggle-environments not installed (scripts/setup.sh puts it in .venv/kaggle_env)")
    out = tmp_path / "episode.json"
    env = dict(os.environ, LUXKIT_AGENT="scripted", LUXKIT_KAGGLE_ENV=kenv, OMP_NUM_THREADS="1")
    p = _run(["play", "--out", str(out), "--map-size", "16", "--max-episode-length", "40", "--seed", "5"], env)
    assert p.returncode == 0, p.stdout + p.stderr[-2000:]
    ep = json.loads(out.read_text())
    assert ep["name"] == "lux_ai_s2" and isinstance(ep["steps"][0][0]["observation"]["obs"], str)
    from training.imitation.replays import engine_check, import_files, load_replay

    rep = load_replay(str(out))
    assert rep.fmt == "kaggle" and rep.env_cfg["map_size"] == 16 and rep.seed == 5
    r = engine_check(rep)
    assert r["turns"] == 40 and r["recorded_agree"] == r["steps"]
    assert r["positions_agree"] == r["turns"] and r["state_agree"] == r["exact_turns"] > 0
    stats = import_files([str(out)], str(tmp_path / "k.npz"))
    assert stats.samples > 0 and stats.legal == stats.robot_turns
