"""Any bot that speaks the Lux S2 stdin/stdout protocol, as teacher or opponent (``bot:PATH``).

A bot is a folder whose ``main.py`` reads one JSON line per turn and answers one JSON line of
actions (the ``luxai-s2`` runner's protocol, :mod:`luxai_runner.bot`). It is started as
``python main.py`` with the folder as working directory, where ``python`` is this interpreter
(override with the environment variable ``LUXKIT_BOT_PYTHON``); the bot inherits our environment,
so ``LUXKIT_AGENT=scripted`` picks the agent of our own repo folder.

:func:`run_protocol_game` plays one game on a ``luxai_s2`` engine exactly as the runner does
(the first turn a full observation and ``info.env_cfg``, later turns change observations, the same
hooks as :func:`wrappers.engine.run_game`) between two *agents*: a :class:`ProtocolBot`
subprocess or an :class:`InProcessAgent` (one of our policies, fed the same JSON stream through
``agent.obs.GameState``). Any map size of ``wrappers.engine.RULES`` works (the runner's CLI only
plays 64x64).

:func:`collect_from_bot` (``python -m training.bc collect teacher=bot:PATH``) plays games with the
bot, writes each game's replay (the runner's JSON format) and imports them with
:mod:`training.replays`.

Turn budget (Kaggle's): ``act_timeout`` seconds per turn (default 3, env ``LUXKIT_BOT_ACT_TIMEOUT``)
plus ``overage`` seconds for the whole game (60, ``LUXKIT_BOT_OVERAGE``); the first turn also gets
``startup`` seconds (30, ``LUXKIT_BOT_STARTUP``) for imports. A bot that exits, answers
something that is not a JSON object, or runs out of time raises :class:`BotError`, one line
naming the folder, the step and the last line of its stderr.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time

from agent.player import BOT_PREFIX  # the bot:PATH form of the policy-spec language

PLAYERS = ("player_0", "player_1")


class BotError(RuntimeError):
    """A protocol bot crashed, timed out or answered garbage; the message is one line."""


def is_bot_spec(spec):
    """Whether a policy spec (:func:`agent.player.policy_from_spec`) names a protocol bot."""
    return isinstance(spec, str) and spec.startswith(BOT_PREFIX)


def bot_folder(spec):
    """The folder of a ``bot:PATH`` spec (absolute).

    Raises:
        ValueError: no ``main.py`` in it.
    """
    folder = os.path.abspath(spec[len(BOT_PREFIX):] if is_bot_spec(spec) else spec)
    if not os.path.isfile(os.path.join(folder, "main.py")):
        raise ValueError(f"bot {spec!r}: {folder} has no main.py")
    return folder


def _to_json(obj):
    from luxai_runner.utils import to_json

    return to_json(obj)


class ProtocolBot:
    """One side played by ``python main.py`` in ``folder`` (see module docstring).

    Args:
        folder (str): the bot folder (holds main.py).
        act_timeout (float): seconds per turn before overage is spent.
        overage (float): seconds of overage for the game.
        startup (float): extra seconds for the first turn.

    Raises (from :meth:`act`):
        BotError
    """

    def __init__(self, folder, act_timeout=None, overage=None, startup=None):
        env = os.environ
        act_timeout = float(env.get("LUXKIT_BOT_ACT_TIMEOUT", 3.0)) if act_timeout is None else act_timeout
        overage = float(env.get("LUXKIT_BOT_OVERAGE", 60.0)) if overage is None else overage
        startup = float(env.get("LUXKIT_BOT_STARTUP", 30.0)) if startup is None else startup
        self.folder = bot_folder(folder)
        self.act_timeout, self.overage, self.startup = float(act_timeout), float(overage), float(startup)
        self.proc = None
        self.stderr_tail = []
        self.turn_times = []

    def start(self):
        python = os.environ.get("LUXKIT_BOT_PYTHON", sys.executable)
        self.proc = subprocess.Popen([python, "main.py"], cwd=self.folder, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump_out, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump_out(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-20:]

    def _fail(self, step, what):
        time.sleep(0.05)  # let the stderr pump catch the last words
        last = next((s for s in reversed(self.stderr_tail) if s.strip()), "")
        self.close()
        raise BotError(f"bot {self.folder}: {what} at step {step}" + (f"; its stderr: {last[:300]}" if last else ""))

    def act(self, msg):
        """Send one protocol message (dict), return the bot's action dict.

        Raises:
            BotError: the bot exited, timed out or sent no JSON object.
        """
        if self.proc is None:
            self.start()
        step = msg.get("step")
        msg = dict(msg, remainingOverageTime=self.overage)
        budget = self.act_timeout + self.overage + (self.startup if not self.turn_times else 0.0)
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail(step, f"exited (code {self.proc.poll()})")
        try:
            line = self.lines.get(timeout=budget)
        except queue.Empty:
            self._fail(step, f"timed out ({budget:.0f} s)")
        used = time.perf_counter() - t0
        self.turn_times.append(used)
        if self.turn_times and len(self.turn_times) > 1:
            self.overage -= max(0.0, used - self.act_timeout)
        if line is None:
            self._fail(step, f"exited (code {self.proc.wait(timeout=5)})")
        try:
            action = json.loads(line)
        except ValueError:
            self._fail(step, f"answered non-JSON {line.strip()[:80]!r}")
        if not isinstance(action, dict):
            self._fail(step, f"answered {type(action).__name__}, not a JSON object")
        return action

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class InProcessAgent:
    """One of our policies (``policy(GameState) -> action dict``) behind the protocol.

    It keeps a GameState fed with the same JSON messages a bot gets and plays the early phase with
    :func:`agent.early.early_action`, as :func:`wrappers.engine.run_game` does.
    """

    def __init__(self, policy, player):
        self.policy, self.player, self.state = policy, player, None

    def act(self, msg):
        from agent.early import early_action
        from agent.obs import GameState

        if self.state is None:
            self.state = GameState(msg["info"]["env_cfg"], self.player)
        st = self.state.update(msg["obs"], step=msg["step"])
        return early_action(st) if (st.step == 0 or st.is_early_phase) else self.policy(st)

    def close(self):
        pass


def run_protocol_game(env, map_seed, agents, on_step=None, on_reset=None):
    """Play one game on ``env`` between two agents speaking the protocol (runner semantics).

    Args:
        env (luxai_s2.env.LuxAI_S2): the engine (rules already set).
        map_seed (int): reset seed.
        agents (dict): player -> object with ``act(msg) -> action dict`` and ``close()``.
        on_step, on_reset: hooks as in :func:`wrappers.engine.run_game`.

    Returns:
        dict: the engine's final rewards per player.

    Raises:
        BotError: a protocol bot failed (every agent is closed first).
    """
    import dataclasses

    from wrappers.engine import quiet_engine

    try:
        env.reset(seed=map_seed)
        if on_reset is not None:
            on_reset(env)
        state_obs = env.state.get_compressed_obs()
        obs_json = _to_json(state_obs)
        info = {"env_cfg": dataclasses.asdict(env.env_cfg)}
        rewards = {p: 0 for p in PLAYERS}
        done = False
        first = True
        while not done:
            acts = {}
            for p in PLAYERS:
                msg = dict(obs=obs_json, step=int(env.env_steps), remainingOverageTime=60.0, player=p,
                           reward=float(rewards[p]), info=info if first else {})
                acts[p] = agents[p].act(msg)
            first = False
            with quiet_engine():
                obs, rewards, term, trunc, _ = env.step(acts)
            done = any(term.values()) or any(trunc.values())
            obs_json = _to_json(env.state.get_change_obs(state_obs))
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
        self.replay["observations"].append(_to_json(env.state.get_compressed_obs()))
        self.prev = env.state.get_obs()

    def on_step(self, env, acts, obs):
        self.replay["actions"].append(_to_json(acts))
        self.replay["observations"].append(_to_json(env.state.get_change_obs(self.prev)))
        self.prev = obs["player_0"]

    def save(self, path, env, seed, players):
        import dataclasses

        out = dict(self.replay, metadata={"seed": int(seed), "players": players}, default_seed=int(seed),
                   env_cfg=dataclasses.asdict(env.env_cfg))
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(out, f)
        return path


class ShadowAgent:
    """DAgger with a bot teacher as a *shadow*: the student plays, the bot labels.

    The bot gets this side's observation stream as if it played (and sees the queues the
    student's actions left); each main-phase turn its answer is turned into labels of the
    student's state with :func:`training.replays.label_turn` (what the engine would execute had the
    bot's actions been sent, against the student's sticky queues: :func:`training.replays.shadow_labels`,
    so a robot whose queue already runs the bot's action is labelled ``keep``, as in the teacher's own
    games imported with ``queues=sticky``), recorded every ``stride`` turns, and then the student's own action is
    played (the bot's with probability ``beta``). The bot plays the early phase (bid, placement).
    Caveat: a bot that trusts its memory of its own past actions more than the observation may
    label worse in states it did not steer into.
    """

    def __init__(self, bot, student, player, beta, rng, stride, stats, sink):
        self.bot, self.student, self.player = bot, student, player
        self.beta, self.rng, self.stride, self.stats, self.sink = float(beta), rng, int(stride), stats, sink
        self.state = None

    def act(self, msg):
        import numpy as np

        from agent.actions import decode
        from agent.features import encode
        from agent.masks import action_masks
        from agent.obs import GameState
        from training.replays import label_turn, shadow_labels

        bot_action = self.bot.act(msg)
        if self.state is None:
            self.state = GameState(msg["info"]["env_cfg"], self.player)
        st = self.state.update(msg["obs"], step=msg["step"])
        if st.step == 0 or st.is_early_phase:
            return bot_action
        if st.real_env_steps % self.stride == 0 and (len(st.my_units) or len(st.my_factories)):
            m = action_masks(st)
            cells, info = label_turn(st, shadow_labels(st, bot_action), m)
            keep = info["legal"] & info["labelled"]
            s = self.stats
            s.robot_turns += len(st.my_units)
            s.labelled += int(info["labelled"].sum())
            s.new_queue += int(info["new"].sum())
            s.exact += int(info["exact"].sum())
            s.legal += int(keep.sum())
            s.factory_turns += len(st.my_factories)
            s.factory_sent += int(info["f_sent"].sum())
            s.factory_legal += int(info["f_legal"].sum())
            from training.replays import FACTORY_SLICE, ROBOT_SLICE

            for i in np.flatnonzero(~keep):
                x, y = st.my_units.pos[i]
                m[x, y, ROBOT_SLICE] = False
            for i in np.flatnonzero(~info["f_legal"]):
                x, y = st.my_factories.pos[i]
                m[x, y, FACTORY_SLICE] = False
            if m.any():
                pl, gl = encode(st)
                self.sink["planes"].append(pl.astype(np.float16))
                self.sink["globals"].append(np.asarray(gl, np.float32))
                self.sink["masks"].append(np.packbits(m.reshape(-1)))
                self.sink["actions"].append(cells.astype(np.int8))
                s.samples += 1
        if self.rng.random() < self.beta:
            return bot_action
        return decode(st, self.student(st))

    def close(self):
        self.bot.close()


def collect_from_bot(teacher, rules="kaggle", games=8, seed0=0, stride=2, max_turns=1000, out="runs/bc/data.npz",
                     opponent_mix=0.5, act_timeout=None, overage=None, student="", beta=0.0, log=print,
                     student_guards=False):
    """Play ``games`` games with a protocol bot and import them as BC data; returns ``out``.

    Game ``g`` uses map seed ``seed0 + g``; with probability ``opponent_mix`` the bot plays
    the random-masked policy (only the bot's side is imported), otherwise itself (a second bot
    process; both sides imported). Each game's replay is kept as
    ``<out without .npz>_replays/game<g>_seed<s>.json``. A game in which the bot crashes or times
    out ends with one line and is skipped.

    With ``student=WEIGHTS`` it collects DAgger data instead: side ``g % 2`` is played by the
    student (greedy) with the bot as its shadow (:class:`ShadowAgent`, the bot's own action with
    probability ``beta``), against the bot itself or (``opponent_mix``) the random-masked policy;
    only the student's side is recorded, labelled by the bot. ``student_guards`` plays the student
    with the shipped decoding (the factory sampling and guards of agent/weights/agent.json), as
    :func:`training.bc.collect`.

    Raises:
        ValueError: not a bot folder, or no game finished.
    """
    import numpy as np

    from agent.actions import decode
    from agent.policy import RandomMaskedPolicy
    from training.replays import Stats, import_replay, load_replay, write_dataset
    from wrappers.engine import make_env

    folder = bot_folder(teacher)
    student_policy = None
    if student:
        import torch

        torch.set_num_threads(1)
        student_policy = dagger_student(student, seed0, student_guards)
    rdir = (out[:-4] if out.endswith(".npz") else out) + "_replays"
    rng = np.random.default_rng(seed0)
    stats, sink, t0, failed, done = Stats(), None, time.time(), 0, 0
    for g in range(games):
        seed = seed0 + g
        env = make_env(rules, max_episode_length=max_turns)
        vs_random = rng.random() < opponent_mix
        bot_side = PLAYERS[g % 2]
        agents, names = {}, {}
        sink = {k: [] for k in ("planes", "globals", "masks", "actions")} if sink is None else sink
        for p in PLAYERS:
            if vs_random and p != bot_side:
                pol = RandomMaskedPolicy(seed)
                agents[p], names[p] = InProcessAgent(lambda st, pol=pol: decode(st, pol(st)), p), "random"
            elif student_policy is not None and p == bot_side:
                bot = ProtocolBot(folder, act_timeout=act_timeout, overage=overage)
                agents[p] = ShadowAgent(bot, student_policy, p, beta, rng, stride, stats, sink)
                names[p] = f"{student} (shadow {teacher})"
            else:
                agents[p], names[p] = ProtocolBot(folder, act_timeout=act_timeout, overage=overage), teacher
        rec = ReplayRecorder()
        try:
            run_protocol_game(env, seed, agents, on_step=rec.on_step, on_reset=rec.on_reset)
        except BotError as e:
            failed += 1
            log(f"game {g + 1}/{games}: seed {seed}: {e}; game skipped")
            continue
        path = rec.save(os.path.join(rdir, f"game{g}_seed{seed}.json"), env, seed, names)
        if student_policy is None:
            players = (bot_side,) if vs_random else PLAYERS
            stats, sink = import_replay(load_replay(path), players, stride, stats, sink)
        else:
            stats.files += 1
            stats.steps += int(env.env_steps)
        done += 1
        kind = ("student vs random" if vs_random else "student vs bot") if student_policy else (
            "vs random" if vs_random else "self-play")
        log(f"game {g + 1}/{games}: seed {seed}, {env.state.real_env_steps} turns, {kind}, {stats.samples} samples, "
            f"{time.time() - t0:.0f} s")
    if student_policy is not None:
        stats.seconds = time.time() - t0  # turns/s of the whole collection (games and labelling)
    if not done:
        raise ValueError(f"no game with bot {folder} finished ({failed} failed)")
    log(stats.line())
    return write_dataset(sink, out)


def dagger_student(path, seed, guards=False):
    """The DAgger student of :func:`training.bc.collect` (and of a bot teacher's shadow games,
    :func:`collect_from_bot`), a cell-action policy (:class:`agent.player.NetPolicy`).

    ``path`` is a weights file, played with robots greedy (with ``guards``: the shipped decoding,
    the ``sample_factories`` and guards of agent/weights/agent.json), or an agent folder (a folder
    with ``agent.json``, :func:`agent.player.agent_folder_config`), played exactly as its agent.json
    says, so DAgger visits the states of the agent as it would be packaged.

    Raises:
        agent.net.CheckpointError: ``path`` is not a loadable weights file.
        ValueError: an unreadable agent.json, an agent folder that plays no net, or ``guards`` with
            an agent folder (the folder says its own guards).
    """
    from agent.guards import GUARDS
    from agent.player import NetPolicy, agent_folder_config, resolve_agent_config

    folder = agent_folder_config(path)
    if folder is not None:
        if guards:
            raise ValueError(f"student={path} is an agent folder: its agent.json says its guards "
                             "(student_guards=true is for a weights file)")
        if folder["spec"] in ("random", "scripted"):
            raise ValueError(f"student={path}: its agent.json plays {folder['spec']!r}, not a net")
        return NetPolicy.from_file(folder["spec"], greedy=folder["greedy"], seed=seed,
                                   sample_factories=folder["sample_factories"], **{k: folder[k] for k in GUARDS})
    if not guards:
        return NetPolicy.from_file(path, greedy=True, seed=seed)
    conf = resolve_agent_config(environ={})
    return NetPolicy.from_file(path, greedy=True, seed=seed, sample_factories=conf["sample_factories"],
                               **{k: conf[k] for k in GUARDS})
