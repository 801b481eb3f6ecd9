"""The local league (training/evaluation/league.py): ratings from real tiny games, a database that survives
``kill -9`` and a second writer, one-line refusals of bad input, crashed bot games kept but not
rated, matchmaking by uncertainty."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["rules=tiny", "max_episode_length=40"]


def league(db, *args):
    from training.evaluation.league import main

    return main([*args, f"db={db}"])


def rows(db, where="1"):
    con = sqlite3.connect(db)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(f"SELECT * FROM games WHERE {where} ORDER BY id")]
    finally:
        con.close()


def one_line(text):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_scripted_rates_above_random_after_two_dozen_tiny_games(tmp_path, capsys):
    from training.evaluation.league import compare, open_db, ratings, table

    db = tmp_path / "league.sqlite"
    assert league(db, "add", "random", "random") == 0
    assert league(db, "add", "scripted", "scripted") == 0
    assert league(db, "play", "games=24", "workers=1", "seeds=1000110:1000122", *TINY) == 0
    games = rows(db)
    assert len(games) == 24 and {g["status"] for g in games} == {"finished"}
    # every seed both sides: each agent once as player_0
    seeds = range(1000110, 1000122)
    assert {(g["player_0"], g["seed"]) for g in games} == {(p, s) for p in ("random", "scripted") for s in seeds}
    g = games[0]
    assert g["rules"] == "tiny" and g["max_episode_length"] == 40 and g["length"] == 40 and g["finished_at"]
    assert g["sha256_0"].startswith("builtin:") and g["lichen_0"] is not None and g["replay"] is None
    con = open_db(str(db), create=False)
    rs = ratings(con)
    assert rs["scripted"]["games"] == rs["random"]["games"] == 24
    assert rs["scripted"]["ordinal"] > rs["random"]["mu"] > rs["random"]["ordinal"]
    assert rs["scripted"]["sigma"] < 8.3 and rs["random"]["sigma"] < 8.3
    text = table(con)
    assert text.splitlines()[2].split()[1] == "scripted" and "100% (24)" in text
    lichen = {n: sum(g[f"lichen_{i}"] for g in games for i in (0, 1) if g[f"player_{i}"] == n) / 24
              for n in ("scripted", "random")}
    for line in text.splitlines()[2:4]:  # the lichen column: each agent's mean final lichen
        assert float(line.split()[8]) == round(lichen[line.split()[1]])
    assert text.splitlines()[-1].startswith("play time: 24 games") and "games an hour per playing process" in text
    better, line = compare(con, "scripted", "random")
    assert better and "wins 24 vs 0" in line
    assert compare(con, "random", "scripted")[0] is False
    con.close()
    capsys.readouterr()
    assert league(db, "compare", "random", "scripted") == 1
    # every pair has played every seed: play says so and stops
    assert league(db, "play", "games=4", "workers=1", "seeds=1000110:1000122") == 0
    assert "every pair has played every seed" in capsys.readouterr().out and len(rows(db)) == 24
    # a league keeps its rules
    assert league(db, "play", "games=2", "rules=small") == 2
    assert "this league plays rules=tiny" in one_line(capsys.readouterr().err)


def test_matchmaking_meets_every_pair_first_then_the_least_certain(tmp_path):
    from training.evaluation.league import add_agent, claim, open_db, record

    con = open_db(str(tmp_path / "l.sqlite"))
    for name in ("a", "b", "c"):
        add_agent(con, name, "random")
    seeds = range(1, 50)

    def finish(batch):  # a beats everyone, b and c draw
        for g in batch:
            r = 1 if g["player_0"] == "a" else (-1 if g["player_1"] == "a" else 0)
            record(con, g["id"], dict(status="finished", result=r, lichen_0=0, lichen_1=0, factories_0=1,
                                      factories_1=1, length=40))

    first = [claim(con, seeds, "tiny", 40) for _ in range(3)]  # nothing known yet: every pair once
    assert {frozenset((b[0]["player_0"], b[0]["player_1"])) for b in first} == {frozenset(p) for p in ("ab", "ac", "bc")}
    for b in first:  # both sides of one seed
        assert len(b) == 2 and b[0]["seed"] == b[1]["seed"]
        assert (b[0]["player_0"], b[0]["player_1"]) == (b[1]["player_1"], b[1]["player_0"])
        finish(b)
    counts = {}
    for _ in range(12):
        b = claim(con, seeds, "tiny", 40)
        key = "".join(sorted((b[0]["player_0"], b[0]["player_1"])))
        counts[key] = counts.get(key, 0) + 1
        assert b[0]["seed"] == counts[key] + 1  # the pair's next seed: 1 went in the first round
        finish(b)
    # the a-pairs' results are settled sooner: b-c, the least certain, is played most
    assert counts["bc"] > max(counts.get("ab", 0), counts.get("ac", 0)) and min(counts.values()) >= 1
    con.close()


def test_database_survives_kill_9_and_a_second_writer(tmp_path):
    db = tmp_path / "league.sqlite"
    assert league(db, "add", "random", "random") == 0
    assert league(db, "add", "scripted", "scripted") == 0
    cmd = [sys.executable, "-m", "training.evaluation.league", "play", "workers=1", "seeds=1000110:1000300", *TINY, f"db={db}"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(tmp_path / "a.log", "w") as la, open(tmp_path / "b.log", "w") as lb:
        a = subprocess.Popen(cmd + ["games=400"], cwd=ROOT, stdout=la, stderr=subprocess.STDOUT, env=env)
        b = subprocess.Popen(cmd + ["games=6"], cwd=ROOT, stdout=lb, stderr=subprocess.STDOUT, env=env)
        try:
            assert b.wait(timeout=120) == 0, (tmp_path / "b.log").read_text()
            deadline = time.time() + 60
            while not [g for g in rows(db, "status='finished'") if g["pid"] == a.pid]:
                assert time.time() < deadline and a.poll() is None, (tmp_path / "a.log").read_text()
                time.sleep(0.2)
        finally:
            a.send_signal(signal.SIGKILL)  # mid-run, most likely mid-game or mid-write
            a.wait()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    kept = rows(db, "status='finished'")
    assert len([g for g in kept if g["pid"] == b.pid]) == 6
    assert all(g["result"] in (-1, 0, 1) and g["lichen_0"] is not None and g["finished_at"] for g in kept)
    # the two writers never claimed the same game
    claimed = [(g["player_0"], g["player_1"], g["seed"]) for g in rows(db, "status != 'abandoned'")]
    assert len(claimed) == len(set(claimed))
    # a new play reaps the killed process's running rows and continues
    assert league(db, "play", "games=2", "workers=1", "seeds=1000110:1000300") == 0
    after = rows(db)
    assert [g for g in after if g["status"] == "finished" and g["id"] <= kept[-1]["id"]] == kept
    assert len([g for g in after if g["status"] == "finished"]) >= len(kept) + 2
    assert not [g for g in after if g["status"] == "running"]
    for g in after:
        if g["status"] == "abandoned":
            assert g["pid"] == a.pid and "ended before the game finished" in g["error"]
    done = [(g["player_0"], g["player_1"], g["seed"]) for g in after if g["status"] == "finished"]
    assert len(done) == len(set(done))


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    from agent.net import build_net, save_checkpoint

    db = tmp_path / "league.sqlite"
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    cases = [
        (("add", "x", "rnadom"), "no such file or folder"),
        (("add", "x", str(tmp_path / "missing.pt")), "no such file or folder"),
        (("add", "x", f"bot:{tmp_path}"), "has no main.py"),
        (("add", "x", str(bad)), "cannot read weights file"),
        (("add", "x", str(tmp_path)), "without agent.json"),
        (("play", "games=2"), "no league at"),  # nothing was written by the bad adds
        (("play", "frobnicate=3"), "unknown key 'frobnicate'"),
        (("dance",), "unknown command"),
    ]
    for args, want in cases:
        assert league(db, *args) == 2, args
        out, err = capsys.readouterr()
        assert out == "" and want in one_line(err), (args, err)
    save_checkpoint(str(tmp_path / "w.pt"), build_net("small"), step=7, grad_steps=12)
    assert league(db, "add", "w", str(tmp_path / "w.pt")) == 0
    assert "step 12" in capsys.readouterr().out
    assert league(db, "add", "w", "random") == 2
    assert "already in the league" in one_line(capsys.readouterr().err)
    for args, want in ((("play", "games=2"), "at least two agents"), (("compare", "x", "w"), "no agent 'x'"),
                       (("play", "seeds=5:5"), "is empty"), (("play", "games=lots"), "is not a number")):
        assert league(db, *args) == 2, args
        out, err = capsys.readouterr()
        assert out == "" and want in one_line(err), (args, err)
    other = tmp_path / "other.sqlite"  # a league of another schema version
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    con.commit()
    con.close()
    assert league(other, "table") == 2
    assert "schema version 99" in one_line(capsys.readouterr().err)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    assert league(junk, "add", "r", "random") == 2
    assert "not a league database" in one_line(capsys.readouterr().err)
    # the real command line: one line on stderr, no traceback
    p = subprocess.run([sys.executable, "-m", "training.evaluation.league", "add", "x", str(tmp_path / "nope.pt"), f"db={db}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert one_line(p.stderr).startswith("league: spec")


CRASH_MID_GAME = """
import json, os, sys
sys.path.insert(0, {root!r})
os.environ["LUXKIT_AGENT"] = "random"
from agent.obs import parse_protocol_line
from agent.player import load_registry
reg = load_registry()
for line in sys.stdin:
    msg = parse_protocol_line(line)
    if msg["step"] >= 15:  # factories placed, main phase under way
        print("boom: this bot crashes on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    print(json.dumps(reg.act(msg["player"], msg["step"], msg["obs"], msg["env_cfg"], msg["remaining_overage"])), flush=True)
"""


def test_a_bot_crashing_mid_game_is_recorded_and_not_rated(tmp_path, capsys):
    from training.evaluation.league import open_db, ratings, table

    bot = tmp_path / "crashbot"
    bot.mkdir()
    (bot / "main.py").write_text(CRASH_MID_GAME.format(root=str(ROOT)))
    db = tmp_path / "league.sqlite"
    for name, spec in (("crash", f"bot:{bot}"), ("random", "random"), ("scripted", "scripted")):
        assert league(db, "add", name, spec) == 0
    assert league(db, "play", "games=all", "workers=1", "seeds=1000110:1000111", *TINY) == 0
    out = capsys.readouterr().out
    assert "played 6 games (4 crashed)" in out
    games = rows(db)
    crashed = [g for g in games if g["status"] == "crashed"]
    assert len(crashed) == 4 and all("crash" in (g["player_0"], g["player_1"]) for g in crashed)
    for g in crashed:
        assert g["result"] is None and "boom: this bot crashes on purpose" in g["error"] and "at step 15" in g["error"]
        assert "\n" not in g["error"]
        assert len(g["sha256_0" if g["player_0"] == "crash" else "sha256_1"]) == 64  # the bot's main.py
    con = open_db(str(db), create=False)
    rs = ratings(con)
    assert rs["crash"]["games"] == 0 and rs["crash"]["mu"] == 25.0 and rs["crash"]["sigma"] == pytest.approx(25 / 3)
    assert rs["scripted"]["games"] == rs["random"]["games"] == 2
    text = table(con)
    assert "2 rated games, 4 crashed (not rated)" in text
    con.close()


def test_plot_draws_rating_against_step(tmp_path, capsys):
    from agent.net import build_net, save_checkpoint
    from training.evaluation.league import open_db, plot

    db = tmp_path / "league.sqlite"
    for step in (100, 200):
        save_checkpoint(str(tmp_path / f"s{step}.pt"), build_net("small"), step=step)
        assert league(db, "add", f"run_step{step}", str(tmp_path / f"s{step}.pt")) == 0
    assert league(db, "add", "scripted", "scripted") == 0
    con = open_db(str(db), create=False)
    out = plot(con, str(tmp_path / "plot.png"))
    con.close()
    assert os.path.getsize(out) > 5000
    assert league(db, "plot", f"out={tmp_path / 'b.png'}") == 0 and (tmp_path / "b.png").is_file()
    empty = tmp_path / "e.sqlite"
    assert league(empty, "add", "scripted", "scripted") == 0
    capsys.readouterr()
    assert league(empty, "plot", f"out={tmp_path / 'c.png'}") == 2
    assert "nothing to plot" in one_line(capsys.readouterr().err)


def test_periodic_evaluation_plays_the_agent_as_packaged(tmp_path):
    """EvalCallback with the shipped weights and agent.json's decoding plays the very games that the
    agent folder agent/weights plays in test mode and in the league (same seeds, same results)."""
    from types import SimpleNamespace

    from agent.net import load_checkpoint
    from training.ppo.callbacks import EvalCallback
    from agent.guards import GUARDS
    from agent.player import agent_folder_config
    from training.evaluation.evaluate import evaluate

    conf = agent_folder_config(str(ROOT / "agent" / "weights"))
    net, _ = load_checkpoint(conf["spec"])
    logged = {}
    (tmp_path / "checkpoints").mkdir()
    cb = EvalCallback(str(tmp_path), 1, "scripted", range(1000110, 1000111), "tiny", 40, greedy=conf["greedy"],
                      sample_factories=conf["sample_factories"],
                      guards={k: conf[k] for k in GUARDS})
    cb.model = SimpleNamespace(policy=SimpleNamespace(net=net), num_timesteps=0,
                               logger=SimpleNamespace(record=lambda k, v, exclude=None: logged.__setitem__(k, v)))
    ours = cb.evaluate()
    ref = evaluate(str(ROOT / "agent" / "weights"), ["scripted"], range(1000110, 1000111), rules="tiny",
                   max_episode_length=40, workers=1, progress=False)["scripted"]

    def key(rep):
        return [(g["side"], g["result"], g["lichen"], g["opp_lichen"], g["length"]) for g in rep["per_game"]]

    assert key(ours) == key(ref) and len(key(ours)) == 2 and logged["eval/win_rate"] == ref["win_rate"]
    assert {g["length"] for g in ours["per_game"]} == {40}
