"""Opponents for self-play: the random-masked policy, a pool of earlier checkpoints, and agents.

``PoolOpponent`` is given to each ``LuxGridEnv`` (it lives in the env's subprocess). At every
episode start (``reseed``) it picks, with probability ``p_agent``, one of ``agents``: specs of the
kit's one agent-spec language (:func:`agent.player.check_agent_spec`: ``scripted``, ``random``, a
weights file played sampled, an agent folder played exactly as its agent.json says, e.g. the
shipped ``agent/weights``, or ``bot:PATH``, a protocol bot, :mod:`training.botproc`); else the
random-masked policy with probability ``p_random``; else one of the ``*.pt`` snapshots in
``pool_dir`` (the newest half twice as likely), which the trainer adds every ``pool_interval``
steps. Snapshots are plain ``agent.net`` checkpoints, played by :class:`agent.player.NetPolicy`
(sampling, one torch thread). An in-process agent is built fresh for each game with a seed the pool
draws (its robot memory and random stream are per game). A bot is one subprocess per game, fed by
``LuxGridEnv`` through :meth:`PoolOpponent.protocol_act` (``protocol`` is True for that game); a
bot that crashes or times out leaves the rest of its game to the random-masked policy, with one
stderr line.
"""

import glob
import os

import numpy as np
import torch

from agent.actions import decode
from agent.net import CheckpointError
from agent.player import agent_folder_config, bot_folder, check_agent_spec, is_bot_spec, policy_from_spec
from wrappers.lux_env import RandomMaskedOpponent


class PoolOpponent:
    """Opponent drawn per game from ``agents``, {random-masked} and the checkpoints in ``pool_dir``.

    Raises:
        ValueError: an entry of ``agents`` that is not an agent spec (one line).
    """

    def __init__(self, pool_dir, p_random=0.3, seed=0, agents=(), p_agent=0.0):
        self.pool_dir = pool_dir
        self.p_random = float(p_random)
        self.agents = [str(a) for a in agents]
        for spec in self.agents:
            check_agent_spec(spec)
        self.p_agent = float(p_agent) if self.agents else 0.0
        self.bot = None  # the ProtocolBot of this game
        self.rng = np.random.default_rng(seed)
        self.random = RandomMaskedOpponent(seed)
        self.current = self.random
        self.current_name = "random"
        self._cache = {}
        self._nets = {}  # weights path -> loaded net, shared by the games of an agent spec

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
        if self.agents and self.rng.random() < self.p_agent:
            self._pick_agent(self.agents[int(self.rng.integers(len(self.agents)))])
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

    def _pick_agent(self, spec):
        """This game's opponent is the agent ``spec`` (see the module docstring)."""
        if is_bot_spec(spec):
            from training.botproc import ProtocolBot

            folder = bot_folder(spec)
            self.bot = ProtocolBot(folder)
            self.current, self.current_name = None, "bot:" + folder
            return
        seed = int(self.rng.integers(1 << 30))
        weights = (agent_folder_config(spec) or {"spec": spec})["spec"]
        if weights in ("random", "scripted"):  # also a folder whose agent.json plays one; ValueError without agent/scripted.py
            self.current, self.current_name = policy_from_spec(spec, seed=seed), weights
            return
        if weights not in self._nets:
            from agent.net import load_checkpoint

            torch.set_num_threads(1)
            self._nets[weights] = load_checkpoint(weights)[0]
        # a weights file sampled; an agent folder as its agent.json says
        self.current = policy_from_spec(spec, seed=seed, net=self._nets[weights])
        self.current_name = "agent:" + spec

    def __call__(self, state):
        if self.current is self.random:
            return self.random(state)
        return decode(state, self.current(state))
