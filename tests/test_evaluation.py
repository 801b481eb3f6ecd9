"""Test mode, figures, sweeps and behaviour cloning, end to end on tiny maps."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(ROOT / "train.py")
FAST = ["rules=tiny", "n_envs=1", "vec_env=dummy", "n_steps=32", "batch_size=32", "n_epochs=1",
        "progress_bar=false", "max_episode_length=60", "eval_interval=0"]


def run(args, cwd, timeout=300):
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def bc_checkpoint(tmp_path_factory):
    """Behaviour cloning of the scripted baseline on 2 tiny games, one epoch."""
    d = tmp_path_factory.mktemp("bc")
    run(["-m", "training.imitation.bc", "collect", "teacher=scripted", "rules=tiny", "games=2", "stride=2", "max_turns=60",
         f"out={d / 'data.npz'}"], cwd=ROOT)
    out = run(["-m", "training.imitation.bc", "fit", f"data={d / 'data.npz'}", "epochs=1", f"out={d / 'bc.pt'}", "threads=1"],
              cwd=ROOT)
    assert "agreement: robot type" in out
    from agent.net import load_checkpoint

    net, payload = load_checkpoint(d / "bc.pt")
    assert "bc from" in payload["source"]
    return d / "bc.pt"


def test_dagger_collect_labels_student_games_and_fit_concatenates(tmp_path, bc_checkpoint):
    """DAgger: the student drives one side (beta=0: never the teacher), every sample is labelled by
    the teacher, and fit reads several files at once, continuing from a checkpoint."""
    import numpy as np

    from agent.actions import NUM_LOGITS
    from agent.features import NUM_PLANES

    out = run(["-m", "training.imitation.bc", "collect", "teacher=scripted", f"student={bc_checkpoint}", "beta=0",
               "rules=tiny", "games=2", "stride=3", "max_turns=45", "opponent_mix=0", f"out={tmp_path / 'dagger.npz'}"],
              cwd=ROOT)
    assert "vs teacher" in out
    d = np.load(tmp_path / "dagger.npz")
    n, S = len(d["actions"]), int(d["map_size"])
    assert n > 0 and d["planes"].shape == (n, NUM_PLANES, S, S) and d["actions"].shape == (n, S, S, 7)
    assert d["masks"].shape == (n, -(-S * S * NUM_LOGITS // 8))
    # labels are legal under the recorded masks (the teacher only chooses unmasked choices)
    m = np.unpackbits(d["masks"], axis=1, count=S * S * NUM_LOGITS).astype(bool).reshape(n, S, S, NUM_LOGITS)
    robot_type = d["actions"][..., 0].astype(int)
    robot_cells = m[..., :7].any(axis=-1)
    assert m[..., :7][robot_cells, robot_type[robot_cells]].all()
    both = f"{tmp_path / 'dagger.npz'},{bc_checkpoint.parent / 'data.npz'}"
    out = run(["-m", "training.imitation.bc", "fit", f"data={both}", "epochs=1", f"init={bc_checkpoint}",
               f"out={tmp_path / 'bc2.pt'}", "threads=1"], cwd=ROOT)
    n_first = len(np.load(bc_checkpoint.parent / "data.npz")["actions"])
    assert f"{n + n_first} samples" in out
    bad = subprocess.run([sys.executable, "-m", "training.imitation.bc", "fit", "data=nope.npz"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0 and "nope.npz" in bad.stderr and "Traceback" not in bad.stderr


def test_fit_heavy_weight_is_recorded_and_a_bad_weight_refused(tmp_path, bc_checkpoint, capsys):
    """fit heavy_weight=W trains with HEAVY cells weighted (training.imitation.bc.imitation_loss, checked
    against the reference in tests/test_distribution.py): from the same init, seed and batches the
    fits with W = 1 and W = 3 end with other weights. W is recorded in the checkpoint, and the
    validation NLL the fit prints and records is the unweighted NLL of the held-out samples,
    recomputed here from the saved net (the weighted one differs); W <= 0 is refused in one line
    before any data is read."""
    import torch

    from agent.actions import NUM_LOGITS
    from agent.distribution import MaskedGridDistribution
    from agent.features import P
    from agent.net import load_checkpoint
    from training.imitation.bc import fit

    data = bc_checkpoint.parent / "data.npz"
    d = np.load(data)
    n, S, k = len(d["actions"]), int(d["map_size"]), 20  # k held-out samples: one validation batch
    held = tmp_path / "held.npz"
    np.savez(held, **{key: (d[key][:k] if d[key].ndim and len(d[key]) == n else d[key]) for key in d.files})
    x = torch.from_numpy(d["planes"][:k].astype(np.float32))
    g = torch.from_numpy(d["globals"][:k])
    m = torch.from_numpy(np.unpackbits(d["masks"][:k], axis=1, count=S * S * NUM_LOGITS).astype(bool)
                         .reshape(k, S, S, NUM_LOGITS))
    a = torch.from_numpy(d["actions"][:k].astype(np.int64))
    heavy = x[:, P["heavy_ours"]]
    assert heavy.sum() > 0  # the held-out samples have HEAVY robots: the weighted NLL differs
    states = {}
    for w in (1, 3):
        out = tmp_path / f"h{w}.pt"
        fit(str(data), out=str(out), epochs=1, threads=1, init=str(bc_checkpoint), heavy_weight=w, val=str(held))
        printed = capsys.readouterr().out
        net, payload = load_checkpoint(out)
        assert payload["heavy_weight"] == float(w)
        states[w] = net.state_dict()
        with torch.no_grad():
            dist = MaskedGridDistribution(net.eval()(x, g)[0], m)
            unweighted = float(-dist.log_prob(a).mean())
            weighted = float(-(dist.cell_log_prob(a) * (1.0 + 2.0 * heavy)).sum((1, 2)).mean())
        assert round(weighted, 2) != round(unweighted, 2)
        assert payload["val_nll"] == pytest.approx(unweighted, rel=1e-4), w
        assert f"val nll {unweighted:.2f}," in printed, printed
    assert states[1].keys() == states[3].keys()
    assert any(not torch.equal(states[1][key], states[3][key]) for key in states[1])
    fit_cli = [sys.executable, "-m", "training.imitation.bc", "fit", f"data={data}", "epochs=1", "threads=1",
               f"init={bc_checkpoint}"]
    bad = subprocess.run(fit_cli + ["heavy_weight=0", f"out={tmp_path / 'x.pt'}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == ["bad arguments for fit: heavy_weight=0.0 must be > 0 "
                                               "(1 = every cell weighs the same)"]
    assert not (tmp_path / "x.pt").exists()


def test_dagger_student_guards_play_the_shipped_decoding(monkeypatch, bc_checkpoint):
    """student_guards=true: the DAgger student is a NetPolicy with the shipped decoding (agent.json's
    sample_factories and guards of agent.guards.GUARDS); the default stays plain greedy."""
    from agent.guards import GUARDS
    from agent.player import NetPolicy, resolve_agent_config
    from training.imitation import bc

    made = []
    original = NetPolicy.from_file.__func__

    def spy(cls, path, **kw):
        made.append(kw)
        return original(cls, path, **kw)

    monkeypatch.setattr(NetPolicy, "from_file", classmethod(spy))
    for guards in (True, False):
        item = dict(teacher="scripted", rules="tiny", seed0=5, g=0, stride=2, max_turns=8, opponent_mix=0.0,
                    student=str(bc_checkpoint), beta=0.0, threads=1, student_guards=guards)
        res = bc._collect_game(item)
        assert res["kind"] == "vs teacher" and len(res["actions"]) > 0
    shipped = resolve_agent_config(environ={})
    assert shipped["sample_factories"] and shipped["water_guard"] and shipped["ice_guard"]
    assert made[0] == dict(greedy=True, seed=made[0]["seed"], sample_factories=True, joint_greedy=shipped["joint_greedy"],
                           **{k: shipped[k] for k in GUARDS})
    assert not any(made[1].get(k) for k in ("sample_factories", *GUARDS))
    assert all(k["greedy"] for k in made)


def test_dagger_shadow_anchor_labels_with_the_anchored_teacher(monkeypatch, bc_checkpoint):
    """shadow_anchor=true: the learner side's shadow teacher is ScriptedPolicy(anchor=True) (the
    opponent stays the plain baseline); without a student or with another teacher it is refused
    in one line before any game."""
    from agent import scripted
    from training.imitation import bc

    made = []
    original = scripted.ScriptedPolicy.__init__

    def spy(self, seed=0, anchor=False):
        made.append(anchor)
        original(self, seed=seed, anchor=anchor)

    monkeypatch.setattr(scripted.ScriptedPolicy, "__init__", spy)
    item = dict(teacher="scripted", rules="tiny", seed0=5, g=0, stride=2, max_turns=8, opponent_mix=0.0,
                student=str(bc_checkpoint), beta=0.0, threads=1, student_guards=False, shadow_anchor=True)
    res = bc._collect_game(item)
    assert res["kind"] == "vs teacher" and len(res["actions"]) > 0
    assert made.count(True) == 1  # the learner's shadow; the opponent is a plain teacher
    for argv in (["teacher=scripted", "shadow_anchor=true"],
                 ["teacher=random", f"student={bc_checkpoint}", "shadow_anchor=true"]):
        p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "collect", "rules=tiny", "games=1", *argv,
                            "out=never.npz"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "Traceback" not in p.stderr and "shadow_anchor" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
    assert not (ROOT / "never.npz").exists()


def test_load_data_equals_concatenating_the_files(tmp_path):
    """training.imitation.bc.load_data fills preallocated arrays file by file (half the peak memory of
    np.concatenate); the result is the same arrays, dtypes included, and mixed map sizes fail."""
    import numpy as np

    from training.imitation.bc import load_data

    rng = np.random.default_rng(0)
    files = []
    for i, n in enumerate((3, 5, 2)):
        arrays = dict(planes=rng.random((n, 4, 8, 8)).astype(np.float16), globals=rng.random((n, 12), np.float32),
                      masks=rng.integers(0, 255, (n, 9), dtype=np.uint8),
                      actions=rng.integers(-1, 5, (n, 8, 8, 7), dtype=np.int8), map_size=np.int64(8))
        files.append(tmp_path / f"d{i}.npz")
        np.savez(files[-1], **arrays)
    got = load_data(",".join(map(str, files)))
    for k, a in zip(("planes", "globals", "masks", "actions"), got):
        want = np.concatenate([np.load(f)[k] for f in files])
        assert a.dtype == want.dtype and np.array_equal(a, want), k
    assert got[4] == 8
    np.savez(tmp_path / "big.npz", planes=np.zeros((1, 4, 16, 16), np.float16), globals=np.zeros((1, 12), np.float32),
             masks=np.zeros((1, 9), np.uint8), actions=np.zeros((1, 16, 16, 7), np.int8), map_size=np.int64(16))
    with pytest.raises(ValueError, match=r"mix map sizes \[8, 16\]"):
        load_data(f"{files[0]},{tmp_path / 'big.npz'}")


def test_replan_recomputes_the_path_planes_refuses_old_data_and_fit_widens_an_old_net(tmp_path, bc_checkpoint):
    """replan computes the path planes of a file again (the same float16 planes collect writes);
    data of the kit before the rank planes is refused by replan and by fit with a clear message
    (its unit_ids are gone), and fit from an old checkpoint widens it (new planes start unused)."""
    from agent.features import NUM_PLANES, PATH_PLANES
    from agent.net import NET_PRESETS, build_net, load_checkpoint, save_checkpoint

    new = np.load(bc_checkpoint.parent / "data.npz")
    assert new["planes"][:, list(PATH_PLANES)].any()
    blank = tmp_path / "blank.npz"
    planes = new["planes"].copy()
    planes[:, list(PATH_PLANES)] = 0
    np.savez(blank, **{k: (planes if k == "planes" else new[k]) for k in new.files})
    out = run(["-m", "training.imitation.bc", "replan", f"data={blank}", f"out={tmp_path / 'again.npz'}"], cwd=ROOT)
    assert f"planes {NUM_PLANES} -> {NUM_PLANES}" in out
    again = np.load(tmp_path / "again.npz")
    assert sorted(again.files) == sorted(new.files)
    for k in new.files:
        assert again[k].dtype == new[k].dtype and np.array_equal(again[k], new[k]), k
    C = PATH_PLANES[0]
    old = tmp_path / "old.npz"
    np.savez(old, **{k: (new[k][:, :C] if k == "planes" else new[k]) for k in new.files})
    for cmd in (["fit", f"data={old}", "epochs=1", "threads=1", f"out={tmp_path / 'x.pt'}"],
                ["replan", f"data={old}", f"out={tmp_path / 'x.npz'}"]):
        bad = subprocess.run([sys.executable, "-m", "training.imitation.bc", *cmd], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert bad.returncode != 0 and "collect" in bad.stderr and "Traceback" not in bad.stderr, cmd
    old_net = tmp_path / "old.pt"
    save_checkpoint(old_net, build_net(dict(NET_PRESETS["small"], in_planes=C)))
    out = run(["-m", "training.imitation.bc", "fit", f"data={tmp_path / 'again.npz'}", "epochs=1", f"init={old_net}",
               f"out={tmp_path / 'wide.pt'}", "threads=1"], cwd=ROOT)
    assert f"widened to {NUM_PLANES}" in out
    net, payload = load_checkpoint(tmp_path / "wide.pt")
    assert net.config["in_planes"] == NUM_PLANES and payload["init_planes"] == C
    bad = subprocess.run([sys.executable, "-m", "training.imitation.bc", "replan", f"data={tmp_path / 'nope.npz'}",
                          f"out={tmp_path / 'y.npz'}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "nope.npz" in bad.stderr and "Traceback" not in bad.stderr


def test_test_mode_reports_both_sides_writes_replays_and_figures(tmp_path, bc_checkpoint, monkeypatch):
    out_dir = tmp_path / "test"
    out = run([TRAIN, "mode=test", f"checkpoint={bc_checkpoint}", "opponents=random,scripted", "rules=tiny",
               "test_seeds=1000000:1000002", "max_episode_length=60", "test_workers=2", f"run_dir={out_dir}",
               "progress_bar=false", "sample_factories=true", "water_guard=true"], cwd=tmp_path)
    assert "win rate (95% CI)" in out
    res = json.loads((out_dir / "results.json").read_text())
    for opp in ("random", "scripted"):
        r = res["report"][opp]
        assert r["games"] == 4 and r["wins"] + r["draws"] + r["losses"] == 4
        assert sorted((g["map_seed"], g["side"]) for g in r["per_game"]) == [
            (s, p) for s in (1000000, 1000001) for p in ("player_0", "player_1")]
        lo, hi = r["win_rate_95ci"]
        assert 0 <= lo <= r["win_rate"] <= hi <= 1
        for g in r["per_game"]:
            assert g["survived"] == (g["factories_alive"] > 0 and g["length"] >= 60)
        assert r["survival_rate"] == pytest.approx(sum(g["survived"] for g in r["per_game"]) / 4)
    assert res["greedy"] is False and res["sample_factories"] is True and res["water_guard"] is True
    replays = sorted((out_dir / "replays").glob("*.json"))
    assert len(replays) == 8
    rep = json.loads(replays[0].read_text())
    assert len(rep["observations"]) == len(rep["actions"]) + 1 and "ice" in rep["observations"][0]["board"]
    run([str(ROOT / "scripts" / "plot_run.py"), "--results", str(out_dir / "results.json")], cwd=tmp_path)
    png = out_dir / "results.png"
    assert png.stat().st_size > 5000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same games again, paired with the first run: the policy's sampling is seeded per game
    again = tmp_path / "again"
    out = run([TRAIN, "mode=test", f"checkpoint={bc_checkpoint}", "opponents=random", "rules=tiny",
               "test_seeds=1000000:1000002", "max_episode_length=60", "test_workers=2", f"run_dir={again}",
               "progress_bar=false", "sample_factories=true", "water_guard=true", "replays=false",
               f"baseline={out_dir / 'results.json'}"], cwd=tmp_path)
    paired = json.loads((again / "results.json").read_text())["report"]["random"]["paired"]
    first = res["report"]["random"]
    assert paired["games"] == 4 and paired["same"] == 4 and paired["lichen_up"] == paired["lichen_down"] == 0
    assert paired["base_lichen"] == pytest.approx(first["lichen"]) and paired["base_wins"] == first["wins"]
    assert "paired with the baseline on 4 games" in out and "same play in 4" in out
    # the guards are not only echoed in results.json: side A plays with them
    _side_a_is_built_with_the_guards_asked_for(tmp_path, bc_checkpoint, monkeypatch)


def _side_a_is_built_with_the_guards_asked_for(tmp_path, bc_checkpoint, monkeypatch):
    """mode=test with decoding keys: side A's policy, in every game, is built with exactly those guards
    and sample_factories (policy_from_spec spied on in this process, test_workers=1), the opponent with
    none; results.json records them."""
    import agent.player
    from agent.guards import GUARDS
    from training.ppo.config import parse_overrides
    from training.evaluation.evaluate import main_test

    asked = {k: i % 2 == 0 for i, k in enumerate(GUARDS)}  # every other guard on
    built = []
    real = agent.player.policy_from_spec

    def spy(spec, **kw):
        policy = real(spec, **kw)
        built.append((spec, kw, getattr(policy, "guards", None)))
        return policy

    monkeypatch.setattr(agent.player, "policy_from_spec", spy)
    out_dir = tmp_path / "spied"
    cfg = parse_overrides(["mode=test", f"checkpoint={bc_checkpoint}", "opponents=scripted", "rules=tiny",
                           "test_seeds=1000000:1000001", "max_episode_length=8", "test_workers=1", f"run_dir={out_dir}",
                           "progress_bar=false", "replays=false", "sample_factories=true",
                           *[f"{k}={'true' if on else 'false'}" for k, on in asked.items()]])
    assert main_test(cfg) == 0
    side_a = [(kw, guards) for spec, kw, guards in built if spec == str(bc_checkpoint) and kw.get("seed") == 1000000]
    assert len(side_a) == 2  # one game per side
    for kw, guards in side_a:
        assert {k: kw.get(k, False) for k in GUARDS} == asked and kw["sample_factories"] is True
        assert guards == asked  # the NetPolicy that played
    side_b = [kw for spec, kw, _ in built if spec == "scripted" and kw.get("seed") == 1000001]
    assert len(side_b) == 2 and not any(kw.get(k) for kw in side_b for k in (*GUARDS, "sample_factories"))
    res = json.loads((out_dir / "results.json").read_text())
    assert {k: res[k] for k in GUARDS} == asked and res["sample_factories"] is True
    assert res["report"]["scripted"]["games"] == 2


def test_paired_summary_counts_games_up_and_down_and_bad_baselines_are_refused(tmp_path):
    from training.evaluation.evaluate import load_baseline, paired_summary

    def game(seed, side, lichen, result=-1, length=1000):
        return dict(map_seed=seed, side=side, lichen=lichen, result=result, length=length, factories_alive=2)

    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps([game(1, "player_0", 100), game(1, "player_1", 50), game(2, "player_0", 70, 1)]))
    base = load_baseline(str(base_file))
    assert list(base) == [None] and len(base[None]) == 3
    games = [game(1, "player_0", 100), game(1, "player_1", 80, 1), game(2, "player_0", 10), game(3, "player_0", 999)]
    p = paired_summary(games, base[None])
    assert p["games"] == 3 and (p["lichen_up"], p["lichen_down"], p["same"]) == (1, 1, 1)
    assert (p["wins"], p["base_wins"]) == (1, 1)
    assert p["lichen"] == pytest.approx(190 / 3) and p["base_lichen"] == pytest.approx(220 / 3)
    assert paired_summary([game(9, "player_0", 1)], base[None]) is None
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "empty.json").write_text("[]")
    for name, msg in (("missing.json", "does not exist"), ("bad.json", "not a JSON file"), ("empty.json", "holds no games")):
        with pytest.raises(ValueError, match=msg):
            load_baseline(str(tmp_path / name))
    proc = subprocess.run([sys.executable, TRAIN, "mode=test", f"baseline={tmp_path / 'missing.json'}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "does not exist" in proc.stdout and "Traceback" not in proc.stderr


def test_greedy_test_policy_ignores_its_sampling_seed(bc_checkpoint):
    from test_features import _states_after
    from training.evaluation.evaluate import make_policy

    state = _states_after("tiny", seed=3, main_turns=12)["player_0"]
    greedy = [make_policy(str(bc_checkpoint), seed=s, greedy=True)(state) for s in range(4)]
    assert all(g == greedy[0] for g in greedy)
    sampled = [make_policy(str(bc_checkpoint), seed=s)(state) for s in range(8)]
    assert any(a != sampled[0] for a in sampled)  # a near-uniform 1-epoch net samples differently
    # sample_factories: the robots' actions stay the greedy ones, the factories' choices vary
    mixed = [make_policy(str(bc_checkpoint), seed=s, greedy=True, sample_factories=True)(state) for s in range(8)]

    def part(actions, prefix):
        return {k: np.asarray(v).tolist() for k, v in actions.items() if k.startswith(prefix)}

    assert all(part(m, "unit_") == part(greedy[0], "unit_") for m in mixed)
    assert any(part(m, "factory_") != part(mixed[0], "factory_") for m in mixed)


def test_checkpoint_curves_plot_win_rate_and_lichen_against_grad_steps(tmp_path, bc_checkpoint):
    from agent.net import load_checkpoint

    assert load_checkpoint(bc_checkpoint)[1]["grad_steps"] > 0
    png = tmp_path / "curve.png"
    out = run([str(ROOT / "scripts" / "checkpoint_curves.py"), str(bc_checkpoint), "--rules", "tiny", "--seeds",
               "1000000:1000001", "--max-episode-length", "30", "--workers", "1", "--out", str(png)], cwd=tmp_path)
    assert "win rate" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads(png.with_suffix(".json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["games"] == 2 and rows[0]["x"] == load_checkpoint(bc_checkpoint)[1]["grad_steps"]
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "checkpoint_curves.py"), "missing.pt"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "missing.pt" in bad.stderr and "Traceback" not in bad.stderr


def test_select_checkpoint_ranks_by_lichen_margin_then_wins_and_refuses_bad_input(tmp_path, bc_checkpoint):
    sys.path.insert(0, str(ROOT / "scripts"))
    from select_checkpoint import choose

    # session 18's validation (issue #14): one lucky win does not outrank a margin 8,309 better
    rows = [dict(wins=1, lichen=7738.0, opp_lichen=47312.0), dict(wins=0, lichen=13635.0, opp_lichen=44900.0)]
    assert choose(rows) == 1
    rows = [dict(wins=0, lichen=900.0, opp_lichen=1000.0), dict(wins=1, lichen=10.0, opp_lichen=0.0),
            dict(wins=2, lichen=40.0, opp_lichen=0.0), dict(wins=2, lichen=50.0, opp_lichen=10.0)]
    assert choose(rows) == 2 and choose(rows[:1]) == 0  # margin first (not own lichen), then wins; a tie keeps the earlier
    script, shipped = str(ROOT / "scripts" / "select_checkpoint.py"), str(ROOT / "agent" / "weights" / "model.pt")
    out = tmp_path / "select.json"
    args = [script, str(bc_checkpoint), shipped, "--reference", shipped, "--rules", "tiny", "--seeds", "1000110:1000111",
            "--max-episode-length", "30", "--workers", "1", "--greedy", "--out", str(out)]
    printed = run(args, cwd=tmp_path)
    res = json.loads(out.read_text())
    assert printed.strip().splitlines()[-1] == res["selected"] and res["reference"]["checkpoint"] == shipped
    # the reference as a candidate replays the reference's games exactly (same maps, same sampling seeds)
    assert res["rows"][1]["paired"]["same"] == res["rows"][1]["games"] == 2
    def key(r):
        return (r["lichen"] - r["opp_lichen"], r["wins"])

    assert all(r["margin"] == r["lichen"] - r["opp_lichen"] for r in res["rows"])
    best = max(res["rows"], key=key)
    assert key(best) == next(key(r) for r in res["rows"] if r["checkpoint"] == res["selected"])
    assert res["beats_reference"] == (key(best) > key(res["reference"]))
    assert len(list((tmp_path / "select_games").glob("*.json"))) == 2  # the reference was played once
    for bad, msg in (([script, "missing.pt"], "missing.pt"),
                     ([script, shipped, "--seeds", "1000010:1000020"], "never on the test seeds")):
        proc = subprocess.run([sys.executable, *bad], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and msg in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "runs").exists()  # refused before any game or file


def _budget_from_replay(frames, players, turns):
    """What scripts/robot_budget.py should print, counted again from the engine's observations of a
    game (``frames``: the main-phase turns the players acted on), by the rules of its docstring:
    {player: dict(counts={cls: Counter(kind)}, built=Counter, ice=Counter, ore=Counter, alive={turn: (heavies,
    factories, lichen cells, lichen, factory water)})}."""
    from collections import Counter

    from luxai_s2.config import EnvConfig

    robots = EnvConfig().ROBOTS
    res = {}
    for p in players:
        r = dict(counts={"heavy": Counter(), "light": Counter()}, built=Counter(), ice=Counter(), ore=Counter(), alive={})
        prev = {}
        for o in frames:
            b, factories = o["board"], o["factories"][p].values()
            own = np.zeros(b["rubble"].shape, bool)
            for f in factories:
                own[f["pos"][0] - 1:f["pos"][0] + 2, f["pos"][1] - 1:f["pos"][1] + 2] = True
            seen = {}
            for uid, u in o["units"][p].items():
                cls = u["unit_type"].lower()
                spec = robots[u["unit_type"]]
                pos = (int(u["pos"][0]), int(u["pos"][1]))
                cargo = np.array([u["cargo"][k] for k in ("ice", "ore", "water", "metal")])
                if uid in prev:
                    pos0, cargo0, rubble0 = prev[uid]
                    if cargo[0] > cargo0[0]:
                        kind = "dug ice"
                    elif cargo[1] > cargo0[1]:
                        kind = "dug ore"
                    elif (cargo < cargo0).any():
                        kind = "delivered"
                    elif pos != pos0:
                        kind = "moved"
                    elif b["rubble"][pos] < rubble0:
                        kind = "dug rubble"
                    else:
                        kind = "idle on factory" if own[pos] else "idle off factory"
                    r["counts"][cls][kind] += 1
                    if not own[pos] and u["power"] < spec.DIG_COST:
                        r["counts"][cls]["low power off factory"] += 1
                    if (kind == "idle off factory" and len(u["action_queue"]) and u["action_queue"][0][0] == 5
                            and 2 * u["power"] >= spec.BATTERY_CAPACITY):  # a recharge head (engine type 5)
                        r["counts"][cls]["parked on a recharge"] += 1
                    r["ice"][cls] += max(int(cargo[0] - cargo0[0]), 0)
                    r["ore"][cls] += max(int(cargo[1] - cargo0[1]), 0)
                else:
                    r["built"][cls] += 1
                seen[uid] = (pos, cargo, int(b["rubble"][pos]))
            prev = seen
            t = o["real_env_steps"]
            if t in (100, 300, 600, 999) and t < turns or t == turns - 1:
                ours = np.isin(b["lichen_strains"], [f["strain_id"] for f in factories]) & (b["lichen"] > 0)
                r["alive"][t] = (sum(u["unit_type"] == "HEAVY" for u in o["units"][p].values()), len(factories),
                                 int(ours.sum()), int(b["lichen"][ours].sum()),
                                 sum(int(f["cargo"]["water"]) for f in factories))
        res[p] = r
    return res


def test_robot_budget_sorts_robot_turns_and_counts_the_economy(bc_checkpoint, monkeypatch, capsys):
    """scripts/robot_budget.py: every number it prints (robot-turns and turn shares per robot class,
    the economy line, the lichen line, the final rewards) equals the one counted again here from a
    recording of the game it played (the engine's observation after every step)."""
    import copy
    import re

    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import robot_budget

    frames, rewards = [], {}
    real_run_game = robot_budget.run_game

    def recorded_run_game(env, map_seed, act):
        def record(env, acts, obs):
            frames.append(copy.deepcopy(obs["player_0"]))  # both players observe the same full state

        out = real_run_game(env, map_seed, act, on_reset=lambda env: frames.append(copy.deepcopy(env.state.get_obs())),
                            on_step=record)
        rewards.update(out[0])
        return out

    monkeypatch.setattr(robot_budget, "run_game", recorded_run_game)
    turns = 40
    robot_budget.main([str(bc_checkpoint), "--rules", "tiny", "--turns", str(turns), "--seed", "3", "--power-guard",
                       "--park-guard", "--frontier-guard"])
    out = capsys.readouterr().out
    assert "net as player_0 with the power guard with the park guard with the frontier guard;" in out
    assert f"final rewards (lichen) net {rewards['player_0']}, scripted {rewards['player_1']}" in out
    acted = [o for o in frames[:-1] if o["real_env_steps"] >= 0]  # the turns the players acted on
    assert [o["real_env_steps"] for o in acted] == list(range(turns))
    want = _budget_from_replay(acted, ("player_0", "player_1"), turns)
    kinds = ("dug ice", "dug ore", "delivered", "dug rubble", "moved", "idle on factory", "idle off factory")
    for side, p in (("net", "player_0"), ("scripted", "player_1")):
        w = want[p]
        for cls in ("heavy", "light"):
            total, line = re.search(rf"^{side} +{cls}: (\d+) robot-turns; (.*)$", out, re.M).groups()
            c = w["counts"][cls]
            assert int(total) == sum(c[k] for k in kinds), (side, cls)
            shares = dict(re.findall(r"([a-z ]+?) ([0-9.]+)(?:, |$)", line))
            assert shares == {k: f"{c[k] / max(int(total), 1):.3f}" for k in kinds + ("low power off factory",
                                                                                      "parked on a recharge")}, (side, cls)
        eco = re.search(rf"^{side} +economy: built (\d+) heavies, (\d+) lights; ice dug by heavies ([0-9,]+), "
                        rf"lights ([0-9,]+); ore dug by heavies ([0-9,]+), lights ([0-9,]+); heavies / factories alive "
                        rf"at turns ([0-9/]+): ([0-9/]+) / ([0-9/]+)$", out, re.M)
        assert eco, out
        got = [int(v.replace(",", "")) for v in eco.groups()[:6]]
        assert got == [w["built"]["heavy"], w["built"]["light"], w["ice"]["heavy"], w["ice"]["light"],
                       w["ore"]["heavy"], w["ore"]["light"]], side
        at = sorted(w["alive"])
        assert eco.group(7) == "/".join(map(str, at)) == str(turns - 1)
        assert [eco.group(8), eco.group(9)] == ["/".join(str(w["alive"][t][i]) for t in at) for i in (0, 1)], side
        lichen = re.search(rf"^{side} +lichen cells / lichen / factory water at the same turns: (.*)$", out, re.M).group(1)
        assert lichen == " / ".join("/".join(f"{w['alive'][t][i]:,}" for t in at) for i in (2, 3, 4)), side
        assert w["built"]["heavy"] > 0 and sum(w["counts"]["heavy"].values()) > 0  # both sides build heavies here
    with pytest.raises(SystemExit):
        robot_budget.main(["--help"])
    assert "--turns" in capsys.readouterr().out


def test_overlapping_test_seeds_are_refused(tmp_path):
    proc = subprocess.run([sys.executable, TRAIN, "mode=test", "test_seeds=10:20"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "overlap the train seeds" in proc.stderr


def test_sweep_index_mapping_is_reproducible(tmp_path):
    from training.ppo.sweep import grid_size, load_sweep, setting_for_index

    f = tmp_path / "s.json"
    f.write_text(json.dumps({"rules": "tiny", "learning_rate": [0.1, 0.2], "ent_coef": [0.0, 0.5, 1.0]}))
    _, axes = load_sweep(f)
    assert grid_size(axes) == 6
    seen = {}
    for i in range(12):
        setting, seed, overrides = setting_for_index(f, i)
        assert seed == i // 6 and f"seed={seed}" in overrides
        seen.setdefault(json.dumps(setting, sort_keys=True), []).append(i)
    assert sorted(seen.values()) == [[i, i + 6] for i in range(6)]
    assert setting_for_index(f, 7) == setting_for_index(f, 7)


def test_sweep_run_writes_result_and_report_plots(tmp_path):
    sweep = tmp_path / "tiny.json"
    sweep.write_text(json.dumps({**{a.split("=")[0]: a.split("=")[1] for a in FAST}, "total_timesteps": 64,
                                 "checkpoint_interval": 64, "eval_seeds": "1000000:1000001", "eval_max_turns": 30,
                                 "learning_rate": [0.0003, 0.001]}))
    for i in (1, 3):  # setting 1 with seeds 0 and 1
        run([TRAIN, f"sweep={sweep}", f"index={i}"], cwd=tmp_path)
    res = json.loads((tmp_path / "runs/sweeps/tiny/results/run_3.json").read_text())
    assert res["seed"] == 1 and res["setting"]["learning_rate"] == 0.001
    assert "eval_vs_random" in res["results"] and "rollout/ep_rew_mean" in res["results"]
    out = run([str(ROOT / "scripts" / "sweep_report.py"), str(sweep), "--tag", "rollout/ep_rew_mean"], cwd=tmp_path)
    assert "seeds=[0, 1]" in out
    png = tmp_path / "runs/sweeps/tiny/best_rollout_ep_rew_mean.png"
    assert png.stat().st_size > 5000
    run_dir = tmp_path / "runs/sweeps/tiny/run_1"
    run([str(ROOT / "scripts" / "plot_run.py"), "--run", str(run_dir)], cwd=tmp_path)
    assert (run_dir / "curves.png").stat().st_size > 5000
