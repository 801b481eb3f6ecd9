"""The playing agent: one GameState per player, early phase, policy, turn budget, decoding.

``LuxPlayer.act`` never raises: any exception during a turn yields ``{}`` (every robot keeps its
queue, factories idle) and one line on stderr, so a bot never dies mid-game.

``PlayerRegistry`` keeps one ``LuxPlayer`` per ``player`` key because Kaggle may host both players
of a game in one process (module state is shared).

Which agent plays (:func:`resolve_agent_config`, :func:`load_registry`), read once at start-up:

* ``agent/weights/agent.json`` if present, e.g. ``{"agent": "net", "weights": "model.pt",
  "greedy": true, "sample_factories": true, "water_guard": true, "power_guard": true, ...}``;
  ``weights`` is relative to the folder holding ``agent.json``; ``greedy`` plays the most likely
  legal choices,
  ``sample_factories`` still samples the factory head (builds and watering) when ``greedy`` is set,
  ``joint_greedy`` (with ``greedy``) picks each robot's type by the joint argmax of its whole action
  (:func:`agent.policy.joint_robot_type`) instead of the type's own argmax,
  and each decoding guard (a key of :data:`agent.guards.GUARDS`; the guards, what each does and the
  order :func:`agent.guards.guarded_masks` applies them in are :data:`agent.guards.REGISTRY`)
  narrows the choices, e.g. ``water_guard`` never waters lichen below the water the factory needs
  to live to the last turn.
* environment variables (local runs), which win over the file: ``LUXKIT_AGENT``
  (``net``, ``random``, ``scripted``) and ``LUXKIT_WEIGHTS`` (a path, relative to the working
  directory).
* nothing configured: ``net`` with ``agent/weights/model.pt`` if that file exists, else the
  random-masked policy (one stderr line says so).

The weights folder is found from this module's own ``__file__`` (Kaggle ``exec``s main.py, whose
``__file__`` is undefined). A configured weights file that is missing, unreadable or of the wrong
shape is reported at start-up (one stderr line naming the file) and the bot plays random-masked
instead of dying; ``scripts/package.py`` calls the same loader with ``strict=True`` and fails.

Turn budget (:func:`turn_mode`): Kaggle gives 3 s per turn plus 60 s of overage for the game.
``full`` plays the configured policy; ``fast`` (overage < 10 s, or the last turn took > 2 s) takes
the most likely choice instead of sampling; ``minimal`` (overage < 2 s) sends no new robot
actions and only builds/waters with a numpy rule (:func:`cheap_action`).

Only the standard library, numpy and torch are used here (this runs on Kaggle, Python 3.7 /
torch 1.11). Every import is at module level: Kaggle removes the submission folder from
``sys.path`` after loading main.py.
"""

import json
import os
import sys
import time

import numpy as np
import torch

from agent.actions import C_FACTORY, F_HEAVY, F_LIGHT, F_NONE, F_WATER, NUM_LOGITS, component_slice, decode
from agent.early import early_action
from agent.features import NUM_GLOBALS, NUM_PLANES, encode
from agent.guards import GUARDS, guard_options, guarded_masks
from agent.guards.water import water_reserve_ok
from agent.masks import action_masks
from agent.net import CheckpointError, load_checkpoint
from agent.obs import GameState, ObservationError
from agent.policy import RandomMaskedPolicy, component_greedy, sample_masked

try:  # optional rule-based agent (agent/scripted.py); the bot must start without it
    from agent.scripted import ScriptedPolicy
    _SCRIPTED_ERROR = None
except Exception as _e:  # pragma: no cover - depends on the file being present and sound
    ScriptedPolicy = None
    _SCRIPTED_ERROR = f"{type(_e).__name__}: {_e}"

AGENT_DIR = os.path.dirname(os.path.abspath(__file__))
WEIGHTS_DIR = os.path.join(AGENT_DIR, "weights")
CONFIG_NAME = "agent.json"
DEFAULT_WEIGHTS = "model.pt"
AGENTS = ("net", "random", "scripted")
CONFIG_KEYS = dict({"agent": str, "weights": str, "greedy": bool, "sample_factories": bool, "joint_greedy": bool},
                   **{k: bool for k in GUARDS})

# turn budget (seconds); Kaggle: actTimeout 3 s per turn, 60 s overage per game
FAST_OVERAGE_S = 10.0
FAST_LAST_TURN_S = 2.0
MINIMAL_OVERAGE_S = 2.0
# torch threads of the bot: one. Measured on a busy 2-core machine (benchmarks/turn_latency.py),
# a 64x64 forward took ~10 ms with one thread and ~400 ms with two (threads spinning for cores
# that other processes hold); Kaggle may run both bots on one machine.
TORCH_THREADS = 1
# cheap path: water lichen only when this much water stays above what survival needs
CHEAP_WATER_MARGIN = 50
LOG_MAX_CHARS = 1000


def log(msg):
    """One line on stderr (the runner and Kaggle show it as the bot's log); newlines become spaces
    and a message longer than ``LOG_MAX_CHARS`` is cut."""
    text = " ".join(str(msg).splitlines())
    if len(text) > LOG_MAX_CHARS:
        text = text[:LOG_MAX_CHARS - 3] + "..."
    print(f"[luxkit] {text}", file=sys.stderr, flush=True)


def log_error(msg):
    """One error line on stderr: ``[luxkit] ERROR: msg`` (scripts/package.py fails on these)."""
    log(f"ERROR: {msg}")


class NetPolicy:
    """A trained GridNet as a policy: ``policy(state) -> int64 (S, S, 7)`` cell actions.

    The net's logits are sampled per cell and component among the legal choices (Gumbel-max in
    numpy, :func:`agent.policy.sample_masked`): the same distribution as
    ``MaskedGridDistribution.sample``, without building the torch distribution each turn.

    Args:
        net (agent.net.GridNet): the network (eval mode).
        greedy (bool): take the most likely legal choice instead of sampling.
        seed (int): sampling seed.
        sample_factories (bool): sample the factory head even when ``greedy``
            (:func:`agent.policy.component_greedy`).
        joint_greedy (bool): a greedy robot type is the joint argmax of the robot's action
            (:func:`agent.policy.joint_robot_type`).
        **guards (bool): the decoding guards, keys of :data:`agent.guards.GUARDS` (all off by
            default), applied by :func:`agent.guards.guarded_masks`.

    The guards are also attributes of the same names.

    Raises:
        TypeError: an unknown guard keyword.
    """

    def __init__(self, net, greedy=False, seed=0, sample_factories=False, joint_greedy=False, **guards):
        self.net = net
        self.greedy = component_greedy(greedy, sample_factories)
        self.joint_greedy = bool(joint_greedy)
        self.guards = guard_options(**guards)
        for key, on in self.guards.items():
            setattr(self, key, on)
        self.rng = np.random.default_rng(int(seed))

    @classmethod
    def from_file(cls, path, greedy=False, seed=0, sample_factories=False, joint_greedy=False, **guards):
        """Load weights written by ``agent.net.save_checkpoint`` (raises ``CheckpointError``)."""
        net, _ = load_checkpoint(path)
        return cls(net, greedy=greedy, seed=seed, sample_factories=sample_factories, joint_greedy=joint_greedy,
                   **guards)

    def _logits(self, planes, glob):
        with torch.no_grad():
            logits, _ = self.net(torch.from_numpy(planes)[None], torch.from_numpy(glob)[None])
        return logits[0].permute(1, 2, 0).numpy()

    def logits(self, state):
        """float32 (S, S, 34) cell-major logits for ``state``."""
        return self._logits(*encode(state))

    def __call__(self, state, greedy=None):
        greedy = self.greedy if greedy is None else greedy
        planes, glob = encode(state)
        masks = guarded_masks(state, planes=planes, **self.guards)
        return sample_masked(self._logits(planes, glob), masks, self.rng, greedy=greedy, joint=self.joint_greedy)

    def fast(self, state):
        """The turn-budget ``fast`` mode: most likely legal choices, no sampling."""
        return self(state, greedy=True)


def check_net(net, path):
    """Check at start-up that ``net`` fits this code's features and head (one tiny forward).

    Raises:
        CheckpointError: naming ``path`` and what does not fit.
    """
    cfg = getattr(net, "config", {})
    if cfg.get("in_planes") != NUM_PLANES or cfg.get("in_globals") != NUM_GLOBALS:
        raise CheckpointError(
            f"weights file {path}: the network takes {cfg.get('in_planes')} planes and {cfg.get('in_globals')} "
            f"globals, this agent's features are {NUM_PLANES} and {NUM_GLOBALS}")
    S = 16
    try:
        with torch.no_grad():
            logits, value = net(torch.zeros(1, NUM_PLANES, S, S), torch.zeros(1, NUM_GLOBALS))
    except Exception as e:
        raise CheckpointError(f"weights file {path}: a test forward pass failed ({type(e).__name__}: {e})") from None
    want = (1, NUM_LOGITS, S, S)
    if tuple(logits.shape) != want or not bool(torch.isfinite(logits).all()):
        raise CheckpointError(f"weights file {path}: the network's logits have shape {tuple(logits.shape)} "
                              f"(expected {want}) or are not finite")


# ---------------------------------------------------------------------- configuration
def resolve_agent_config(weights_dir=None, environ=None):
    """Which agent to play, from ``agent.json`` and the environment (see module docstring).

    Args:
        weights_dir (str | None): folder of ``agent.json`` and ``model.pt`` (default: this
            package's ``weights/``).
        environ (dict | None): environment (default ``os.environ``).

    Returns:
        dict: ``agent`` (str), ``weights`` (absolute path or None), ``greedy`` (bool),
        ``sample_factories`` (bool), ``joint_greedy`` (bool), one bool per guard of :data:`agent.guards.GUARDS`, ``source`` (str,
        where the choice came from), ``note`` (str or None: a message for the log, e.g. "no weights").

    Raises:
        ValueError: ``agent.json`` is unreadable or has unknown keys / wrong types, or an
            unknown agent name is configured (the message names the file or variable).
    """
    weights_dir = WEIGHTS_DIR if weights_dir is None else weights_dir
    environ = os.environ if environ is None else environ
    conf_path = os.path.join(weights_dir, CONFIG_NAME)
    conf = {}
    sources = []
    if os.path.isfile(conf_path):
        try:
            with open(conf_path) as fh:
                conf = json.load(fh)
        except (OSError, ValueError) as e:
            raise ValueError(f"agent config {conf_path} is unreadable: {e}") from None
        if not isinstance(conf, dict):
            raise ValueError(f"agent config {conf_path} must hold a JSON object")
        for key, value in conf.items():
            if key not in CONFIG_KEYS:
                raise ValueError(f"agent config {conf_path} has unknown key {key!r}; allowed: {sorted(CONFIG_KEYS)}")
            if not isinstance(value, CONFIG_KEYS[key]):
                raise ValueError(f"agent config {conf_path}: {key!r} must be a {CONFIG_KEYS[key].__name__}, "
                                 f"got {value!r}")
        sources.append(conf_path)
    agent = conf.get("agent")
    weights = os.path.join(weights_dir, conf["weights"]) if conf.get("weights") else None
    greedy = bool(conf.get("greedy", True))
    sample_factories = bool(conf.get("sample_factories", False))
    joint_greedy = bool(conf.get("joint_greedy", False))
    guards = {k: bool(conf.get(k, False)) for k in GUARDS}
    if environ.get("LUXKIT_AGENT"):
        agent = environ["LUXKIT_AGENT"].strip()
        sources.append("LUXKIT_AGENT")
    if environ.get("LUXKIT_WEIGHTS"):
        weights = os.path.abspath(environ["LUXKIT_WEIGHTS"])
        sources.append("LUXKIT_WEIGHTS")
    if agent is not None and agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r} (from {' + '.join(sources)}); choose one of {AGENTS}")
    note = None
    default = os.path.join(weights_dir, DEFAULT_WEIGHTS)
    if agent is None:
        if weights is not None:
            agent = "net"
        elif os.path.isfile(default):
            agent, weights = "net", default
            sources.append("default weights")
        else:
            agent = "random"
            note = f"no weights at {default} and no agent configured; playing the random-masked policy"
    if agent == "net" and weights is None:
        weights = default
    return dict(agent=agent, weights=weights if agent == "net" else None, greedy=greedy,
                sample_factories=sample_factories, joint_greedy=joint_greedy, source=" + ".join(sources) or "defaults",
                note=note, **guards)


def agent_folder_config(spec):
    """The decoding of an *agent folder* spec, or None when ``spec`` is not one.

    An agent folder is a folder holding ``agent.json`` (e.g. ``agent/weights``) or a packaged
    submission holding ``agent/weights/agent.json`` (e.g. ``submission``); it is played exactly as
    its ``agent.json`` says (:func:`resolve_agent_config`, environment ignored):
    weights, greedy, sample_factories, joint_greedy and guards.

    Returns:
        dict | None: ``spec`` (the policy spec: weights path, ``random`` or ``scripted``),
        ``greedy``, ``sample_factories``, ``joint_greedy`` and the guard keys.

    Raises:
        ValueError: an unreadable ``agent.json``.
    """
    if not os.path.isdir(str(spec)):
        return None
    for wdir in (str(spec), os.path.join(str(spec), "agent", "weights")):
        if os.path.isfile(os.path.join(wdir, "agent.json")):
            conf = resolve_agent_config(wdir, environ={})
            agent = conf["agent"] or ("net" if conf["weights"] else "random")
            return dict(spec=conf["weights"] if agent == "net" else agent, greedy=conf["greedy"],
                        sample_factories=conf["sample_factories"], joint_greedy=conf["joint_greedy"],
                        **{k: conf[k] for k in GUARDS})
    return None


BOT_PREFIX = "bot:"


def is_bot_spec(spec):
    """Whether a policy spec (:func:`policy_from_spec`) names a protocol bot (``bot:PATH``)."""
    return isinstance(spec, str) and spec.startswith(BOT_PREFIX)


def bot_folder(spec):
    """The folder of a ``bot:PATH`` spec, or of a plain folder path (absolute).

    Raises:
        ValueError: no ``main.py`` in it.
    """
    folder = os.path.abspath(spec[len(BOT_PREFIX):] if is_bot_spec(spec) else str(spec))
    if not os.path.isfile(os.path.join(folder, "main.py")):
        raise ValueError(f"bot {spec!r}: {folder} has no main.py")
    return folder


def check_agent_spec(spec):
    """The kind of agent a spec names, checked: the one agent-spec language of the kit (test mode,
    the opponent pool, DAgger students, the league).

    Returns:
        str: ``random``, ``scripted``, ``bot`` (``bot:PATH``, a folder with main.py, run as a
        subprocess), ``folder`` (an agent folder with agent.json, :func:`agent_folder_config`,
        played as it says) or ``weights`` (a weights file).

    Raises:
        ValueError: none of these (one line), a bot folder without main.py, or an unreadable
            agent.json.
    """
    spec = str(spec)
    if spec in ("random", "scripted"):
        return spec
    if is_bot_spec(spec):
        bot_folder(spec)
        return "bot"
    if agent_folder_config(spec) is not None:
        return "folder"
    if os.path.isfile(spec):
        return "weights"
    raise ValueError(f"agent spec {spec!r} is not random, scripted, a weights file, an agent folder (with agent.json) "
                     "or bot:PATH")


def policy_from_spec(spec, seed=0, greedy=False, net=None, sample_factories=False, joint_greedy=False, **guards):
    """The one policy-spec language of the kit, as a cell-action policy.

    Args:
        spec (str): ``random`` (the random-masked policy), ``scripted`` (agent/scripted.py), the
            path of a weights file (agent/net.py checkpoint, played by :class:`NetPolicy`) or an
            agent folder (:func:`agent_folder_config`: played exactly as its agent.json says,
            whatever ``greedy``, ``sample_factories``, ``joint_greedy`` and ``guards`` say).
            ``bot:PATH`` (a protocol bot folder) is part of the language but runs as a subprocess:
            ``training.botproc`` plays it, and this function refuses it.
        seed (int): the policy's random stream (tie-breaking, sampling).
        greedy (bool): a net plays its most likely legal choices instead of sampling.
        net (GridNet | None): an already loaded net for a weights spec, or for the weights of an
            agent folder (shared between players or games).
        sample_factories (bool): a greedy net still samples its factory head.
        joint_greedy (bool): a greedy net picks robot types by the joint argmax
            (:func:`agent.policy.joint_robot_type`).
        **guards (bool): a net's decoding guards, keys of :data:`agent.guards.GUARDS`
            (:func:`agent.guards.guarded_masks`).

    Returns:
        callable: ``policy(state) -> int64 (S, S, 7)`` cell actions (:mod:`agent.actions`); decode
        them with :func:`agent.actions.decode`.

    Raises:
        ValueError: an unknown spec, a ``bot:`` spec, or the scripted agent is unavailable.
        TypeError: an unknown guard keyword.
        CheckpointError: the weights file is missing, unreadable or does not fit.
    """
    spec = str(spec)
    folder = agent_folder_config(spec)
    if folder is not None:  # played as its agent.json says
        spec, greedy, sample_factories = folder.pop("spec"), folder.pop("greedy"), folder.pop("sample_factories")
        joint_greedy = folder.pop("joint_greedy")
        guards = folder
    guards = guard_options(**guards)
    if spec == "random":
        return RandomMaskedPolicy(seed)
    if spec == "scripted":
        if ScriptedPolicy is None:
            raise ValueError(f"policy 'scripted' is unavailable: agent/scripted.py failed to import ({_SCRIPTED_ERROR})")
        return ScriptedPolicy(seed=seed)
    if spec.startswith(BOT_PREFIX):
        raise ValueError(f"{spec} is a protocol bot: it runs as a subprocess (training.botproc), not in-process")
    if net is not None or os.path.isfile(spec):
        if net is None:
            net, _ = load_checkpoint(spec)
        return NetPolicy(net, greedy=greedy, seed=seed, sample_factories=sample_factories, joint_greedy=joint_greedy,
                         **guards)
    raise ValueError(f"policy spec {spec!r} is not 'random', 'scripted', 'bot:PATH' or an existing weights file")


def load_policy_factory(config):
    """``factory(player, env_cfg) -> policy`` for a resolved config, and a one-line description.

    Weights are loaded and checked here, once, and shared by both players.

    Raises:
        CheckpointError: the weights file is missing, unreadable or does not fit (names it).
        ValueError: the scripted agent is asked for but unavailable.
    """
    agent = config["agent"]
    if agent == "net":
        torch.set_num_threads(TORCH_THREADS)
        path = config["weights"]
        net, payload = load_checkpoint(path)
        check_net(net, path)
        greedy = bool(config.get("greedy", True))
        sample_factories = bool(config.get("sample_factories", False))
        joint_greedy = bool(config.get("joint_greedy", False))
        guards = {k: bool(config.get(k, False)) for k in GUARDS}

        def factory(player, env_cfg):
            return policy_from_spec(path, seed=int(player[-1]), greedy=greedy, net=net,
                                    sample_factories=sample_factories, joint_greedy=joint_greedy, **guards)

        decoding = "sampling" if not greedy else ("greedy robots, sampled factories" if sample_factories else "greedy")
        decoding += " (joint robot types)" if greedy and joint_greedy else ""
        decoding += "".join(", " + k.replace("_", " ") for k, on in guards.items() if on)
        desc = f"net {path} ({payload.get('net_config')}, step {payload.get('step', '?')}, {decoding})"
        return factory, desc
    spec = "scripted" if agent == "scripted" else "random"
    policy_from_spec(spec)  # raises now if it is unavailable
    return (lambda player, env_cfg: policy_from_spec(spec, seed=int(player[-1]))), \
        ("scripted" if spec == "scripted" else "random-masked")


def load_registry(weights_dir=None, environ=None, strict=False, bid=0):
    """The start-up path of main.py: resolve the config, load the policy, build the registry.

    Args:
        weights_dir, environ: see :func:`resolve_agent_config`.
        strict (bool): raise on a configuration or weights error (``scripts/package.py``)
            instead of logging it and falling back to the random-masked policy (the bot).

    Returns:
        PlayerRegistry: with ``description`` (str) and ``config`` (dict or None) set.
    """
    try:
        config = resolve_agent_config(weights_dir, environ)
        factory, desc = load_policy_factory(config)
    except Exception as e:
        if strict:
            raise
        why = " ".join(str(e).splitlines())
        why = why if len(why) <= 300 else why[:297] + "..."
        log_error(f"{why}; falling back to the random-masked policy")
        reg = PlayerRegistry(bid=bid)
        reg.description, reg.config = "random-masked (fallback)", None
        return reg
    log(config["note"] or f"playing {desc}")
    reg = PlayerRegistry(policy_factory=factory, bid=bid)
    reg.description, reg.config = desc, config
    return reg


# ---------------------------------------------------------------------- turn budget
def turn_mode(remaining_overage, last_turn_s):
    """``"full"``, ``"fast"`` or ``"minimal"`` for a turn (thresholds: module constants).

    Args:
        remaining_overage (float): seconds of overage left for the game.
        last_turn_s (float): seconds our previous turn took.
    """
    if remaining_overage < MINIMAL_OVERAGE_S:
        return "minimal"
    if remaining_overage < FAST_OVERAGE_S or last_turn_s > FAST_LAST_TURN_S:
        return "fast"
    return "full"


def cheap_action(state):
    """The ``minimal``-mode action: no new robot actions; factories build or water by a rule.

    Robots keep their queues (the first legal robot choice, which is keep unless a stale queue
    head is invalid). A factory builds a HEAVY, else a LIGHT, when the mask allows and no robot
    of ours stands on its center; otherwise it waters when the water left after the cost bound
    still covers ``FACTORY_WATER_CONSUMPTION`` for the rest of the game plus a margin.
    """
    masks = action_masks(state)
    cells = sample_masked(None, masks, None, greedy=True)
    cells[:, :, C_FACTORY] = F_NONE
    f = state.my_factories
    if len(f):
        u = state.my_units
        occupied = {(int(x), int(y)) for x, y in u.pos} if len(u) else set()
        reserve_ok = water_reserve_ok(state, margin=CHEAP_WATER_MARGIN)
        sl = component_slice(C_FACTORY)
        for i in range(len(f)):
            x, y = int(f.pos[i, 0]), int(f.pos[i, 1])
            fm = masks[x, y, sl]
            if (x, y) not in occupied and fm[F_HEAVY]:
                cells[x, y, C_FACTORY] = F_HEAVY
            elif (x, y) not in occupied and fm[F_LIGHT]:
                cells[x, y, C_FACTORY] = F_LIGHT
            elif fm[F_WATER] and reserve_ok[i]:
                cells[x, y, C_FACTORY] = F_WATER
    return decode(state, cells)


# ---------------------------------------------------------------------- players
class LuxPlayer:
    """One side of one game.

    Args:
        player (str): ``"player_0"`` or ``"player_1"``.
        env_cfg (dict): rules, from the first turn's ``info["env_cfg"]``.
        policy (callable | None): ``policy(GameState) -> int (S, S, 7)`` cell actions, with an
            optional ``policy.fast(state)`` for the turn budget's fast mode; random-masked
            when None.
        bid (int): step-0 bid.

    Attributes:
        turn_times (list[float]): seconds each turn took inside ``act``.
        mode (str): the turn-budget mode of the last turn.
    """

    def __init__(self, player, env_cfg, policy=None, bid=0):
        self.state = GameState(env_cfg, player)
        self.policy = policy if policy is not None else RandomMaskedPolicy(seed=int(player[-1]))
        self.bid = bid
        self.turn_times = []
        self.mode = "full"

    def act(self, step, obs, remaining_overage=60.0):
        """Action dict for this turn; ``{}`` on any error (logged to stderr).

        Args:
            step (int): protocol step.
            obs (dict | str): the turn's observation (full or change observation).
            remaining_overage (float): seconds of overage time left.
        """
        t0 = time.perf_counter()
        try:
            return self._act(step, obs, remaining_overage)
        finally:
            self.turn_times.append(time.perf_counter() - t0)

    def _act(self, step, obs, remaining_overage):
        last = self.turn_times[-1] if self.turn_times else 0.0
        mode = turn_mode(remaining_overage, last)
        if mode != self.mode:
            log(f"step {step}: turn budget {self.mode} -> {mode} (overage left {remaining_overage:.1f} s, "
                f"last turn {last:.2f} s)")
            self.mode = mode
        try:
            state = self.state.update(obs, step=step)
        except ObservationError as e:
            log_error(f"step {step}: bad observation ({e}); sending no action")
            return {}
        except Exception as e:  # never die
            log_error(f"step {step}: failed to read the observation ({type(e).__name__}: {e}); sending no action")
            return {}
        try:
            if state.step == 0 or state.is_early_phase:
                return early_action(state, bid=self.bid)
            if mode == "minimal":
                return cheap_action(state)
            policy = getattr(self.policy, "fast", self.policy) if mode == "fast" else self.policy
            return decode(state, policy(state))
        except Exception as e:
            log_error(f"step {step}: policy failed ({type(e).__name__}: {e}); sending no action")
            return {}


class PlayerRegistry:
    """``LuxPlayer`` per player key, created on the first turn that carries ``env_cfg``.

    Args:
        policy_factory (callable | None): ``policy_factory(player, env_cfg) -> policy``;
            random-masked when None.
        bid (int): step-0 bid.
    """

    def __init__(self, policy_factory=None, bid=0):
        self.players = {}
        self.policy_factory = policy_factory
        self.bid = bid
        self.description = "random-masked" if policy_factory is None else "custom"
        self.config = None

    def act(self, player, step, obs, env_cfg=None, remaining_overage=60.0):
        """Route a turn to ``player``'s LuxPlayer (created when ``env_cfg`` is given)."""
        if player not in self.players or (step == 0 and env_cfg is not None):
            if env_cfg is None:
                log_error(f"step {step}: no env_cfg seen yet for {player}; sending no action")
                return {}
            try:
                policy = self.policy_factory(player, env_cfg) if self.policy_factory else None
                self.players[player] = LuxPlayer(player, env_cfg, policy=policy, bid=self.bid)
            except Exception as e:
                log_error(f"step {step}: cannot start {player} ({type(e).__name__}: {e}); sending no action")
                return {}
        return self.players[player].act(step, obs, remaining_overage)
