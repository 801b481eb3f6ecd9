"""The ``luxai-s2`` command-line runner plays a whole game on Python 3.11 once patched.

luxai-s2 3.0.1's runner breaks on Python 3.11 (see scripts/patch_luxai_runner.py); setup.sh
patches the installed copy. These tests prove the patch is idempotent, fails loudly on unknown
upstream text, and that two minimal stdin/stdout bots get through a full game with the real CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATCH_SCRIPT = ROOT / "scripts" / "patch_luxai_runner.py"
BIN_DIR = Path(sys.executable).parent  # tests run under .venv/bin/python
LUXAI_CLI = BIN_DIR / "luxai-s2"

# A minimal bot speaking the runner's protocol: one JSON line in, one JSON line out per turn.
# It keeps the first full board and applies the {"x,y": v} deltas of later change observations.
TINY_BOT = textwrap.dedent(
    '''
    import json
    import sys

    board = None  # last full board, kept up to date from change observations

    def apply_obs(obs):
        global board
        b = obs["board"]
        if board is None:
            board = {k: v for k, v in b.items()}
            return
        for key, val in b.items():
            if isinstance(val, dict):  # sparse delta {"x,y": value}
                layer = board[key]
                for xy, v in val.items():
                    x, y = xy.split(",")
                    layer[int(x)][int(y)] = v
            else:  # sent in full (e.g. valid_spawns_mask during placement)
                board[key] = val

    def act(msg):
        obs = msg["obs"]
        step = msg["step"]
        me = msg["player"]
        apply_obs(obs)
        if step == 0:
            return {"faction": "AlphaStrike", "bid": 0}
        team = obs["teams"].get(me)
        if obs["real_env_steps"] < 0 and team is not None:
            place_first = team["place_first"]
            my_turn = (step % 2 == 1) if place_first else (step % 2 == 0)
            if my_turn and team["factories_to_place"] > 0:
                mask = board["valid_spawns_mask"]
                for x, col in enumerate(mask):
                    for y, ok in enumerate(col):
                        if ok:
                            return {
                                "spawn": [x, y],
                                "metal": min(150, team["metal"]),
                                "water": min(150, team["water"]),
                            }
        return {}

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        print(json.dumps(act(json.loads(line))), flush=True)
    '''
)


def _run_patch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PATCH_SCRIPT), *args],
        capture_output=True, text=True, timeout=120,
    )


def _load_patch_module():
    spec = importlib.util.spec_from_file_location("patch_luxai_runner", PATCH_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


def _installed_runner_dir() -> Path:
    spec = importlib.util.find_spec("luxai_runner")
    assert spec is not None, "luxai_runner not installed in this interpreter"
    return Path(list(spec.submodule_search_locations)[0])


def test_patch_is_idempotent_on_installed_runner():
    first = _run_patch()
    assert first.returncode == 0, first.stdout + first.stderr
    second = _run_patch()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already patched" in second.stdout
    assert "applied" not in second.stdout
    check = _run_patch("--check")
    assert check.returncode == 0, check.stdout + check.stderr
    imp = subprocess.run(
        [sys.executable, "-c", "import luxai_runner.episode, luxai_runner.cli"],
        capture_output=True, text=True, timeout=120,
    )
    assert imp.returncode == 0, imp.stderr


def test_patch_applies_to_pristine_copy_and_fails_loudly_on_unknown_text(tmp_path):
    mod = _load_patch_module()
    runner = tmp_path / "luxai_runner"
    shutil.copytree(_installed_runner_dir(), runner,
                    ignore=shutil.ignore_patterns("__pycache__"))
    # Rebuild the upstream (unpatched) text from the patched installed copy.
    ep = runner / "episode.py"
    text = ep.read_text()
    for p in mod.PATCHES:
        text = text.replace(p.patched, p.original)
    assert "luxkit-patch" not in text
    ep.write_text(text)

    r1 = _run_patch("--runner-dir", str(runner))
    assert r1.returncode == 0, r1.stdout + r1.stderr
    assert r1.stdout.count(": applied") == len(mod.PATCHES), r1.stdout
    after_first = ep.read_text()
    for p in mod.PATCHES:
        assert after_first.count(p.patched) == 1

    r2 = _run_patch("--runner-dir", str(runner))
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "already patched" in r2.stdout
    assert ep.read_text() == after_first

    # Upstream changed the line: refuse, say why, and leave the file untouched.
    mangled = text.replace(mod.PATCHES[1].original, "        await something_else(start_tasks)")
    ep.write_text(mangled)
    r3 = _run_patch("--runner-dir", str(runner))
    assert r3.returncode != 0
    assert "ERROR" in r3.stderr and mod.PATCHES[1].name in r3.stderr, r3.stderr
    assert ep.read_text() == mangled


@pytest.mark.timeout(300)
def test_cli_plays_full_game_between_two_tiny_bots(tmp_path):
    assert LUXAI_CLI.exists(), f"{LUXAI_CLI} missing: run scripts/setup.sh"
    for name in ("botA", "botB"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.py").write_text(TINY_BOT)
    replay_path = tmp_path / "replay.json"

    env = dict(os.environ)
    # The runner starts python bots as `python main.py`: that must be this venv's python.
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(LUXAI_CLI), "botA/main.py", "botB/main.py", "-s", "7",
         "-o", str(replay_path), "-v", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    elapsed = time.monotonic() - t0
    out = f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, out
    assert "Traceback" not in proc.stderr, out
    assert replay_path.exists(), out

    replay = json.loads(replay_path.read_text())
    obs_list, actions = replay["observations"], replay["actions"]
    assert replay["metadata"]["seed"] == 7
    # One observation after reset plus one per env step; one action dict per env step.
    assert len(actions) >= 1
    assert len(obs_list) == len(actions) + 1
    first, last = obs_list[0], obs_list[-1]
    steps_run = last["real_env_steps"] - first["real_env_steps"]
    assert steps_run == len(actions), (steps_run, len(actions))

    # Bidding: both chose a faction at step 0.
    for p in ("player_0", "player_1"):
        assert actions[0][p]["faction"] == "AlphaStrike"

    # Placement: both players spawned all their factories, and the game entered real turns.
    n_factories = first["board"]["factories_per_team"]
    assert n_factories >= 1
    spawns = {p: sum(1 for a in actions if a.get(p) and "spawn" in a[p])
              for p in ("player_0", "player_1")}
    assert spawns == {"player_0": n_factories, "player_1": n_factories}, spawns
    start = next(o for o in obs_list if o["real_env_steps"] == 0)
    for p in ("player_0", "player_1"):
        assert len(start["factories"][p]) == n_factories
        assert start["teams"][p]["factories_to_place"] == 0
    # The game played on past placement (factories run dry after ~150 turns, ending it early),
    # and either ran to the end or stopped because a team lost every factory.
    assert last["real_env_steps"] > 100
    max_len = 1000
    if last["real_env_steps"] < max_len:
        assert any(len(last["factories"][p]) == 0 for p in ("player_0", "player_1"))
    print(f"game: {len(actions)} env steps, {last['real_env_steps']} real turns, "
          f"{elapsed:.1f}s")
