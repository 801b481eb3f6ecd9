"""The one driver of bots that speak the Lux S2 stdin/stdout protocol (``bot:PATH``, the submission).

A bot is a folder whose ``main.py`` reads one JSON line per turn and answers one JSON line of
actions (the ``luxai-s2`` runner's protocol, :mod:`luxai_runner.bot`). :class:`ProtocolBot` runs
one such process; :func:`run_protocol_game` plays one game on a ``luxai_s2`` engine exactly as the
runner does (the first turn a full observation and ``info.env_cfg``, later turns change
observations, list actions made arrays, the same hooks as :func:`wrappers.engine.run_game`)
between two *agents*: a :class:`ProtocolBot` or an :class:`InProcessAgent` (one of our policies,
fed the same JSON stream through ``agent.obs.GameState``). Any map size of ``wrappers.engine.RULES``
works (the runner's CLI only plays 64x64). Its callers:

- test mode and the league, ``bot:PATH`` opponents (:func:`training.evaluation.evaluate.play_game`);
- teachers (:mod:`training.imitation.teachers`, ``python -m training.imitation.bc collect
  teacher=bot:PATH``): games with the bot, each recorded by :class:`ReplayRecorder` (the runner's
  JSON format) and imported as behaviour-cloning data, or the bot as a DAgger student's shadow;
- the training opponent pool (:class:`training.ppo.opponents.PoolOpponent`, a bot fed by
  ``wrappers.lux_env.LuxGridEnv`` through :meth:`ProtocolBot.act`);
- the submission's proof game (:func:`training.submission.package.play_protocol_game`), with
  ``isolated=True``: the bot runs as ``python -I`` with an import blocker (:data:`BOT_BOOT`), so
  importing any of :data:`BLOCKED_MODULES` fails in it, as on Kaggle.

The process is started at the first :meth:`ProtocolBot.act` as ``python main.py`` (or the
isolated boot) with the folder as working directory, where ``python`` is this interpreter
(override with the environment variable ``LUXKIT_BOT_PYTHON``, e.g. a Python 3.7); it inherits our
environment (isolated: without ``PYTHONPATH``), so ``LUXKIT_AGENT=scripted`` picks the agent of
our own repo folder.

Turn budget (Kaggle's): ``act_timeout`` seconds per turn (default 3, env ``LUXKIT_BOT_ACT_TIMEOUT``)
plus ``overage`` seconds for the whole game (60, ``LUXKIT_BOT_OVERAGE``), sent to the bot as
``remainingOverageTime``; the first turn (timed from the process start: imports and weights
included) also gets ``startup`` seconds (30, ``LUXKIT_BOT_STARTUP``; the proof game gives 0). A
bot that exits, answers something that is not a JSON object, or runs out of time raises
:class:`BotError`, one line naming the folder, the step and the last line of its stderr.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque

import agent
from agent.player import bot_folder  # the bot:PATH form of the agent-spec language

PLAYERS = ("player_0", "player_1")
KAGGLE_TURN_S = 3.0  # seconds per turn before the overage is drawn on
KAGGLE_OVERAGE_S = 60.0  # seconds of overage per game
BLOCKED_MODULES = ("luxai_s2", "luxai_runner", "gymnasium", "gym", "pettingzoo", "stable_baselines3", "sb3_contrib")
# the checkout holding the agent package (its editable install is a .pth entry of the venv)
ROOT = os.path.dirname(os.path.dirname(os.path.realpath(agent.__file__)))

# Runs in an isolated bot process before main.py, as the first finder of every import: the
# training-only libraries cannot be imported, and the folder of main.py is where top-level project
# code comes from (``python -I`` drops PYTHONPATH, the user site and the working directory, so the
# finder looks in the folder first); a top-level module that only this checkout's editable install
# holds is refused, so the folder must be self-sufficient. sys.path itself is left as it is.
# Python 3.7 syntax.
BOT_BOOT = """
import os, runpy, sys
from importlib.machinery import PathFinder
class _Block:
    BLOCKED = {blocked!r}
    HERE, CHECKOUT = [os.getcwd()], [{root!r}]
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ImportError(name + " is blocked: it is not available on Kaggle")
        if path is None:  # a top-level module or package (not a bare folder): the bot folder's own first
            spec = PathFinder.find_spec(name, self.HERE)
            if spec is not None and spec.loader is not None:
                return spec
            spec = PathFinder.find_spec(name, self.CHECKOUT)
            if spec is not None and spec.loader is not None:
                raise ImportError(name + " is not in the bot folder (only this checkout's editable install has it)")
        return None
sys.meta_path.insert(0, _Block())
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
""".format(blocked=BLOCKED_MODULES, root=ROOT)


class BotError(RuntimeError):
    """A protocol bot crashed, timed out or answered garbage; the message is one line."""


def to_json(obj):
    """Plain-JSON copy of an engine observation or action dict (numpy arrays and scalars to
    Python lists, ints and floats; tuples to lists), as the runner sends it."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    return obj


def bot_command(isolated=False):
    """The command that starts a bot in its folder: ``[python, "main.py"]``, or with ``isolated``
    ``[python, "-I", "-c", BOT_BOOT]`` (training libraries blocked); ``python`` is
    ``$LUXKIT_BOT_PYTHON`` or this interpreter."""
    python = os.environ.get("LUXKIT_BOT_PYTHON", sys.executable)
    return [python, "-I", "-c", BOT_BOOT] if isolated else [python, "main.py"]


class ProtocolBot:
    """One side played by a bot process in ``folder`` (see module docstring).

    Args:
        folder (str | Path): the bot folder (holds main.py), or a ``bot:PATH`` spec.
        act_timeout (float | None): seconds per turn before overage is spent (None: env or 3).
        overage (float | None): seconds of overage for the game (None: env or 60).
        startup (float | None): extra seconds for the first turn (None: env or 30).
        isolated (bool): ``python -I`` with the import blocker and no PYTHONPATH (:func:`bot_command`).
        player (str | None): the side it plays, named in error messages.
        stderr_lines (int | None): how many of the last stderr lines to keep (None: all).

    Attributes:
        turn_times (list[float]): seconds per answered turn (the first from the process start).
        stderr (deque[str]): the kept stderr lines, without line ends.
        peak_rss_kb (int): the process's peak resident memory (``VmHWM``), sampled each turn.
        returncode (int | None): the exit code once closed (-9: killed).

    Raises:
        ValueError: no main.py in ``folder``; :class:`BotError` from :meth:`act`.
    """

    def __init__(self, folder, act_timeout=None, overage=None, startup=None, isolated=False, player=None,
                 stderr_lines=20):
        env = os.environ
        act_timeout = float(env.get("LUXKIT_BOT_ACT_TIMEOUT", KAGGLE_TURN_S)) if act_timeout is None else act_timeout
        overage = float(env.get("LUXKIT_BOT_OVERAGE", KAGGLE_OVERAGE_S)) if overage is None else overage
        startup = float(env.get("LUXKIT_BOT_STARTUP", 30.0)) if startup is None else startup
        self.folder = bot_folder(folder)
        self.act_timeout, self.overage, self.startup = float(act_timeout), float(overage), float(startup)
        self.isolated, self.player = bool(isolated), player
        self.proc = self.returncode = None
        self.stderr = deque(maxlen=stderr_lines)
        self.turn_times = []
        self.peak_rss_kb = 0

    def _start(self):
        env = None
        if self.isolated:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(bot_command(self.isolated), cwd=self.folder, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump_out, daemon=True).start()
        self._err_pump = threading.Thread(target=self._pump_err, daemon=True)
        self._err_pump.start()

    def _pump_out(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def _sample_rss(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
        except OSError:
            pass

    def _fail(self, step, what=None, kill=False):
        """Close (``kill`` first) and raise the one-line BotError; ``what`` None: the exit code."""
        if kill:
            self.proc.kill()
        code = self.close()  # also lets the stderr pump catch the last words
        what = f"exited with code {code}" if what is None else what
        last = next((s for s in reversed(self.stderr) if s.strip()), "")
        who = f"bot {self.folder}" + (f" ({self.player})" if self.player else "")
        raise BotError(f"{who}: {what} at step {step}" + (f"; its stderr: {last[:300]}" if last else ""))

    def act(self, msg):
        """Send one protocol message (dict: ``obs``, ``step``, ``player``, ``reward``, ``info``;
        ``remainingOverageTime`` is set to this bot's overage left), return the bot's action dict.

        Raises:
            BotError: the bot exited, timed out, ran out of overage or sent no JSON object.
        """
        t0 = time.perf_counter()
        first = self.proc is None
        if first:
            if self.returncode is not None:
                raise BotError(f"bot {self.folder}: asked to act after it was closed")
            self._start()
        step = msg.get("step")
        msg = dict(msg, remainingOverageTime=self.overage)
        budget = self.act_timeout + self.overage + (self.startup if first else 0.0)
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail(step)
        try:
            line = self.lines.get(timeout=max(budget, 0.01))
        except queue.Empty:
            self._fail(step, f"timed out: no answer within {budget:.1f} s", kill=True)
        used = time.perf_counter() - t0
        self.turn_times.append(used)
        self._sample_rss()
        if line is None:
            self._fail(step)
        self.overage -= max(0.0, used - self.act_timeout - (self.startup if first else 0.0))
        if self.overage < 0:
            self._fail(step, f"ran out of overage time (turn took {used:.2f} s)")
        try:
            action = json.loads(line)
        except ValueError:
            action = None
        if not isinstance(action, dict):
            self._fail(step, f"bad reply {line.strip()[:200]!r} (not a JSON object)")
        return action

    def close(self, timeout=5):
        """Close the bot's stdin and wait for it (killed after ``timeout`` s); returns its exit
        code (-9: killed; None: never started). Safe to call again."""
        if self.proc is None:
            return self.returncode
        self._sample_rss()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = -9
        self._err_pump.join(timeout=1.0)
        self.proc = None
        return self.returncode

    def error_lines(self):
        """The kept stderr lines that report an error (``[luxkit] ERROR`` or a traceback)."""
        return [ln for ln in self.stderr if "ERROR" in ln or "Traceback" in ln]


class InProcessAgent:
    """One of our policies (``policy(GameState) -> action dict``) behind the protocol.

    It keeps a GameState fed with the same JSON messages a bot gets and plays the early phase with
    :func:`agent.early.early_action`, as :func:`wrappers.engine.run_game` does.
    """

    def __init__(self, policy, player):
        self.policy, self.player, self.state = policy, player, None

    def act(self, msg):
        """The policy's action dict (engine format) for one protocol message (dict, as a bot gets)."""
        from agent.early import early_action
        from agent.obs import GameState

        if self.state is None:
            self.state = GameState(msg["info"]["env_cfg"], self.player)
        st = self.state.update(msg["obs"], step=msg["step"])
        return early_action(st) if (st.step == 0 or st.is_early_phase) else self.policy(st)

    def close(self):
        """Nothing to close (the protocol agents' interface)."""


def run_protocol_game(env, map_seed, agents, on_step=None, on_reset=None):
    """Play one game on ``env`` between two agents speaking the protocol (runner semantics).

    Each engine step both agents, ``player_0`` then ``player_1`` (so two bots never compete for
    the CPU), get the message; the list values of their answers are made numpy arrays, as the
    runner does, and the engine steps (its prints silenced).

    Args:
        env (luxai_s2.env.LuxAI_S2): the engine (rules already set).
        map_seed (int): reset seed.
        agents (dict): player -> object with ``act(msg) -> action dict`` and ``close()``
            (:class:`ProtocolBot`, :class:`InProcessAgent`, :class:`training.imitation.teachers.ShadowAgent`).
        on_step, on_reset: hooks as in :func:`wrappers.engine.run_game` (``on_step(env, acts, obs)``
            after every engine step, ``on_reset(env)`` once).

    Returns:
        dict: the engine's final rewards per player.

    Raises:
        BotError: a protocol bot failed (every agent is closed first); whatever the engine raises
            on a malformed action.
    """
    import dataclasses

    import numpy as np

    from wrappers.engine import quiet_engine

    try:
        env.reset(seed=map_seed)
        if on_reset is not None:
            on_reset(env)
        state_obs = env.state.get_compressed_obs()
        obs_json = to_json(state_obs)
        info = {"env_cfg": dataclasses.asdict(env.env_cfg)}
        rewards = {p: 0 for p in PLAYERS}
        done = False
        first = True
        while not done:
            acts = {}
            for p in PLAYERS:
                msg = dict(obs=obs_json, step=int(env.env_steps), remainingOverageTime=60.0, player=p,
                           reward=float(rewards[p]), info=info if first else {})
                acts[p] = {k: (np.array(v) if isinstance(v, list) else v) for k, v in agents[p].act(msg).items()}
            first = False
            with quiet_engine():
                obs, rewards, term, trunc, _ = env.step(acts)
            done = any(term.values()) or any(trunc.values())
            obs_json = to_json(env.state.get_change_obs(state_obs))
            state_obs = obs["player_0"]
            if on_step is not None:
                on_step(env, acts, obs)
        return rewards
    finally:
        for a in agents.values():
            a.close()


class ReplayRecorder:
    """``on_reset``/``on_step`` hooks that record a game in the luxai-s2 runner's JSON format
    (compressed observations) plus ``env_cfg``; :meth:`save` writes it."""

    def __init__(self):
        self.replay = dict(observations=[], actions=[])
        self.prev = None

    def on_reset(self, env):
        """Record the first, full observation of ``env`` (just reset)."""
        self.replay["observations"].append(to_json(env.state.get_compressed_obs()))
        self.prev = env.state.get_obs()

    def on_step(self, env, acts, obs):
        """Record one engine step: ``acts`` (player -> action dict) and the change observation."""
        self.replay["actions"].append(to_json(acts))
        self.replay["observations"].append(to_json(env.state.get_change_obs(self.prev)))
        self.prev = obs["player_0"]

    def save(self, path, env, seed, players):
        """Write the replay JSON to ``path`` (folders made) with ``metadata`` (``seed``, ``players``:
        player -> name), ``default_seed`` and the engine's ``env_cfg``; returns ``path``."""
        import dataclasses

        out = dict(self.replay, metadata={"seed": int(seed), "players": players}, default_seed=int(seed),
                   env_cfg=dataclasses.asdict(env.env_cfg))
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(out, f)
        return path

