"""Opponents for self-play: the random-masked policy, a pool of earlier checkpoints, and bots.

``PoolOpponent`` is given to each ``LuxGridEnv`` (it lives in the env's subprocess). At every
episode start (``reseed``) it picks one of ``bots`` (``bot:PATH`` folders whose main.py speaks the
Lux protocol, :mod:`training.botproc`) with probability ``p_bot``, else the scripted baseline
(agent/scripted.py, in-process) with probability ``p_scripted``, else the random-masked policy
with probability ``p_random``, else one of the ``*.pt`` snapshots in ``pool_dir`` (the newest half
twice as likely), which the trainer adds every ``pool_interval`` steps. Snapshots are plain
``agent.net`` checkpoints, played by :class:`agent.player.NetPolicy` (sampling, one torch thread).
A bot is one subprocess per game, fed by ``LuxGridEnv`` through :meth:`PoolOpponent.protocol_act`
(``protocol`` is True for that game); a bot that crashes or times out leaves the rest of its game
to the random-masked policy, with one stderr line.
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

    def __init__(self, pool_dir, p_random=0.3, seed=0, bots=(), p_bot=0.0, p_scripted=0.0):
        from training.botproc import bot_folder

        self.pool_dir = pool_dir
        self.p_random = float(p_random)
        self.bots = [bot_folder(b) for b in bots]  # ValueError: a folder without main.py
        self.p_bot = float(p_bot) if self.bots else 0.0
        self.p_scripted = float(p_scripted)
        self.bot = None  # the ProtocolBot of this game
        self.rng = np.random.default_rng(seed)
        self.random = RandomMaskedOpponent(seed)
        self.current = self.random
        self.current_name = "random"
        self._cache = {}

    @property
    def protocol(self):
        """True while this game's opponent is a protocol bot (LuxGridEnv then calls protocol_act)."""
        return self.bot is not None

    def protocol_act(self, msg):
        """The bot's action dict for one protocol message; on a BotError the random-masked policy
        takes over for the rest of the game (the error goes up once, for LuxGridEnv's stderr line)."""
        from training.botproc import BotError

        try:
            return self.bot.act(msg)
        except BotError:
            self.bot = None
            self.current, self.current_name = self.random, "random"
            raise

    def reseed(self, seed):
        self.rng = np.random.default_rng(seed)
        self.random.reseed(seed)
        self._pick()

    def _pick(self):
        if self.bot is not None:
            self.bot.close()
            self.bot = None
        if self.bots and self.rng.random() < self.p_bot:
            from training.botproc import ProtocolBot

            folder = self.bots[int(self.rng.integers(len(self.bots)))]
            self.bot = ProtocolBot(folder)
            self.current, self.current_name = None, "bot:" + folder
            return
        if self.p_scripted and self.rng.random() < self.p_scripted:
            # a fresh one per game (its robot memory is per game); ValueError without agent/scripted.py
            self.current = policy_from_spec("scripted", seed=int(self.rng.integers(1 << 30)))
            self.current_name = "scripted"
            return
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
