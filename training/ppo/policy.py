"""stable-baselines3 integration: the GridNet policy and a rollout buffer with bit-packed masks.

``GridPolicy`` plugs :class:`agent.net.GridNet` and :class:`agent.distribution.MaskedGridDistribution`
into sb3-contrib's ``MaskablePPO`` (it must subclass ``MaskableActorCriticPolicy``; we replace
its network and distribution, the algorithm loop, GAE, clipping, logging and optimiser stay
SB3's). Masks arrive from ``env.action_masks()`` as bool (n_envs, S*S*34).

``masking`` selects the ablation arm of notes/masking.md:

* ``full``: masks when sampling and in the update (log-prob, entropy).
* ``naive``: masks when sampling only; the update evaluates the unmasked distribution (only the
  presence of robots/factories, read from the masks, is kept so absent cells still count nothing).
* ``penalty``: no masks anywhere (presence only); the env turns invalid choices into no-ops and
  charges ``invalid_penalty`` reward each.

``PackedMaskDictRolloutBuffer`` stores masks as ``np.packbits`` (1 bit per choice: 8x smaller than
bool, 32x smaller than sb3-contrib's float32) and unpacks per minibatch.
"""

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableDictRolloutBufferSamples
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.buffers import DictRolloutBuffer

from agent.actions import C_TYPE, FACTORY_LOGITS, NUM_COMPONENTS, NUM_LOGITS, ROBOT_LOGITS, component_slice
from agent.distribution import MaskedGridDistribution
from agent.net import build_net

MASKING_MODES = ("full", "naive", "penalty")


def presence_only(masks):
    """bool (B, S, S, 34): every choice allowed wherever a robot / factory center is.

    Presence is read from the validity masks without leaking validity: a robot is on a cell when
    its robot_type component has any legal choice (keep always is), and then *all* its six
    components are fully allowed; likewise the factory component on factory centers. Used by the
    ``naive`` update and the ``penalty`` arm.
    """
    out = torch.zeros_like(masks)
    robot = masks[..., component_slice(C_TYPE)].any(dim=-1, keepdim=True)
    factory = masks[..., FACTORY_LOGITS].any(dim=-1, keepdim=True)
    out[..., ROBOT_LOGITS] = robot
    out[..., FACTORY_LOGITS] = factory
    return out


class GridPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy: GridNet trunk, per-cell logits, MaskedGridDistribution.

    Extra kwargs: ``net_config`` (dict or preset name), ``map_size`` (int), ``masking``
    (full | naive | penalty).
    """

    def __init__(self, observation_space, action_space, lr_schedule, net_config="small", map_size=None,
                 masking="full", **kwargs):
        if masking not in MASKING_MODES:
            raise ValueError(f"masking must be one of {MASKING_MODES}, got {masking!r}")
        self.net_config = net_config
        self.masking = masking
        self.map_size = int(map_size or observation_space["planes"].shape[-1])
        kwargs.pop("net_arch", None)
        super().__init__(observation_space, action_space, lr_schedule, ortho_init=False, **kwargs)

    def _build(self, lr_schedule):
        self.net = build_net(self.net_config)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self):
        data = super()._get_constructor_parameters()
        data.update(net_config=self.net_config, map_size=self.map_size, masking=self.masking)
        return data

    # ------------------------------------------------------------------ helpers
    def _masks(self, action_masks, batch, for_update):
        S = self.map_size
        if action_masks is None:
            raise ValueError("GridPolicy needs action masks (env.action_masks()); presence of units comes from them")
        m = torch.as_tensor(np.asarray(action_masks) if not torch.is_tensor(action_masks) else action_masks,
                            device=self.device).to(torch.bool).reshape(batch, S, S, NUM_LOGITS)
        if self.masking == "penalty" or (self.masking == "naive" and for_update):
            m = presence_only(m)
        return m

    def _dist(self, obs, action_masks, for_update):
        logits, values = self.net(obs["planes"], obs["globals"])
        masks = self._masks(action_masks, logits.shape[0], for_update)
        return MaskedGridDistribution(logits, masks), values

    # ------------------------------------------------------------------ SB3 API
    def forward(self, obs, deterministic=False, action_masks=None):
        dist, values = self._dist(obs, action_masks, for_update=False)
        actions = dist.mode() if deterministic else dist.sample()
        log_prob = dist.log_prob(actions)
        return actions.reshape(actions.shape[0], -1), values, log_prob

    def set_teacher(self, net, coef, ent_coef):
        """Kickstarting: add ``coef * KL(teacher || policy)`` to the PPO loss (notes/masking.md:
        its gradient on the policy logits is p - q, zero where both mask).

        SB3's loss is ``pg + ent_coef * (-mean(entropy)) + vf_coef * value``; ``evaluate_actions``
        returns ``entropy - (coef / ent_coef) * KL`` so that the entropy term carries the KL term
        exactly. ``last_teacher_kl`` / ``last_entropy`` keep the true values for logging.
        """
        if ent_coef <= 0:
            raise ValueError("a teacher KL term needs ent_coef > 0 (it rides on SB3's entropy term)")
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        # kept out of the module tree: not in state_dict, optimizer or the saved SB3 model
        self.__dict__["teacher"] = net
        self.teacher_coef = float(coef)
        self.teacher_ent_coef = float(ent_coef)

    def evaluate_actions(self, obs, actions, action_masks=None):
        dist, values = self._dist(obs, action_masks, for_update=True)
        S = self.map_size
        a = actions.long().reshape(actions.shape[0], S, S, NUM_COMPONENTS)
        entropy = dist.entropy()
        teacher = getattr(self, "teacher", None)
        if teacher is not None and self.teacher_coef > 0:
            with torch.no_grad():
                t_logits, _ = teacher(obs["planes"], obs["globals"])
                t_dist = MaskedGridDistribution(t_logits, self._masks(action_masks, t_logits.shape[0], True))
            kl = t_dist.kl(dist)
            self.last_teacher_kl = float(kl.detach().mean())
            self.last_entropy = float(entropy.detach().mean())
            entropy = entropy - (self.teacher_coef / self.teacher_ent_coef) * kl
        return values, dist.log_prob(a), entropy

    def get_distribution(self, obs, action_masks=None):
        return _SB3DistAdapter(*self._dist(obs, action_masks, for_update=False))

    def predict_values(self, obs):
        _, values = self.net(obs["planes"], obs["globals"])
        return values

    def _predict(self, observation, deterministic=False, action_masks=None):
        dist, _ = self._dist(observation, action_masks, for_update=False)
        a = dist.mode() if deterministic else dist.sample()
        return a.reshape(a.shape[0], -1)


class _SB3DistAdapter:
    """What SB3 code calls on ``policy.get_distribution(...)``."""

    def __init__(self, dist, values):
        self.dist = dist

    def get_actions(self, deterministic=False):
        a = self.dist.mode() if deterministic else self.dist.sample()
        return a.reshape(a.shape[0], -1)

    def entropy(self):
        return self.dist.entropy()


class PackedMaskDictRolloutBuffer(MaskableDictRolloutBuffer):
    """MaskableDictRolloutBuffer that keeps masks bit-packed (uint8, 1 bit per choice)."""

    def reset(self):
        if not isinstance(self.action_space, spaces.MultiDiscrete):
            raise ValueError("PackedMaskDictRolloutBuffer supports MultiDiscrete action spaces only")
        self.mask_dims = int(np.sum(self.action_space.nvec))
        self.packed_dims = (self.mask_dims + 7) // 8
        self.action_masks = np.zeros((self.buffer_size, self.n_envs, self.packed_dims), dtype=np.uint8)
        DictRolloutBuffer.reset(self)

    def add(self, *args, action_masks=None, **kwargs):
        if action_masks is not None:
            m = np.asarray(action_masks, dtype=bool).reshape(self.n_envs, self.mask_dims)
            self.action_masks[self.pos] = np.packbits(m, axis=1)
        DictRolloutBuffer.add(self, *args, **kwargs)

    def _get_samples(self, batch_inds, env=None):
        masks = np.unpackbits(self.action_masks[batch_inds], axis=1, count=self.mask_dims).astype(bool)
        return MaskableDictRolloutBufferSamples(
            observations={key: self.to_torch(obs[batch_inds]) for (key, obs) in self.observations.items()},
            actions=self.to_torch(self.actions[batch_inds]),
            old_values=self.to_torch(self.values[batch_inds].flatten()),
            old_log_prob=self.to_torch(self.log_probs[batch_inds].flatten()),
            advantages=self.to_torch(self.advantages[batch_inds].flatten()),
            returns=self.to_torch(self.returns[batch_inds].flatten()),
            action_masks=torch.as_tensor(masks, device=self.device),
        )

    def bytes_per_step(self):
        """Memory of one stored transition of one env, by field (bytes)."""
        out = {f"obs/{k}": v[0, 0].nbytes for k, v in self.observations.items()}
        out.update(actions=self.actions[0, 0].nbytes, masks=self.action_masks[0, 0].nbytes,
                   scalars=4 * 6)
        out["masks_if_float32"] = 4 * self.mask_dims
        return out
