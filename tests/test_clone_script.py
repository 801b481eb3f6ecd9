"""scripts/clone_winner.sh, the recipe that clones a bot from its replays, end to end at a tiny size
(16x16 maps, short games): every stage runs, resumes, and --install refuses a clone that does not
beat the shipped agent."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def test_clone_script_runs_every_stage_and_resumes(tmp_path):
    from training.evaluation.evaluate import play_game

    replays = tmp_path / "replays"
    replays.mkdir()
    for seed in (7, 8, 9):  # the "teacher": the scripted baseline against itself
        play_game("scripted", "scripted", seed, rules="tiny", max_episode_length=30,
                  replay_path=str(replays / f"teacher_seed{seed}.json"))
    out = tmp_path / "clone"
    env = dict(os.environ, OUT=str(out), REPLAYS=str(replays), VAL_FILE_SEEDS="9", EPOCHS="1", NET="small",
               THREADS="1", RULES="tiny", MAX_TURNS="30", VAL_SEEDS="1000110:1000111", WORKERS="1", IMPORT_JOBS="2",
               # one DAgger round with this repository's main.py (the scripted agent) as the teacher bot
               TEACHER=f"bot:{ROOT}", DAGGER_ROUNDS="1", DAGGER_GAMES="1", DAGGER_MAX_TURNS="30", FT_SHARDS="1",
               DAGGER_SHARE="0.3", LUXKIT_AGENT="scripted")
    env.pop("PYTHONPATH", None)
    shipped = tmp_path / "shipped"  # a copy of the shipped agent folder: the reference and the install target
    shutil.copytree(ROOT / "agent" / "weights", shipped)
    env["INSTALL_DIR"] = str(shipped)
    weights_before = (shipped / "model.pt").read_bytes()
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "clone_winner.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["teacher_seed7.npz", "teacher_seed8.npz"]
    assert [p.name for p in (out / "val_shards").iterdir()] == ["teacher_seed9.npz"]
    for name in ("clone.pt", "clone_ep1.pt", "select.json", "import.done", "fit.done", "validate.done",
                 "val_ep1/results.json", "agent_ep1/agent.json"):
        assert (out / name).is_file(), name
    conf = json.loads((out / "agent_ep1" / "agent.json").read_text())
    assert conf["greedy"] and not any(k.endswith("_guard") for k in conf)  # played without guards
    assert conf["joint_greedy"] is False  # JOINT_GREEDY's default
    res = json.loads((out / "val_ep1" / "results.json").read_text())
    assert res["rules"] == "tiny" and res["report"]["scripted"]["games"] == 2
    stages = ["import", "fit", "validate", "dagger1_collect", "dagger1_fit", "dagger1_validate"]
    assert [line.split("\t")[0] for line in (out / "stages.tsv").read_text().splitlines()] == stages
    assert "chosen: ep1" in proc.stdout
    # the DAgger round: the clone played, the bot labelled, the clone fine-tuned on the aggregate, validated
    fit_line = [x for x in proc.stdout.splitlines() if "samples of 16x16 from" in x and "dagger1.npz" in x]
    assert len(fit_line) == 1 and "teacher_seed7.npz" in fit_line[0]  # the aggregate: teacher shards + DAgger
    assert "(wanted 0.300)" in proc.stderr  # DAGGER_SHARE: the mix of python -m training.imitation.bc mix
    dagger = np.load(out / "dagger1.npz")
    assert len(dagger["actions"]) > 0 and int(dagger["map_size"]) == 16
    fitted = torch.load(out / "dagger1.pt", weights_only=True)
    assert fitted["grad_steps"] > torch.load(out / "agent_ep1" / "model.pt", weights_only=True)["grad_steps"]
    res = json.loads((out / "val_dagger1" / "results.json").read_text())
    assert res["report"]["scripted"]["games"] == 2
    chosen = json.loads((out / "select.json").read_text())
    assert [r[-1] for r in chosen["rows"]] == ["ep1", "dagger1"]
    assert chosen["agent"] == max(chosen["rows"])[-1]  # wins, then own lichen, then game length
    conf = json.loads((out / f"agent_{chosen['agent']}" / "agent.json").read_text())
    # a second run resumes: every stage is done, nothing is played again
    again = subprocess.run(["bash", str(ROOT / "scripts" / "clone_winner.sh")], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len((out / "stages.tsv").read_text().splitlines()) == len(stages)
    # --install plays the clone against the shipped agent folder and installs only a winner
    inst = subprocess.run(["bash", str(ROOT / "scripts" / "clone_winner.sh"), "--install"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stdout[-3000:] + inst.stderr[-3000:]
    assert (out / "vs_shipped" / "results.json").is_file()
    line = [x for x in inst.stdout.splitlines() if x.startswith(("installed", "not installed"))][0]
    res = json.loads((out / "vs_shipped" / "results.json").read_text())["report"]
    (games,) = res.values()
    if games["wins"] > games["losses"]:
        assert line.startswith("installed") and (shipped / "model.pt").read_bytes() != weights_before
        assert json.loads((shipped / "agent.json").read_text()) == conf
    else:
        assert line.startswith("not installed") and (shipped / "model.pt").read_bytes() == weights_before
    bad = subprocess.run(["bash", str(ROOT / "scripts" / "clone_winner.sh"), "--nope"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown argument" in bad.stdout
    no_teacher = subprocess.run(["bash", str(ROOT / "scripts" / "clone_winner.sh")], cwd=tmp_path,
                                env=dict(env, TEACHER=""), capture_output=True, text=True, timeout=60)
    assert no_teacher.returncode == 2 and "needs TEACHER=bot:PATH" in no_teacher.stdout
