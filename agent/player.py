"""The playing agent: one GameState per player, early phase, masked policy, decoding.

``LuxPlayer.act`` never raises: any exception during a turn yields ``{}`` (every robot keeps its
queue, factories idle) and one line on stderr, so a bot never dies mid-game.

``PlayerRegistry`` keeps one ``LuxPlayer`` per ``player`` key because Kaggle may host both players
of a game in one process (module state is shared).

Only the standard library, numpy and torch are used here (this runs on Kaggle). Every import is
at module level: Kaggle removes the submission folder from ``sys.path`` after loading main.py.
"""

import sys
import time

import numpy as np
import torch

from agent.actions import decode
from agent.distribution import MaskedGridDistribution
from agent.features import encode
from agent.net import load_checkpoint
from agent.early import early_action
from agent.masks import action_masks
from agent.obs import GameState, ObservationError
from agent.policy import sample_uniform_masked


def log(msg):
    """One line on stderr (the runner and Kaggle show it as the bot's log)."""
    print(f"[luxkit] {msg}", file=sys.stderr, flush=True)


class RandomMaskedPolicy:
    """Uniform among unmasked choices; the default until trained weights are shipped."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def __call__(self, state):
        return sample_uniform_masked(action_masks(state), self.rng)


class NetPolicy:
    """A trained GridNet as a policy: ``policy(state) -> int64 (S, S, 7)`` cell actions.

    Args:
        net (agent.net.GridNet): the network (eval mode).
        greedy (bool): take the most likely legal choice instead of sampling.
        seed (int): sampling seed.
    """

    def __init__(self, net, greedy=False, seed=0):
        self.net = net
        self.greedy = greedy
        self.generator = torch.Generator().manual_seed(int(seed))

    @classmethod
    def from_file(cls, path, greedy=False, seed=0):
        """Load weights written by ``agent.net.save_checkpoint`` (raises ``CheckpointError``)."""
        net, _ = load_checkpoint(path)
        return cls(net, greedy=greedy, seed=seed)

    def __call__(self, state):
        planes, glob = encode(state)
        masks = action_masks(state)
        with torch.no_grad():
            logits, _ = self.net(torch.from_numpy(planes)[None], torch.from_numpy(glob)[None])
            dist = MaskedGridDistribution(logits, torch.from_numpy(masks)[None])
            a = dist.mode() if self.greedy else dist.sample(self.generator)
        return a[0].numpy()


class LuxPlayer:
    """One side of one game.

    Args:
        player (str): ``"player_0"`` or ``"player_1"``.
        env_cfg (dict): rules, from the first turn's ``info["env_cfg"]``.
        policy (callable | None): ``policy(GameState) -> int (S, S, 7)`` cell actions;
            random-masked when None.
        bid (int): step-0 bid.
    """

    def __init__(self, player, env_cfg, policy=None, bid=0):
        self.state = GameState(env_cfg, player)
        self.policy = policy if policy is not None else RandomMaskedPolicy(seed=int(player[-1]))
        self.bid = bid
        self.turn_times = []

    def act(self, step, obs, remaining_overage=60.0):
        """Action dict for this turn; ``{}`` on any error (logged to stderr).

        Args:
            step (int): protocol step.
            obs (dict | str): the turn's observation (full or change observation).
            remaining_overage (float): seconds of overage time left.
        """
        t0 = time.perf_counter()
        try:
            state = self.state.update(obs, step=step)
        except ObservationError as e:
            log(f"step {step}: bad observation ({e}); sending no action")
            return {}
        except Exception as e:  # never die
            log(f"step {step}: failed to read the observation ({type(e).__name__}: {e}); sending no action")
            return {}
        try:
            if state.step == 0 or state.is_early_phase:
                action = early_action(state, bid=self.bid)
            else:
                action = decode(state, self.policy(state))
        except Exception as e:
            log(f"step {step}: policy failed ({type(e).__name__}: {e}); sending no action")
            action = {}
        self.turn_times.append(time.perf_counter() - t0)
        return action


class PlayerRegistry:
    """``LuxPlayer`` per player key, created on the first turn that carries ``env_cfg``."""

    def __init__(self, policy_factory=None, bid=0):
        self.players = {}
        self.policy_factory = policy_factory
        self.bid = bid

    def act(self, player, step, obs, env_cfg=None, remaining_overage=60.0):
        """Route a turn to ``player``'s LuxPlayer (created when ``env_cfg`` is given)."""
        if player not in self.players or (step == 0 and env_cfg is not None):
            if env_cfg is None:
                log(f"step {step}: no env_cfg seen yet for {player}; sending no action")
                return {}
            try:
                policy = self.policy_factory(env_cfg) if self.policy_factory else None
                self.players[player] = LuxPlayer(player, env_cfg, policy=policy, bid=self.bid)
            except Exception as e:
                log(f"step {step}: cannot start {player} ({type(e).__name__}: {e}); sending no action")
                return {}
        return self.players[player].act(step, obs, remaining_overage)
