"""Imitation at scale: xz replays, one shard per replay (resumable), and ``training.imitation.bc fit``
streaming shards from disk, resuming, weighting non-keep labels and reporting keep and non-keep
agreement apart. Tiny 16x16 games."""

import gzip
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    """Three short recorded games (runner format): scripted against random-masked, seeds 3-5."""
    from training.evaluation.evaluate import play_game

    d = tmp_path_factory.mktemp("shard_replays")
    paths = []
    for seed in (3, 4, 5):
        p = d / f"game_seed{seed}.json"
        play_game("scripted", "random", seed, rules="tiny", max_episode_length=50, replay_path=str(p))
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def shard_dir(replays, tmp_path_factory):
    from training.imitation.replays import import_shards

    d = tmp_path_factory.mktemp("shards")
    import_shards([str(p) for p in replays], str(d), player="both", stride=1, log=lambda s: None)
    return d


def test_xz_gzip_and_plain_replays_import_to_the_same_data(replays, tmp_path):
    """The compression is read from the content: an xz (``lzma``) file, a gzip file and the plain
    JSON give byte-identical datasets, whatever the file is named."""
    from training.imitation.replays import import_files

    raw = replays[0].read_bytes()
    (tmp_path / "g.json.xz").write_bytes(lzma.compress(raw))
    (tmp_path / "g.json.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "misnamed.json").write_bytes(lzma.compress(raw))
    ref = tmp_path / "ref.npz"
    import_files([str(replays[0])], str(ref))
    for name in ("g.json.xz", "g.json.gz", "misnamed.json"):
        out = tmp_path / (name + ".npz")
        import_files([str(tmp_path / name)], str(out))
        a, b = np.load(out), np.load(ref)
        for k in ("planes", "globals", "masks", "actions"):
            assert np.array_equal(a[k], b[k]), (name, k)


def test_truncated_xz_is_one_line_and_skip_bad_goes_on(replays, tmp_path):
    raw = lzma.compress(replays[0].read_bytes())
    bad = tmp_path / "bad.json.xz"
    bad.write_bytes(raw[: len(raw) // 2])
    p = subprocess.run([sys.executable, "-m", "training.imitation.replays", "import", str(bad), f"out={tmp_path / 'o.npz'}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and "xz" in lines[0] and str(bad) in lines[0], p.stderr
    assert not (tmp_path / "o.npz").exists()
    # a folder of shards: the bad file is skipped with one line, the good one imported
    shutil.copy(replays[1], tmp_path / "good.json")
    p = subprocess.run([sys.executable, "-m", "training.imitation.replays", "import", str(tmp_path), "skip_bad=true",
                        f"shard_dir={tmp_path / 'sh'}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in (tmp_path / "sh").iterdir()) == ["good.npz"]
    assert any(line.startswith("replays: skipped") and "bad.json.xz" in line for line in p.stderr.splitlines())


def test_one_shard_per_replay_equals_importing_it_alone_and_resumes(replays, shard_dir, tmp_path):
    from training.imitation.replays import import_files, import_shards

    names = sorted(f.name for f in shard_dir.iterdir())
    assert names == [f"game_seed{s}.npz" for s in (3, 4, 5)]
    import_files([str(replays[1])], str(tmp_path / "alone.npz"), player="both", stride=1)
    a, b = np.load(shard_dir / "game_seed4.npz"), np.load(tmp_path / "alone.npz")
    for k in ("planes", "globals", "masks", "actions", "map_size"):
        assert np.array_equal(a[k], b[k]), k
    # a second call imports nothing (the shards exist): a killed import goes on where it stopped
    before = {f.name: f.stat().st_mtime_ns for f in shard_dir.iterdir()}
    said = []
    st = import_shards([str(p) for p in replays], str(shard_dir), log=said.append)
    assert st.files == 0 and len(said) == 3 and all("exists, skipped" in s for s in said)
    assert before == {f.name: f.stat().st_mtime_ns for f in shard_dir.iterdir()}


def test_stream_visits_every_sample_once_per_epoch_in_a_seeded_order(shard_dir):
    """ShardStream: each epoch yields every training sample exactly once (``buffer`` shards at a
    time), in an order fixed by (seed, epoch), different between epochs."""
    from agent.actions import NUM_LOGITS
    from training.imitation.shards import ShardStream, expand_data, load_shard

    files = expand_data(str(shard_dir))
    ref = np.concatenate([load_shard(f)["globals"] for f in files])
    stream = ShardStream([(f, None) for f in files], batch_size=7, buffer=2, seed=1, S=16, num_logits=NUM_LOGITS)
    orders = []
    for ep in (0, 0, 1):
        got = np.concatenate([b[1] for _, _, b in stream.iter_epoch(ep)])
        assert got.shape == ref.shape
        assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, ref.tolist()))
        orders.append(got)
    assert np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[0], orders[2])
    # masks come out unpacked to the engine's head width, labels as int64
    _, _, (pl, gl, m, a) = next(iter(stream.iter_epoch(0)))
    assert pl.dtype == np.float32 and m.dtype == bool and m.shape[1:] == (16, 16, NUM_LOGITS) and a.dtype == np.int64


def test_nonkeep_weight_multiplies_the_cells_of_new_queues():
    """imitation_loss with nonkeep_weight W equals the reference: -sum over cells of
    w(cell) * log p(cell), w = W on robot cells whose label is not keep, 1 elsewhere."""
    from agent.actions import KEEP, MOVE, NUM_LOGITS
    from agent.distribution import MaskedGridDistribution
    from training.imitation.bc import imitation_loss

    g = torch.Generator().manual_seed(0)
    B, S = 2, 5
    logits = torch.randn(B, NUM_LOGITS, S, S, generator=g)
    masks = torch.zeros(B, S, S, NUM_LOGITS, dtype=torch.bool)
    masks[:, 1:4, 1:4, :] = True
    actions = torch.zeros(B, S, S, 7, dtype=torch.long)
    actions[:, 1, 1, 0] = MOVE
    actions[:, 2, 2, 0] = KEEP
    dist = MaskedGridDistribution(logits, masks)
    heavy = torch.zeros(B, S, S)
    cell = dist.cell_log_prob(actions)
    w = torch.ones(B, S, S)
    w[:, 1, 1] = 3.0
    ref = -(cell * w).sum((1, 2)).mean()
    assert torch.allclose(imitation_loss(dist, actions, heavy, 1.0, 3.0), ref)
    assert torch.allclose(imitation_loss(dist, actions, heavy, 1.0, 1.0), -dist.log_prob(actions).mean())


def test_agreement_counts_keep_and_non_keep_apart():
    from agent.actions import KEEP, MOVE, NUM_LOGITS, OFFSETS
    from agent.distribution import MaskedGridDistribution
    from training.imitation.bc import METRICS, agreement_counts

    B, S = 1, 4
    logits = torch.zeros(B, NUM_LOGITS, S, S)
    logits[:, int(OFFSETS[0]) + KEEP] = 5.0  # the net says keep everywhere
    masks = torch.zeros(B, S, S, NUM_LOGITS, dtype=torch.bool)
    masks[0, :2, :2, :7] = True  # four robot cells, every type legal
    masks[0, :2, :2, 7:11] = True
    actions = torch.zeros(B, S, S, 7, dtype=torch.long)
    actions[0, 0, 0, 0] = MOVE  # one new queue, three keeps
    hits, counts = agreement_counts(MaskedGridDistribution(logits, masks), actions)
    r = dict(zip(METRICS, zip(hits, counts)))
    assert r["robot_type"] == (3, 4) and r["keep"] == (3, 3) and r["non_keep"] == (0, 1)
    assert r["move_dir"][1] == 1 and r["factory"] == (0, 0) and r["dig"] == (0, 0)
    from agent.actions import DIG

    actions[0, 1, 1, 0] = DIG  # a dig label where the net keeps: counted, missed
    logits[0, int(OFFSETS[0]) + DIG, 1, 0] = 9.0  # the net digs where the label keeps: not a dig label
    r = dict(zip(METRICS, zip(*agreement_counts(MaskedGridDistribution(logits, masks), actions))))
    assert r["dig"] == (0, 1) and r["non_keep"] == (0, 2) and r["keep"] == (1, 2)


def _fit(shard_dir, out, **kw):
    from training.imitation.bc import fit

    args = dict(data=str(shard_dir), net="small", epochs=2, batch_size=8, threads=1, buffer=1, val_samples=16,
                tb=False, progress=False, seed=0)
    args.update(kw)
    return fit(out=str(out), **args)


def test_fit_streams_shards_resumes_to_the_same_weights_and_reports_keep_apart(shard_dir, tmp_path, monkeypatch,
                                                                              capsys):
    """A fit stopped after its first shard group and started again ends with exactly the weights of
    a fit never stopped; it holds out a tenth of each file's samples (under 10 files, no val=) and
    prints keep and non-keep agreement; nonkeep_weight changes the fit."""
    from agent.net import load_checkpoint
    from training.imitation import shards

    _fit(shard_dir, tmp_path / "ref.pt")
    out = capsys.readouterr().out
    assert "300 samples" in out and "(3 file(s); 270 for training;" in out and "of 3 file(s) evaluated" in out
    assert "(keep " in out and "non-keep " in out
    ref = load_checkpoint(tmp_path / "ref.pt")[0].state_dict()

    real = shards.ShardStream.iter_epoch
    calls = {"n": 0}

    def stop_after_first_group(self, epoch, start_group=0):
        for item in real(self, epoch, start_group):
            yield item
            if item[1]:  # the group's last batch: the fit saves, then we "kill" it
                calls["n"] += 1
                if calls["n"] == 1:
                    raise KeyboardInterrupt

    monkeypatch.setattr(shards.ShardStream, "iter_epoch", stop_after_first_group)
    with pytest.raises(KeyboardInterrupt):
        _fit(shard_dir, tmp_path / "cut.pt")
    _fit(shard_dir, tmp_path / "cut.pt")
    assert "resumed from" in capsys.readouterr().out
    got = load_checkpoint(tmp_path / "cut.pt")[0].state_dict()
    for k in ref:
        assert torch.equal(ref[k], got[k]), k
    _fit(shard_dir, tmp_path / "nk.pt", nonkeep_weight=4.0)
    nk = load_checkpoint(tmp_path / "nk.pt")
    assert nk[1]["nonkeep_weight"] == 4.0
    assert any(not torch.equal(ref[k], nk[0].state_dict()[k]) for k in ref)
    assert set(nk[1]["agreement"]) >= {"keep", "non_keep", "move_dir", "factory"}


def test_fit_bad_data_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    for data in ("nope.npz", str(tmp_path / "empty")):
        p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "fit", f"data={data}", f"out={tmp_path / 'x.pt'}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not (tmp_path / "x.pt").exists()


def test_sticky_queues_relabel_a_long_queue_bot_and_reproduce_its_moves(tmp_path):
    """queues=sticky: a bot that sends long queues (tests/bots/queue_bot) is labelled against the
    one-action sticky queues our agent would hold. Branching the engine each turn with those queues
    in place and only the new-queue labels sent reproduces the recorded positions, and the import
    turns some of the bot's queued-up actions (keep under queues=recorded) into new labels."""
    from training.evaluation.evaluate import play_game
    from training.imitation.replays import import_files, load_replay, sticky_check

    path = tmp_path / "queue.json"
    play_game(f"bot:{ROOT / 'tests' / 'bots' / 'queue_bot'}", "scripted", 6, rules="tiny", max_episode_length=80,
              replay_path=str(path))
    r = sticky_check(load_replay(str(path)))
    assert r["turns"] > 50 and r["unit_turns"] > 100
    assert r["unit_positions_agree"] / r["unit_turns"] > 0.99, r
    assert r["keep"] > 0 and r["new"] > 0
    st = {}
    for q in ("recorded", "sticky"):
        st[q] = import_files([str(path)], str(tmp_path / f"{q}.npz"), player="player_0", queues=q)
    assert st["sticky"].new_queue > st["recorded"].new_queue
    assert st["sticky"].robot_turns == st["recorded"].robot_turns
    a, b = np.load(tmp_path / "recorded.npz"), np.load(tmp_path / "sticky.npz")
    assert not np.array_equal(a["actions"], b["actions"])  # labels differ ...
    assert not np.array_equal(a["planes"], b["planes"])    # ... and so do the queue planes our agent sees


def test_fit_writes_tensorboard_curves_that_plot_fit_draws(shard_dir, tmp_path):
    """The fit's per-epoch held-out NLL and agreement land in <out>_tb; scripts/plot_fit.py draws them
    (and says in one line when a folder holds none)."""
    from training.tblog import read_scalars

    _fit(shard_dir, tmp_path / "tb.pt", tb=True)
    steps, nll = read_scalars(str(tmp_path / "tb_tb"), "bc/val_nll")
    assert len(steps) == 2 and steps[0] < steps[1] and np.isfinite(nll).all()
    assert len(read_scalars(str(tmp_path / "tb_tb"), "bc/agreement_non_keep")[0]) == 2
    png = tmp_path / "fit.png"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "plot_fit.py"), str(tmp_path / "tb_tb"), "--out", str(png)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and png.stat().st_size > 10_000, p.stderr
    (tmp_path / "empty").mkdir()
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "plot_fit.py"), str(tmp_path / "empty"), "--out",
                        str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()


def test_plot_validation_curve_orders_results_by_grad_steps(tmp_path):
    """scripts/plot_validation_curve.py: one point per test-mode results.json at the grad_steps of
    the weights it played (a weights file or an agent folder); a foreign file is one line, exit 2."""
    import json

    from agent.net import build_net, save_checkpoint

    paths = []
    for i, (steps, ice) in enumerate(((500, 10.0), (100, 0.0))):
        w = tmp_path / f"w{i}.pt"
        save_checkpoint(str(w), build_net("small"), grad_steps=steps)
        policy = str(w)
        if i == 1:  # an agent folder
            d = tmp_path / "agent1"
            d.mkdir()
            w.rename(d / "model.pt")
            (d / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt"}))
            policy = str(d)
        rep = dict(games=2, win_rate=0.5, lichen=3.0, opp_lichen=1.0, ice_dug=ice, game_length=100.0)
        r = tmp_path / f"r{i}.json"
        r.write_text(json.dumps({"policy": policy, "test_seeds": "1:2", "report": {"scripted": rep}}))
        paths.append(str(r))
    out, js = tmp_path / "c.png", tmp_path / "c.json"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "plot_validation_curve.py"), *paths, "--out", str(out),
                        "--json", str(js)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    rows = json.loads(js.read_text())
    assert [r["grad_steps"] for r in rows] == [100, 500] and [r["ice_dug"] for r in rows] == [0.0, 10.0]
    assert out.stat().st_size > 10_000
    (tmp_path / "bad.json").write_text("{}")
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "plot_validation_curve.py"), str(tmp_path / "bad.json"),
                        "--out", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


def _tiny_shard(path, n, S=4):
    from agent.actions import NUM_LOGITS
    from agent.features import NUM_GLOBALS, NUM_PLANES

    np.savez(path, planes=np.zeros((n, NUM_PLANES, S, S), np.float16), globals=np.zeros((n, NUM_GLOBALS), np.float32),
             masks=np.zeros((n, (S * S * NUM_LOGITS + 7) // 8), np.uint8), actions=np.zeros((n, S, S, 7), np.int8),
             map_size=np.int64(S))
    return str(path)


def test_dagger_mix_holds_the_dagger_share_as_the_rounds_add_data(tmp_path):
    from training.imitation.bc import mix
    from training.imitation.shards import dagger_mix

    teacher = [_tiny_shard(tmp_path / f"t{i}.npz", 100) for i in range(2)]  # 200 teacher samples
    pool = teacher + [_tiny_shard(tmp_path / f"p{i}.npz", 100) for i in range(4)]
    small = [_tiny_shard(tmp_path / "d1.npz", 20)]
    files, share, r = dagger_mix(teacher, small, 0.3, pool)
    # 20 DAgger samples against 200: repeated round(0.3 / 0.7 * 200 / 20) = 4 times, the teacher list unchanged
    assert r == 4 and files == teacher + small * 4 and share == pytest.approx(80 / 280)
    big = small + [_tiny_shard(tmp_path / "d2.npz", 130)]  # 150 DAgger samples: more teacher shards instead
    files, share, r = dagger_mix(teacher, big, 0.3, pool)
    assert r == 1 and files[:2] == teacher and files[-2:] == big
    # the unlisted pool shards first, until 0.7 / 0.3 * 150 = 350 teacher samples: 400
    assert files[2:-2] == pool[2:4] and share == pytest.approx(150 / 550) and share <= 0.3
    files, share, r = dagger_mix(teacher, big, 0.3)  # no pool: the teacher list as given, DAgger once
    assert files == teacher + big and share == pytest.approx(150 / 350)
    assert dagger_mix(teacher, [], 0.3) == (teacher, 0.0, 0)
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            dagger_mix(teacher, small, bad)
    # the command's form: folders and files, the data= list the fine-tune reads
    assert mix(",".join(teacher), ",".join(small), 0.3).split(",") == teacher + small * 4
