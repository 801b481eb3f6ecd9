"""scripts/clone_diagnostics.py: the open ground around a factory against the watering label, and
the decoding comparison, on hand-made samples; bad input is one line and exit 2."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "clone_diagnostics.py"


def _sample(S=8):
    """One 8x8 sample: our factory centred at (3, 3) holding 500 water, rubble on 10 of the 12 cells
    around it (open: (1, 3) and (5, 4)), the teacher's label "water", turn 0.4."""
    from agent.actions import C_FACTORY, NUM_LOGITS
    from agent.features import NUM_GLOBALS, NUM_PLANES, P

    planes = np.zeros((1, NUM_PLANES, S, S), np.float32)
    planes[0, P["factory_ours"], 2:5, 2:5] = 1
    planes[0, P["factory_center_ours"], 3, 3] = 1
    planes[0, P["factory_water"], 2:5, 2:5] = 0.5
    planes[0, P["turn"]] = 0.4
    ring = [(3 + dx, 3 + dy) for dx in range(-2, 3) for dy in range(-2, 3)
            if max(abs(dx), abs(dy)) == 2 and abs(dx) + abs(dy) < 4]
    assert len(ring) == 12
    for x, y in ring:
        if (x, y) not in ((1, 3), (5, 4)):
            planes[0, P["rubble"], x, y] = 20
    actions = np.zeros((1, S, S, 7), np.int8)
    actions[0, 3, 3, C_FACTORY] = 3  # water
    masks = np.zeros((1, S, S, NUM_LOGITS), bool)
    masks[0, 3, 3, -4:] = True
    return dict(planes=planes.astype(np.float16), globals=np.zeros((1, NUM_GLOBALS), np.float32),
                masks=np.packbits(masks.reshape(1, -1), axis=1), actions=actions, map_size=np.int64(S))


def test_factory_rows_count_the_open_ground_and_the_label():
    from importlib.util import module_from_spec, spec_from_file_location

    from agent.actions import C_FACTORY

    spec = spec_from_file_location("clone_diagnostics", SCRIPT)
    mod = module_from_spec(spec)
    spec.loader.exec_module(mod)
    d = _sample()
    rows = mod.factory_rows(d["planes"].astype(np.float32), d["actions"])
    np.testing.assert_allclose(rows, [[500.0, 2, 1.0, 0.4]], rtol=1e-3)
    d["planes"][0, 2, 1, 3] = 5  # rubble (plane 2) on one of the two open cells: one left
    d["actions"][0, 3, 3, C_FACTORY] = 0
    rows = mod.factory_rows(d["planes"].astype(np.float32), d["actions"])
    assert rows[0, 1] == 1 and rows[0, 2] == 0


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_water_and_decoding_tables_and_bad_input(tmp_path):
    from agent.net import build_net, save_checkpoint

    data = tmp_path / "d.npz"
    np.savez(data, **_sample())
    p = _run("water", data)
    assert p.returncode == 0, p.stderr
    assert "1 factory-turns; the teacher waters on 1.000" in p.stdout
    assert "| 350-800 | 1 | 1.000 | 0, - | 1, 1.000 | 2.00 |" in p.stdout  # 500 water, 2 open cells, watered
    torch.manual_seed(0)
    save_checkpoint(str(tmp_path / "w.pt"), build_net("small"))
    p = _run("decoding", tmp_path / "w.pt", data)
    assert p.returncode == 0 and p.stdout.startswith("mode: 0 robot labels") and "joint: 0 robot labels" in p.stdout
    (tmp_path / "text.npz").write_text("not a shard")
    for args in (("water", tmp_path / "text.npz"), ("dig", tmp_path / "missing.pt", data)):
        p = _run(*args)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr
