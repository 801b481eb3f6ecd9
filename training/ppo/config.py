"""One typed training config; every key can be overridden as ``key=value`` on the command line.

``parse_overrides(["n_envs=2", "rules=kaggle"])`` returns a validated :class:`TrainConfig`; an
unknown key or a value of the wrong type raises :class:`ConfigError` listing the valid keys.
Defaults train on a 2-core CPU in a few minutes (``python train.py``).
"""

import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field

from agent.guards import REGISTRY
from training.kv import ConfigError, check_disjoint, convert_value, parse_seed_range, split_kv
from training.ppo.policy import MASKING_MODES
from wrappers.engine import RULES
from wrappers.lux_env import DEFAULT_REWARD_WEIGHTS, REWARD_TERMS


# the weights the kit ships, which the default run continues from (init_weights=shipped)
SHIPPED_WEIGHTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "agent", "weights",
                               "model.pt")


def _with_guard_fields(cls):
    """Give ``cls`` one ``bool`` field per decoding guard of :data:`agent.guards.REGISTRY`, off by
    default (``water_guard`` ...): a new guard needs no line here. Applied before ``@dataclass``."""
    for guard in REGISTRY:
        cls.__annotations__[guard.key] = bool
        setattr(cls, guard.key, False)
    return cls


@dataclass
@_with_guard_fields
class TrainConfig:
    # run
    name: str = "default"                 # runs/<name>/<date>-<time>/
    run_dir: str = ""                     # explicit run folder (overrides runs/<name>/<date>-<time>)
    resume: str = ""                      # a run folder to continue after a kill
    seed: int = 0
    mode: str = "train"                   # train | test (test mode: issue #6)
    # game
    rules: str = "small"                  # neurips | kaggle | small | tiny (see wrappers/engine.py)
    map_size: int = 0                     # 0 = the preset's size; else 16 | 32 | 48 | 64
    max_episode_length: int = 1000        # turns of the main phase
    train_seeds: str = "0:1000000"        # map seeds for training, start:stop
    bid: int = 0
    opponent: str = "pool"                # pool (earlier checkpoints + random) | random
    pool_random_prob: float = 0.3         # chance a game is against the random-masked policy
    pool_interval: int = 4096             # steps between snapshots added to the opponent pool
    pool_agents: str = ""                 # comma list of agent specs in the opponent pool: scripted | random |
                                          #   weights.pt | an agent folder (agent.json, e.g. agent/weights) | bot:PATH
    pool_agent_prob: float = 0.3          # chance a game is against one of pool_agents (when given)
    # reward weights (see wrappers/lux_env.py REWARD_TERMS)
    reward: dict = field(default_factory=lambda: dict(DEFAULT_REWARD_WEIGHTS))
    invalid_penalty: float = 0.1          # reward per invalid choice (masking=penalty only)
    reward_anneal_steps: int = 0          # >0: every term but win decays linearly to 0 over these steps
    # algorithm (stable-baselines3 / sb3-contrib MaskablePPO)
    masking: str = "full"                 # full | naive | penalty (notes/masking.md)
    total_timesteps: int = 24576          # the default run: ~9 minutes on 2 cores (evaluations included)
    n_envs: int = 2
    n_steps: int = 256                    # per env per rollout
    batch_size: int = 128
    n_epochs: int = 2
    learning_rate: float = 3e-4
    gamma: float = 0.995
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.001
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float = 0.0                # 0 = no early stop
    net: str = "auto"                     # auto (the init weights' net, else small) | small | medium | large | cone
    init_weights: str = "shipped"         # shipped (agent/weights/model.pt) | none (from scratch) | a .pt file
    teacher: str = "init"                 # KL(teacher || policy) term toward: init (the init weights) | none | a .pt file
    teacher_kl_coef: float = 0.05         # its weight at step 0 (needs ent_coef > 0)
    teacher_kl_decay_steps: int = 100000  # linear decay of that weight to 0
    value_warmup_steps: int = 0           # >0: only the value head trains for these first steps (fit a cloned policy's critic)
    normalize_reward: bool = False        # divide rewards by the running std of the discounted return (SB3 VecNormalize)
    torch_threads: int = 1                # 2 was measured slower on the 2-core machine (benchmarks/train_throughput.py)
    vec_env: str = "subproc"              # subproc | dummy | ray (environments as Ray actors: training/cluster.py)
    device: str = "auto"                  # auto (cuda if available) | cpu | cuda: rollout policy and update (training/device.py)
    amp: str = "none"                     # none | bf16 (CUDA autocast of the net)
    # where games run (training/cluster.py): test mode, sweeps (index=A:B), vec_env=ray
    backend: str = "local"                # local | ray (one Ray task per test game / sweep run)
    ray_address: str = ""                 # "" = start Ray on this machine | auto | HOST:PORT of a 'ray start --head'
    # test mode (training/evaluation/evaluate.py) and periodic evaluation
    checkpoint: str = ""                  # weights to test (mode=test); empty = random-masked
    opponents: str = "random"             # comma list: random, scripted, paths to weights
    test_seeds: str = "1000000:1000010"   # held-out map seeds, disjoint from train_seeds
    test_workers: int = 2
    greedy: bool = False                  # test mode: play the checkpoint's most likely legal choices, no sampling
    sample_factories: bool = False        # test mode with greedy: still sample the factory head (agent.json key)
    # + one bool per decoding guard of agent.guards.REGISTRY (water_guard=true ...; agent.json keys), off by
    #   default: training masks and test mode (_with_guard_fields; README's table of guards)
    replays: bool = True                  # write one replay JSON per test game
    replay_plots: bool = False            # test mode: also each replay's timeline PNG beside it (training/evaluation/render.py)
    baseline: str = ""                    # test mode: an earlier results.json (or list of games) to pair each game with
    eval_interval: int = 8192             # steps between evaluations during training (0 = off)
    eval_opponent: str = "scripted"       # scripted (random if agent/scripted.py is absent) | random | path
    eval_seeds: str = "1000110:1000111"   # validation seeds of the periodic evaluation (both sides each; not the test seeds)
    eval_max_turns: int = 0               # main-phase turns of an evaluation game (0 = full games: max_episode_length)
    # logging / checkpoints
    checkpoint_interval: int = 4096       # steps between checkpoints
    progress_bar: bool = True
    log_interval: int = 1

    def resolved_map_size(self):
        return self.map_size or RULES[self.rules]["map_size"]

    def resolved_init_weights(self):
        """Path of the starting weights ("" = from scratch): ``shipped`` is the weights the kit
        ships (agent/weights/model.pt), ``none`` or empty is none."""
        if self.init_weights in ("", "none"):
            return ""
        if self.init_weights == "shipped":
            return SHIPPED_WEIGHTS
        return self.init_weights

    def resolved_net(self):
        """The net to build: the preset named by ``net``, or for ``net=auto`` the net_config dict of
        the starting weights (``small`` when training from scratch; the weights of an older kit
        with fewer feature planes are widened to today's, :func:`agent.net.widen_planes`).

        Raises:
            agent.net.CheckpointError: the starting weights cannot be read.
        """
        if self.net != "auto":
            return self.net
        path = self.resolved_init_weights()
        if not path:
            return "small"
        from agent.features import NUM_PLANES
        from agent.net import load_checkpoint

        net_config = dict(load_checkpoint(path)[1]["net_config"])
        if net_config.get("in_planes", NUM_PLANES) < NUM_PLANES:  # train.py widens an older kit's weights
            net_config["in_planes"] = NUM_PLANES
        return net_config

    def resolved_teacher(self):
        """Path of the KL teacher ("" = none): ``init`` is the starting weights."""
        if self.teacher in ("", "none"):
            return ""
        if self.teacher == "init":
            return self.resolved_init_weights()
        return self.teacher

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


def validate(cfg):
    """Check values; raises ConfigError naming the key."""
    if cfg.rules not in RULES:
        raise ConfigError(f"rules={cfg.rules!r}: choose one of {sorted(RULES)}")
    if cfg.map_size not in (0, 16, 32, 48, 64):
        raise ConfigError(f"map_size={cfg.map_size}: use 0 (preset) or one of 16, 32, 48, 64")
    if cfg.masking not in MASKING_MODES:
        raise ConfigError(f"masking={cfg.masking!r}: choose one of {MASKING_MODES}")
    if cfg.mode not in ("train", "test"):
        raise ConfigError(f"mode={cfg.mode!r}: choose train or test")
    if cfg.opponent not in ("pool", "random"):
        raise ConfigError(f"opponent={cfg.opponent!r}: choose pool or random")
    if cfg.vec_env not in ("subproc", "dummy", "ray"):
        raise ConfigError(f"vec_env={cfg.vec_env!r}: choose subproc, dummy or ray")
    if cfg.backend not in ("local", "ray"):
        raise ConfigError(f"backend={cfg.backend!r}: choose local or ray")
    for key in ("n_envs", "n_steps", "batch_size", "n_epochs", "total_timesteps", "checkpoint_interval",
                "pool_interval", "torch_threads", "max_episode_length", "test_workers"):
        if getattr(cfg, key) <= 0:
            raise ConfigError(f"{key}={getattr(cfg, key)} must be positive")
    if cfg.learning_rate <= 0:
        raise ConfigError(f"learning_rate={cfg.learning_rate} must be positive")
    unknown = set(cfg.reward) - set(REWARD_TERMS)
    if unknown:
        raise ConfigError(f"reward has unknown terms {sorted(unknown)}; valid terms: {sorted(REWARD_TERMS)}")
    train = parse_seed_range(cfg.train_seeds, "train_seeds")
    for key in ("test_seeds", "eval_seeds"):
        try:
            check_disjoint(train, parse_seed_range(getattr(cfg, key), key))
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
    from agent.player import check_agent_spec

    for spec in [a.strip() for a in cfg.pool_agents.split(",") if a.strip()]:
        try:
            check_agent_spec(spec)
        except ValueError as e:
            raise ConfigError(f"pool_agents: {e}") from None
    for key in ("pool_agent_prob", "pool_random_prob"):
        if not 0.0 <= getattr(cfg, key) <= 1.0:
            raise ConfigError(f"{key}={getattr(cfg, key)} must be in [0, 1]")
    if cfg.value_warmup_steps < 0:
        raise ConfigError(f"value_warmup_steps={cfg.value_warmup_steps} must be >= 0 (0 = off)")
    if cfg.reward_anneal_steps < 0:
        raise ConfigError(f"reward_anneal_steps={cfg.reward_anneal_steps} must be >= 0 (0 = off)")
    if cfg.eval_interval < 0:
        raise ConfigError(f"eval_interval={cfg.eval_interval} must be >= 0 (0 = off)")
    from agent.net import NET_PRESETS

    if cfg.net != "auto" and cfg.net not in NET_PRESETS:
        raise ConfigError(f"net={cfg.net!r}: choose auto or one of {sorted(NET_PRESETS)}")
    for key in ("init_weights", "teacher"):
        path = getattr(cfg, "resolved_" + key)()
        if path and not os.path.isfile(path):
            raise ConfigError(f"{key}={getattr(cfg, key)}: weights file {path} does not exist"
                              + ("; use init_weights=none to train from scratch" if key == "init_weights" else ""))
    if cfg.resolved_teacher() and cfg.teacher_kl_coef > 0 and cfg.ent_coef <= 0:
        raise ConfigError(f"teacher_kl_coef={cfg.teacher_kl_coef} rides on the entropy term and needs ent_coef > 0 "
                          f"(or teacher=none)")
    from training.device import resolve_device

    try:
        resolve_device(cfg.device, cfg.amp)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return cfg


def parse_overrides(args, base=None):
    """Apply ``key=value`` strings to a TrainConfig (``reward.ice_dug=0.1`` sets one weight).

    Raises:
        ConfigError: malformed argument, unknown key (the message lists the valid keys), bad value.
    """
    cfg = dataclasses.replace(base) if base is not None else TrainConfig()
    cfg.reward = dict(cfg.reward)
    hints = typing.get_type_hints(TrainConfig)
    valid = sorted(hints)
    for key, value in split_kv(args, keys=valid)[1].items():
        if key.startswith("reward."):
            term = key[len("reward."):]
            if term not in REWARD_TERMS:
                raise ConfigError(f"unknown reward term {term!r}; valid terms: {sorted(REWARD_TERMS)}")
            cfg.reward[term] = convert_value(key, float, value)
            continue
        if key not in hints:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(valid)}")
        setattr(cfg, key, convert_value(key, hints[key], value))
    return validate(cfg)


def load_config(path):
    """A TrainConfig from a run folder's config.json (raises ConfigError on unknown keys)."""
    with open(path) as f:
        data = json.load(f)
    hints = typing.get_type_hints(TrainConfig)
    unknown = set(data) - set(hints)
    if unknown:
        raise ConfigError(f"{path} has unknown keys {sorted(unknown)}")
    return validate(TrainConfig(**data))
