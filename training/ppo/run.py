"""One training run of masked PPO (what ``python train.py`` does): environments, the SB3 model,
callbacks, checkpoints and resume. ``train.py`` is the command line around :func:`train`.

A run writes ``runs/<name>/<date>-<time>/``: ``config.json`` (the resolved config), ``tb/``
(TensorBoard: SB3's losses, approx_kl, clip_fraction, entropy, explained variance and ``lux/*``
game statistics), ``checkpoints/`` (``step_<n>.pt`` weights loadable by main.py without SB3,
``latest.zip`` for resume) and ``pool/`` (self-play opponent snapshots).

Algorithm: sb3-contrib's MaskablePPO with luxkit's GridPolicy (agent/net.py GridNet +
agent/distribution.py MaskedGridDistribution) and a bit-packed mask rollout buffer
(training/ppo/policy.py). Environments: wrappers/lux_env.py LuxGridEnv in a SubprocVecEnv
(``vec_env=ray``: in Ray actors, training/cluster.py).
``device=auto|cpu|cuda`` places the policy (rollout and update) and ``amp=bf16`` autocasts the net
on CUDA (training/device.py); checkpoints are written as CPU tensors either way.
"""


import dataclasses
import os
import sys
import time


def fail(msg, code=2):
    print(f"train.py: {msg}", file=sys.stderr)
    sys.exit(code)


def make_env_fn(cfg, rank, pool_dir):
    """Env constructor for VecEnv workers (each worker: one torch thread)."""

    def _make():
        import torch
        from stable_baselines3.common.monitor import Monitor

        from training.kv import parse_seed_range
        from training.evaluation.evaluate import guard_kwargs
        from training.ppo.opponents import PoolOpponent
        from wrappers.lux_env import LuxGridEnv

        torch.set_num_threads(1)
        if cfg.opponent == "pool":
            opponent = PoolOpponent(pool_dir, p_random=cfg.pool_random_prob, seed=cfg.seed * 1000 + rank,
                                    agents=[a.strip() for a in cfg.pool_agents.split(",") if a.strip()],
                                    p_agent=cfg.pool_agent_prob)
        else:
            opponent = None
        env = LuxGridEnv(
            rules=cfg.rules, opponent=opponent, reward_weights=cfg.reward,
            map_seeds=parse_seed_range(cfg.train_seeds), bid=cfg.bid,
            max_episode_length=cfg.max_episode_length,
            invalid_penalty=cfg.invalid_penalty if cfg.masking == "penalty" else 0.0,
            map_size=cfg.map_size or None, **guard_kwargs(cfg),
        )
        env.reset(seed=cfg.seed * 1000 + rank)
        return Monitor(env)

    return _make


def connect_ray(cfg):
    """For ``vec_env=ray``: the connected ``ray`` module, or None after one line when Ray cannot
    start (the run then uses ``subproc``); exits 2 with one line when ``ray_address`` cannot be
    reached (before the run folder is created)."""
    from training.cluster import ClusterError, connect

    try:
        ray = connect(cfg.ray_address)
    except ClusterError as e:
        fail(str(e))
    if ray is None:
        cfg.vec_env = "subproc"
    return ray


def build_venv(cfg, pool_dir, ray=None):
    """The VecEnv of ``cfg.vec_env``: ``subproc`` (one process per env, fork), ``dummy`` (in this
    process) or ``ray`` (one Ray actor per env, :func:`training.cluster.make_ray_vec_env`; needs
    ``ray`` from :func:`connect_ray`)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    fns = [make_env_fn(cfg, i, pool_dir) for i in range(cfg.n_envs)]
    if cfg.vec_env == "ray" and ray is not None:
        from training.cluster import make_ray_vec_env

        return make_ray_vec_env(ray, fns)
    if cfg.vec_env in ("subproc", "ray") and cfg.n_envs > 1:
        return SubprocVecEnv(fns, start_method="fork")
    return DummyVecEnv(fns)


def normalize_rewards(venv, cfg, resume_dir=""):
    """``venv`` wrapped in SB3's ``VecNormalize(norm_obs=False, norm_reward=True)``: PPO sees every
    reward divided by the running standard deviation of the discounted return (``gamma``), so the
    returns the critic must fit stay of order 1 whatever the reward weights. A critic that starts
    untrained (a cloned policy's) can then reach them in a few hundred gradient steps; with raw
    64x64 returns of several hundred it could not (notes/log/training_log.md). The statistics are saved
    with every checkpoint (``checkpoints/vecnormalize.pkl``) and reloaded from ``resume_dir``.
    Episode statistics (``info["lux"]``, ``rollout/ep_rew_mean``) stay in raw reward units."""
    from stable_baselines3.common.vec_env import VecNormalize

    from training.ppo.callbacks import VECNORMALIZE_FILE

    stats = os.path.join(resume_dir, "checkpoints", VECNORMALIZE_FILE) if resume_dir else ""
    if stats and os.path.isfile(stats):
        venv = VecNormalize.load(stats, venv)
        print(f"reward normalisation: statistics of {stats} ({venv.ret_rms.count:.0f} returns)")
        return venv
    return VecNormalize(venv, norm_obs=False, norm_reward=True, gamma=cfg.gamma)


def prepare_run(cfg, argv_overrides):
    """Resolve the run folder; for resume, check it and reload its config. Creates nothing until
    every check has passed."""
    from training.ppo.config import ConfigError, load_config, parse_overrides

    if cfg.resume:
        run_dir = cfg.resume
        ckpt = os.path.join(run_dir, "checkpoints", "latest.zip")
        if not os.path.isdir(run_dir):
            fail(f"resume={run_dir!r}: no such run folder")
        if not os.path.isfile(ckpt) or not os.path.isfile(os.path.join(run_dir, "config.json")):
            fail(f"resume={run_dir!r}: no checkpoints/latest.zip and config.json there (was it a luxkit run?)")
        try:
            saved = load_config(os.path.join(run_dir, "config.json"))
            overrides = [a for a in argv_overrides if not a.startswith("resume=")]
            cfg = parse_overrides(overrides, base=saved)
        except ConfigError as e:
            fail(str(e))
        for key in ("net", "rules", "map_size", "masking", "n_envs", "n_steps"):
            if getattr(cfg, key) != getattr(saved, key):
                fail(f"resume: {key}={getattr(cfg, key)!r} differs from the run's {getattr(saved, key)!r}; "
                     "the checkpoint's network and rollout shapes cannot change on resume")
        cfg.resume = run_dir
        cfg.run_dir = run_dir
        return cfg, run_dir, ckpt
    if cfg.run_dir:
        run_dir = cfg.run_dir
        if os.path.exists(os.path.join(run_dir, "checkpoints")):
            fail(f"run_dir={run_dir!r} already holds a run; use resume={run_dir} to continue it")
    else:
        run_dir = os.path.join("runs", cfg.name, time.strftime("%Y%m%d-%H%M%S"))
    return cfg, run_dir, None


def train(cfg, argv_overrides=()):
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import CallbackList

    from training.ppo.callbacks import (CheckpointCallback, EvalCallback, LuxStatsCallback, RewardAnnealCallback,
                                    TeacherKLCallback, TorchThreadsCallback, ValueWarmupCallback)
    from training.kv import parse_seed_range
    from training.device import autocast_net, resolve_device
    from training.ppo.policy import GridPolicy, PackedMaskDictRolloutBuffer

    cfg, run_dir, resume_ckpt = prepare_run(cfg, argv_overrides)
    device = resolve_device(cfg.device, cfg.amp)  # checked by validate(): no error here
    init_net = None
    init_path, teacher_path = cfg.resolved_init_weights(), cfg.resolved_teacher()
    net_config = "small" if cfg.net == "auto" else cfg.net
    if init_path and not resume_ckpt:
        from agent.net import CheckpointError, build_net, load_checkpoint, widen_planes

        try:
            init_net, payload = load_checkpoint(init_path)
        except CheckpointError as e:
            fail(f"init_weights={cfg.init_weights}: {e}")
        from agent.features import NUM_GLOBALS, NUM_PLANES

        got = (payload["net_config"].get("in_planes"), payload["net_config"].get("in_globals"))
        if got[1] != NUM_GLOBALS or not isinstance(got[0], int) or got[0] > NUM_PLANES:
            fail(f"init_weights={cfg.init_weights}: {init_path} takes {got[0]} planes and {got[1]} globals, "
                 f"the features are {NUM_PLANES} and {NUM_GLOBALS}; use init_weights=none or other weights")
        if got[0] < NUM_PLANES:  # weights of an older kit: the planes added since start with zero weights
            init_net = widen_planes(init_net, NUM_PLANES)
            print(f"init_weights: {init_path} reads {got[0]} planes: widened to {NUM_PLANES} (the new planes start unused)")
        if cfg.net == "auto":
            net_config = dict(init_net.config)  # = cfg.resolved_net(), without reading the file twice
        elif init_net.config != build_net(cfg.net).config:
            fail(f"init_weights={cfg.init_weights}: its net_config {init_net.config} is not net={cfg.net} "
                 f"({build_net(cfg.net).config}); use net=auto")
    ray = connect_ray(cfg) if cfg.vec_env == "ray" else None
    torch.set_num_threads(cfg.torch_threads)
    S = cfg.resolved_map_size()
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        f.write(cfg.to_json())
    pool_dir = os.path.join(run_dir, "pool")
    os.makedirs(pool_dir, exist_ok=True)
    venv = build_venv(cfg, pool_dir, ray)
    if cfg.normalize_reward:
        venv = normalize_rewards(venv, cfg, run_dir if resume_ckpt else "")
    ppo_kwargs = dict(
        n_steps=cfg.n_steps, batch_size=cfg.batch_size, n_epochs=cfg.n_epochs,
        learning_rate=cfg.learning_rate, gamma=cfg.gamma, gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_range, ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm, target_kl=cfg.target_kl or None,
    )
    if resume_ckpt:
        # the classes named, not unpickled: a checkpoint written before training/ had rooms names training.policy
        model = MaskablePPO.load(resume_ckpt, env=venv, device=device, tensorboard_log=os.path.join(run_dir, "tb"),
                                 custom_objects=dict(policy_class=GridPolicy, rollout_buffer_class=PackedMaskDictRolloutBuffer))
        print(f"resuming {run_dir} at {model.num_timesteps} steps")
    else:
        model = MaskablePPO(
            GridPolicy, venv, device=device, seed=cfg.seed, verbose=0,
            policy_kwargs=dict(net_config=net_config, map_size=S, masking=cfg.masking),
            rollout_buffer_class=PackedMaskDictRolloutBuffer,
            tensorboard_log=os.path.join(run_dir, "tb"), **ppo_kwargs,
        )
        if init_net is not None:
            model.policy.net.load_state_dict(init_net.state_dict())
            print(f"initialised from {init_path}")
    autocast_net(model.policy.net, cfg.amp)
    teacher_cb = None
    if teacher_path and cfg.teacher_kl_coef > 0:
        from agent.net import CheckpointError, load_checkpoint

        try:
            from agent.features import NUM_PLANES
            from agent.net import widen_planes

            teacher_net = widen_planes(load_checkpoint(teacher_path)[0], NUM_PLANES)  # an older kit's: unchanged policy
            model.policy.set_teacher(autocast_net(teacher_net.to(model.device), cfg.amp), cfg.teacher_kl_coef,
                                     cfg.ent_coef)
        except (CheckpointError, ValueError) as e:
            fail(f"teacher={cfg.teacher}: {e}")
        teacher_cb = TeacherKLCallback(cfg.teacher_kl_coef, cfg.teacher_kl_decay_steps)
    remaining = cfg.total_timesteps - model.num_timesteps
    extra = dict(config=dataclasses.asdict(cfg), map_size=S)
    grad_steps0 = int(payload.get("grad_steps", 0)) if init_net is not None else 0
    if resume_ckpt:  # the init weights' gradient steps, as the run's first checkpoint recorded them
        from agent.net import CheckpointError, load_checkpoint

        try:
            grad_steps0 = int(load_checkpoint(os.path.join(run_dir, "checkpoints", "latest.pt"))[1].get("grad_steps0", 0))
        except CheckpointError:
            grad_steps0 = 0
    ckpt_cb = CheckpointCallback(run_dir, cfg.checkpoint_interval, cfg.pool_interval, extra=extra, grad_steps0=grad_steps0,
                                 minibatches=-(-cfg.n_steps * cfg.n_envs // cfg.batch_size))
    cbs = [LuxStatsCallback(), ckpt_cb] + ([teacher_cb] if teacher_cb else [])
    if cfg.reward_anneal_steps:
        cbs.append(RewardAnnealCallback(cfg.reward_anneal_steps))
    if cfg.value_warmup_steps:
        cbs.append(ValueWarmupCallback(cfg.value_warmup_steps))
    if cfg.vec_env in ("subproc", "ray") and cfg.n_envs > 1:
        cbs.append(TorchThreadsCallback(collect=1, update=cfg.torch_threads))
    if cfg.eval_interval:
        opp = cfg.eval_opponent
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
        if opp == "scripted" and not os.path.isfile(os.path.join(root, "agent", "scripted.py")):
            opp = "random"
        from training.evaluation.evaluate import guard_kwargs

        # the agent as it would be packaged (greedy, the run's sample_factories and guards), on full games
        # (max_episode_length) unless eval_max_turns > 0 asks for shorter ones
        cbs.append(EvalCallback(run_dir, cfg.eval_interval, opp, parse_seed_range(cfg.eval_seeds, "eval_seeds"),
                                cfg.rules, cfg.eval_max_turns or cfg.max_episode_length, extra=extra, greedy=True,
                                sample_factories=cfg.sample_factories, guards=guard_kwargs(cfg)))
    callbacks = CallbackList(cbs)
    mem = model.rollout_buffer.bytes_per_step()
    print(f"run folder: {run_dir} (device {model.device}" + (f", amp {cfg.amp})" if cfg.amp != "none" else ")"))
    print(f"rollout buffer per env step: {sum(v for k, v in mem.items() if k != 'masks_if_float32') / 1024:.0f} KiB "
          f"(masks {mem['masks'] / 1024:.1f} KiB bit-packed; float32 masks would be {mem['masks_if_float32'] / 1024:.0f} KiB)")
    if remaining > 0:
        t0 = time.time()
        model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=not resume_ckpt,
                    progress_bar=cfg.progress_bar, log_interval=cfg.log_interval, tb_log_name="ppo")
        dt = time.time() - t0
        print(f"trained {remaining} steps in {dt:.0f} s ({remaining / max(dt, 1e-9):.1f} steps/s)")
    else:
        print(f"nothing to do: {model.num_timesteps} >= total_timesteps={cfg.total_timesteps}")
        ckpt_cb.init_callback(model)
        ckpt_cb.save()
    venv.close()
    print(f"latest weights: {os.path.join(run_dir, 'checkpoints', 'latest.pt')}")
    return run_dir
