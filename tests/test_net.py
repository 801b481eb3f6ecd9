"""agent/net.py: the GridNet presets keep their checkpoints; the ConeNet preset (U-Net / DoubleCone)
works at every map size, sees the whole 64x64 map from every cell, and saves/loads like GridNet;
dilated GridNet blocks widen the receptive field, and grow_net appends them to a trained net
without changing its output."""

import pytest
import torch

from agent.actions import NUM_LOGITS
from agent.features import NUM_GLOBALS, NUM_PLANES
from agent.net import (NET_PRESETS, CheckpointError, ConeNet, GridNet, build_net, grow_net, load_checkpoint,
                       save_checkpoint, widen_planes)


def _inputs(B, S, requires_grad=False):
    torch.manual_seed(0)
    return torch.rand(B, NUM_PLANES, S, S, requires_grad=requires_grad), torch.rand(B, NUM_GLOBALS)


def test_config_without_arch_builds_todays_gridnet():
    legacy = {"channels": 32, "blocks": 2, "in_planes": NUM_PLANES, "in_globals": NUM_GLOBALS}
    net = build_net(legacy)
    assert type(net) is GridNet and net.config == legacy  # no "arch" key written for GridNet
    assert sorted(net.state_dict()) == sorted(GridNet(32, 2).state_dict())
    assert sorted(net.state_dict()) == ["blocks.0.c1.bias", "blocks.0.c1.weight", "blocks.0.c2.bias",
                                        "blocks.0.c2.weight", "blocks.1.c1.bias", "blocks.1.c1.weight",
                                        "blocks.1.c2.bias", "blocks.1.c2.weight", "policy_head.bias",
                                        "policy_head.weight", "stem.bias", "stem.weight", "value_head.0.bias",
                                        "value_head.0.weight", "value_head.2.bias", "value_head.2.weight"]
    assert build_net(dict(legacy, arch="grid")).config == legacy


@pytest.mark.parametrize("S", [16, 32, 48, 64, 20])
def test_cone_shapes_at_every_map_size(S):
    net = build_net("cone")
    assert isinstance(net, ConeNet) and net.config["arch"] == "cone"
    x, g = _inputs(2, S)
    logits, value = net(x, g)
    assert logits.shape == (2, NUM_LOGITS, S, S) and logits.dtype == torch.float32
    assert value.shape == (2,) and bool(torch.isfinite(logits).all())


def _corner_gradient(net, S=64):
    x, g = _inputs(1, S, requires_grad=True)
    logits, _ = net(x, g)
    logits[0, :, 0, 0].sum().backward()
    return x.grad[0, :, S - 1, S - 1].abs().sum().item()


def test_cone_logits_at_one_corner_depend_on_the_opposite_corner_small_does_not():
    torch.manual_seed(1)
    assert _corner_gradient(build_net("cone")) > 0
    assert _corner_gradient(build_net("small")) == 0.0  # 11x11 receptive field


def test_cone_spatial_receptive_field_alone_covers_64x64():
    """Without the global-pooling biases (zeroed) the convolutions alone still reach across."""
    torch.manual_seed(1)
    net = build_net("cone")
    for block in net.blocks:
        torch.nn.init.zeros_(block.pool_bias.weight)
        torch.nn.init.zeros_(block.pool_bias.bias)
    assert _corner_gradient(net) > 0


def test_cone_checkpoint_round_trip_and_clear_errors(tmp_path):
    net = build_net("cone")
    path = tmp_path / "cone.pt"
    save_checkpoint(path, net, step=3)
    loaded, payload = load_checkpoint(path)
    assert isinstance(loaded, ConeNet) and payload["net_config"] == net.config and payload["step"] == 3
    assert all(v.device.type == "cpu" for v in payload["state_dict"].values())
    x, g = _inputs(1, 16)
    with torch.no_grad():
        assert torch.equal(net.eval()(x, g)[0], loaded(x, g)[0])
    payload["net_config"]["mid_channels"] = 32
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="cone.pt: tensor 'down2.weight' has shape"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="unknown net preset 'huge'; choose one of"):
        build_net("huge")
    with pytest.raises(CheckpointError, match="unknown arch 'resnet'"):
        build_net({"arch": "resnet", "channels": 8, "blocks": 1})
    with pytest.raises(CheckpointError, match=r"arch 'grid' has unknown keys \['mid_channels'\]"):
        build_net({"channels": 8, "blocks": 1, "mid_channels": 16})


@pytest.mark.parametrize("name", sorted(NET_PRESETS))
def test_presets_build(name):
    """Every preset builds the net it names (its arch, widths and blocks in the built layers) and
    runs a forward pass at two map sizes: logits (B, NUM_LOGITS, S, S) and value (B,), finite."""
    assert set(NET_PRESETS) >= {"small", "medium", "large", "cone", "dilated"}
    preset = NET_PRESETS[name]
    torch.manual_seed(0)
    net = build_net(name).eval()
    assert type(net) is (ConeNet if preset.get("arch") == "cone" else GridNet)
    assert net.config == dict({k: (list(v) if isinstance(v, tuple) else v) for k, v in preset.items()},
                              in_planes=NUM_PLANES, in_globals=NUM_GLOBALS)
    assert net.stem.out_channels == preset["channels"] and len(net.blocks) == preset["blocks"]
    if "dilations" in preset:
        assert [b.c2.dilation[0] for b in net.blocks] == list(preset["dilations"])
    for S in (16, 32):
        x, g = _inputs(2, S)
        with torch.no_grad():
            logits, value = net(x, g)
        assert logits.shape == (2, NUM_LOGITS, S, S) and value.shape == (2,)
        assert bool(torch.isfinite(logits).all()) and bool(torch.isfinite(value).all())
        assert not torch.equal(logits[0], logits[1])  # the two samples' inputs reach the logits


def _reach(net, S=64):
    """Cells (Chebyshev radius) from the center whose planes move the center's logits."""
    x, g = _inputs(1, S, requires_grad=True)
    logits, _ = net(x, g)
    logits[0, :, S // 2, S // 2].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    ys, xs = torch.nonzero(hit, as_tuple=True)
    return int(torch.maximum((ys - S // 2).abs(), (xs - S // 2).abs()).max())


def test_dilated_blocks_widen_the_receptive_field_as_documented():
    torch.manual_seed(2)
    small, dilated = build_net("small"), build_net("dilated")
    assert dilated.config["dilations"] == [1, 1, 4, 8] and "dilations" not in small.config
    assert (small.receptive_field, dilated.receptive_field) == (11, 59)
    assert _reach(small) == 5 and _reach(dilated) == 29
    # same tensors as four plain blocks: a dilated checkpoint differs only in its config
    assert {k: v.shape for k, v in dilated.state_dict().items()} == \
        {k: v.shape for k, v in GridNet(32, 4).state_dict().items()}
    with pytest.raises(CheckpointError, match=r"need 2 integers >= 1"):
        build_net({"channels": 8, "blocks": 2, "dilations": [1]})


def test_grow_net_keeps_the_policy_and_value_exactly_and_round_trips(tmp_path):
    torch.manual_seed(3)
    net = build_net("small").eval()
    grown = grow_net(net, [4, 8])
    assert grown.config == dict(net.config, blocks=4, dilations=[1, 1, 4, 8])
    assert grown.receptive_field == 59 and net.config["blocks"] == 2  # the input net is unchanged
    x, g = _inputs(2, 48)
    with torch.no_grad():
        (l0, v0), (l1, v1) = net(x, g), grown(x, g)
    assert torch.equal(l0, l1) and torch.equal(v0, v1)
    # the new blocks learn: the second conv of each gets a gradient, and then the output moves
    grown.train()
    grown(x, g)[0].pow(2).mean().backward()
    assert all(float(b.c2.weight.grad.abs().sum()) > 0 for b in list(grown.blocks)[2:])
    path = tmp_path / "grown.pt"
    save_checkpoint(path, grown)
    loaded, payload = load_checkpoint(path)
    assert payload["net_config"]["dilations"] == [1, 1, 4, 8]
    with torch.no_grad():
        assert torch.equal(loaded(x, g)[0], l0)
    with pytest.raises(CheckpointError, match="only a GridNet can grow"):
        grow_net(build_net("cone"), [4])


def test_cone_rejects_map_sides_not_multiple_of_4():
    with pytest.raises(ValueError, match=r"multiples of 4, got \(18, 18\)"):
        build_net("cone")(*_inputs(1, 18))


@pytest.mark.parametrize("preset", ["small", "cone"])
def test_widen_planes_keeps_the_policy_and_value_whatever_the_new_planes_hold(preset):
    """A net of an older kit (fewer planes) widened to today's planes: the new planes get zero stem
    weights, so the logits and value depend only on the old planes and equal the old net's."""
    torch.manual_seed(4)
    old_planes = NUM_PLANES - 5
    old = build_net(dict(NET_PRESETS[preset], in_planes=old_planes)).eval()
    wide = widen_planes(old, NUM_PLANES)
    assert wide.config == dict(old.config, in_planes=NUM_PLANES) and old.config["in_planes"] == old_planes
    x, g = _inputs(2, 32)
    with torch.no_grad():
        l0, v0 = old(x[:, :old_planes], g)
        l1, v1 = wide(x, g)
        l2, _ = wide(torch.cat([x[:, :old_planes], 5 * torch.rand(2, 5, 32, 32)], dim=1), g)
    torch.testing.assert_close(l1, l0, rtol=0, atol=1e-5)
    torch.testing.assert_close(v1, v0, rtol=0, atol=1e-5)
    torch.testing.assert_close(l2, l1, rtol=0, atol=1e-5)
    assert widen_planes(wide, NUM_PLANES) is wide
    with pytest.raises(CheckpointError, match="cannot narrow"):
        widen_planes(wide, old_planes)
