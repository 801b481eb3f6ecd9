"""Policies that act through the map-shaped head with numpy only (no torch needed).

``sample_uniform_masked`` draws, independently per cell and component, a uniformly random
choice among the unmasked ones: the "random-masked" opponent and the policy the mask tests
play with.
"""

import numpy as np

from agent.actions import NUM_COMPONENTS, NVEC, OFFSETS
from agent.masks import action_masks


def sample_masked(logits, masks, rng, greedy=False):
    """Sample one choice per cell and component from masked logits (Gumbel-max trick).

    Args:
        logits (np.ndarray): float (S, S, A) (cell-major) or None for uniform.
        masks (np.ndarray): bool (S, S, A), A = 34.
        rng (np.random.Generator): randomness source.
        greedy (bool): take the argmax instead of sampling.

    Returns:
        np.ndarray: int64 (S, S, K), K = 7; a component with no legal choice yields 0.
    """
    S = masks.shape[0]
    if logits is None:
        scores = rng.random(masks.shape) if not greedy else np.zeros(masks.shape)
    else:
        scores = np.asarray(logits, np.float64)
        if not greedy:
            scores = scores - np.log(-np.log(rng.random(masks.shape) + 1e-300) + 1e-300)
    scores = np.where(masks, scores, -np.inf)
    out = np.zeros((S, S, NUM_COMPONENTS), np.int64)
    for k in range(NUM_COMPONENTS):
        sl = scores[:, :, OFFSETS[k]:OFFSETS[k] + NVEC[k]]
        out[:, :, k] = np.argmax(sl, axis=2)
    return out


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
