"""Where training runs: ``device=auto|cpu|cuda`` and ``amp=none|bf16`` for train.py and
``python -m training.imitation.bc fit``.

``auto`` is ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``. ``amp=bf16`` runs the
network's forward (and so its backward) under CUDA bf16 autocast and returns float32 logits and
values, so the masked distribution, PPO's loss and the checkpoints stay float32. Checkpoints are
always written as CPU tensors (``agent.net.save_checkpoint``), so main.py loads them anywhere.
"""

import torch

DEVICES = ("auto", "cpu", "cuda")
AMP_MODES = ("none", "bf16")


def resolve_device(device="auto", amp="none"):
    """The torch device name to train on, ``"cpu"`` or ``"cuda"``.

    Raises:
        ValueError: one line: an unknown ``device`` or ``amp``, ``device=cuda`` where torch sees no
            CUDA device, or ``amp=bf16`` without CUDA (or on a GPU without bf16).
    """
    if device not in DEVICES:
        raise ValueError(f"device={device!r}: choose one of {', '.join(DEVICES)}")
    if amp not in AMP_MODES:
        raise ValueError(f"amp={amp!r}: choose one of {', '.join(AMP_MODES)}")
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        why = "torch is built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise ValueError(f"device=cuda but torch.cuda.is_available() is False (torch {torch.__version__}: {why}); "
                         "use device=auto or device=cpu")
    dev = "cuda" if device == "cuda" or (device == "auto" and has_cuda) else "cpu"
    if amp == "bf16":
        if dev != "cuda":
            raise ValueError("amp=bf16 needs CUDA (the device resolved to cpu); use amp=none")
        if not torch.cuda.is_bf16_supported():
            raise ValueError("amp=bf16: this GPU does not support bfloat16; use amp=none")
    return dev


def autocast_net(net, amp, device_type="cuda"):
    """With ``amp="bf16"``, make ``net(planes, globals_)`` run under bf16 autocast on
    ``device_type`` and return float32 (logits, value); with ``"none"``, leave it alone.

    The wrapper is an instance attribute, not a module: ``net.state_dict()`` keys and checkpoints
    are unchanged (a ``copy.deepcopy`` of the net would still call the original's forward: wrap
    the copy instead). Returns ``net``.
    """
    if amp == "none":
        return net
    if amp not in AMP_MODES:
        raise ValueError(f"amp={amp!r}: choose one of {', '.join(AMP_MODES)}")
    inner = net.forward

    def forward(planes, globals_):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            logits, value = inner(planes, globals_)
        return logits.float(), value.float()

    net.forward = forward
    return net
