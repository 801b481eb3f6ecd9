"""Teachers that are protocol bots: their games as behaviour-cloning data, their labels for DAgger.

    python -m training.imitation.bc collect teacher=bot:PATH games=8 out=runs/bc/bot.npz
    python -m training.imitation.bc collect teacher=bot:PATH student=WEIGHTS beta=0.2 out=...

:func:`collect_from_bot` plays games with a bot (driven by :mod:`training.botproc`, the one
protocol-bot driver), writes each game's replay (:class:`training.botproc.ReplayRecorder`, the
runner's JSON format) and imports them with :mod:`training.imitation.replays`; with a student it
plays the student with the bot as its shadow (:class:`ShadowAgent`) and records the bot's labels.
:func:`dagger_student` is the DAgger student of both this and :func:`training.imitation.bc.collect`.
"""

import os
import time

from agent.player import bot_folder  # the bot:PATH form of the agent-spec language
from training.botproc import PLAYERS, BotError, InProcessAgent, ProtocolBot, ReplayRecorder, run_protocol_game


class ShadowAgent:
    """DAgger with a bot teacher as a *shadow*: the student plays, the bot labels.

    The bot gets this side's observation stream as if it played (and sees the queues the
    student's actions left); each main-phase turn its answer is turned into labels of the
    student's state with :func:`training.imitation.replays.record_turn` (what the engine would execute had the
    bot's actions been sent, against the student's sticky queues: :func:`training.imitation.replays.shadow_labels`,
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
        """The action dict played this turn (the student's, or the bot's with probability ``beta``
        and in the early phase); labels the student's state with the bot's answer into ``sink``.

        Raises:
            BotError: the bot failed.
        """
        from agent.actions import decode
        from agent.obs import GameState
        from training.imitation.replays import record_turn, shadow_labels

        bot_action = self.bot.act(msg)
        if self.state is None:
            self.state = GameState(msg["info"]["env_cfg"], self.player)
        st = self.state.update(msg["obs"], step=msg["step"])
        if st.step == 0 or st.is_early_phase:
            return bot_action
        if st.real_env_steps % self.stride == 0 and (len(st.my_units) or len(st.my_factories)):
            record_turn(st, shadow_labels(st, bot_action), self.stats, self.sink)
        if self.rng.random() < self.beta:
            return bot_action
        return decode(st, self.student(st))

    def close(self):
        """Close the bot."""
        self.bot.close()


def collect_from_bot(teacher, rules="kaggle", games=8, seed0=0, stride=2, max_turns=1000, out="runs/bc/data.npz",
                     opponent_mix=0.5, act_timeout=None, overage=None, student="", beta=0.0, log=print,
                     student_guards=False, opponent=""):
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
    :func:`training.imitation.bc.collect`.

    ``opponent`` (an in-process agent spec of :func:`agent.player.policy_from_spec`: ``scripted``, a
    weights file, an agent folder) replaces the bot (and the random-masked policy) on the other side,
    so a DAgger student meets the opponent it is validated against; ``""`` keeps the bot.

    Raises:
        ValueError: not a bot folder, an unknown or ``bot:`` opponent, or no game finished.
    """
    import numpy as np

    from agent.actions import decode
    from agent.player import policy_from_spec
    from agent.policy import RandomMaskedPolicy
    from training.imitation.replays import Stats, import_replay, load_replay, write_dataset
    from wrappers.engine import make_env

    folder = bot_folder(teacher)
    if opponent:
        policy_from_spec(opponent, seed=seed0)  # ValueError for an unknown or bot: spec, before any game
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
        vs_random = not opponent and rng.random() < opponent_mix
        bot_side = PLAYERS[g % 2]
        agents, names = {}, {}
        sink = {k: [] for k in ("planes", "globals", "masks", "actions")} if sink is None else sink
        for p in PLAYERS:
            if p != bot_side and (opponent or vs_random):  # an in-process opponent
                pol = policy_from_spec(opponent, seed=seed) if opponent else RandomMaskedPolicy(seed)
                agents[p], names[p] = InProcessAgent(lambda st, pol=pol: decode(st, pol(st)), p), opponent or "random"
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
            players = (bot_side,) if vs_random or opponent else PLAYERS
            stats, sink = import_replay(load_replay(path), players, stride, stats, sink)
        else:
            stats.files += 1
            stats.steps += int(env.env_steps)
        done += 1
        other = opponent or ("random" if vs_random else "bot")
        kind = f"student vs {other}" if student_policy else (f"vs {opponent}" if opponent else
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
    """The DAgger student of :func:`training.imitation.bc.collect` (and of a bot teacher's shadow games,
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
    from agent.player import NetPolicy, agent_folder_config, policy_from_spec, resolve_agent_config

    folder = agent_folder_config(path)
    if folder is not None:
        if guards:
            raise ValueError(f"student={path} is an agent folder: its agent.json says its guards "
                             "(student_guards=true is for a weights file)")
        if folder["spec"] in ("random", "scripted"):
            raise ValueError(f"student={path}: its agent.json plays {folder['spec']!r}, not a net")
        return policy_from_spec(path, seed=seed)  # as its agent.json says
    if not guards:
        return NetPolicy.from_file(path, greedy=True, seed=seed)
    conf = resolve_agent_config(environ={})
    return NetPolicy.from_file(path, greedy=True, seed=seed, sample_factories=conf["sample_factories"],
                               joint_greedy=conf["joint_greedy"], **{k: conf[k] for k in GUARDS})
