"""The weights shipped in agent/weights/ (named by agent.json) load, fit this kit's features and head,
are the tensors main.py's bot plays, and play a short game with zero invalid or rejected actions
through main.py's own loader, with every decoding guard agent.json sets live.

Nothing here names the shipped net's architecture or guards: both are read from agent.json and
the weights file at test time, so a new net (another architecture, other guards or none) is
checked the same way."""

import json
from pathlib import Path

import numpy as np
import torch

from agent.net import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = ROOT / "agent" / "weights"
WEIGHTS = WEIGHTS_DIR / "model.pt"


def agent_json():
    return json.loads((WEIGHTS_DIR / "agent.json").read_text())


def test_shipped_weights_load_and_fit_this_kit():
    """agent.json is a valid config naming a net; its weights file is small, records the config of
    the net it holds, takes this kit's planes and globals and gives the head's logits; the bot
    main.py loads plays exactly those tensors."""
    import dataclasses

    from agent.features import NUM_GLOBALS, NUM_PLANES
    from agent.player import CONFIG_KEYS, DEFAULT_WEIGHTS, check_net, load_registry
    from wrappers.engine import make_env

    conf = agent_json()
    assert set(conf) <= set(CONFIG_KEYS) and conf.get("agent", "net") == "net"
    path = WEIGHTS_DIR / conf.get("weights", DEFAULT_WEIGHTS)
    assert path.stat().st_size < 4 * 1024 * 1024
    net, payload = load_checkpoint(path)
    assert payload["net_config"] == net.config
    assert net.config["in_planes"] == NUM_PLANES and net.config["in_globals"] == NUM_GLOBALS
    check_net(net, path)  # one forward: logits (1, NUM_LOGITS, S, S), finite
    reg = load_registry(environ={}, strict=True)
    assert reg.config["agent"] == "net" and Path(reg.config["weights"]) == path
    policy = reg.policy_factory("player_0", dataclasses.asdict(make_env("tiny").env_cfg))
    played = policy.net.state_dict()
    assert played.keys() == payload["state_dict"].keys()
    assert all(torch.equal(played[k], payload["state_dict"][k]) for k in played)


def _used_choices(actions, x, y):
    """The choices a cell's action makes: the robot components its robot type uses, and the factory's."""
    from agent.actions import C_FACTORY, C_TYPE, used_components

    a = actions[x, y]
    return tuple(int(v) for v in a[:C_FACTORY][used_components(a[C_TYPE])]), int(a[C_FACTORY])


def _forbidden(masks, actions, x, y):
    """Whether the cell's action makes a choice ``masks`` forbid (robot: the used components, where a
    robot is; factory: where a factory is)."""
    from agent.actions import C_FACTORY, C_TYPE, OFFSETS, component_slice, used_components

    a, m = actions[x, y], masks[x, y]
    ok = m[OFFSETS + a]
    robot = m[component_slice(C_TYPE)].any()
    factory = m[component_slice(C_FACTORY)].any()
    return bool(robot and not ok[:C_FACTORY][used_components(a[C_TYPE])].all()) or bool(factory and not ok[C_FACTORY])


def test_main_py_loads_the_shipped_weights_by_default_and_plays_cleanly():
    """The default bot plays a clean 60-turn game, and the guards agent.json sets are live: the bot
    names them, and on each turn's states its greedy actions are those of the same net without
    guards except where one of agent.json's guards forbids that net's choice, where they differ
    (such cells exist whenever agent.json sets a guard)."""
    import dataclasses

    from agent.guards import GUARDS, guarded_masks
    from agent.masks import action_masks
    from agent.player import NetPolicy, load_registry
    from wrappers.engine import RejectionAudit, make_env, queue_updates_skipped

    conf = agent_json()
    guards = {k: bool(conf.get(k, False)) for k in GUARDS}
    reg = load_registry(environ={})
    assert reg.description.startswith(f"net {WEIGHTS_DIR / conf.get('weights', 'model.pt')}")
    for k, on in guards.items():
        assert (", " + k.replace("_", " ") in reg.description) == on, k
    env = make_env("small", max_episode_length=60)
    obs, _ = env.reset(seed=1000003)
    cfg = dataclasses.asdict(env.env_cfg)
    done = False
    bare = {}
    cells = changed = 0
    with RejectionAudit() as audit:
        while not done:
            acts = {p: reg.act(p, env.env_steps, obs[p], cfg if env.env_steps == 0 else None) for p in obs}
            for p, player in reg.players.items():
                st = player.state
                if st.step == 0 or st.is_early_phase:
                    continue
                assert player.policy.guards == guards
                bare.setdefault(p, NetPolicy(player.policy.net))  # the same net, no guards
                mine, theirs = player.policy(st, greedy=True), bare[p](st, greedy=True)
                plain, masks = action_masks(st), guarded_masks(st, **guards)
                for x, y in np.argwhere(plain.any(-1)):
                    cells += 1
                    assert not _forbidden(masks, mine, x, y)
                    if _forbidden(masks, theirs, x, y):  # a guard forbids the bare net's choice here
                        changed += 1
                        assert _used_choices(mine, x, y) != _used_choices(theirs, x, y)
                    elif np.array_equal(masks[x, y], plain[x, y]):  # no guard touches this cell
                        assert _used_choices(mine, x, y) == _used_choices(theirs, x, y)
            obs, _, term, trunc, _ = env.step(acts)
            done = any(term.values()) or any(trunc.values())
    assert audit.total_rejected == 0 and audit.water_refused == 0
    assert sum(queue_updates_skipped(env).values()) == 0
    assert sum(audit.checked.values()) > 50
    assert env.state.real_env_steps == 60  # the game ran its full (shortened) length
    assert cells > 100 and (changed > 0) == any(guards.values()), (cells, changed)


def test_shipped_guards_prints_agent_json_guards_for_the_shell_scripts(tmp_path):
    """scripts/shipped_guards.py: one train.py key=value word per guard of agent.guards.REGISTRY, read
    from agent.json (what run.sh and train_agent.sh train, test and package with); a folder without
    agent.json is refused in one line."""
    import subprocess
    import sys

    from agent.guards import GUARDS

    script = str(ROOT / "scripts" / "shipped_guards.py")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True).stdout.split()
    conf = agent_json()
    assert out == [f"{k}={'true' if conf.get(k, False) else 'false'}" for k in GUARDS]
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "ice_guard": True}))
    out = subprocess.run([sys.executable, script, "--weights-dir", str(tmp_path)], capture_output=True, text=True,
                         check=True).stdout.split()
    assert [w for w in out if w.endswith("=true")] == ["ice_guard=true"]
    res = subprocess.run([sys.executable, script, "--weights-dir", str(tmp_path / "none")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "no agent.json" in res.stderr
