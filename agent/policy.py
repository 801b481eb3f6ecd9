"""Policies that act through the map-shaped head with numpy only (no torch needed).

``sample_uniform_masked`` draws, independently per cell and component, a uniformly random
choice among the unmasked ones: the "random-masked" opponent and the policy the mask tests
play with.
"""

import numpy as np

from agent.actions import C_FACTORY, C_TYPE, NUM_COMPONENTS, NVEC, OFFSETS, ROBOT_SUB_COMPONENTS, USES
from agent.masks import action_masks


def sample_masked(logits, masks, rng, greedy=False, joint=False):
    """Sample one choice per cell and component from masked logits (Gumbel-max trick).

    Args:
        logits (np.ndarray): float (S, S, A) (cell-major) or None for uniform.
        masks (np.ndarray): bool (S, S, A), A = 34.
        rng (np.random.Generator): randomness source.
        greedy (bool | sequence of bool): take the argmax instead of sampling; one bool for every
            component, or K = 7 bools, one per component (:data:`agent.actions.COMPONENTS` order),
            e.g. robots greedy and the factory head sampled (:func:`component_greedy`).
        joint (bool): where the robot type is greedy, choose it by the joint argmax of the cell's
            robot action (:func:`joint_robot_type`) instead of the type's own argmax; its used
            components are their argmax either way. Ignored without ``logits``.

    Returns:
        np.ndarray: int64 (S, S, K), K = 7; a component with no legal choice yields 0.

    Raises:
        ValueError: ``greedy`` is a sequence whose length is not K.
    """
    S = masks.shape[0]
    per_component = np.asarray(greedy, bool).reshape(-1)
    if per_component.size == 1:
        per_component = np.repeat(per_component, NUM_COMPONENTS)
    elif per_component.size != NUM_COMPONENTS:
        raise ValueError(f"greedy has {per_component.size} entries, expected 1 or {NUM_COMPONENTS} (one per component)")
    sampled = np.repeat(~per_component, NVEC)  # (A,): the logits of the sampled components
    if logits is None:  # uniform: random scores on the sampled components, argmax (first legal) elsewhere
        scores = np.zeros(masks.shape)
        if sampled.any():
            scores[:, :, sampled] = rng.random((S, S, int(sampled.sum())))
    else:  # Gumbel-max on the sampled components, argmax elsewhere
        scores = np.asarray(logits, np.float64)
        if sampled.any():
            scores = scores.copy()
            scores[:, :, sampled] += -np.log(-np.log(rng.random((S, S, int(sampled.sum()))) + 1e-300) + 1e-300)
    scores = np.where(masks, scores, -np.inf)
    out = np.zeros((S, S, NUM_COMPONENTS), np.int64)
    for k in range(NUM_COMPONENTS):
        sl = scores[:, :, OFFSETS[k]:OFFSETS[k] + NVEC[k]]
        out[:, :, k] = np.argmax(sl, axis=2)
    if joint and logits is not None and per_component[C_TYPE]:
        x, y = np.nonzero(masks[:, :, OFFSETS[C_TYPE]:OFFSETS[C_TYPE] + NVEC[C_TYPE]].any(axis=2))
        if len(x):
            out[x, y, C_TYPE] = joint_robot_type(np.asarray(logits)[x, y], masks[x, y])
    return out


def _masked_log_softmax(z, m):
    """float64 (N, n): log-softmax of logits ``z`` over the legal choices ``m`` (bool (N, n)); -inf
    where illegal (a row without a legal choice is all -inf)."""
    z = np.where(m, np.asarray(z, np.float64), -np.inf)
    top = z.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(m, z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True)), -np.inf)


def joint_robot_type(logits, masks):
    """The robot type of the joint argmax of each cell's robot action: int64 (N,).

    The net's distribution factorises per component, and a robot type uses some of them
    (:data:`agent.actions.USES`: move a direction, transfer a direction, resource and amount, ...), so
    the likeliest whole action has type ``argmax_t log p(t) + sum_{k used by t} max_c log p(k = c)``
    (the torch twin: :meth:`agent.distribution.MaskedGridDistribution.joint_mode`). The type's own
    argmax instead favours the types whose probability is spread over many sub-choices:
    ``p(move) = 0.5`` over four directions beats ``p(dig) = 0.3``, though every single move has
    probability 0.125.

    Args:
        logits (np.ndarray): float (N, A) logits of N cells, A = 34.
        masks (np.ndarray): bool (N, A) legal choices; every row has a legal robot type.
    """
    sub = np.zeros((len(logits), NUM_COMPONENTS))
    for k in range(C_TYPE + 1, C_FACTORY):
        sl = slice(OFFSETS[k], OFFSETS[k] + NVEC[k])
        lp = _masked_log_softmax(logits[:, sl], masks[:, sl]).max(axis=1)
        sub[:, k] = np.where(np.isfinite(lp), lp, 0.0)  # a component with no legal choice adds nothing
    sl = slice(OFFSETS[C_TYPE], OFFSETS[C_TYPE] + NVEC[C_TYPE])
    score = _masked_log_softmax(logits[:, sl], masks[:, sl])
    score = score + sub[:, ROBOT_SUB_COMPONENTS] @ USES[:, ROBOT_SUB_COMPONENTS].T.astype(np.float64)
    return np.argmax(score, axis=1)


def component_greedy(greedy, sample_factories=False):
    """Per-component ``greedy`` flags for :func:`sample_masked`: bool (K,), K = 7.

    ``sample_factories`` samples the factory head (build LIGHT / HEAVY, water, nothing) even when
    the robots play greedily: a cloned net that gives the teacher's occasional LIGHT build a
    probability of 0.2 never builds one by argmax, but does when sampled (notes/log/training_log.md).
    """
    flags = np.full(NUM_COMPONENTS, bool(greedy))
    if sample_factories:
        flags[C_FACTORY] = False
    return flags


def sample_uniform_masked(masks, rng):
    """Uniform random legal choice per cell and component: int64 (S, S, 7)."""
    return sample_masked(None, masks, rng)


class RandomMaskedPolicy:
    """The random-masked policy: ``policy(state) -> int64 (S, S, 7)``, a uniform legal choice per
    cell and component (``agent.masks.action_masks``)."""

    def __init__(self, seed=None):
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed):
        """Restart the random stream (``LuxGridEnv.reset`` calls it so episodes repeat exactly)."""
        self.rng = np.random.default_rng(seed)

    def __call__(self, state):
        return sample_uniform_masked(action_masks(state), self.rng)
