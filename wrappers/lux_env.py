"""``LuxGridEnv``: a gymnasium.Env for one learning player over the real Lux S2 engine.

* Observation: ``Dict(planes=Box float32 (C, S, S), globals=Box float32 (G,))`` from
  :func:`agent.features.encode` (C = ``NUM_PLANES``, G = ``NUM_GLOBALS``).
* Action: ``MultiDiscrete`` with a flat ``nvec`` of length S * S * 7 (cell-major: cell (x, y)
  owns entries ``(x * S + y) * 7 ... + 6``): one choice per cell and component of the map-shaped
  head (:mod:`agent.actions`). Flat because stable-baselines3 expects a 1-D ``nvec``; ``step``
  also accepts the (S, S, 7) array.
* ``action_masks()``: bool (S * S * 34,), the flattened (S, S, 34) masks of
  :func:`agent.masks.action_masks` (sb3-contrib's ``MaskablePPO`` convention: one flag per
  choice, components in ``nvec`` order, cells in C order). An all-False component marks an
  absent robot/factory. With decoding guards on (keys of :data:`agent.guards.GUARDS`, the
  registry :data:`agent.guards.REGISTRY`) the masks also apply the playing agent's guards
  (:func:`agent.guards.guarded_masks`), so a policy trains on the choices the shipped decoding
  lets it make.
* Bidding and placement happen inside ``reset`` for both players (heuristic placement of
  :mod:`agent.early`, bid from config): the learner acts from the first main-phase turn.
* The opponent is any callable ``opponent(state: GameState) -> action dict`` (default: the
  random-masked policy), or, when its ``protocol`` attribute is True for the game, an object whose
  ``protocol_act(msg) -> action dict`` is sent the Lux protocol messages of every engine step, the
  early phase included (a protocol bot, ``bot:PATH``, in the training opponent pool).
  ``invalid_action="noop"`` (default) turns a masked choice into keep/none
  and counts it in ``info["invalid_choices"]``; ``"raise"`` raises instead.
* Reward: a weighted sum of per-turn terms, each the change of one of the engine's own statistics
  (``LuxAI_S2(collect_stats=True)``), plus the game result; see :data:`GAME_STATS` and
  :data:`REWARD_TERMS`.
* At the end of an episode ``info["lux"]`` holds the game's statistics (ice/ore dug, water/metal
  produced, lichen, robots built, factories alive, episode length, result vs the opponent),
  ``game_reward``, the episode's reward without the invalid-action penalty, and ``opponent``, the
  kind of opponent it was played against (:func:`opponent_kind`).
"""

import dataclasses

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agent.actions import (
    C_AMOUNT, C_FACTORY, C_TYPE, F_NONE, KEEP, NUM_COMPONENTS, RECHARGE, NVEC, OFFSETS, ROBOT_COMPONENTS, component_slice, decode,
    used_components,
)
from agent.early import early_action
from agent.features import NUM_GLOBALS, NUM_PLANES, encode
from agent.guards import guard_options, guarded_masks
from agent.obs import GameState
from agent.policy import RandomMaskedPolicy
from wrappers.engine import make_env

def _lichen(env, player):
    strains = env.state.teams[player].factory_strains if player in env.state.teams else []
    board = env.state.board
    return int(board.lichen[np.isin(board.lichen_strains, strains)].sum()) if len(strains) else 0


# The game statistics of one player: name -> (description, reader(env, player) of the engine's
# own statistics, LuxAI_S2(collect_stats=True)). The single schema of the kit: every statistic is a
# reward term (weight x its change this turn), is in info["lux"] at the end of a game and is
# logged to TensorBoard as lux/<name> (training/ppo/callbacks.py).
GAME_STATS = {
    "ice_dug": ("ice dug by our robots (units)",
                lambda env, p: sum(env.state.stats[p]["generation"]["ice"].values())),
    "ore_dug": ("ore dug (units)", lambda env, p: sum(env.state.stats[p]["generation"]["ore"].values())),
    "water_produced": ("water refined by our factories (units)",
                       lambda env, p: env.state.stats[p]["generation"]["water"]),
    "metal_produced": ("metal refined (units)", lambda env, p: env.state.stats[p]["generation"]["metal"]),
    "lichen": ("lichen on our strains (units)", _lichen),
    "robots_built": ("robots built (count)", lambda env, p: sum(env.state.stats[p]["generation"]["built"].values())),
    "factories_lost": ("factories lost (count; give it a negative weight)",
                       lambda env, p: env.state.stats[p]["destroyed"]["FACTORY"]),
    "factories_alive": ("our factories alive (count)", lambda env, p: len(env.state.factories[p])),
    "robots_alive": ("our robots alive (count)", lambda env, p: len(env.state.units[p])),
}
# reward terms: the change of each statistic this turn, and the game result
REWARD_TERMS = dict({name: f"change of: {desc}" for name, (desc, _) in GAME_STATS.items()},
                    win="+1 on the last turn if we won, -1 if we lost, 0 on a draw")
DEFAULT_REWARD_WEIGHTS = {
    "ice_dug": 0.01, "ore_dug": 0.005, "water_produced": 0.04, "metal_produced": 0.02,
    "lichen": 0.001, "robots_built": 0.1, "factories_lost": -1.0, "factories_alive": 0.0,
    "robots_alive": 0.0, "win": 10.0,
}
# what info["lux"] holds at the end of a game (and TensorBoard's lux/<key>)
EPISODE_KEYS = tuple(GAME_STATS) + ("episode_length", "result", "opponent_lichen", "opponent_factories_alive",
                                    "invalid_choices", "game_reward")


class RandomMaskedOpponent(RandomMaskedPolicy):
    """The random-masked policy as an opponent: returns the decoded action dict."""

    def __call__(self, state):
        return decode(state, super().__call__(state))


def _player_stats(env, player):
    """dict name -> value of :data:`GAME_STATS` for ``player``."""
    return {name: read(env, player) for name, (_, read) in GAME_STATS.items()}


def opponent_kind(opponent):
    """The kind of this game's opponent, for per-opponent statistics: ``random``, ``scripted``,
    ``bot`` (a protocol bot), ``agent`` (a weights file or agent folder of the pool's agents),
    ``snapshot`` (a self-play checkpoint of the pool) or ``other`` (any other callable). Read from
    ``opponent.current_name`` (training.ppo.opponents.PoolOpponent)."""
    if isinstance(opponent, RandomMaskedOpponent):
        return "random"
    name = getattr(opponent, "current_name", None)
    if not isinstance(name, str):
        return "other"
    if name in ("random", "scripted"):
        return name
    if name.startswith("bot:"):
        return "bot"
    if name.startswith("agent:"):
        return "agent"
    return "snapshot" if name.endswith(".pt") else "other"


class LuxGridEnv(gym.Env):
    """One learning player against an opponent on ``luxai_s2.env.LuxAI_S2``.

    Args:
        rules (str): preset of :data:`wrappers.engine.RULES` (``neurips``, ``kaggle``, ``small``,
            ``tiny``).
        player (str): the learner's side, ``"player_0"`` or ``"player_1"``.
        opponent (callable | None): ``opponent(GameState) -> action dict``; random-masked if None.
        reward_weights (dict | None): weights of :data:`REWARD_TERMS`; unknown names raise.
        map_seeds (sequence[int] | None): map seeds to draw from at reset (train split); any
            seed if None. ``reset(options={"map_seed": s})`` forces one.
        bid (int): our step-0 bid (water = metal units).
        invalid_action (str): ``"noop"`` or ``"raise"`` for masked choices.
        max_episode_length (int | None): override of ``EnvConfig.max_episode_length`` (turns).
        map_size (int | None): override of the preset's map size (16, 32, 48 or 64 cells a side),
            keeping its factory counts (e.g. ``rules="small", map_size=64``).
        invalid_penalty (float): reward subtracted per masked choice turned into a no-op (the
            "penalty" arm of the masking ablation, notes/masking.md).
        **guards (bool): the learner's masks apply these decoding guards, keys of
            :data:`agent.guards.GUARDS` (agent.json keys of the same names), by
            :func:`agent.guards.guarded_masks`.

    The guards (all off by default) are also attributes of the same names. A choice a guard forbids
    counts as a masked choice in ``step``.

    Raises:
        ValueError: unknown rules, reward term, player or invalid_action value.
        TypeError: an unknown guard keyword.
    """

    metadata = {"render_modes": []}

    def __init__(self, rules="neurips", player="player_0", opponent=None, reward_weights=None,
                 map_seeds=None, bid=0, invalid_action="noop", max_episode_length=None, invalid_penalty=0.0,
                 map_size=None, **guards):
        super().__init__()
        overrides = {} if max_episode_length is None else dict(max_episode_length=int(max_episode_length))
        if map_size is not None:
            overrides["map_size"] = int(map_size)
        self.engine = make_env(rules, **overrides)
        self.rules = rules
        if player not in ("player_0", "player_1"):
            raise ValueError(f"player must be 'player_0' or 'player_1', got {player!r}")
        if invalid_action not in ("noop", "raise"):
            raise ValueError(f"invalid_action must be 'noop' or 'raise', got {invalid_action!r}")
        self.player = player
        self.opp_player = "player_1" if player == "player_0" else "player_0"
        self.opponent = opponent if opponent is not None else RandomMaskedOpponent()
        weights = dict(DEFAULT_REWARD_WEIGHTS)
        for k, v in (reward_weights or {}).items():
            if k not in REWARD_TERMS:
                raise ValueError(f"unknown reward term {k!r}; valid terms: {sorted(REWARD_TERMS)}")
            weights[k] = float(v)
        self.reward_weights = weights
        self.dense_scale = 1.0  # factor on every term but win (set_dense_scale: reward annealing)
        self.map_seeds = None if map_seeds is None else list(map_seeds)
        self.bid = int(bid)
        self.invalid_action = invalid_action
        self.invalid_penalty = float(invalid_penalty)
        self.guards = guard_options(**guards)
        for key, on in self.guards.items():
            setattr(self, key, on)
        S = self.engine.env_cfg.map_size
        self.map_size = S
        self.observation_space = spaces.Dict({
            "planes": spaces.Box(0.0, 1e6, (NUM_PLANES, S, S), np.float32),
            "globals": spaces.Box(0.0, 1e6, (NUM_GLOBALS,), np.float32),
        })
        self.action_space = spaces.MultiDiscrete(np.tile(NVEC, S * S))
        self._masks = None
        self._planes = None
        self.states = None

    # ------------------------------------------------------------------ helpers
    def _obs(self):
        planes, glob = encode(self.states[self.player])
        self._planes = planes  # the power guard reads home_cost from them
        return {"planes": planes, "globals": glob}

    def _update_states(self, raw_obs):
        step = self.engine.env_steps
        for p in ("player_0", "player_1"):
            self.states[p].update(raw_obs[p], step=step)
        self._masks = None
        self._planes = None

    def action_masks(self):
        """bool (S * S * 34,): flattened per-cell masks for the learner (sb3-contrib convention)."""
        return self.cell_masks().reshape(-1)

    def cell_masks(self):
        """bool (S, S, 34) masks for the learner this turn (cached until the next step)."""
        if self._masks is None:
            self._masks = guarded_masks(self.states[self.player], planes=self._planes, **self.guards)
        return self._masks

    def _sanitize(self, cell_actions):
        """Replace masked choices by keep (or recharge) / none; returns (actions, number of invalid choices)."""
        masks = self.cell_masks()
        a = np.array(cell_actions, dtype=np.int64, copy=True)
        S = self.map_size
        if a.shape != (S, S, NUM_COMPONENTS):
            try:
                a = a.reshape(S, S, NUM_COMPONENTS)
            except ValueError:
                raise ValueError(f"action has shape {np.shape(cell_actions)}, expected ({S}, {S}, {NUM_COMPONENTS})") from None
        if (a < 0).any() or (a >= NVEC).any():
            raise ValueError("action has a choice outside its component's range (nvec = %s)" % NVEC.tolist())
        idx = a + OFFSETS  # (S, S, K) positions in the 34-axis
        ok = np.take_along_axis(masks, idx, axis=2)  # (S, S, K)
        present = np.stack([masks[:, :, component_slice(k)].any(axis=2) for k in range(NUM_COMPONENTS)], axis=2)
        rtype = a[:, :, C_TYPE]
        used = np.zeros_like(ok)
        used[:, :, ROBOT_COMPONENTS] = present[:, :, C_TYPE:C_TYPE + 1] & used_components(rtype)
        used[:, :, C_FACTORY] = present[:, :, C_FACTORY]
        bad = used & ~ok
        robot_bad = bad[:, :, ROBOT_COMPONENTS].any(axis=2)
        factory_bad = bad[:, :, C_FACTORY]
        n_bad = int(robot_bad.sum() + factory_bad.sum())
        if n_bad and self.invalid_action == "raise":
            raise ValueError(f"{n_bad} masked choices in the action")
        # an invalid robot choice becomes keep where keep is allowed, else a recharge (allowed
        # whenever keep is not: agent.masks forces keep when nothing else is legal)
        keep_ok = masks[:, :, OFFSETS[C_TYPE] + KEEP]
        a[robot_bad, C_TYPE] = np.where(keep_ok[robot_bad], KEEP, RECHARGE)
        a[robot_bad & ~keep_ok, C_AMOUNT] = 0
        a[factory_bad, C_FACTORY] = F_NONE
        return a, n_bad

    def _protocol_opponent(self):
        """Whether the opponent plays this game over the Lux protocol (``opponent.protocol`` True:
        a bot:PATH of :class:`training.ppo.opponents.PoolOpponent`), fed every engine step."""
        return bool(getattr(self.opponent, "protocol", False))

    def _opponent_act(self, early=None):
        """The opponent's action dict this engine step. A protocol opponent is sent the runner's
        message (a full observation and ``info.env_cfg`` first, change observations after); its
        answer is used, in the early phase too. Any failure: ``early`` (the early-phase default) or
        nothing this turn, and one stderr line: the opponent never ends the learner's episode."""
        try:
            if not self._protocol_opponent():
                return self.opponent(self.states[self.opp_player]) if early is None else early
            from luxai_runner.utils import to_json

            first = self._protocol_prev is None
            st = self.engine.state
            obs = st.get_compressed_obs() if first else st.get_change_obs(self._protocol_prev)
            self._protocol_prev = st.get_obs()
            msg = dict(obs=to_json(obs), step=int(self.engine.env_steps), remainingOverageTime=60.0,
                       player=self.opp_player, reward=0.0,
                       info={"env_cfg": dataclasses.asdict(self.engine.env_cfg)} if first else {})
            return self.opponent.protocol_act(msg)
        except Exception as e:  # the opponent must not kill the learner's episode
            import sys

            print(f"LuxGridEnv: opponent failed ({type(e).__name__}: {e}); "
                  f"{'it plays the default early action' if early is not None else 'it does nothing this turn'}",
                  file=sys.stderr)
            return {} if early is None else early

    def set_dense_scale(self, scale):
        """Scale every reward term but ``win`` by ``scale`` in [0, 1] from the next step on (the
        annealing from dense terms to the game result, ``train.py reward_anneal_steps=``).

        Raises:
            ValueError: ``scale`` outside [0, 1].
        """
        scale = float(scale)
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f"dense reward scale {scale} must be in [0, 1]")
        self.dense_scale = scale

    def _reward(self, before, after, done, rewards):
        r = 0.0
        w = self.reward_weights
        for k in GAME_STATS:
            r += w[k] * (after[k] - before[k])
        r *= self.dense_scale
        if done:
            r += w["win"] * self._result(rewards)
        return float(r)

    def _result(self, rewards):
        mine, theirs = rewards[self.player], rewards[self.opp_player]
        return 1 if mine > theirs else (-1 if mine < theirs else 0)

    # ------------------------------------------------------------------ gym API
    def reset(self, seed=None, options=None):
        """Start a game and play its early phase; returns the first main-phase observation.

        ``options={"map_seed": s}`` plays map seed ``s``; otherwise a seed is drawn from
        ``map_seeds`` (or from any 31-bit seed) with the env's RNG.
        """
        super().reset(seed=seed)
        options = options or {}
        if "map_seed" in options:
            map_seed = int(options["map_seed"])
        elif self.map_seeds:
            map_seed = int(self.map_seeds[self.np_random.integers(len(self.map_seeds))])
        else:
            map_seed = int(self.np_random.integers(2**31 - 1))
        self.map_seed = map_seed
        if hasattr(self.opponent, "reseed"):
            self.opponent.reseed(int(self.np_random.integers(2**31 - 1)))
        raw, _ = self.engine.reset(seed=map_seed)
        cfg = dataclasses.asdict(self.engine.env_cfg)
        self.states = {p: GameState(cfg, p) for p in ("player_0", "player_1")}
        self._update_states(raw)
        self._protocol_prev = None
        while self.engine.state.real_env_steps < 0:
            acts = {}
            for p in ("player_0", "player_1"):
                st = self.states[p]
                acts[p] = early_action(st, bid=self.bid if p == self.player else 0)
            if self._protocol_opponent():
                acts[self.opp_player] = self._opponent_act(early=acts[self.opp_player])
            raw, rewards, term, trunc, _ = self.engine.step(acts)
            self._update_states(raw)
            if term[self.player] or trunc[self.player]:
                raise RuntimeError(f"the early phase ended the game on map seed {map_seed}: {rewards}")
        self._stats = _player_stats(self.engine, self.player)
        self._invalid_total = 0
        self._game_reward = 0.0
        return self._obs(), {"map_seed": map_seed}

    def step(self, action):
        """Play one main-phase turn. Returns (obs, reward, terminated, truncated, info)."""
        if self.states is None:
            raise RuntimeError("call reset() before step()")
        cell_actions, n_bad = self._sanitize(action)
        self._invalid_total += n_bad
        my_state = self.states[self.player]
        acts = {self.player: decode(my_state, cell_actions), self.opp_player: self._opponent_act()}
        raw, rewards, term, trunc, _ = self.engine.step(acts)
        done = bool(term[self.player] or trunc[self.player] or term[self.opp_player] or trunc[self.opp_player])
        self._update_states(raw)
        after = _player_stats(self.engine, self.player)
        game_reward = self._reward(self._stats, after, done, rewards)
        self._game_reward += game_reward
        reward = game_reward - self.invalid_penalty * n_bad
        self._stats = after
        info = {"invalid_choices": n_bad}
        truncated = False
        if done:
            real = self.engine.state.real_env_steps
            info["lux"] = dict(after, episode_length=real, result=self._result(rewards),
                               map_seed=self.map_seed, invalid_choices=self._invalid_total,
                               game_reward=self._game_reward,
                               opponent_lichen=_player_stats(self.engine, self.opp_player)["lichen"],
                               opponent_factories_alive=len(self.engine.state.factories[self.opp_player]),
                               opponent=opponent_kind(self.opponent))
        return self._obs(), reward, done, truncated, info
