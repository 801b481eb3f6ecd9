"""device=auto|cpu|cuda and amp=none|bf16 (training/device.py) for train.py and bc fit; the
CPU-only line of benchmarks/gpu_check.sh."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.ppo.config import ConfigError, TrainConfig, parse_overrides
from training.device import autocast_net, resolve_device

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = not torch.cuda.is_available()
needs_no_cuda = pytest.mark.skipif(not NO_CUDA, reason="checks the error seen on a machine without CUDA")


def test_auto_resolves_to_cuda_only_when_available(monkeypatch):
    assert TrainConfig().device == "auto" and TrainConfig().amp == "none"
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda"
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize("args,msg", [
    (["device=tpu"], "device='tpu': choose one of auto, cpu, cuda"),
    (["amp=fp8"], "amp='fp8': choose one of none, bf16"),
    (["device=cpu", "amp=bf16"], "amp=bf16 needs CUDA"),
])
def test_bad_device_or_amp_is_a_config_error(args, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_overrides(args)


@needs_no_cuda
def test_train_device_cuda_without_cuda_is_one_line_exit_2_and_writes_nothing(tmp_path):
    with pytest.raises(ConfigError, match="device=cuda but torch.cuda.is_available"):
        parse_overrides(["device=cuda"])
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "device=cuda"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "device=cuda but torch.cuda.is_available() is False" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@needs_no_cuda
def test_bc_fit_device_cuda_without_cuda_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "bc.pt"
    proc = subprocess.run([sys.executable, "-m", "training.imitation.bc", "fit", "data=missing.npz", "device=cuda",
                           f"out={out}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bad arguments for fit: device=cuda but torch.cuda.is_available() "
                                                   "is False"), proc.stderr  # checked before data=missing.npz
    assert list(tmp_path.iterdir()) == []


def test_autocast_net_keeps_float32_outputs_and_the_state_dict():
    """amp=bf16: the net's layers compute in bfloat16 (seen by forward hooks on every conv and linear
    layer), the outputs come back float32, close to the float32 net's but not equal to them (they
    were computed in bfloat16), and the state_dict keys stay as they were."""
    from agent.features import NUM_GLOBALS, NUM_PLANES
    from agent.net import build_net

    torch.manual_seed(0)
    net = build_net("cone").eval()
    keys = list(net.state_dict())
    x, g = torch.rand(1, NUM_PLANES, 16, 16), torch.rand(1, NUM_GLOBALS)
    with torch.no_grad():
        ref = net(x, g)
    dtypes = []
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    for m in layers:
        m.register_forward_hook(lambda mod, inputs, out: dtypes.append(out.dtype))
    assert autocast_net(net, "none") is net and "forward" not in net.__dict__
    with torch.no_grad():
        net(x, g)
    assert dtypes == [torch.float32] * len(layers)  # amp=none: float32 throughout
    dtypes.clear()
    assert autocast_net(net, "bf16", device_type="cpu") is net  # CPU autocast stands in for CUDA here
    with torch.no_grad():
        out = net(x, g)
    assert dtypes == [torch.bfloat16] * len(layers)
    for got, want in zip(out, ref):
        assert got.dtype == torch.float32 and got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=0.02, atol=0.02 * float(want.abs().max()))
        assert not torch.equal(got, want)
    assert list(net.state_dict()) == keys


@needs_no_cuda
def test_gpu_check_without_cuda_prints_one_line_and_exits_0():
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("SETTINGS", None)
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ("gpu_check: no CUDA device here (torch.cuda.is_available() is False); "
                           "nothing to compare\n")
