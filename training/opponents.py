"""Opponents for self-play: the random-masked policy and a pool of earlier checkpoints.

``PoolOpponent`` is given to each ``LuxGridEnv`` (it lives in the env's subprocess). At every
episode start (``reseed``) it picks the random-masked policy with probability ``p_random`` and
otherwise one of the ``*.pt`` snapshots in ``pool_dir`` (the newest half twice as likely), which
the trainer adds every ``pool_interval`` steps. Snapshots are plain ``agent.net`` checkpoints,
played by :class:`agent.player.NetPolicy` (sampling, one torch thread).
"""

import glob
import os

import numpy as np
import torch

from agent.actions import decode
from agent.net import CheckpointError
from agent.player import policy_from_spec
from wrappers.lux_env import RandomMaskedOpponent


class PoolOpponent:
    """Opponent drawn per game from {random-masked} + checkpoints in ``pool_dir``."""

    def __init__(self, pool_dir, p_random=0.3, seed=0):
        self.pool_dir = pool_dir
        self.p_random = float(p_random)
        self.rng = np.random.default_rng(seed)
        self.random = RandomMaskedOpponent(seed)
        self.current = self.random
        self.current_name = "random"
        self._cache = {}

    def reseed(self, seed):
        self.rng = np.random.default_rng(seed)
        self.random.reseed(seed)
        self._pick()

    def _pick(self):
        files = sorted(glob.glob(os.path.join(self.pool_dir, "*.pt")), key=os.path.getmtime)
        if not files or self.rng.random() < self.p_random:
            self.current, self.current_name = self.random, "random"
            return
        n = len(files)
        w = np.ones(n)
        w[n // 2:] = 2.0
        path = files[int(self.rng.choice(n, p=w / w.sum()))]
        if path not in self._cache:
            try:
                torch.set_num_threads(1)
                policy = policy_from_spec(path, seed=int(self.rng.integers(1 << 30)), greedy=False)
            except CheckpointError:
                self.current, self.current_name = self.random, "random"
                return
            self._cache = {path: policy}
        self.current, self.current_name = self._cache[path], os.path.basename(path)

    def __call__(self, state):
        if self.current is self.random:
            return self.random(state)
        return decode(state, self.current(state))
