"""Replay import (training.imitation.replays) and protocol bots (training.botproc), proved against the engine.

Games are short and on the 16x16 ``tiny`` rules unless a format forces 64x64 (the luxai-s2 CLI).
The label proof: play a game between two different bots, record it, import it, then branch one
engine step per turn from the recorded state with both players' *labels* (converted back to
engine actions) and compare every unit's position (and power/cargo where amounts are exact) with
the recording.
"""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
QUEUE_BOT = ROOT / "tests" / "bots" / "queue_bot"
BIN_DIR = Path(sys.executable).parent


def _play(tmp_path, spec_a, spec_b, seed, turns, name):
    from training.evaluation.evaluate import play_game

    path = tmp_path / name
    play_game(spec_a, spec_b, seed, rules="tiny", max_episode_length=turns, replay_path=str(path))
    return path


@pytest.fixture(scope="module")
def games(tmp_path_factory):
    """Two recorded games: queue_bot (long repeating queues, arbitrary amounts, move-center,
    empty queues) vs our scripted bot through the protocol driver, and scripted vs random-masked."""
    d = tmp_path_factory.mktemp("replays")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LUXKIT_AGENT", "scripted")
        return dict(queue=_play(d, f"bot:{QUEUE_BOT}", "scripted", 6, 120, "queue_vs_scripted.json"),
                    scripted=_play(d, "scripted", "random", 3, 80, "scripted_vs_random.json"))


def _load_npz(path):
    from agent.actions import NUM_LOGITS

    d = np.load(path)
    n, S = len(d["actions"]), int(d["map_size"])
    m = np.unpackbits(d["masks"], axis=1, count=S * S * NUM_LOGITS).astype(bool).reshape(n, S, S, NUM_LOGITS)
    return d, m


@pytest.mark.parametrize("which", ["queue", "scripted"])
def test_labels_reproduce_the_engine(games, which):
    from training.imitation.replays import engine_check, load_replay

    rep = load_replay(str(games[which]))
    r = engine_check(rep)
    print(which, r)
    assert r["recorded_agree"] == r["steps"] > 0  # the recording itself replays exactly
    assert r["turns"] > 50
    assert r["positions_agree"] == r["turns"] and r["unit_positions_agree"] == r["unit_turns"] > 0
    assert r["exact_turns"] > 0 and r["state_agree"] == r["exact_turns"]


def test_wrong_labels_are_caught(games, monkeypatch):
    """Negative control: turning every move label by 90 degrees breaks the position agreement."""
    import training.imitation.replays as R

    orig = R.label_turn

    def rotated(state, actions, masks):
        cells, info = orig(state, actions, masks)
        moving = cells[..., R.C_TYPE] == R.MOVE
        cells[moving, R.C_MOVE] = (cells[moving, R.C_MOVE] + 1) % 4
        return cells, info

    monkeypatch.setattr(R, "label_turn", rotated)
    r = R.engine_check(R.load_replay(str(games["queue"])))
    assert r["positions_agree"] < r["turns"]


def test_import_writes_the_bc_format_with_legal_labels(games, tmp_path):
    from agent.actions import C_TYPE, KEEP, NUM_LOGITS
    from agent.features import NUM_GLOBALS, NUM_PLANES
    from training.imitation.bc import load_data
    from training.imitation.replays import Stats, import_files

    out = tmp_path / "q.npz"
    stats = import_files([str(games["queue"]), str(games["scripted"])], str(out), player="both", stride=2)
    assert isinstance(stats, Stats) and stats.files == 2 and stats.samples > 0
    assert stats.robot_turns >= stats.labelled >= stats.exact > 0
    assert 0 < stats.legal < stats.robot_turns  # queue_bot sends heads our masks forbid
    assert stats.illegal.get("keep", 0) > 0 and stats.new_queue < stats.robot_turns
    assert stats.inexact.get("stay", 0) > 0  # move-center / empty queues are never exact
    assert sum(stats.inexact.values()) == stats.robot_turns - stats.exact
    planes, globs, packed, actions, S = load_data(str(out))
    n = len(actions)
    assert n == stats.samples and S == 16
    assert planes.dtype == np.float16 and planes.shape == (n, NUM_PLANES, S, S)
    assert globs.dtype == np.float32 and globs.shape == (n, NUM_GLOBALS)
    assert actions.dtype == np.int8 and actions.shape == (n, S, S, 7)
    assert packed.dtype == np.uint8 and packed.shape == (n, -(-S * S * NUM_LOGITS // 8))
    _, m = _load_npz(out)
    # every stored label is legal under its stored mask: forbidden ones were dropped (mask cleared)
    rt = actions[..., C_TYPE].astype(int)
    robot_cells = m[..., :7].any(-1)
    assert m[..., :7][robot_cells, rt[robot_cells]].all()
    assert (rt[robot_cells] == KEEP).any() and (rt[robot_cells] != KEEP).any()
    fac = m[..., 30:34]
    fac_cells = fac.any(-1)
    assert fac[fac_cells, actions[..., 6].astype(int)[fac_cells]].all()


def test_full_gzip_and_compressed_observations_give_the_same_data(games, tmp_path):
    """A runner replay with full observations each turn (``--replay.compressed_obs`` off), and the
    same file gzipped, import to exactly the data of the change-observation replay."""
    from agent.obs import GameState
    from training.imitation.replays import import_files, load_replay

    rep = load_replay(str(games["scripted"]))
    full = []
    st = GameState(rep.env_cfg, "player_0")
    for t, o in enumerate(rep.observations):
        st.update(o, step=t)
        full.append(st.to_obs())
    raw = json.loads(games["scripted"].read_text())
    raw["observations"] = full
    (tmp_path / "full.json").write_text(json.dumps(raw))
    with gzip.open(tmp_path / "full.json.gz", "wt") as f:
        json.dump(raw, f)
    outs = []
    for name in ("full.json", "full.json.gz"):
        out = tmp_path / (name + ".npz")
        import_files([str(tmp_path / name)], str(out), player="player_1")
        outs.append(out)
    import_files([str(games["scripted"])], str(tmp_path / "c.npz"), player="player_1")
    ref = np.load(tmp_path / "c.npz")
    for out in outs:
        d = np.load(out)
        for k in ("planes", "globals", "masks", "actions"):
            assert np.array_equal(d[k], ref[k]), k


def _cli(args, cwd=ROOT, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "training.imitation.replays", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_cli_import_prints_one_summary_line(games, tmp_path):
    """The CLI's one summary line: every count in it is import_files' statistic of the same import
    (same replay, player and stride), and its samples are the ones in the file it wrote."""
    import re

    from training.imitation.replays import import_files

    out = tmp_path / "d.npz"
    p = _cli(["import", str(games["queue"]), f"out={out}", "player=player_0", "stride=3"])
    assert p.returncode == 0, p.stderr
    line = p.stdout.strip().splitlines()[-1]
    for word in ("robot-turns seen", "labelled", "exactly expressible", "legal under our masks", "samples written",
                 "turns/s"):
        assert word in line
    stats = import_files([str(games["queue"])], str(tmp_path / "api.npz"), player="player_0", stride=3,
                         log=lambda s: None)
    m = re.fullmatch(r"(\d+) replay\(s\), (\d+) turns: (\d+) robot-turns seen, (\d+) labelled \(([0-9.]+)% new queues, "
                     r"rest keep\), (\d+) exactly expressible \(([0-9.]+)%(?:; inexact: ([^)]*))?\), (\d+) legal under "
                     r"our masks \(([0-9.]+)%(?:; forbidden: ([^)]*))?\); (\d+) factory-turns \((\d+) acting, ([0-9.]+)% "
                     r"legal\); (\d+) samples written; \d+ turns/s -> (.*)", line)
    assert m, line
    (files, steps, robot_turns, labelled, new_pct, exact, exact_pct, inexact, legal, legal_pct, forbidden,
     factory_turns, factory_sent, factory_pct, samples, path) = m.groups()
    assert [int(v) for v in (files, steps, robot_turns, labelled, exact, legal, factory_turns, factory_sent, samples)] == [
        stats.files, stats.steps, stats.robot_turns, stats.labelled, stats.exact, stats.legal, stats.factory_turns,
        stats.factory_sent, stats.samples]
    r, f = max(stats.robot_turns, 1), max(stats.factory_turns, 1)
    assert [new_pct, exact_pct, legal_pct, factory_pct] == [f"{100 * v:.1f}" for v in (
        stats.new_queue / r, stats.exact / r, stats.legal / r, stats.factory_legal / f)]

    def by_type(text):
        return {k: int(v) for k, v in (item.rsplit(" ", 1) for item in text.split(", "))} if text else {}

    assert by_type(inexact) == stats.inexact and by_type(forbidden) == stats.illegal
    assert stats.files == 1 and stats.robot_turns > stats.legal > 0 and stats.samples > 0 and stats.illegal
    assert path == str(out) and len(np.load(out)["actions"]) == stats.samples


@pytest.mark.parametrize("kind", ["truncated_json", "truncated_gzip", "foreign_kaggle", "foreign_runner",
                                  "not_lux", "list", "missing"])
def test_bad_input_is_one_line_and_exit_2(games, tmp_path, kind):
    text = games["scripted"].read_text()
    bad = tmp_path / f"{kind}.json"
    if kind == "truncated_json":
        bad.write_text(text[: len(text) // 2])
    elif kind == "truncated_gzip":
        bad = tmp_path / "t.json.gz"
        bad.write_bytes(gzip.compress(text.encode())[:5000])
    elif kind == "foreign_kaggle":
        bad.write_text(json.dumps({"name": "lux_ai_s3", "version": "3.0.0", "steps": [[{}, {}]] * 3,
                                   "configuration": {}}))
    elif kind == "foreign_runner":  # a Season-1-like replay: observations without an S2 board
        bad.write_text(json.dumps({"observations": [{"updates": [], "globalCityIDCount": 0}] * 2,
                                   "actions": [{}]}))
    elif kind == "not_lux":
        bad.write_text(json.dumps({"hello": "world"}))
    elif kind == "list":
        bad.write_text("[1, 2, 3]")
    else:
        bad = tmp_path / "nope.json"
    out = tmp_path / "o.npz"
    p = _cli(["import", str(games["scripted"]), str(bad), f"out={out}"])
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in p.stderr, p.stderr
    assert not out.exists() and not list(tmp_path.glob("o.npz*"))


def test_runner_cli_replay_of_two_different_bots(tmp_path):
    """A genuine ``luxai-s2`` runner replay (64x64, 25 turns): our main.py scripted vs random."""
    cli = BIN_DIR / "luxai-s2"
    if not cli.exists():
        pytest.skip("luxai-s2 CLI not installed")
    for name, agent in (("a", "scripted"), ("b", "random")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.py").write_text(
            f"import os, runpy, sys\nos.environ['LUXKIT_AGENT'] = {agent!r}\nsys.path.insert(0, {str(ROOT)!r})\n"
            f"runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')\n")
    env = dict(os.environ, PATH=f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    p = subprocess.run([str(cli), "a/main.py", "b/main.py", "-s", "21", "-l", "25", "-o", "replay.json", "-v", "0"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    from training.imitation.replays import engine_check, import_files, load_replay

    rep = load_replay(str(tmp_path / "replay.json"), max_episode_length=25)
    assert rep.fmt == "runner" and rep.seed == 21 and rep.env_cfg["map_size"] == 64
    r = engine_check(rep)
    assert r["recorded_agree"] == r["steps"] and r["turns"] == 25
    assert r["positions_agree"] == r["turns"] and r["state_agree"] == r["exact_turns"] > 0
    stats = import_files([str(tmp_path / "replay.json")], str(tmp_path / "r.npz"), max_episode_length=25)
    assert stats.samples > 0 and stats.legal == stats.robot_turns


# ---------------------------------------------------------------------------------------- bots
def _write_bot(folder, body):
    folder.mkdir()
    (folder / "main.py").write_text(body)
    return folder


CRASH_AT_1 = """
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg["step"] >= 1:
        print("boom: this bot crashes on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    print(json.dumps({"faction": "AlphaStrike", "bid": 0} if msg["step"] == 0 else {}), flush=True)
"""

SLEEPY = """
import json, sys, time
for line in sys.stdin:
    msg = json.loads(line)
    if msg["step"] >= 2:
        time.sleep(30)
    print(json.dumps({"faction": "AlphaStrike", "bid": 0} if msg["step"] == 0 else {}), flush=True)
"""


def test_bot_opponent_in_test_mode_and_failing_bots_skip_their_game(tmp_path, monkeypatch):
    from training.evaluation.evaluate import evaluate

    monkeypatch.setenv("LUXKIT_AGENT", "scripted")
    monkeypatch.setenv("LUXKIT_BOT_OVERAGE", "1")
    monkeypatch.setenv("LUXKIT_BOT_ACT_TIMEOUT", "1")
    crash = _write_bot(tmp_path / "crash", CRASH_AT_1)
    sleepy = _write_bot(tmp_path / "sleepy", SLEEPY)
    rep = evaluate("scripted", [f"bot:{ROOT}", f"bot:{crash}", f"bot:{sleepy}"], range(700, 701), rules="tiny",
                   max_episode_length=30, workers=1, replay_dir=str(tmp_path / "replays"), progress=False)
    ours = rep[f"bot:{ROOT}"]
    assert ours["games"] == 2 and ours["bot_errors"] == 0  # scripted vs our repo folder as a bot, both sides
    assert rep[f"bot:{crash}"]["games"] == 0 and rep[f"bot:{crash}"]["bot_errors"] == 2
    assert rep[f"bot:{sleepy}"]["bot_errors"] == 2
    assert len(list((tmp_path / "replays").glob(f"{ROOT.name}_seed700_*.json"))) == 2


def test_bot_error_message_is_one_line(tmp_path, monkeypatch):
    from training.botproc import BotError, ProtocolBot

    crash = _write_bot(tmp_path / "crash", CRASH_AT_1)
    bot = ProtocolBot(str(crash), act_timeout=1, overage=1, startup=5)
    assert bot.act({"step": 0, "obs": {}, "player": "player_0", "info": {}})["bid"] == 0
    with pytest.raises(BotError) as e:
        bot.act({"step": 1, "obs": {}, "player": "player_0", "info": {}})
    msg = str(e.value)
    assert "\n" not in msg and "step 1" in msg and str(crash) in msg and "boom" in msg


def test_train_py_test_mode_accepts_bot_opponents(tmp_path):
    env = dict(os.environ, LUXKIT_AGENT="scripted", OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "train.py", "mode=test", "opponents=scripted,bot:" + str(ROOT),
                        "test_seeds=1000000:1000001", "rules=tiny", "max_episode_length=20", "test_workers=1",
                        "progress_bar=false", f"run_dir={tmp_path}"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["report"][f"bot:{ROOT}"]["games"] == 2


def test_collect_with_a_bot_teacher_then_fit(tmp_path):
    env = dict(os.environ, LUXKIT_AGENT="scripted", OMP_NUM_THREADS="1")
    out = tmp_path / "bot.npz"
    p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "collect", f"teacher=bot:{ROOT}", "rules=tiny",
                        "games=2", "stride=2", "max_turns=30", "opponent_mix=0.5", "seed0=40", f"out={out}"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "samples written" in p.stdout and out.is_file()
    assert len(list((tmp_path / "bot_replays").glob("*.json"))) == 2
    p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "fit", f"data={out}", "epochs=1",
                        f"out={tmp_path / 'bc.pt'}", "threads=1"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0 and "agreement: robot type" in p.stdout, p.stdout + p.stderr
    # the fitted net grown by two dilated blocks (agent.net.grow_net) and fitted again
    fit = [sys.executable, "-m", "training.imitation.bc", "fit", f"data={out}", "epochs=1", "threads=1"]
    p = subprocess.run(fit + [f"init={tmp_path / 'bc.pt'}", "grow=4,8", f"out={tmp_path / 'grown.pt'}"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "agreement: robot type" in p.stdout, p.stdout + p.stderr
    grown = torch.load(tmp_path / "grown.pt", weights_only=True)
    assert grown["net_config"]["dilations"] == [1, 1, 4, 8] and grown["grow"] == "4,8"
    p = subprocess.run(fit + ["grow=4", f"out={tmp_path / 'x.pt'}"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode != 0 and "grow= needs init=CHECKPOINT" in p.stderr and "Traceback" not in p.stderr
    # DAgger with the bot as a shadow: the (grown) student plays, the bot labels its states
    p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "collect", f"teacher=bot:{ROOT}",
                        f"student={tmp_path / 'grown.pt'}", "beta=0", "rules=tiny", "games=1", "max_turns=20",
                        "opponent_mix=0", f"out={tmp_path / 'dagger.npz'}"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0 and "student vs bot" in p.stdout, p.stdout + p.stderr
    d = np.load(tmp_path / "dagger.npz")
    assert len(d["actions"]) > 0 and int(d["map_size"]) == 16
    # ... against the scripted baseline instead of the bot (opponent=SPEC): only the student's side is recorded
    dag = [sys.executable, "-m", "training.imitation.bc", "collect", f"teacher=bot:{ROOT}",
           f"student={tmp_path / 'grown.pt'}", "rules=tiny", "games=1", "max_turns=20"]
    p = subprocess.run(dag + ["opponent=scripted", f"out={tmp_path / 'dagger_s.npz'}"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "student vs scripted" in p.stdout, p.stdout + p.stderr
    assert np.load(tmp_path / "dagger_s.npz")["actions"].shape[1:] == d["actions"].shape[1:]
    p = subprocess.run(dag + [f"opponent=bot:{ROOT}", f"out={tmp_path / 'x.npz'}"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "protocol bot" in p.stderr and "Traceback" not in p.stderr, p.stdout + p.stderr


def test_collect_with_a_crashing_bot_says_so_and_goes_on(tmp_path):
    crash = _write_bot(tmp_path / "crash", CRASH_AT_1)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "collect", f"teacher=bot:{crash}", "rules=tiny",
                        "games=2", "max_turns=20", f"out={tmp_path / 'x.npz'}"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    text = p.stdout + p.stderr
    assert text.count("exited") == 2 and "game 1/2" in text and "game 2/2" in text and "Traceback" not in text
    assert not (tmp_path / "x.npz").exists()


def test_a_protocol_bot_in_the_training_opponent_pool(tmp_path, monkeypatch, capfd):
    """pool_agents=bot:PATH: LuxGridEnv feeds the bot the protocol stream from the first step, the
    bot's answers are played (its own bid and placement too), and a bot that dies hands its game to
    the random-masked policy with one line, without ending the learner's episode."""
    from agent.policy import sample_uniform_masked
    from training.ppo.config import ConfigError, parse_overrides
    from training.ppo.opponents import PoolOpponent
    from wrappers.lux_env import LuxGridEnv

    monkeypatch.setenv("LUXKIT_AGENT", "scripted")
    opp = PoolOpponent(str(tmp_path), p_random=0.0, seed=0, agents=[f"bot:{ROOT}"], p_agent=1.0)
    env = LuxGridEnv(rules="tiny", opponent=opp, map_seeds=[3], max_episode_length=60)
    env.reset(seed=0)
    assert opp.protocol and env.engine.state.teams["player_1"].bid == 0
    rng = np.random.default_rng(0)
    moved = 0
    done = False
    while not done:
        before = {u: tuple(x.pos.pos) for u, x in env.engine.state.units["player_1"].items()}
        _, _, terminated, truncated, _ = env.step(sample_uniform_masked(env.cell_masks(), rng))
        after = {u: tuple(x.pos.pos) for u, x in env.engine.state.units["player_1"].items()}
        moved += sum(1 for u in before if u in after and after[u] != before[u])
        done = terminated or truncated
    assert len(env.engine.state.factories["player_1"]) > 0 and moved > 0  # the bot played its side
    assert "opponent failed" not in capfd.readouterr().err
    # a bot that dies: one line, the random-masked policy plays on
    dead = tmp_path / "dead"
    dead.mkdir()
    (dead / "main.py").write_text("import sys\nsys.exit(3)\n")
    opp = PoolOpponent(str(tmp_path), p_random=0.0, seed=0, agents=[f"bot:{dead}"], p_agent=1.0)
    env = LuxGridEnv(rules="tiny", opponent=opp, map_seeds=[3], max_episode_length=30)
    env.reset(seed=0)
    assert not opp.protocol
    for _ in range(5):
        env.step(sample_uniform_masked(env.cell_masks(), rng))
    assert capfd.readouterr().err.count("opponent failed") == 1
    with pytest.raises(ConfigError, match="pool_agents"):
        parse_overrides([f"pool_agents=bot:{tmp_path}"])  # no main.py there
    assert parse_overrides([f"pool_agents=bot:{ROOT}", "init_weights=none"]).pool_agents == f"bot:{ROOT}"


def test_shadow_labels_keep_where_the_students_queue_runs_the_bots_action():
    """A bot shadow re-plans every robot every turn; its labels of the student's states are taken
    against the student's sticky queues, as the teacher's games are with queues=sticky: a robot whose
    queue already runs the bot's action is KEEP, the others get the bot's action as a new queue."""
    from agent.actions import C_MOVE, C_TYPE, KEEP, MOVE
    from agent.masks import action_masks
    from tests.test_masks_rules import make_state, unit
    from training.imitation.replays import label_turn, shadow_labels

    right, up, down = [0, 2, 0, 0, 1, 1], [0, 1, 0, 0, 1, 1], [0, 3, 0, 0, 1, 1]
    st = make_state(my_units=[unit("unit_5", 4, 4, heavy=True, power=500, queue=[right]),
                              unit("unit_6", 4, 8, heavy=True, power=500, queue=[right]),
                              unit("unit_7", 2, 2, power=50)])
    bot = {"unit_5": [right, [3, 0, 0, 0, 1, 1]], "unit_6": [up], "unit_7": [down], "factory_0": 1}
    m = action_masks(st)
    raw, _ = label_turn(st, bot, m)
    sent = shadow_labels(st, bot)
    cells, info = label_turn(st, sent, m)
    assert raw[4, 4, C_TYPE] == MOVE  # taken as sent: a new queue although the student already moves right
    assert cells[4, 4, C_TYPE] == KEEP and "unit_5" not in sent
    assert cells[4, 8, C_TYPE] == MOVE and cells[4, 8, C_MOVE] == 0  # up: a new queue
    assert cells[2, 2, C_TYPE] == MOVE and cells[2, 2, C_MOVE] == 2  # empty queue, the bot moves down
    assert sent["factory_0"] == 1 and info["legal"].all()


@pytest.mark.parametrize("module", ["training.imitation.replays", "training.imitation.bc"])
def test_an_unknown_command_is_one_line_and_exit_2(module):
    p = subprocess.run([sys.executable, "-m", module, "nope"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown command 'nope'" in lines[0] and "--help" in lines[0], p.stderr
