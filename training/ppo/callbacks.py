"""SB3 callbacks: Lux game statistics to TensorBoard, checkpoints, and the opponent pool."""

import json
import os
import shutil

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from agent.net import save_checkpoint
from wrappers.lux_env import EPISODE_KEYS as LUX_KEYS  # the one schema of game statistics


class TorchThreadsCallback(BaseCallback):
    """Use ``collect`` torch threads while the VecEnv workers step the games (they need the cores)
    and ``update`` threads for the PPO update (the workers are idle then). With 2 cores and
    SubprocVecEnv, 1 / 2 was measured ~3x faster than 2 threads throughout
    (benchmarks/train_throughput.py)."""

    def __init__(self, collect=1, update=2):
        super().__init__()
        self.collect, self.update = int(collect), int(update)

    def _on_rollout_start(self):
        import torch

        torch.set_num_threads(self.collect)

    def _on_rollout_end(self):
        import torch

        torch.set_num_threads(self.update)

    def _on_step(self):
        return True


class LuxStatsCallback(BaseCallback):
    """Logs per-game Lux statistics (``info["lux"]`` at episode end) as ``lux/<key>`` means, the
    win rate as ``lux/win_rate`` and invalid choices per step as ``lux/invalid_choices_per_step``;
    and per kind of opponent (random, scripted, bot, snapshot: the pool's mix changes as it fills,
    so the overall means are no learning curve) ``lux_vs_<kind>/{win_rate,lichen,factories_alive,
    ice_dug}`` and ``lux_vs_<kind>/games`` (games of that kind among this rollout's)."""

    PER_OPPONENT = ("lichen", "factories_alive", "ice_dug")

    def __init__(self):
        super().__init__()
        self._games = {}

    def _on_step(self):
        infos = self.locals.get("infos", [])
        invalid = [i.get("invalid_choices", 0) for i in infos]
        if invalid:
            self.logger.record_mean("lux/invalid_choices_per_step", float(np.mean(invalid)))
        for info in infos:
            lux = info.get("lux")
            if not lux:
                continue
            for k in LUX_KEYS:
                if k in lux:
                    self.logger.record_mean(f"lux/{k}", float(lux[k]))
            self.logger.record_mean("lux/win_rate", float(lux.get("result", 0) > 0))
            kind = lux.get("opponent")
            if kind:
                self.logger.record_mean(f"lux_vs_{kind}/win_rate", float(lux.get("result", 0) > 0))
                for k in self.PER_OPPONENT:
                    if k in lux:
                        self.logger.record_mean(f"lux_vs_{kind}/{k}", float(lux[k]))
                self._games[kind] = self._games.get(kind, 0) + 1
        return True

    def _on_rollout_start(self):
        self._games = {}

    def _on_rollout_end(self):
        for kind, n in self._games.items():
            self.logger.record(f"lux_vs_{kind}/games", n)


VECNORMALIZE_FILE = "vecnormalize.pkl"  # normalize_reward's running return statistics, beside latest.zip


class CheckpointCallback(BaseCallback):
    """Every ``interval`` steps: weights ``checkpoints/step_<n>.pt`` (torch state_dict + net
    config, loadable without SB3) and ``latest.pt``, the full SB3 model ``latest.zip`` (optimizer
    included, for resume), with ``normalize_reward`` the reward statistics ``vecnormalize.pkl``,
    and ``state.json``; every ``pool_interval`` steps a snapshot into ``pool/`` for self-play.
    Files are written to a temporary name and renamed, so a kill never leaves a half-written
    checkpoint."""

    def __init__(self, run_dir, interval, pool_interval, extra=None, grad_steps0=0, minibatches=1):
        super().__init__()
        self.grad_steps0, self.minibatches = int(grad_steps0), int(minibatches)
        self.run_dir = run_dir
        self.interval = int(interval)
        self.pool_interval = int(pool_interval)
        self.extra = extra or {}
        self.ckpt_dir = os.path.join(run_dir, "checkpoints")
        self.pool_dir = os.path.join(run_dir, "pool")
        os.makedirs(self.ckpt_dir, exist_ok=True)
        os.makedirs(self.pool_dir, exist_ok=True)
        self._next_ckpt = None
        self._next_pool = None

    def _meta(self):
        """What every weights file records: env ``step``, ``grad_steps`` (those of the init weights,
        ``grad_steps0``, plus PPO's epochs x minibatches so far) and the run's ``extra``."""
        return dict(step=self.model.num_timesteps, grad_steps0=self.grad_steps0,
                    grad_steps=self.grad_steps0 + self.model._n_updates * self.minibatches, **self.extra)

    def _init_callback(self):
        n = self.model.num_timesteps
        self._next_ckpt = (n // self.interval + 1) * self.interval
        self._next_pool = (n // self.pool_interval + 1) * self.pool_interval

    def _on_step(self):
        n = self.model.num_timesteps
        if n >= self._next_pool:
            tmp = os.path.join(self.pool_dir, f".tmp_{n}.pt")
            save_checkpoint(tmp, self.model.policy.net, **self._meta())
            os.replace(tmp, os.path.join(self.pool_dir, f"step_{n:09d}.pt"))
            self._next_pool = (n // self.pool_interval + 1) * self.pool_interval
        if n >= self._next_ckpt:
            self.save()
            self._next_ckpt = (n // self.interval + 1) * self.interval
        return True

    def _on_training_end(self):
        self.save()

    def save(self):
        n = self.model.num_timesteps
        tmp = os.path.join(self.ckpt_dir, ".tmp.pt")
        save_checkpoint(tmp, self.model.policy.net, **self._meta())
        shutil.copyfile(tmp, os.path.join(self.ckpt_dir, ".tmp2.pt"))
        os.replace(tmp, os.path.join(self.ckpt_dir, f"step_{n:09d}.pt"))
        os.replace(os.path.join(self.ckpt_dir, ".tmp2.pt"), os.path.join(self.ckpt_dir, "latest.pt"))
        tmpzip = os.path.join(self.ckpt_dir, ".tmp_model")
        self.model.save(tmpzip)
        os.replace(tmpzip + ".zip", os.path.join(self.ckpt_dir, "latest.zip"))
        norm = self.model.get_vec_normalize_env()
        if norm is not None:  # normalize_reward: its running return statistics, for resume
            tmp = os.path.join(self.ckpt_dir, ".tmp_" + VECNORMALIZE_FILE)
            norm.save(tmp)
            os.replace(tmp, os.path.join(self.ckpt_dir, VECNORMALIZE_FILE))
        state = {"num_timesteps": int(n), "pool": sorted(os.listdir(self.pool_dir))}
        with open(os.path.join(self.ckpt_dir, ".state.json"), "w") as f:
            json.dump(state, f)
        os.replace(os.path.join(self.ckpt_dir, ".state.json"), os.path.join(self.ckpt_dir, "state.json"))
        if self.verbose:
            print(f"checkpoint at {n} steps -> {self.ckpt_dir}")


class EvalCallback(BaseCallback):
    """Every ``interval`` steps, play the current weights against ``opponent`` on held-out seeds
    (both sides) and log ``eval/win_rate``, ``eval/lichen``, ``eval/factories_alive`` and
    ``eval/game_length`` (training/evaluation/evaluate.py).

    The weights play as they would be packaged: ``greedy`` (robots take their most likely legal
    choice), ``sample_factories`` and the decoding ``guards`` of the run (its agent.json keys),
    games of ``max_turns`` main-phase turns (the run passes its ``max_episode_length``, full games,
    unless ``eval_max_turns`` says otherwise), so ``eval/win_rate`` means what test mode's and the
    league's win rates mean. Before, the weights sampled every choice without guards in 300-turn
    games: another agent and another game."""

    def __init__(self, run_dir, interval, opponent, seeds, rules, max_turns, extra=None, greedy=True,
                 sample_factories=False, guards=None):
        super().__init__()
        self.run_dir, self.interval, self.opponent = run_dir, int(interval), opponent
        self.seeds, self.rules, self.max_turns = seeds, rules, int(max_turns)
        self.greedy, self.sample_factories, self.guards = bool(greedy), bool(sample_factories), dict(guards or {})
        self.extra = extra or {}
        self._next = None

    def _init_callback(self):
        self._next = (self.model.num_timesteps // self.interval + 1) * self.interval

    def _on_step(self):
        if self.model.num_timesteps >= self._next:
            self.evaluate()
            self._next = (self.model.num_timesteps // self.interval + 1) * self.interval
        return True

    def evaluate(self):
        from training.evaluation.evaluate import evaluate

        path = os.path.join(self.run_dir, "checkpoints", "eval_current.pt")
        save_checkpoint(path, self.model.policy.net, step=self.model.num_timesteps, **self.extra)
        report = evaluate(path, [self.opponent], self.seeds, rules=self.rules, max_episode_length=self.max_turns,
                          workers=1, progress=False, greedy=self.greedy, sample_factories=self.sample_factories,
                          **self.guards)[self.opponent]
        for k in ("win_rate", "lichen", "factories_alive", "game_length", "opp_lichen"):
            self.logger.record(f"eval/{k}", report[k])
        self.logger.record("eval/opponent", self.opponent, exclude="tensorboard")
        return report


class TeacherKLCallback(BaseCallback):
    """Decay the kickstarting coefficient linearly from ``coef`` to 0 over the first
    ``decay_steps`` steps and log ``kickstart/coef``, ``kickstart/teacher_kl`` and the true
    ``kickstart/entropy`` (SB3's ``train/entropy_loss`` then includes the KL term)."""

    def __init__(self, coef, decay_steps):
        super().__init__()
        self.coef, self.decay_steps = float(coef), max(int(decay_steps), 1)

    def _on_rollout_start(self):
        c = self.coef * max(0.0, 1.0 - self.model.num_timesteps / self.decay_steps)
        self.model.policy.teacher_coef = c
        self.logger.record("kickstart/coef", c)
        for name in ("last_teacher_kl", "last_entropy"):
            if hasattr(self.model.policy, name):
                self.logger.record(f"kickstart/{name[5:]}", getattr(self.model.policy, name))

    def _on_step(self):
        return True


class RewardAnnealCallback(BaseCallback):
    """Anneal the reward from the dense terms to the game result: before each rollout, scale every
    term but ``win`` by ``max(0, 1 - num_timesteps / steps)`` in every environment
    (``LuxGridEnv.set_dense_scale``) and log it as ``lux/dense_reward_scale``."""

    def __init__(self, steps):
        super().__init__()
        self.steps = max(int(steps), 1)

    def _on_rollout_start(self):
        scale = max(0.0, 1.0 - self.model.num_timesteps / self.steps)
        self.training_env.env_method("set_dense_scale", scale)
        self.logger.record("lux/dense_reward_scale", scale)

    def _on_step(self):
        return True


class ValueWarmupCallback(BaseCallback):
    """Train only the value head for the first ``steps`` steps: before each rollout, every other
    parameter of the net gets ``requires_grad=False`` while ``num_timesteps < steps`` (Adam then
    skips them: their gradients stay None), and all train afterwards. Logged as
    ``train/value_warmup`` (1 while frozen). Weights cloned from a teacher come with an untrained
    critic, whose random advantages would otherwise push the policy away from the clone."""

    def __init__(self, steps):
        super().__init__()
        self.steps = int(steps)

    def _on_rollout_start(self):
        frozen = self.model.num_timesteps < self.steps
        for name, p in self.model.policy.net.named_parameters():
            if not name.startswith("value_head"):
                p.requires_grad_(not frozen)
        self.logger.record("train/value_warmup", float(frozen))

    def _on_step(self):
        return True
