"""train.py: config parsing, SB3 integration pieces, checkpoints, kill-and-resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from agent.features import NUM_PLANES
from training.ppo.config import ConfigError, TrainConfig, parse_overrides

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(ROOT / "train.py")
TINY = ["rules=tiny", "n_envs=1", "vec_env=dummy", "n_steps=32", "batch_size=32", "n_epochs=1",
        "progress_bar=false", "torch_threads=1", "max_episode_length=60"]


def run_train(args, cwd, timeout=300):
    return subprocess.run([sys.executable, TRAIN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- config
def test_overrides_are_typed_and_validated():
    cfg = parse_overrides(["total_timesteps=2e5", "n_envs=2", "seed=3", "rules=kaggle", "learning_rate=1e-4",
                           "progress_bar=false", "reward.lichen=0.5"])
    assert cfg.total_timesteps == 200000 and cfg.n_envs == 2 and cfg.seed == 3
    assert cfg.resolved_map_size() == 48 and cfg.learning_rate == 1e-4 and cfg.progress_bar is False
    assert cfg.reward["lichen"] == 0.5 and TrainConfig().reward["lichen"] != 0.5


@pytest.mark.parametrize("arg,msg", [
    ("foo=1", "unknown config key 'foo'; valid keys: amp, backend, baseline, batch_size"),
    ("n_envs=two", "n_envs='two' is not a valid int"),
    ("n_envs=0", "n_envs=0 must be positive"),
    ("rules=huge", "rules='huge': choose one of"),
    ("masking=maybe", "masking='maybe'"),
    ("reward.nope=1", "unknown reward term 'nope'"),
    ("map_size=40", "map_size=40"),
    ("train_seeds=5", "train_seeds='5' must be start:stop"),
    ("n_envs", "is not key=value"),
])
def test_bad_overrides_raise_clear_errors(arg, msg):
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace("[", r"\[")):
        parse_overrides([arg])


def test_cli_errors_exit_2_and_write_nothing(tmp_path):
    for args, msg in ((["foo=1"], "unknown config key"), (["n_envs=0"], "must be positive"),
                      (["resume=nowhere"], "no such run folder")):
        proc = run_train(args, cwd=tmp_path, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert msg in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- SB3 pieces
def test_default_run_continues_from_the_shipped_weights_with_a_teacher_term(tmp_path):
    from training.ppo.config import SHIPPED_WEIGHTS

    cfg = parse_overrides([])
    assert cfg.resolved_init_weights() == SHIPPED_WEIGHTS and os.path.isfile(SHIPPED_WEIGHTS)
    assert cfg.resolved_teacher() == SHIPPED_WEIGHTS and cfg.teacher_kl_coef > 0 and cfg.ent_coef > 0
    assert cfg.resolved_net() == torch.load(SHIPPED_WEIGHTS, weights_only=True)["net_config"]
    scratch = parse_overrides(["init_weights=none"])
    assert scratch.resolved_init_weights() == "" and scratch.resolved_teacher() == "" and scratch.resolved_net() == "small"
    other = tmp_path / "w.pt"
    with pytest.raises(ConfigError, match="does not exist; use init_weights=none"):
        parse_overrides([f"init_weights={other}"])
    with pytest.raises(ConfigError, match="needs ent_coef > 0"):
        parse_overrides(["ent_coef=0"])
    assert parse_overrides(["ent_coef=0", "teacher=none"]).resolved_teacher() == ""


def test_map_size_reaches_the_environment(tmp_path):
    """``rules=small map_size=64``: the training environments play 64x64 maps with the small preset's
    factory counts, and the policy is built for 64x64."""
    from training.ppo.run import make_env_fn

    cfg = parse_overrides(["rules=small", "map_size=64", "max_episode_length=20"])
    assert cfg.resolved_map_size() == 64
    env = make_env_fn(cfg, 0, str(tmp_path)).__call__().unwrapped
    assert env.map_size == 64 and env.engine.env_cfg.map_size == 64
    assert env.engine.env_cfg.MAX_FACTORIES == 3
    obs, _ = env.reset(seed=0)
    assert obs["planes"].shape == (NUM_PLANES, 64, 64)


def test_packed_mask_buffer_round_trip():
    from gymnasium import spaces

    from agent.actions import NVEC
    from training.ppo.policy import PackedMaskDictRolloutBuffer

    S, n_envs, n_steps = 16, 2, 4
    obs_space = spaces.Dict({"planes": spaces.Box(0, 1, (NUM_PLANES, S, S), np.float32),
                             "globals": spaces.Box(0, 1, (12,), np.float32)})
    act_space = spaces.MultiDiscrete(np.tile(NVEC, S * S))
    buf = PackedMaskDictRolloutBuffer(n_steps, obs_space, act_space, "cpu", n_envs=n_envs)
    rng = np.random.default_rng(0)
    masks = rng.random((n_steps, n_envs, S * S * 34)) < 0.3
    for t in range(n_steps):
        buf.add({"planes": np.zeros((n_envs, NUM_PLANES, S, S), np.float32), "globals": np.zeros((n_envs, 12), np.float32)},
                np.zeros((n_envs, S * S * 7)), np.zeros(n_envs), np.zeros(n_envs, bool),
                torch.zeros(n_envs), torch.zeros(n_envs), action_masks=masks[t])
    assert buf.action_masks.dtype == np.uint8 and buf.action_masks.shape[-1] == S * S * 34 // 8
    buf.compute_returns_and_advantage(torch.zeros(n_envs), np.zeros(n_envs))
    got = next(buf.get(batch_size=None))
    flat = masks.swapaxes(0, 1).reshape(-1, S * S * 34)
    got_masks = got.action_masks.numpy()
    # the buffer shuffles: compare as sets of rows
    assert sorted(map(bytes, np.packbits(got_masks, axis=1))) == sorted(map(bytes, np.packbits(flat, axis=1)))
    assert got.action_masks.dtype == torch.bool


def test_policy_forward_and_evaluate_agree_and_naive_differs():
    from wrappers.lux_env import LuxGridEnv
    from training.ppo.policy import GridPolicy

    env = LuxGridEnv(rules="tiny")
    obs, _ = env.reset(seed=4)
    from agent.actions import C_FACTORY, F_LIGHT, KEEP
    from agent.policy import sample_uniform_masked

    rng = np.random.default_rng(0)
    for turn in range(3):  # build one robot per factory and keep it still (a second build would collide)
        a = sample_uniform_masked(env.cell_masks(), rng)
        a[:, :, 0] = KEEP
        a[:, :, C_FACTORY] = np.where(env.cell_masks()[:, :, 30 + F_LIGHT] & (turn == 0), F_LIGHT, 0)
        obs, *_ = env.step(a)
    assert len(env.states[env.player].my_units) > 0
    masks = env.action_masks()[None]
    t_obs = {k: torch.as_tensor(v)[None] for k, v in obs.items()}
    out = {}
    for mode in ("full", "naive"):
        torch.manual_seed(0)
        pol = GridPolicy(env.observation_space, env.action_space, lambda _: 1e-3, net_config="small", masking=mode)
        with torch.no_grad():
            a, v, lp = pol(t_obs, action_masks=masks)
            v2, lp2, ent = pol.evaluate_actions(t_obs, a, action_masks=torch.as_tensor(masks))
        out[mode] = (lp, lp2)
        assert torch.isfinite(lp2).all() and torch.isfinite(ent).all()
        assert torch.allclose(v, v2)
    assert torch.allclose(out["full"][0], out["full"][1], atol=1e-5)
    assert (out["naive"][1] < out["naive"][0] - 1e-6).all()  # unmasked update: ratio < 1 from the start


# ---------------------------------------------------------------- runs, checkpoints, resume
def _state(run):
    p = run / "checkpoints" / "state.json"
    return json.loads(p.read_text()) if p.exists() else None


def test_kill_and_resume_continues_the_same_run(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, TRAIN, *TINY, "total_timesteps=100000", "checkpoint_interval=32",
                             "pool_interval=32", f"run_dir={run}"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while time.time() < deadline:
        st = _state(run)
        if st and st["num_timesteps"] >= 64:
            break
        if proc.poll() is not None:
            pytest.fail(f"training died: {proc.stdout.read()}")
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("no checkpoint within 240 s")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _state(run)["num_timesteps"]
    tb_before = sorted(p.name for p in (run / "tb").iterdir())
    target = done + 64
    res = run_train([f"resume={run}", f"total_timesteps={target}"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"resuming {run} at {done} steps" in res.stdout
    after = _state(run)
    assert after["num_timesteps"] >= target
    assert sorted(p.name for p in (run / "tb").iterdir()) == tb_before  # same TensorBoard run
    assert len(after["pool"]) >= 3
    # changing the network on resume is refused
    bad = run_train([f"resume={run}", "net=medium"], cwd=tmp_path)
    assert bad.returncode == 2 and "net='medium' differs" in bad.stderr

    # the weights play a game without SB3, with zero rejected actions
    from agent.net import load_checkpoint
    from agent.player import NetPolicy
    from wrappers.engine import RejectionAudit
    from wrappers.lux_env import LuxGridEnv

    net, payload = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert payload["step"] == after["num_timesteps"] and payload["net_config"]["channels"] == 32
    policy = NetPolicy(net, seed=0)
    env = LuxGridEnv(rules="tiny", max_episode_length=60)
    with RejectionAudit() as audit:
        env.reset(seed=11)
        done_ = False
        while not done_:
            _, _, done_, _, info = env.step(policy(env.states[env.player]))
    assert audit.total_rejected == 0 and info["lux"]["invalid_choices"] == 0


def test_checkpoint_of_other_shape_is_a_clear_error(tmp_path):
    from agent.net import CheckpointError, GridNet, load_checkpoint, save_checkpoint

    net = GridNet(channels=8, blocks=1)
    path = tmp_path / "w.pt"
    save_checkpoint(path, net)
    payload = torch.load(path)
    payload["net_config"]["channels"] = 16
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="w.pt: tensor 'stem.weight' has shape"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_normalize_reward_scales_what_ppo_sees_and_resumes_its_statistics(tmp_path):
    """normalize_reward=true: SB3's VecNormalize (rewards only) wraps the envs, its statistics are
    saved beside latest.zip and a resumed run continues them; the logged episode reward stays raw."""
    import pickle

    run = tmp_path / "run"
    res = run_train([*TINY, "total_timesteps=64", "normalize_reward=true", "checkpoint_interval=32", "eval_interval=0",
                     f"run_dir={run}"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    stats = run / "checkpoints" / "vecnormalize.pkl"
    with open(stats, "rb") as f:
        first = pickle.load(f)
    assert first.norm_reward and not first.norm_obs and first.gamma == TrainConfig().gamma
    assert first.ret_rms.count >= 64  # one return update per env step
    # the logged episode reward stays raw: lux/game_reward (one 60-turn game) is the game's return
    # recomputed from its logged statistics with the raw weights (each term is the change of a
    # statistic from the first main-phase turn, where the weighted ones are 0), and SB3's Monitor
    # (rollout/ep_rew_mean) saw the same raw return; PPO saw it divided by the running std
    from training.tblog import read_scalars
    from wrappers.lux_env import GAME_STATS

    weights = TrainConfig().reward
    assert weights["factories_alive"] == weights["robots_alive"] == 0  # the two statistics not 0 at the start

    def logged(tag):
        steps, values = read_scalars(str(run), tag)
        assert len(values) == 1, (tag, steps)  # n_envs=1, 60-turn games, 64 steps: one game, one rollout logs it
        return values[0]

    raw_return = sum(weights[k] * logged(f"lux/{k}") for k in GAME_STATS) + weights["win"] * logged("lux/result")
    assert logged("lux/episode_length") == 60 and logged("lux/robots_built") > 0
    assert logged("lux/game_reward") == pytest.approx(raw_return, rel=1e-5, abs=1e-4)
    assert logged("rollout/ep_rew_mean") == pytest.approx(raw_return, rel=1e-5, abs=1e-4)
    assert abs(raw_return) > 1 and first.ret_rms.var > 1  # what PPO saw (divided by the std) is not this
    res = run_train([f"resume={run}", "total_timesteps=128"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"statistics of {stats}" in res.stdout
    with open(stats, "rb") as f:
        assert pickle.load(f).ret_rms.count >= first.ret_rms.count + 64  # continued, not restarted


def _guard_chain(state, plain, planes, skip=None):
    """The shipped decoding spelled out: ``[(guard key, masks after it)]`` in the order of
    agent.guards.REGISTRY, from ``plain`` (action_masks), each guard's function given what it needs
    (the ``home_cost`` map, ``planes``, ``plain`` as the unguarded masks), computed here;
    the guard ``skip`` is left out (its entry repeats the masks before it)."""
    from agent.features import home_cost_map
    from agent.guards import REGISTRY

    inputs = dict(planes=planes, home_cost=home_cost_map(planes), base=plain)
    out, masks = [], plain
    for guard in REGISTRY:
        if guard.key != skip:
            masks = guard.apply(state, masks, **{n: inputs[n] for n in guard.needs})
        out.append((guard.key, masks))
    return out


def test_env_masks_apply_the_shipped_guards_when_asked():
    """Every guard of agent.guards.REGISTRY on (config keys, LuxGridEnv arguments): the learner's masks
    are the shipped decoding's (action_masks, then each guard in registry order), each guard is
    shown to change them (on some turn the chain without it gives other masks), and a choice only a
    guard forbids is a masked choice in step.

    Tiny 200-turn games (the raid window, the last RAID_TURNS turns, opens at turn 50) of the
    scripted baseline's choices, where the masks allow them, against the scripted baseline. On turn 3
    our factories are given the water, metal and power for two heavies (the ore guard's build, the
    heavy rubble guard's spare heavy); on turn 60 their water falls below ICE_GUARD_WATER (the ice
    guard). Map seeds are played until every guard has changed the masks (the first does it today)."""
    from agent.actions import C_FACTORY, F_WATER, NUM_LOGITS, OFFSETS, component_slice, decode
    from agent.features import encode
    from agent.guards import GUARDS
    from agent.guards.ice import ICE_GUARD_WATER
    from agent.masks import action_masks
    from agent.policy import sample_masked
    from agent.scripted import ScriptedPolicy
    from wrappers.lux_env import LuxGridEnv

    water = component_slice(C_FACTORY).start + F_WATER
    bitten, forced = {}, 0
    for map_seed in (5, 4, 3):
        theirs, ours = ScriptedPolicy(seed=1), ScriptedPolicy(seed=0)
        env = LuxGridEnv(rules="tiny", map_seeds=[map_seed], max_episode_length=200,
                         opponent=lambda st: decode(st, theirs(st)), **{k: True for k in GUARDS})
        env.reset(seed=0)
        factories = env.engine.state.factories[env.player]
        for turn in range(200):
            state = env.states[env.player]
            plain = action_masks(state)
            planes = encode(state)[0]
            chain = _guard_chain(state, plain, planes)
            expected = chain[-1][1]
            assert np.array_equal(env.cell_masks(), expected), (map_seed, turn)
            before = plain
            for guard, after in chain:
                if guard not in bitten and not np.array_equal(after, before):
                    if not np.array_equal(_guard_chain(state, plain, planes, skip=guard)[-1][1], expected):
                        bitten[guard] = (map_seed, turn)
                before = after
            if turn == 3:
                for f in factories.values():
                    f.cargo.water += 1000
                    f.cargo.metal += 300
                    f.power += 3000
            if turn == 60:
                for f in factories.values():
                    f.cargo.water, f.cargo.ice = ICE_GUARD_WATER - 40, 0
            # the scripted choice where the guarded masks allow it (else the first allowed one)
            S = state.cfg.map_size
            prefer = np.zeros((S, S, NUM_LOGITS))
            np.put_along_axis(prefer, ours(state) + OFFSETS, 1.0, axis=2)
            action = sample_masked(prefer, expected, None, greedy=True)
            forbidden = plain[..., water] & ~expected[..., water]  # watering only a guard forbids
            if forbidden.any():
                x, y = np.argwhere(forbidden)[0]
                action[x, y, C_FACTORY] = F_WATER
                forced += 1
            _, _, done, _, info = env.step(action)
            assert info["invalid_choices"] == int(forbidden.any()), (map_seed, turn)
            if done or len(bitten) == len(GUARDS):
                break
        if len(bitten) == len(GUARDS):
            break
    assert set(bitten) == set(GUARDS), f"guards that never changed the masks: {sorted(set(GUARDS) - set(bitten))}"
    assert forced > 0
    off = LuxGridEnv(rules="tiny")
    assert not any(getattr(off, k) for k in GUARDS)  # off by default: the engine's masks only
    off.reset(seed=0)
    assert np.array_equal(off.cell_masks(), action_masks(off.states[off.player]))


def test_teacher_kl_term_rides_on_the_entropy_term_and_stays_out_of_the_state_dict():
    import copy

    from agent.net import GridNet
    from agent.policy import sample_uniform_masked
    from training.ppo.policy import GridPolicy
    from wrappers.lux_env import LuxGridEnv

    env = LuxGridEnv(rules="tiny")
    obs, _ = env.reset(seed=4)
    rng = np.random.default_rng(0)
    obs, *_ = env.step(sample_uniform_masked(env.cell_masks(), rng))
    masks = torch.as_tensor(env.action_masks()[None])
    t_obs = {k: torch.as_tensor(v)[None] for k, v in obs.items()}
    torch.manual_seed(0)
    pol = GridPolicy(env.observation_space, env.action_space, lambda _: 1e-3, net_config="small")
    with torch.no_grad():
        a, _, _ = pol(t_obs, action_masks=masks.numpy())
        _, _, ent = pol.evaluate_actions(t_obs, a, action_masks=masks)
    keys = set(pol.state_dict())
    pol.set_teacher(copy.deepcopy(pol.net), coef=0.5, ent_coef=0.01)  # teacher == policy: KL 0
    with torch.no_grad():
        _, _, ent_same = pol.evaluate_actions(t_obs, a, action_masks=masks)
    assert torch.allclose(ent, ent_same) and abs(pol.last_teacher_kl) < 1e-6
    other = GridNet(channels=32, blocks=2)
    torch.nn.init.normal_(other.policy_head.weight, std=1.0)
    pol.set_teacher(other, coef=0.5, ent_coef=0.01)
    with torch.no_grad():
        _, _, ent_kl = pol.evaluate_actions(t_obs, a, action_masks=masks)
    assert pol.last_teacher_kl > 0
    assert torch.allclose(ent_kl, ent - 50.0 * pol.last_teacher_kl, rtol=1e-4, atol=1e-4)
    assert set(pol.state_dict()) == keys  # the teacher is not part of the saved policy
    with pytest.raises(ValueError, match="ent_coef > 0"):
        pol.set_teacher(other, coef=0.5, ent_coef=0.0)


def test_reward_anneals_from_dense_terms_to_the_game_result(tmp_path):
    """reward_anneal_steps: LuxGridEnv.set_dense_scale scales every term but win, and the callback
    drives it to 0 over the given steps (logged as lux/dense_reward_scale)."""
    from agent.policy import sample_uniform_masked
    from training.tblog import read_scalars
    from wrappers.lux_env import LuxGridEnv

    rewards = {}
    for scale in (1.0, 0.0):
        env = LuxGridEnv(rules="tiny", max_episode_length=40, reward_weights={"win": 10.0})
        env.set_dense_scale(scale)
        env.reset(seed=3)
        rs, done, rng = [], False, np.random.default_rng(0)
        while not done:
            _, r, term, trunc, _ = env.step(sample_uniform_masked(env.cell_masks(), rng).reshape(-1))
            rs.append(r)
            done = term or trunc
        rewards[scale] = rs
    assert any(r != 0 for r in rewards[1.0][:-1])  # dense terms pay along the way
    assert all(r == 0 for r in rewards[0.0][:-1]) and rewards[0.0][-1] in (-10.0, 0.0, 10.0)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        env.set_dense_scale(1.5)
    with pytest.raises(ConfigError, match="reward_anneal_steps"):
        parse_overrides(["reward_anneal_steps=-1"])
    run = tmp_path / "anneal"
    p = run_train(TINY + ["total_timesteps=96", "reward_anneal_steps=64", "init_weights=none", "eval_interval=0",
                          f"run_dir={run}"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    steps, scale = read_scalars(str(run), "lux/dense_reward_scale")
    assert list(scale) == pytest.approx([1.0, 0.5, 0.0])


def test_pool_plays_the_scripted_baseline(tmp_path, monkeypatch):
    """pool_agents=scripted pool_agent_prob=1: the pool's opponent is the scripted baseline, built with the seed the pool
    draws; turn after turn of a game its action dicts equal those of an independent ScriptedPolicy of
    that seed decoded on the same states."""
    import training.ppo.opponents as opponents
    from agent.actions import decode
    from agent.scripted import ScriptedPolicy
    from training.ppo.opponents import PoolOpponent
    from wrappers.engine import make_env, run_game

    built = []
    real = opponents.policy_from_spec

    def spy(spec, seed=0, **kw):
        built.append((spec, seed))
        return real(spec, seed=seed, **kw)

    monkeypatch.setattr(opponents, "policy_from_spec", spy)
    opp = PoolOpponent(str(tmp_path), p_random=0.0, seed=0, agents=["scripted"], p_agent=1.0)
    opp.reseed(1)
    assert opp.current_name == "scripted" and [spec for spec, _ in built] == ["scripted"]
    reference = ScriptedPolicy(seed=built[0][1])
    other = ScriptedPolicy(seed=7)

    def as_lists(actions):
        return {k: np.asarray(v).tolist() for k, v in actions.items()}

    pairs = []

    def act(p, st):
        if p == "player_0":
            return decode(st, other(st))
        got = opp(st)
        pairs.append((as_lists(got), as_lists(decode(st, reference(st)))))
        return got

    run_game(make_env("tiny", max_episode_length=30), 2, act)
    assert len(pairs) == 30
    assert sum(any(k.startswith("unit_") for k in got) for got, _ in pairs) >= 10  # its robots act
    for turn, (got, want) in enumerate(pairs):
        assert got == want, turn
    with pytest.raises(ConfigError, match="pool_agent_prob"):
        parse_overrides(["pool_agent_prob=2"])
    with pytest.raises(ConfigError, match="pool_agents: agent spec 'nope' is not"):
        parse_overrides(["pool_agents=scripted,nope"])


def test_value_warmup_trains_only_the_value_head_first(tmp_path):
    from training.ppo.config import SHIPPED_WEIGHTS

    init = torch.load(SHIPPED_WEIGHTS, weights_only=True)["state_dict"]
    for total, policy_moved in ((64, False), (96, True)):
        run = tmp_path / f"warm{total}"
        p = run_train(TINY + [f"total_timesteps={total}", "value_warmup_steps=64", "eval_interval=0", f"run_dir={run}"],
                      tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
        sd = torch.load(run / "checkpoints" / "latest.pt", weights_only=False)["state_dict"]
        assert not torch.equal(sd["value_head.0.weight"], init["value_head.0.weight"])
        moved = [k for k in sd if not k.startswith("value_head") and not torch.equal(sd[k], init[k])]
        assert bool(moved) == policy_moved, moved


def test_statistics_per_kind_of_opponent(tmp_path):
    """info["lux"]["opponent"] names the kind of opponent, and TensorBoard gets lux_vs_<kind>/*."""
    from training.ppo.opponents import PoolOpponent
    from training.tblog import read_scalars
    from wrappers.lux_env import LuxGridEnv, opponent_kind

    pool = PoolOpponent(str(tmp_path), p_random=0.0, seed=0, agents=["scripted"], p_agent=1.0)
    pool.reseed(0)
    assert opponent_kind(pool) == "scripted" and opponent_kind(LuxGridEnv(rules="tiny").opponent) == "random"
    pool.current_name = "step_000004096.pt"
    assert opponent_kind(pool) == "snapshot" and opponent_kind(lambda st: {}) == "other"
    run = tmp_path / "vs"
    p = run_train(TINY + ["total_timesteps=128", "max_episode_length=20", "pool_agents=scripted", "pool_agent_prob=0.5",
                          "init_weights=none", "eval_interval=0", f"run_dir={run}"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    kinds = [k for k in ("random", "scripted") if len(read_scalars(str(run), f"lux_vs_{k}/win_rate")[1])]
    assert kinds == ["random", "scripted"]
    assert sum(read_scalars(str(run), "lux_vs_scripted/games")[1]) >= 1


def test_weights_of_an_older_kit_start_a_run_widened_with_their_teacher_term(tmp_path):
    """init_weights / teacher of a kit with fewer feature planes: train.py widens both (the new
    planes start with zero weights, agent.net.widen_planes) and trains; more planes than the
    features have is a one-line error."""
    from agent.features import NUM_PLANES, PATH_PLANES
    from agent.net import NET_PRESETS, build_net, load_checkpoint, save_checkpoint

    old = tmp_path / "old.pt"
    save_checkpoint(old, build_net(dict(NET_PRESETS["small"], in_planes=PATH_PLANES[0])))
    assert parse_overrides([f"init_weights={old}"]).resolved_net()["in_planes"] == NUM_PLANES
    run = tmp_path / "run"
    p = run_train(TINY + ["total_timesteps=32", f"init_weights={old}", "teacher=init", "eval_interval=0",
                          f"run_dir={run}"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"reads {PATH_PLANES[0]} planes: widened to {NUM_PLANES}" in p.stdout
    net, _ = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert net.config["in_planes"] == NUM_PLANES
    wide = tmp_path / "wide.pt"
    save_checkpoint(wide, build_net(dict(NET_PRESETS["small"], in_planes=NUM_PLANES + 1)))
    p = run_train(TINY + ["total_timesteps=32", f"init_weights={wide}", f"run_dir={tmp_path / 'bad'}"], tmp_path)
    assert p.returncode != 0 and f"takes {NUM_PLANES + 1} planes" in p.stderr and "Traceback" not in p.stderr
