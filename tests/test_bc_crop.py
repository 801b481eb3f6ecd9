"""``training.imitation.bc fit crop=N channels_last=true`` (issue #46): a window keeps planes, masks
and actions aligned and holds only cells whose logits equal the whole board's; a cropped fit runs,
resumes to the same weights and reports held-out metrics on whole boards; a net or size a crop
does not fit is refused in one line. Synthetic 16x16 shards."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
S = 16


def _shard(path, n, seed):
    """A shard of n random samples: 6 active cells each (every choice legal), legal labels."""
    from agent.actions import NUM_LOGITS, NVEC
    from agent.features import NUM_GLOBALS, NUM_PLANES

    rng = np.random.default_rng(seed)
    masks = np.zeros((n, S, S, NUM_LOGITS), bool)
    actions = np.zeros((n, S, S, len(NVEC)), np.int8)
    for i in range(n):
        for c in rng.choice(S * S, 6, replace=False):
            x, y = divmod(int(c), S)
            masks[i, x, y] = True
            actions[i, x, y] = rng.integers(0, NVEC)
    np.savez(path, planes=rng.random((n, NUM_PLANES, S, S)).astype(np.float16),
             globals=rng.random((n, NUM_GLOBALS)).astype(np.float32),
             masks=np.packbits(masks.reshape(n, -1), axis=1), actions=actions, map_size=S)
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("crop_data")
    (d / "val").mkdir()
    return dict(train=",".join(_shard(d / f"t{i}.npz", 24, i) for i in range(2)), val=_shard(d / "val" / "v.npz", 12, 9))


def test_crop_keeps_planes_masks_and_actions_aligned(data):
    """Each sample's window: planes, actions and masks are the board's over the window (masks cleared
    within ``margin`` of a cut edge, kept on the map's edge), globals untouched, an active cell in
    the exact interior; channels_last gives the same values in NHWC memory order."""
    from agent.actions import NUM_LOGITS
    from training.imitation.shards import crop_windows, load_shard, unpack_batch

    arrays = load_shard(data["train"].split(",")[0])
    idx = np.arange(0, 24, 2)
    full = unpack_batch(arrays, idx, S, NUM_LOGITS)
    crop, margin = 9, 2
    pl, gl, m, a = unpack_batch(arrays, idx, S, NUM_LOGITS, crop=crop, margin=margin, rng=np.random.default_rng(5))
    x0, y0 = crop_windows(full[2], crop, margin, np.random.default_rng(5))  # the same draws
    assert pl.shape == (len(idx), full[0].shape[1], crop, crop) and m.shape == (len(idx), crop, crop, NUM_LOGITS)
    assert np.array_equal(gl, full[1]) and a.dtype == np.int64 and m.dtype == bool
    for j, (x, y) in enumerate(zip(x0, y0)):
        win = (slice(x, x + crop), slice(y, y + crop))
        assert np.array_equal(pl[j], full[0][j][:, win[0], win[1]])
        assert np.array_equal(a[j], full[3][j][win])
        inner = np.zeros((crop, crop), bool)
        inner[margin if x else 0:crop - margin if x + crop < S else crop,
              margin if y else 0:crop - margin if y + crop < S else crop] = True
        assert np.array_equal(m[j], full[2][j][win] & inner[:, :, None])
        assert m[j].any()  # the drawn unit is inside
    cl = unpack_batch(arrays, idx, S, NUM_LOGITS, crop=crop, margin=margin, rng=np.random.default_rng(5),
                      channels_last=True)
    assert np.array_equal(cl[0], pl) and torch.from_numpy(cl[0]).is_contiguous(memory_format=torch.channels_last)
    whole = unpack_batch(arrays, idx, S, NUM_LOGITS, channels_last=True)[0]
    assert np.array_equal(whole, full[0]) and torch.from_numpy(whole).is_contiguous(memory_format=torch.channels_last)


def test_window_logits_equal_the_whole_boards_on_the_cells_left_in_the_loss(data):
    """For a grid net, the logits of every cell a window keeps in the loss (crop_margin from the fit)
    are those of the whole board: the cropped loss is the whole board's, on those cells."""
    from agent.actions import NUM_LOGITS
    from agent.net import build_net
    from training.imitation.bc import crop_margin
    from training.imitation.shards import load_shard, unpack_batch

    torch.manual_seed(0)
    net = build_net("small").eval()
    margin = crop_margin(net, 12, S)
    assert margin == 5
    arrays = load_shard(data["train"].split(",")[1])
    idx = np.arange(8)
    full = unpack_batch(arrays, idx, S, NUM_LOGITS)
    got = unpack_batch(arrays, idx, S, NUM_LOGITS, crop=12, margin=margin, rng=np.random.default_rng(1))
    from training.imitation.shards import crop_windows

    x0, y0 = crop_windows(full[2], 12, margin, np.random.default_rng(1))
    with torch.no_grad():
        ref = net(torch.from_numpy(full[0]), torch.from_numpy(full[1]))[0]
        win = net(torch.from_numpy(got[0]), torch.from_numpy(got[1]))[0]
    for j, (x, y) in enumerate(zip(x0, y0)):
        keep = torch.from_numpy(got[2][j].any(-1))
        assert keep.any()
        torch.testing.assert_close(win[j][:, keep], ref[j][:, x:x + 12, y:y + 12][:, keep], rtol=1e-5, atol=1e-5)


def _fit(data, out, **kw):
    from training.imitation.bc import fit

    args = dict(data=data["train"], val=data["val"], net="small", epochs=1, batch_size=8, buffer=1, threads=1,
                tb=False, progress=False, seed=0)
    args.update(kw)
    return fit(out=str(out), **args)


def test_cropped_fit_writes_a_checkpoint_with_whole_board_metrics_and_resumes(data, tmp_path, monkeypatch, capsys):
    from agent.actions import NUM_LOGITS
    from agent.distribution import MaskedGridDistribution
    from agent.net import load_checkpoint
    from training.imitation import shards

    _fit(data, tmp_path / "crop.pt", crop=12, channels_last=True)
    out = capsys.readouterr().out
    assert "training on 12x12 windows" in out and "robot labels/s" in out
    net, payload = load_checkpoint(tmp_path / "crop.pt")
    assert payload["crop"] == 12 and set(payload["agreement"]) >= {"keep", "non_keep", "factory"}
    assert all(v.is_contiguous() for v in torch.load(tmp_path / "crop.pt", weights_only=True)["state_dict"].values())
    held = shards.load_shard(data["val"])
    x, g, m, a = (torch.from_numpy(t) for t in shards.unpack_batch(held, np.arange(12), S, NUM_LOGITS))
    with torch.no_grad():  # the reported held-out NLL is the whole boards' (one batch of 8, one of 4)
        lp = MaskedGridDistribution(net(x, g)[0], m).log_prob(a)
    assert payload["val_nll"] == pytest.approx(-lp.mean().item(), rel=1e-4)

    real = shards.ShardStream.iter_epoch  # stopped after its first shard group, resumed: the same weights

    def stop_after_first_group(self, epoch, start_group=0):
        for item in real(self, epoch, start_group):
            yield item
            if item[1] and item[0] == 0:
                raise KeyboardInterrupt

    monkeypatch.setattr(shards.ShardStream, "iter_epoch", stop_after_first_group)
    with pytest.raises(KeyboardInterrupt):
        _fit(data, tmp_path / "cut.pt", crop=12, channels_last=True)
    monkeypatch.setattr(shards.ShardStream, "iter_epoch", real)
    _fit(data, tmp_path / "cut.pt", crop=12, channels_last=True)
    assert "resumed from" in capsys.readouterr().out
    got = load_checkpoint(tmp_path / "cut.pt")[0].state_dict()
    for k, v in net.state_dict().items():
        assert torch.equal(v, got[k]), k


@pytest.mark.parametrize("args, says", [
    (["net=cone", "crop=12"], "pools over the whole map"),
    (["crop=10"], "from 11"),
    (["crop=16"], "to 15"),
    (["crop=abc"], "crop"),
])
def test_bad_crop_is_one_line_and_writes_nothing(data, tmp_path, args, says):
    out = tmp_path / "x.pt"
    p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "fit", f"data={data['train']}",
                        f"val={data['val']}", f"out={out}", "tb=false", "progress=false", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert says in p.stderr, p.stderr
    assert not out.exists() and not Path(str(out) + ".state").exists()


def test_drop_planes_ablation_leaves_the_dropped_planes_unused(data, tmp_path):
    """drop_planes=path: the fit reads the seven path planes as zeros, so no gradient reaches the
    first layer's weights on them (they keep their fresh values), while the other planes' change."""
    from agent.features import NUM_PLANES, PATH_PLANES
    from agent.net import build_net, load_checkpoint

    torch.manual_seed(0)
    fresh = build_net("small")
    _fit(data, tmp_path / "drop.pt", drop_planes="path")
    net, payload = load_checkpoint(tmp_path / "drop.pt")
    assert payload["drop_planes"] == list(PATH_PLANES)
    w0, w = fresh.stem.weight.detach(), net.stem.weight.detach()  # (channels, planes + globals, 3, 3)
    assert w.shape[1] >= NUM_PLANES
    dropped = list(PATH_PLANES)
    kept = [c for c in range(w.shape[1]) if c not in PATH_PLANES]
    assert torch.equal(w[:, dropped], w0[:, dropped])
    assert not torch.allclose(w[:, kept], w0[:, kept])


def test_drop_planes_unknown_name_is_one_line(data, tmp_path):
    p = subprocess.run([sys.executable, "-m", "training.imitation.bc", "fit", f"data={data['train']}",
                        f"val={data['val']}", f"out={tmp_path / 'x.pt'}", "tb=false", "progress=false",
                        "drop_planes=path,no_such_plane"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "Traceback" not in p.stderr and "no_such_plane" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.pt").exists()
