"""Fully convolutional policy/value networks for the map-shaped action head.

Input: planes float32 (B, C, S, S) with C = agent.features.NUM_PLANES and globals float32 (B, G)
with G = agent.features.NUM_GLOBALS. Output: logits float32 (B, A, S, S) with
A = agent.actions.NUM_LOGITS, and a value float32 (B,).

Two trunks (``arch`` in the net_config):

* ``grid`` (:class:`GridNet`, the default when a config has no ``arch``, so every checkpoint
  written before ConeNet loads unchanged): the globals broadcast over the map and concatenated to
  the planes, a 3x3 conv stem then ``blocks`` residual blocks (two 3x3 convs each), ``channels``
  wide, all at full resolution; receptive field 3 + 4 * blocks cells across (11x11 for ``small``),
  or 3 + 4 * sum(dilations) with dilated blocks (59x59 for ``dilated``; :func:`grow_net` appends
  dilated blocks to a trained net without changing its output).
* ``cone`` (:class:`ConeNet`, U-Net / "DoubleCone"): a short full-resolution stem, most blocks at
  1/4 resolution, skip connections back up; its receptive field covers a 64x64 map and it costs
  less per sample than ``small`` (notes/log/training_log.md has the measurements).

Policy: a 1x1 conv to A logits per cell. Value: mean- and max-pooled trunk features (plus the
globals) through a small MLP to one scalar per sample.

Presets (``NET_PRESETS``), chosen by measurement on a 2-core CPU (``benchmarks/train_throughput.py``):
``small`` (grid, 32 channels, 2 blocks), ``medium`` (64, 4), ``large`` (128, 6), ``dilated`` (32, 4
blocks of dilation 1, 1, 4, 8: 1.75x the forward+backward time of ``small`` at 64x64) and ``cone`` (16 channels at full
resolution, 32 at 1/2, 64 at 1/4 with 4 blocks).

Weights travel as a plain ``torch.save({"state_dict", "net_config", ...})`` file of CPU tensors so
that main.py can load them on Kaggle (torch 1.11) without stable-baselines3:
:func:`save_checkpoint` / :func:`load_checkpoint`.
"""

import os

import torch
from torch import nn

from agent.actions import NUM_LOGITS
from agent.features import NUM_GLOBALS, NUM_PLANES

NET_PRESETS = {
    "small": dict(channels=32, blocks=2),
    "medium": dict(channels=64, blocks=4),
    "large": dict(channels=128, blocks=6),
    "dilated": dict(channels=32, blocks=4, dilations=(1, 1, 4, 8)),
    "cone": dict(arch="cone", channels=16, mid_channels=64, blocks=4),
}


class CheckpointError(ValueError):
    """A weights file is missing, unreadable or does not fit the network; the message names it."""


class _Block(nn.Module):
    """Residual block: two 3x3 convs, both with ``dilation`` (1 = plain), ``relu(x + c2(relu(c1 x)))``."""

    def __init__(self, c, dilation=1):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation)
        self.c2 = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation)

    def forward(self, x):
        return torch.relu(x + self.c2(torch.relu(self.c1(x))))


class GridNet(nn.Module):
    """Policy logits (B, A, S, S) and value (B,) from planes (B, C, S, S) and globals (B, G), all
    float32 (A = NUM_LOGITS, C = NUM_PLANES, G = NUM_GLOBALS); any map size.

    Args:
        channels (int): trunk width.
        blocks (int): residual blocks.
        in_planes (int), in_globals (int): input sizes (defaults from agent.features).
        dilations (sequence of int | None): one dilation per block (None = all 1). A block of
            dilation d widens the receptive field by 4 d cells: ``(1, 1, 4, 8)`` sees 59x59 cells
            against 19x19 for four plain blocks, at the same cost. Written to ``config`` only
            when some dilation is not 1, so plain nets keep their checkpoints' configs.

    Raises:
        ValueError: ``dilations`` does not hold ``blocks`` integers >= 1.
    """

    def __init__(self, channels=32, blocks=2, in_planes=NUM_PLANES, in_globals=NUM_GLOBALS, dilations=None):
        super().__init__()
        self.config = dict(channels=int(channels), blocks=int(blocks), in_planes=int(in_planes),
                           in_globals=int(in_globals))
        dil = [1] * int(blocks) if dilations is None else [int(d) for d in dilations]
        if len(dil) != int(blocks) or min(dil, default=1) < 1:
            raise ValueError(f"dilations={dilations!r}: need {blocks} integers >= 1 (one per block)")
        if any(d != 1 for d in dil):
            self.config["dilations"] = dil
        self.receptive_field = 3 + 4 * sum(dil)  # cells across
        self.stem = nn.Conv2d(in_planes + in_globals, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[_Block(channels, d) for d in dil])
        self.policy_head = nn.Conv2d(channels, NUM_LOGITS, 1)
        self.value_head = nn.Sequential(
            nn.Linear(2 * channels + in_globals, 64), nn.ReLU(), nn.Linear(64, 1)
        )
        # small initial logits: a near-uniform policy over legal choices at the start
        nn.init.normal_(self.policy_head.weight, std=0.01)
        nn.init.zeros_(self.policy_head.bias)

    def trunk(self, planes, globals_):
        B, _, H, W = planes.shape
        g = globals_[:, :, None, None].expand(B, globals_.shape[1], H, W)
        x = torch.relu(self.stem(torch.cat([planes, g], dim=1)))
        return self.blocks(x)

    def forward(self, planes, globals_):
        """Returns (logits float (B, A, S, S), value float (B,))."""
        x = self.trunk(planes, globals_)
        logits = self.policy_head(x)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3)), globals_], dim=1)
        value = self.value_head(pooled).squeeze(-1)
        return logits, value


class _MidBlock(nn.Module):
    """Residual block of the ConeNet middle (1/4 resolution): a 3x3 conv, a per-channel bias from
    global pooling (mean and max over the map of the first conv's output, KataGo style), then a
    3x3 conv with ``dilation``."""

    def __init__(self, c, dilation):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.pool_bias = nn.Linear(2 * c, c)
        self.c2 = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation)

    def forward(self, x):
        h = torch.relu(self.c1(x))
        b = self.pool_bias(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1))
        return torch.relu(x + self.c2(h + b[:, :, None, None]))


class ConeNet(nn.Module):
    """U-Net / "DoubleCone" trunk: logits (B, A, S, S) and value (B,) from planes (B, C, S, S) and
    globals (B, G), A = agent.actions.NUM_LOGITS, C = agent.features.NUM_PLANES,
    G = agent.features.NUM_GLOBALS; all float32.

    Full resolution S: a 3x3 stem conv (``channels`` wide; the globals enter as a per-channel bias
    through a linear layer, not as broadcast planes). Then two 3x3 stride-2 convs down to ceil(S/2)
    (``2 * channels`` wide) and ceil(S/4) (``mid_channels`` wide), ``blocks`` residual
    :class:`_MidBlock` s at 1/4 resolution (second conv dilated 1, 2, 1, 2, ...; each with a
    global-pooling bias), and back up: a 2x2 stride-2 transposed conv to 1/2 resolution plus the
    skip from the way down, again to full resolution plus the stem's skip, one residual 3x3 conv
    at full resolution and the 1x1 policy conv. Value: mean- and max-pooled 1/4-resolution
    features plus the globals through a small MLP.

    Map sides must be multiples of 4 (16, 32, 48, 64; else ValueError).
    At 64x64 the spatial receptive field of every cell covers the whole map, and the pooling
    biases give each block global context besides (tests/test_net.py).

    Args:
        channels (int): full-resolution width (1/2 resolution: twice that).
        mid_channels (int): width at 1/4 resolution.
        blocks (int): residual blocks at 1/4 resolution.
        in_planes (int), in_globals (int): input sizes (defaults from agent.features).
    """

    def __init__(self, channels=16, mid_channels=64, blocks=4, in_planes=NUM_PLANES, in_globals=NUM_GLOBALS):
        super().__init__()
        c0, c1, c2 = int(channels), 2 * int(channels), int(mid_channels)
        self.config = dict(arch="cone", channels=c0, mid_channels=c2, blocks=int(blocks), in_planes=int(in_planes),
                           in_globals=int(in_globals))
        self.stem = nn.Conv2d(in_planes, c0, 3, padding=1)
        self.stem_globals = nn.Linear(in_globals, c0)
        self.down1 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(*[_MidBlock(c2, 2 + 2 * (i % 2)) for i in range(int(blocks))])
        self.up2 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.up1 = nn.ConvTranspose2d(c1, c0, 2, stride=2)
        self.top = nn.Conv2d(c0, c0, 3, padding=1)
        self.policy_head = nn.Conv2d(c0, NUM_LOGITS, 1)
        self.value_head = nn.Sequential(nn.Linear(2 * c2 + in_globals, 64), nn.ReLU(), nn.Linear(64, 1))
        nn.init.normal_(self.policy_head.weight, std=0.01)
        nn.init.zeros_(self.policy_head.bias)

    def forward(self, planes, globals_):
        """Returns (logits float (B, A, S, S), value float (B,)).

        Raises:
            ValueError: a map side is not a multiple of 4.
        """
        if planes.shape[-1] % 4 or planes.shape[-2] % 4:
            raise ValueError(f"ConeNet needs map sides that are multiples of 4, got {tuple(planes.shape[-2:])}")
        s0 = torch.relu(self.stem(planes) + self.stem_globals(globals_)[:, :, None, None])
        s1 = torch.relu(self.down1(s0))
        mid = self.blocks(torch.relu(self.down2(s1)))
        x = torch.relu(self.up2(mid) + s1)
        x = torch.relu(self.up1(x) + s0)
        x = torch.relu(x + self.top(x))
        logits = self.policy_head(x)
        pooled = torch.cat([mid.mean(dim=(2, 3)), mid.amax(dim=(2, 3)), globals_], dim=1)
        return logits, self.value_head(pooled).squeeze(-1)


ARCHS = {"grid": GridNet, "cone": ConeNet}


def build_net(net_config):
    """A network from a preset name or a config dict.

    The dict holds ``arch`` (``grid`` when absent: :class:`GridNet`, exactly as checkpoints written
    before ConeNet existed; ``cone``: :class:`ConeNet`) and that class's arguments: ``channels``,
    ``blocks``, optional ``in_planes``/``in_globals``, and ``mid_channels`` for ``cone``.

    Raises:
        CheckpointError: unknown preset, arch or keys (the message lists what is allowed).
    """
    if isinstance(net_config, str):
        if net_config not in NET_PRESETS:
            raise CheckpointError(f"unknown net preset {net_config!r}; choose one of {sorted(NET_PRESETS)}")
        net_config = NET_PRESETS[net_config]
    net_config = dict(net_config)
    arch = net_config.pop("arch", "grid")
    if arch not in ARCHS:
        raise CheckpointError(f"net_config has unknown arch {arch!r}; choose one of {sorted(ARCHS)}")
    allowed = {"channels", "blocks", "in_planes", "in_globals"} | ({"mid_channels"} if arch == "cone" else {"dilations"})
    extra = set(net_config) - allowed
    if extra:
        raise CheckpointError(f"net_config of arch {arch!r} has unknown keys {sorted(extra)}; "
                              f"allowed: {sorted(allowed | {'arch'})}")
    try:
        return ARCHS[arch](**net_config)
    except ValueError as e:
        raise CheckpointError(f"net_config {net_config}: {e}") from None


def grow_net(net, dilations):
    """A deeper copy of GridNet ``net`` that computes exactly the same logits and value: new
    residual blocks of the given ``dilations`` appended after its blocks, each with its second
    conv zero (so the block is the identity on the trunk's non-negative features). Fine-tuning
    the grown net starts from the old policy and can learn to use the wider receptive field.

    Args:
        net (GridNet): the net to grow (unchanged).
        dilations (sequence of int): one dilation per new block, e.g. ``(4, 8)``.

    Returns:
        GridNet with ``blocks + len(dilations)`` blocks, in eval mode.

    Raises:
        CheckpointError: ``net`` is not a GridNet, or a dilation is not an integer >= 1.
    """
    if not isinstance(net, GridNet):
        raise CheckpointError(f"only a GridNet can grow blocks (got {type(net).__name__})")
    old = [blk.c1.dilation[0] for blk in net.blocks]
    cfg = {k: v for k, v in net.config.items() if k != "dilations"}
    cfg["blocks"] = len(old) + len(dilations)
    grown = build_net(dict(cfg, dilations=old + [int(d) for d in dilations]))
    missing, unexpected = grown.load_state_dict(net.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("blocks.") for k in missing), (missing, unexpected)
    with torch.no_grad():
        for blk in list(grown.blocks)[len(old):]:
            blk.c2.weight.zero_()
            blk.c2.bias.zero_()
    return grown.eval()


def widen_planes(net, in_planes=NUM_PLANES):
    """A copy of ``net`` that reads ``in_planes`` feature planes and computes exactly the same
    logits and value as ``net``: the new planes are appended after its ``in_planes`` planes
    (:data:`agent.features.PLANE_NAMES` only ever grows at the end) with zero stem weights, so
    fine-tuning starts from the old policy and can learn to use them.

    Args:
        net (GridNet | ConeNet): trained on the first ``net.config["in_planes"]`` planes.
        in_planes (int): the new plane count (>= the old one).

    Returns:
        the widened net (``net`` itself when the count is already ``in_planes``), in eval mode.

    Raises:
        CheckpointError: ``in_planes`` is smaller than the net's plane count.
    """
    old = int(net.config["in_planes"])
    if in_planes == old:
        return net
    if in_planes < old:
        raise CheckpointError(f"cannot narrow a net from {old} to {in_planes} feature planes")
    wide = build_net(dict(net.config, in_planes=int(in_planes)))
    state = net.state_dict()
    w = state["stem.weight"]  # (out, old [+ globals for GridNet], 3, 3)
    new = torch.zeros(wide.state_dict()["stem.weight"].shape, dtype=w.dtype)
    new[:, :old] = w[:, :old]
    new[:, in_planes:] = w[:, old:]
    state["stem.weight"] = new
    wide.load_state_dict(state)
    return wide.eval()


def save_checkpoint(path, net, **extra):
    """Write ``{"state_dict", "net_config", **extra}`` with ``torch.save``: plain contiguous CPU
    tensors (also from a net on a GPU or in channels-last memory order), so main.py and torch 1.11
    load the file without a GPU."""
    payload = {"state_dict": {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
               "net_config": dict(net.config)}
    payload.update(extra)
    torch.save(payload, str(path))


def load_checkpoint(path, map_location="cpu"):
    """Load a weights file written by :func:`save_checkpoint`; returns (net in eval mode, payload).

    Raises:
        CheckpointError: the file is missing or unreadable, lacks ``state_dict``/``net_config``, or
            its tensors do not fit the network its config describes (names the file and the first
            mismatching tensor).
    """

    if not os.path.isfile(str(path)):
        raise CheckpointError(f"weights file {path} does not exist")
    try:
        try:
            payload = torch.load(str(path), map_location=map_location, weights_only=True)
        except TypeError:  # torch < 1.13 has no weights_only
            payload = torch.load(str(path), map_location=map_location)
    except Exception as e:
        raise CheckpointError(f"cannot read weights file {path}: {type(e).__name__}: {e}") from None
    if not isinstance(payload, dict) or "state_dict" not in payload or "net_config" not in payload:
        raise CheckpointError(f"weights file {path} is not a luxkit checkpoint (needs 'state_dict' and 'net_config')")
    net = build_net(payload["net_config"])
    want = net.state_dict()
    got = payload["state_dict"]
    for k, v in want.items():
        if k not in got:
            raise CheckpointError(f"weights file {path} lacks tensor {k!r} needed by net_config {payload['net_config']}")
        if tuple(got[k].shape) != tuple(v.shape):
            raise CheckpointError(f"weights file {path}: tensor {k!r} has shape {tuple(got[k].shape)}, "
                                  f"the network of net_config {payload['net_config']} needs {tuple(v.shape)}")
    extra = set(got) - set(want)
    if extra:
        raise CheckpointError(f"weights file {path} has tensors the network lacks: {sorted(extra)[:5]}")
    net.load_state_dict(got)
    net.eval()
    return net, payload
