"""scripts/train_agent.sh, the one command that remakes the shipped weights, end to end at a tiny
size (16x16 maps, 40-turn games): every stage runs and writes its files, and a bad argument is
refused."""

import json
import os
import subprocess
from pathlib import Path

from agent.guards import GUARDS
from agent.player import resolve_agent_config

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "scripts" / "train_agent.sh")
TINY = dict(ROUNDS="1", FITS="2", HEAVY_WEIGHT="2", VAL_SEEDS="1000110:1000111", RULES="tiny", GAMES="1", MAX_TURNS="40",
            EPOCHS="4", DAGGER_EPOCHS="1", WORKERS="1",
            TEST_SEEDS="1000000:1000001", CURVE_SEEDS="1000100:1000101", PPO_STEPS="64",
            PPO_ARGS="n_envs=1 vec_env=dummy n_steps=32 batch_size=32 n_epochs=1 checkpoint_interval=32 pool_interval=32")


def test_train_agent_script_runs_every_stage(tmp_path):
    out = tmp_path / "agent"
    env = dict(os.environ, OUT=str(out), **TINY)
    env.pop("PYTHONPATH", None)
    env.pop("GUARDS", None)  # the shipped ones
    weights_before = (ROOT / "agent" / "weights" / "model.pt").read_bytes()
    proc = subprocess.run(["bash", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("data_100.npz", "data_400.npz", "data_1200.npz", "data_1300.npz", "bc0.pt", "bc0_ep1.pt",
                 "bc0_ep4.pt", "bc1.pt", "bc1_s1.pt", "bc0.done", "bc1.done", "ppo.pt", "ppo.done", "ppo.seconds", "curve.png",
                 "curve.json"):
        assert (out / name).is_file(), name
    import torch

    bc1, ppo = (torch.load(out / n, weights_only=False) for n in ("bc1.pt", "ppo.pt"))
    assert bc1["heavy_weight"] == 2.0 and torch.load(out / "bc0.pt", weights_only=False)["heavy_weight"] == 1.0
    assert ppo["step"] == 64 and ppo["grad_steps"] == bc1["grad_steps"] + 2  # 2 rollouts x 1 epoch x 1 minibatch
    assert ppo["config"]["reward_anneal_steps"] == 64
    # the stage trains on the shipped decoding's masks with normalised rewards (notes/log/training_log.md: raw 64x64
    # returns are out of the cloned critic's reach)
    # (the guards: agent/weights/agent.json's, read by scripts/shipped_guards.py)
    shipped = resolve_agent_config(environ={})
    assert ppo["config"]["normalize_reward"] and shipped["water_guard"] and shipped["ice_guard"]
    assert {k: ppo["config"][k] for k in GUARDS} == {k: shipped[k] for k in GUARDS}
    assert (out / "ppo" / "checkpoints" / "vecnormalize.pkl").is_file()
    assert "vs teacher" in (out / "collect_1200.log").read_text() + (out / "collect_1300.log").read_text()
    # the choice on the validation seeds: both fits of round 1 against the shipped weights, then the
    # chosen clone against the PPO net (the clone's and the reference's games come from the cache)
    dagger, final = (json.loads((out / n).read_text()) for n in ("select_dagger.json", "select_ppo.json"))
    assert [r["checkpoint"] for r in dagger["rows"]] == [str(out / "bc1.pt"), str(out / "bc1_s1.pt")]
    assert dagger["reference"]["checkpoint"].endswith("agent/weights/model.pt") and dagger["seeds"] == "1000110:1000111"
    assert all(r["games"] == 2 and r["paired"]["games"] == 2 for r in dagger["rows"])
    assert [r["checkpoint"] for r in final["rows"]] == [dagger["selected"], str(out / "ppo.pt")]
    assert final["rows"][0] == dagger["rows"][[r["checkpoint"] for r in dagger["rows"]].index(dagger["selected"])]
    assert ppo["config"]["init_weights"] == dagger["selected"]
    assert len(list((out / "select_games").glob("*.json"))) == 4  # reference, two fits, PPO: each played once
    res = json.loads((out / "test" / "results.json").read_text())
    assert res["policy"] == final["selected"]
    assert res["greedy"] is True and res["sample_factories"] is True
    assert {k: res[k] for k in GUARDS} == {k: shipped[k] for k in GUARDS}
    assert set(res["report"]) == {"random", "scripted"}
    rows = json.loads((out / "curve.json").read_text())["rows"]
    assert len(rows) == 5 and rows[-1]["checkpoint"].endswith("ppo.pt")
    # without --install the shipped weights are untouched
    assert (ROOT / "agent" / "weights" / "model.pt").read_bytes() == weights_before


def test_train_agent_script_refuses_unknown_arguments(tmp_path):
    env = dict(os.environ, OUT=str(tmp_path / "agent"))
    proc = subprocess.run(["bash", SCRIPT, "--instal"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "unknown argument: --instal" in proc.stdout
    assert not (tmp_path / "agent").exists()  # refused before setup or any stage
