"""GridNet: a fully convolutional policy/value network for the map-shaped action head.

Input: planes float32 (B, C, S, S) with C = 43 (:mod:`agent.features`) and globals float32
(B, G) with G = 12, broadcast over the map and concatenated to the planes. Trunk: a 3x3 conv stem
then ``blocks`` residual blocks (two 3x3 convs each), ``channels`` wide, ReLU, zero padding, so
any square map size works (16, 32, 48, 64). Policy: a 1x1 conv to A = 34 logits per cell,
(B, 34, S, S). Value: mean- and max-pooled trunk features (plus the globals) through a small MLP
to one scalar per sample (B,).

Presets (``NET_PRESETS``), chosen by measurement on a 2-core CPU (``benchmarks/train_throughput.py``):
``small`` (default, 32 channels, 2 blocks), ``medium`` (64, 4) and ``large`` (128, 6).

Weights travel as a plain ``torch.save({"state_dict", "net_config", ...})`` file so that
main.py can load them on Kaggle (torch 1.11) without stable-baselines3:
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
}


class CheckpointError(ValueError):
    """A weights file is missing, unreadable or does not fit the network; the message names it."""


class _Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.c2(torch.relu(self.c1(x))))


class GridNet(nn.Module):
    """Policy logits (B, 34, S, S) and value (B,) from planes (B, 43, S, S) and globals (B, 12).

    Args:
        channels (int): trunk width.
        blocks (int): residual blocks.
        in_planes (int), in_globals (int): input sizes (defaults from agent.features).
    """

    def __init__(self, channels=32, blocks=2, in_planes=NUM_PLANES, in_globals=NUM_GLOBALS):
        super().__init__()
        self.config = dict(channels=int(channels), blocks=int(blocks), in_planes=int(in_planes),
                           in_globals=int(in_globals))
        self.stem = nn.Conv2d(in_planes + in_globals, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[_Block(channels) for _ in range(blocks)])
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
        """Returns (logits float (B, 34, S, S), value float (B,))."""
        x = self.trunk(planes, globals_)
        logits = self.policy_head(x)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3)), globals_], dim=1)
        value = self.value_head(pooled).squeeze(-1)
        return logits, value


def build_net(net_config):
    """A GridNet from a config dict (``channels``, ``blocks``, optional ``in_planes``/``in_globals``)
    or a preset name.

    Raises:
        CheckpointError: unknown preset or keys.
    """
    if isinstance(net_config, str):
        if net_config not in NET_PRESETS:
            raise CheckpointError(f"unknown net preset {net_config!r}; choose one of {sorted(NET_PRESETS)}")
        net_config = NET_PRESETS[net_config]
    allowed = {"channels", "blocks", "in_planes", "in_globals"}
    extra = set(net_config) - allowed
    if extra:
        raise CheckpointError(f"net_config has unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
    return GridNet(**net_config)


def save_checkpoint(path, net, **extra):
    """Write ``{"state_dict", "net_config", **extra}`` with ``torch.save`` (plain tensors only)."""
    payload = {"state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
               "net_config": dict(net.config)}
    payload.update(extra)
    torch.save(payload, str(path))


def load_checkpoint(path, map_location="cpu"):
    """Load a weights file written by :func:`save_checkpoint`; returns (GridNet in eval mode, payload).

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
