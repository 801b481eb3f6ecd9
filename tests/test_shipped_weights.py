"""The weights shipped in agent/weights/ load, match the recorded net config (notes/training.md)
and play a short game with zero invalid or rejected actions, through main.py's own loader."""

import json
from pathlib import Path

from agent.net import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "agent" / "weights" / "model.pt"
RECORDED_NET_CONFIG = {"channels": 32, "blocks": 2, "in_planes": 62, "in_globals": 12}  # notes/training.md


def test_shipped_weights_load_and_match_the_recorded_config():
    net, payload = load_checkpoint(WEIGHTS)
    assert payload["net_config"] == RECORDED_NET_CONFIG
    assert WEIGHTS.stat().st_size < 4 * 1024 * 1024
    conf = json.loads((WEIGHTS.parent / "agent.json").read_text())
    assert conf == {"agent": "net", "weights": "model.pt", "greedy": True, "sample_factories": True, "water_guard": True,
                    "power_guard": True, "park_guard": True, "frontier_guard": True, "light_power_guard": True,
                    "ice_guard": True, "ore_guard": True, "raid_guard": True}


def test_main_py_loads_the_shipped_weights_by_default_and_plays_cleanly():
    import dataclasses

    from agent.player import load_registry
    from wrappers.engine import RejectionAudit, make_env, queue_updates_skipped

    reg = load_registry(environ={})
    assert reg.description.startswith(f"net {WEIGHTS}")
    env = make_env("small", max_episode_length=60)
    obs, _ = env.reset(seed=1000003)
    cfg = dataclasses.asdict(env.env_cfg)
    done = False
    with RejectionAudit() as audit:
        while not done:
            acts = {p: reg.act(p, env.env_steps, obs[p], cfg if env.env_steps == 0 else None) for p in obs}
            obs, _, term, trunc, _ = env.step(acts)
            done = any(term.values()) or any(trunc.values())
    assert audit.total_rejected == 0 and audit.water_refused == 0
    assert sum(queue_updates_skipped(env).values()) == 0
    assert sum(audit.checked.values()) > 50
    assert env.state.real_env_steps == 60  # the game ran its full (shortened) length


def test_shipped_guards_prints_agent_json_guards_for_the_shell_scripts(tmp_path):
    """scripts/shipped_guards.py: one train.py key=value word per guard of agent.masks.GUARDS, read
    from agent.json (what run.sh and train_agent.sh train, test and package with); a folder without
    agent.json is refused in one line."""
    import subprocess
    import sys

    from agent.masks import GUARDS

    script = str(ROOT / "scripts" / "shipped_guards.py")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True).stdout.split()
    conf = json.loads((WEIGHTS.parent / "agent.json").read_text())
    assert out == [f"{k}={'true' if conf.get(k, False) else 'false'}" for k in GUARDS]
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "ice_guard": True}))
    out = subprocess.run([sys.executable, script, "--weights-dir", str(tmp_path)], capture_output=True, text=True,
                         check=True).stdout.split()
    assert [w for w in out if w.endswith("=true")] == ["ice_guard=true"]
    res = subprocess.run([sys.executable, script, "--weights-dir", str(tmp_path / "none")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "no agent.json" in res.stderr
