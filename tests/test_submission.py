"""The submission: weights loading and agent choice, turn budget, self-play with a net, packaging
and its proof game, Kaggle submit failures, Python 3.7 / torch 1.11 floor, and bad input.

The net tests use a checkpoint in train.py's format (``agent.net.save_checkpoint`` with ``step``,
``config`` and ``map_size``, the ``small`` preset train.py uses by default) made in a temp dir, so
nothing depends on shipped weights. ``LUXKIT_TEST_CHECKPOINT=path/to/latest.pt`` runs them with a
real training checkpoint instead.
"""

import copy
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from training.submission import kaggle_api as submit
from training.submission import package
from training.botproc import to_json

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PLAYERS = ("player_0", "player_1")


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """load_registry sets one torch thread for the bot; give other tests their threads back."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory):
    """A checkpoint as train.py writes it (runs/<...>/checkpoints/latest.pt)."""
    given = os.environ.get("LUXKIT_TEST_CHECKPOINT")
    if given:
        return Path(given)
    from agent.net import build_net, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("run") / "latest.pt"
    save_checkpoint(path, build_net("small"), step=256, config={"rules": "tiny", "net": "small"}, map_size=16)
    return path


def make_bot(folder, weights=None, conf=None):
    """A copy of main.py + the agent package's .py files in ``folder``, with optional weights and agent.json."""
    folder = Path(folder)
    (folder / "agent" / "weights").mkdir(parents=True)
    shutil.copy2(ROOT / "main.py", folder / "main.py")
    for rel in package.agent_sources():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, folder / rel)
    if weights is not None:
        shutil.copy2(weights, folder / "agent" / "weights" / "model.pt")
    if conf is not None:
        (folder / "agent" / "weights" / "agent.json").write_text(json.dumps(conf))
    return folder


def _env_without_pythonpath(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LUXKIT_AGENT", "LUXKIT_WEIGHTS")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _wrong_shape(ckpt, path):
    payload = torch.load(ckpt)
    payload["net_config"]["channels"] = 16
    torch.save(payload, path)
    return path


def _recorded_lines(rules="tiny", seed=1, main_steps=6):
    """Protocol lines for player_0 of a game played in-process by two random-masked players."""
    from agent.player import LuxPlayer
    from wrappers.engine import make_env

    env = make_env(rules)
    env.reset(seed=seed)
    cfg = dataclasses.asdict(env.env_cfg)
    players = {p: LuxPlayer(p, cfg) for p in PLAYERS}
    state_obs = env.state.get_compressed_obs()
    obs = to_json(state_obs)
    lines, main_index = [], None
    while True:
        lines.append(dict(obs=obs, step=int(env.env_steps), remainingOverageTime=60.0, player="player_0",
                          reward=0.0, info={"env_cfg": cfg} if not lines else {}))
        if main_index is None and env.state.real_env_steps >= 0:
            main_index = len(lines) - 1
        if main_index is not None and len(lines) - main_index >= main_steps:
            return lines, main_index, cfg
        acts = {p: players[p].act(int(env.env_steps), copy.deepcopy(obs)) for p in PLAYERS}
        new, _, term, trunc, _ = env.step(acts)
        assert not (term["player_0"] or trunc["player_0"])
        obs = to_json(env.state.get_change_obs(state_obs))
        state_obs = new["player_0"]


def _main_phase_state(seed=2, turns=8):
    """A GameState a few turns into the main phase of a tiny game between random-masked players."""
    from agent.player import LuxPlayer
    from wrappers.engine import make_env

    env = make_env("tiny")
    env.reset(seed=seed)
    cfg = dataclasses.asdict(env.env_cfg)
    players = {p: LuxPlayer(p, cfg) for p in PLAYERS}
    while env.state.real_env_steps < turns:
        obs = env.state.get_obs()
        env.step({p: players[p].act(int(env.env_steps), obs) for p in PLAYERS})
    players["player_0"].state.update(env.state.get_obs(), step=int(env.env_steps))
    return players["player_0"].state


# ---------------------------------------------------------------------- start-up: which agent
def test_no_weights_plays_random_with_one_line(tmp_path, capsys):
    from agent.player import load_registry

    reg = load_registry(weights_dir=str(tmp_path), environ={})
    err = capsys.readouterr().err.strip().splitlines()
    assert reg.policy_factory is not None and reg.description == "random-masked"
    assert len(err) == 1 and "no weights at" in err[0] and str(tmp_path / "model.pt") in err[0]
    assert "ERROR" not in err[0]


def test_default_weights_and_agent_json_and_env_overrides(tmp_path, ckpt, capsys):
    from agent.player import NetPolicy, RandomMaskedPolicy, load_registry

    shutil.copy2(ckpt, tmp_path / "model.pt")
    reg = load_registry(weights_dir=str(tmp_path), environ={})  # nothing configured: model.pt found
    assert reg.config["agent"] == "net" and reg.config["weights"] == str(tmp_path / "model.pt")
    pol = reg.policy_factory("player_1", None)
    assert isinstance(pol, NetPolicy) and pol.greedy.tolist() == [True] * 7
    assert torch.get_num_threads() == 1
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "greedy": False}))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    assert reg.policy_factory("player_0", None).greedy.tolist() == [False] * 7
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "greedy": True,
                                                     "sample_factories": True}))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    assert reg.policy_factory("player_0", None).greedy.tolist() == [True] * 6 + [False]  # the factory head samples
    assert reg.description.endswith("greedy robots, sampled factories)")
    assert reg.policy_factory("player_0", None).water_guard is False
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "water_guard": True}))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    assert reg.policy_factory("player_1", None).water_guard is True and reg.description.endswith("water guard)")
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "water_guard": "yes"}))
    with pytest.raises(ValueError, match="'water_guard' must be a bool"):
        load_registry(weights_dir=str(tmp_path), environ={}, strict=True)
    assert reg.policy_factory("player_1", None).power_guard is False
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "water_guard": True,
                                                     "power_guard": True}))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    assert reg.policy_factory("player_1", None).power_guard is True
    assert reg.description.endswith("water guard, power guard)")
    assert reg.policy_factory("player_1", None).park_guard is False
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "park_guard": True}))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    assert reg.policy_factory("player_0", None).park_guard is True and reg.description.endswith("park guard)")
    assert reg.policy_factory("player_0", None).frontier_guard is False
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "frontier_guard": True}))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    assert reg.policy_factory("player_1", None).frontier_guard is True and reg.description.endswith("frontier guard)")
    (tmp_path / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt"}))
    reg = load_registry(weights_dir=str(tmp_path), environ={"LUXKIT_AGENT": "random"})
    assert isinstance(reg.policy_factory("player_0", None), RandomMaskedPolicy)
    other = tmp_path / "elsewhere.pt"
    shutil.copy2(ckpt, other)
    reg = load_registry(weights_dir=str(tmp_path / "empty"), environ={"LUXKIT_WEIGHTS": str(other)})
    assert reg.config["agent"] == "net" and reg.config["weights"] == str(other)
    assert "ERROR" not in capsys.readouterr().err


@pytest.mark.parametrize("case,expect", [
    ("missing", "model.pt does not exist"),
    ("wrong_shape", "model.pt: tensor 'stem.weight' has shape"),
    ("garbage", "cannot read weights file"),
    ("wrong_planes", "planes"),
    ("bad_json", "is unreadable"),
    ("unknown_key", "unknown key 'weight'"),
    ("unknown_agent", "unknown agent 'alphazero'"),
])
def test_startup_errors_name_the_file_and_fall_back(tmp_path, ckpt, capsys, case, expect):
    from agent.net import GridNet, save_checkpoint
    from agent.player import load_registry

    conf = {"agent": "net", "weights": "model.pt"}
    w = tmp_path / "model.pt"
    if case == "wrong_shape":
        _wrong_shape(ckpt, w)
    elif case == "garbage":
        w.write_bytes(b"not a checkpoint")
    elif case == "wrong_planes":
        save_checkpoint(w, GridNet(channels=8, blocks=1, in_planes=31))
    elif case == "unknown_key":
        conf = {"agent": "net", "weight": "model.pt"}
    elif case == "unknown_agent":
        conf = {"agent": "alphazero"}
    (tmp_path / "agent.json").write_text("{not json" if case == "bad_json" else json.dumps(conf))
    reg = load_registry(weights_dir=str(tmp_path), environ={})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("[luxkit] ERROR: ") and expect in err[0], err
    assert "falling back to the random-masked policy" in err[0]
    assert reg.policy_factory is None and reg.description == "random-masked (fallback)"
    with pytest.raises(Exception, match=expect.split(" ")[0]):
        load_registry(weights_dir=str(tmp_path), environ={}, strict=True)


def test_bot_with_bad_weights_logs_and_still_plays(tmp_path, ckpt):
    bot = make_bot(tmp_path / "bot", conf={"agent": "net", "weights": "model.pt"})
    _wrong_shape(ckpt, bot / "agent" / "weights" / "model.pt")
    lines, main_index, _ = _recorded_lines(main_steps=2)
    feed = [json.dumps(ln) for ln in lines]
    proc = subprocess.run([sys.executable, "main.py"], cwd=bot, input="\n".join(feed) + "\n", capture_output=True,
                          text=True, timeout=120, env=_env_without_pythonpath())
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert len(out) == len(feed) and out[0] == {"faction": "AlphaStrike", "bid": 0}
    first = proc.stderr.splitlines()[0]
    assert first.startswith("[luxkit] ERROR: weights file ") and "model.pt: tensor 'stem.weight' has shape" in first
    assert str(bot / "agent" / "weights" / "model.pt") in first
    assert proc.stderr.count("ERROR") == 1


def test_kaggle_exec_finds_weights_without_main_file(tmp_path, ckpt):
    """Kaggle execs main.py (no __file__) with its folder on sys.path only during the exec."""
    from wrappers.engine import make_env

    bot = make_bot(tmp_path / "bot", weights=ckpt)
    env = make_env("tiny")
    env.reset(seed=3)
    data = tmp_path / "first.json"
    data.write_text(json.dumps({"obs": to_json(env.state.get_compressed_obs()),
                                "cfg": dataclasses.asdict(env.env_cfg)}))
    code = (
        "import json, sys\n"
        "from types import SimpleNamespace\n"
        "d, data = sys.argv[1], json.load(open(sys.argv[2]))\n"
        # Kaggle has no luxkit installed: take out this checkout's editable install (.pth)
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(ROOT)!r}]\n"
        "g = {}\n"
        "sys.path.append(d)\n"
        "try:\n"
        "    exec(compile(open(d + '/main.py').read(), '<main.py>', 'exec'), g)\n"
        "finally:\n"
        "    sys.path.remove(d)\n"
        "fn = [v for v in g.values() if callable(v)][-1]\n"
        "o = SimpleNamespace(obs=json.dumps(data['obs']), step=0, player='player_0', remainingOverageTime=60)\n"
        "print(json.dumps(dict(fn=fn.__name__, has_file='__file__' in g, action=fn(o, {'env_cfg': data['cfg']}),\n"
        "                      desc=g['_REGISTRY'].description)))\n"
    )
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(bot), str(data)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["fn"] == "agent_fn" and res["has_file"] is False
    assert res["action"] == {"faction": "AlphaStrike", "bid": 0}
    assert res["desc"].startswith(f"net {bot / 'agent' / 'weights' / 'model.pt'}")


# ---------------------------------------------------------------------- turn budget
def test_turn_mode_thresholds():
    from agent.player import turn_mode

    assert turn_mode(60.0, 0.05) == "full"
    assert turn_mode(9.9, 0.05) == "fast"
    assert turn_mode(60.0, 2.5) == "fast"
    assert turn_mode(1.9, 0.05) == "minimal"
    assert turn_mode(0.0, 0.05) == "minimal"


class _Spy:
    def __init__(self):
        from agent.player import RandomMaskedPolicy

        self.inner = RandomMaskedPolicy(0)
        self.calls = {"full": 0, "fast": 0}

    def __call__(self, state):
        self.calls["full"] += 1
        return self.inner(state)

    def fast(self, state):
        self.calls["fast"] += 1
        return self.inner(state)


def test_budget_degrades_and_minimal_mode_is_accepted_by_the_engine(capsys):
    """player_0 plays a whole game with 1 s of overage left: no robot actions, factories still
    build (and may water), and the engine rejects nothing; fast mode calls policy.fast."""
    from agent.player import LuxPlayer
    from wrappers.engine import RejectionAudit, make_env

    env = make_env("tiny", max_episode_length=60)
    env.reset(seed=5)
    cfg = dataclasses.asdict(env.env_cfg)
    spy0, spy1 = _Spy(), _Spy()
    p0, p1 = LuxPlayer("player_0", cfg, policy=spy0), LuxPlayer("player_1", cfg, policy=spy1)
    main_actions = []
    with RejectionAudit() as audit:
        done = False
        while not done:
            obs = env.state.get_obs()
            step = int(env.env_steps)
            a0 = p0.act(step, obs, remaining_overage=1.0)
            a1 = p1.act(step, obs, remaining_overage=5.0 if step % 2 else 60.0)
            if env.state.real_env_steps >= 0:
                main_actions.append(a0)
            _, _, term, trunc, _ = env.step({"player_0": a0, "player_1": a1})
            done = term["player_0"] or trunc["player_0"]
    assert len(main_actions) > 20
    assert spy0.calls == {"full": 0, "fast": 0} and p0.mode == "minimal"
    assert not any(k.startswith("unit_") for a in main_actions for k in a)
    assert any(v in (0, 1) for a in main_actions for v in a.values())  # built robots
    assert spy1.calls["fast"] > 0 and spy1.calls["full"] > 0
    assert audit.total_rejected == 0 and audit.water_refused == 0
    err = capsys.readouterr().err
    assert "turn budget full -> minimal" in err and "ERROR" not in err

    # a slow last turn alone switches to fast for the next turn
    state_player = LuxPlayer("player_0", cfg, policy=_Spy())
    state_player.turn_times = [2.5]
    state_player.state = p0.state
    state_player.act(int(env.env_steps), env.state.get_obs(), remaining_overage=60.0)
    assert state_player.mode == "fast"


def test_netpolicy_greedy_equals_distribution_mode_and_samples_are_legal():
    from agent.actions import NUM_COMPONENTS, NVEC, OFFSETS
    from agent.distribution import MaskedGridDistribution
    from agent.features import encode
    from agent.masks import action_masks
    from agent.net import build_net
    from agent.player import NetPolicy

    state = _main_phase_state()
    assert len(state.my_units) + len(state.my_factories) > 0
    torch.manual_seed(1)
    net = build_net("small").eval()
    with torch.no_grad():
        net.policy_head.weight.normal_(std=1.0)
    masks = action_masks(state)
    planes, glob = encode(state)
    with torch.no_grad():
        logits, _ = net(torch.from_numpy(planes)[None], torch.from_numpy(glob)[None])
    mode = MaskedGridDistribution(logits, torch.from_numpy(masks)[None]).mode()[0].numpy()
    assert np.array_equal(NetPolicy(net, greedy=True)(state), mode)
    pol = NetPolicy(net, greedy=False, seed=3)
    for _ in range(5):
        a = pol(state)
        for k in range(NUM_COMPONENTS):
            m = masks[:, :, OFFSETS[k]:OFFSETS[k] + NVEC[k]]
            present = m.any(axis=2)
            chosen = np.take_along_axis(m, a[:, :, k:k + 1], axis=2)[:, :, 0]
            assert chosen[present].all()


# ---------------------------------------------------------------------- self-play with a net
def test_selfplay_net_policy_with_runner_json_and_html(tmp_path, ckpt):
    """`luxai-s2 main.py main.py -s 42 -o replay.json` / `-o replay.html` with weights in place."""
    bot = make_bot(tmp_path / "bot", weights=ckpt, conf={"agent": "net", "weights": "model.pt", "greedy": False})
    replays = {}
    for ext in ("json", "html"):
        out = tmp_path / f"replay.{ext}"
        proc = subprocess.run([str(BIN / "luxai-s2"), "main.py", "main.py", "-s", "42", "-o", str(out), "-v", "1"],
                              cwd=bot, env=_env_without_pythonpath(), capture_output=True, text=True, timeout=300)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log
        assert "Traceback" not in log and "ERROR" not in log, log
        assert log.count("[luxkit] playing net ") == 2, log
        replays[ext] = out.read_text()
    html = replays["html"]
    assert html.startswith("<!DOCTYPE html>") and "s2vis.lux-ai.org" in html
    start = html.index("window.episode = ") + len("window.episode = ")
    from_html = json.loads(html[start:html.index(";\n    </script>", start)])
    for r in (json.loads(replays["json"]), from_html):
        actions = r["actions"]
        assert actions[0]["player_0"] == {"faction": "AlphaStrike", "bid": 0}
        fpt = r["observations"][0]["board"]["factories_per_team"]
        main = actions[1 + 2 * fpt:]
        assert len(main) > 10
        for p in PLAYERS:
            assert any(any(k.startswith("unit_") for k in a[p]) for a in main if a.get(p))
            assert all(k.startswith(("unit_", "factory_")) for a in main for k in (a.get(p) or {}))
    assert len(json.loads(replays["json"])["actions"]) == len(from_html["actions"])


# ---------------------------------------------------------------------- package.py
def test_package_builds_archive_and_proves_it(tmp_path, ckpt):
    out = tmp_path / "submission"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--weights", str(ckpt),
                           "--out", str(out), "--sample"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=_env_without_pythonpath())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "proof game OK" in proc.stdout and "0 rejected" in proc.stdout
    assert "vermin: the submission runs on Python 3.7" in proc.stdout
    assert "KiB" in proc.stdout and "submission.tar.gz" in proc.stdout
    with tarfile.open(tmp_path / "submission.tar.gz") as tar:
        names = set(tar.getnames())
    agent_py = {p.as_posix() for p in package.agent_sources()}
    assert "agent/guards/__init__.py" in agent_py
    folders = {p.parent.as_posix() for p in package.agent_sources()}  # agent, agent/guards
    assert names == {"main.py", "agent/weights", "agent/weights/model.pt", "agent/weights/agent.json"} | agent_py | folders
    assert json.loads((out / "agent" / "weights" / "agent.json").read_text()) == {
        "agent": "net", "weights": "model.pt", "greedy": False}
    payload = torch.load(out / "agent" / "weights" / "model.pt", map_location="cpu", weights_only=True)
    assert set(payload) == {"state_dict", "net_config", "step", "map_size"} and payload["step"] == torch.load(ckpt)["step"]
    package.check_torch111_loadable(out / "agent" / "weights" / "model.pt")


def test_package_build_writes_sample_factories_and_the_guards(tmp_path, ckpt, capsys):
    out, archive = package.build(tmp_path / "submission", weights=str(ckpt), greedy=True, sample_factories=True,
                                 water_guard=True, power_guard=True, park_guard=True, frontier_guard=True)
    assert json.loads((out / "agent" / "weights" / "agent.json").read_text()) == {
        "agent": "net", "weights": "model.pt", "greedy": True, "sample_factories": True, "water_guard": True,
        "power_guard": True, "park_guard": True, "frontier_guard": True}
    assert "greedy robots, sampled factories, water guard, power guard, park guard, frontier guard" in capsys.readouterr().out
    assert archive.is_file()
    with pytest.raises(package.PackageError, match="unknown decoding guard"):
        package.build(tmp_path / "submission", weights=str(ckpt), park_gaurd=True)
    out, _ = package.build(tmp_path / "submission", weights=str(ckpt), greedy=True, joint_greedy=True)
    assert json.loads((out / "agent" / "weights" / "agent.json").read_text()) == {
        "agent": "net", "weights": "model.pt", "greedy": True, "joint_greedy": True}
    assert "greedy (joint robot types)" in capsys.readouterr().out


@pytest.mark.parametrize("case,expect", [
    ("missing", "does not exist"),
    ("wrong_shape", "tensor 'stem.weight' has shape"),
    ("garbage", "cannot read weights file"),
])
def test_package_fails_loudly_on_bad_weights(tmp_path, ckpt, capsys, case, expect):
    w = tmp_path / "bad.pt"
    if case == "wrong_shape":
        _wrong_shape(ckpt, w)
    elif case == "garbage":
        w.write_bytes(b"\x00" * 10)
    code = package.main(["--weights", str(w), "--out", str(tmp_path / "submission"), "--no-prove"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("package.py: ") and str(w) in err and expect in err
    assert not (tmp_path / "submission.tar.gz").exists()


def test_package_cli_exit_code_names_the_missing_file(tmp_path):
    missing = tmp_path / "nope" / "latest.pt"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--weights", str(missing),
                           "--out", str(tmp_path / "submission")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"package.py: weights file {missing} does not exist"


def test_torch111_loadability_check(tmp_path, ckpt):
    seen = package.check_torch111_loadable(ckpt)
    assert ("torch._utils", "_rebuild_tensor_v2") in seen and seen <= package.TORCH111_GLOBALS
    bad = tmp_path / "bad.pt"
    torch.save({"state_dict": {}, "net_config": {}, "extra": np.zeros(3)}, bad)
    with pytest.raises(package.PackageError, match="torch 1.11 cannot load"):
        package.check_torch111_loadable(bad)


REJECTING_MAIN = """
import runpy
g = runpy.run_path("real_main.py", run_name="not_main")
reg = g["_REGISTRY"]
orig = reg.act
def act(player, step, obs, env_cfg=None, remaining_overage=60.0):
    a = orig(player, step, obs, env_cfg, remaining_overage)
    st = reg.players[player].state
    if step > 0 and not st.is_early_phase:
        for fid in st.my_factories.ids:
            a[fid] = 1  # build HEAVY every turn: rejected once metal runs out
    return a
reg.act = act
g["_stdin_loop"]()
"""


@pytest.mark.parametrize("case,expect", [
    ("imports_luxai_s2", "exited with code 1"),
    ("replies_a_list", "bad reply '[]'"),
    ("rejected_actions", "the engine rejected actions: {'factory_build'"),
])
def test_proof_game_catches_broken_bots(tmp_path, case, expect):
    bot = make_bot(tmp_path / "bot", conf={"agent": "random"})
    main = bot / "main.py"
    if case == "imports_luxai_s2":
        main.write_text("import luxai_s2\n" + main.read_text())
    elif case == "replies_a_list":
        main.write_text("import sys\nfor line in sys.stdin:\n    print('[]', flush=True)\n")
    else:
        main.rename(bot / "real_main.py")
        main.write_text(REJECTING_MAIN)
    res = package.play_protocol_game([bot, bot], rules="tiny", seed=1, max_episode_length=30)
    assert any(expect in p for p in res["problems"]), res["problems"]
    if case == "imports_luxai_s2":
        assert any("luxai_s2 is blocked" in ln for ln in res["stderr"]["player_0"])


# ---------------------------------------------------------------------- bad input
def test_bad_input_never_kills_the_net_bot(tmp_path, ckpt):
    """Malformed JSON, missing keys, unknown unit type, a turn with our units (and factories) all
    gone: each gets an answer, the errors one stderr line each, and play resumes."""
    bot = make_bot(tmp_path / "bot", weights=ckpt, conf={"agent": "net", "weights": "model.pt", "greedy": False})
    lines, k, _ = _recorded_lines(main_steps=6)
    nxt = lines[k + 1]
    unknown = copy.deepcopy(nxt)
    unknown["obs"]["units"]["player_0"]["unit_999"] = {
        "unit_id": "unit_999", "unit_type": "MEDIUM", "pos": [1, 1], "power": 1, "team_id": 0,
        "cargo": {"ice": 0, "ore": 0, "water": 0, "metal": 0}, "action_queue": []}
    no_units = copy.deepcopy(nxt)
    no_units["obs"]["units"]["player_0"] = {}
    nothing = copy.deepcopy(no_units)
    nothing["obs"]["factories"]["player_0"] = {}
    no_units_key = copy.deepcopy(nxt)
    del no_units_key["obs"]["units"]
    bad = ["this is not json", json.dumps({"step": nxt["step"], "player": "player_0"}), json.dumps(no_units_key),
           json.dumps(unknown), json.dumps(no_units), json.dumps(nothing)]
    feed = [json.dumps(ln) for ln in lines[:k + 1]] + bad + [json.dumps(ln) for ln in lines[k + 1:]]
    proc = subprocess.run([sys.executable, "main.py"], cwd=bot, input="\n".join(feed) + "\n", capture_output=True,
                          text=True, timeout=120, env=_env_without_pythonpath())
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert len(out) == len(feed)
    got = out[k + 1:k + 1 + len(bad)]
    assert got[:4] == [{}, {}, {}, {}]
    assert all(isinstance(a, dict) and not any(key.startswith("unit_") for key in a) for a in got[4:])
    assert got[5] == {}
    err = proc.stderr
    assert err.count("ERROR") == 4, err
    for msg in ("not valid JSON", "missing the key 'obs'", "missing the key 'units'", "unknown unit_type 'MEDIUM'"):
        assert msg in err
    assert all(isinstance(a, dict) for a in out[k + 1 + len(bad):])


# ---------------------------------------------------------------------- Python 3.7 floor
def test_game_time_code_passes_vermin_for_python_37():
    exe = BIN / "vermin"
    if not exe.is_file():
        pytest.skip("vermin is not installed")
    files = [str(ROOT / "main.py")] + [str(ROOT / p) for p in package.agent_sources()]
    proc = subprocess.run([str(exe), "-t=3.7-", "--no-tips", "--violations", "--eval-annotations"] + files,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Target versions not met" not in proc.stdout


# ---------------------------------------------------------------------- submit.py
def _submit(tmp_path, archive, extra_env=None, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KAGGLE_") and k.lower() not in ("https_proxy", "http_proxy", "no_proxy", "all_proxy")}
    env["HOME"] = str(tmp_path / "home")
    env.update(extra_env or {})
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "submit.py"), "--archive", str(archive),
                           "--timeout", "3", *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def archive(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("print('hi')\n")
    path = tmp_path / "submission.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src / "main.py", arcname="main.py")
    return path


def test_submit_without_credentials_exits_2_with_one_line(tmp_path, archive):
    (tmp_path / "home").mkdir()
    proc = _submit(tmp_path, archive)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("submit.py: no Kaggle credentials")
    assert "Traceback" not in proc.stdout + proc.stderr


def test_submit_with_credentials_but_no_network_exits_2_with_one_line(tmp_path, archive):
    """A fake kaggle.json; the network is made unreachable (HTTPS goes to a closed local port)."""
    kdir = tmp_path / "home" / ".kaggle"
    kdir.mkdir(parents=True)
    (kdir / "kaggle.json").write_text(json.dumps({"username": "nobody", "key": "0" * 32}))
    os.chmod(kdir / "kaggle.json", 0o600)
    proc = _submit(tmp_path, archive, {"HTTPS_PROXY": "http://127.0.0.1:1"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("submit.py: cannot reach api.kaggle.com:443")
    assert "nothing was submitted" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def test_submit_missing_archive_and_api_refusal_are_one_line_exit_1(tmp_path, archive, monkeypatch, capsys):
    proc = _submit(tmp_path, tmp_path / "missing.tar.gz")
    assert proc.returncode == 1 and proc.stderr.startswith("submit.py: archive ") and proc.stderr.count("\n") == 1

    # past the checks, an HTTP error from the API is one line, exit 1
    kdir = tmp_path / "home" / ".kaggle"
    kdir.mkdir(parents=True)
    (kdir / "kaggle.json").write_text(json.dumps({"username": "nobody", "key": "0" * 32}))
    os.chmod(kdir / "kaggle.json", 0o600)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for k in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(submit, "check_reachable", lambda url, timeout: None)
    from kaggle.api.kaggle_api_extended import KaggleApi
    import requests

    def refuse(self, *a, **k):
        raise requests.HTTPError("403 Client Error: Forbidden for url: https://api.kaggle.com/v1/...")

    monkeypatch.setattr(KaggleApi, "competition_submit", refuse)
    try:
        assert submit.main(["--archive", str(archive), "--message", "t"]) == 1
    finally:
        socket.setdefaulttimeout(None)
    err = capsys.readouterr().err
    assert err.startswith("submit.py: Kaggle refused the submission (HTTPError: 403") and err.count("\n") == 1
