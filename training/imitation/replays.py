"""Learn from any bot's games: import Lux S2 replays as behaviour-cloning data.

    python -m training.imitation.replays import REPLAY... out=FILE.npz [player=both|player_0|player_1] [stride=N]
        [max_episode_length=1000] [skip_bad=false]
    python -m training.imitation.replays import REPLAY... shard_dir=DIR [same keys]   # one shard per replay, resumable
        [queues=recorded|sticky]   # sticky: labels against the one-action queues our agent would hold
    python -m training.imitation.replays check REPLAY... [player=both]     # labels vs the real engine
    python -m training.imitation.replays render REPLAY out=FILE.gif|.mp4|.png [every=N] [start=T] [end=T] [fps=10] [cell=PX]
    python -m training.imitation.replays plot REPLAY out=FILE.png     # per-team lichen, water, robots... over the game

Two replay formats are read, gzipped (``.gz``), xz-compressed (``.xz``, Python's ``lzma``) or
plain (the compression is detected by content, not by the name):

* **luxai-s2 runner** (``luxai-s2 a/main.py b/main.py -o replay.json``, and ``train.py mode=test
  replays=true``): ``observations`` (T+1 observations; the first is full, later ones are change
  observations with ``--replay.compressed_obs``, full ones otherwise) and ``actions`` (T dicts
  ``{player: action dict}``; ``actions[t]`` acts on the state of ``observations[t]``). The runner
  does not store the rules: they are luxai-s2's ``EnvConfig`` defaults with the map size of the
  first board and ``max_episode_length`` from the command line, unless the file carries an
  ``env_cfg`` key.
* **Kaggle episode** (``kaggle competitions replay EPISODE_ID``, kaggle-environments
  ``env.toJSON()``): ``configuration.env_cfg`` holds the rules, ``steps[t][p]`` holds ``action``
  and ``observation``; ``observation.obs`` (player 0's entry, the field is shared) is a JSON
  string with a change observation (ice and ore only at step 0); ``steps[t]``'s actions act on the
  state of ``steps[t-1]``.

The observations are fed turn by turn into :class:`agent.obs.GameState` (the agent's own code
path: ``GameState.update`` with the protocol step), one per imported player.

**Labels** are the action the engine *executes* that turn, in the head's terms
(:mod:`agent.actions`). ``luxai_s2.env.LuxAI_S2.step``: a submitted queue replaces the robot's
queue only if the robot has ``ACTION_QUEUE_POWER_COST`` power; the engine then tries the head of
the queue. So a robot is labelled

* ``KEEP`` when no new queue took effect (not submitted, or not enough power): the queue goes on;
* otherwise the head of the new queue: move (direction 1-4), transfer (direction, resource, amount
  quantised to the nearest of ``AMOUNT_FRACTIONS`` of what is held: cargo, or power after the
  queue cost), pickup (resource, amount quantised against ``min(factory stock, free space)``), dig,
  self-destruct, recharge (amount quantised against the battery capacity). An amount counts as
  *exact* when the quantised amount moves the same quantity as the original (the engine moves
  ``min(held, amount)``). A move with direction 0 ("move center") or an empty new queue is a stay:
  ``RECHARGE`` (100 %) if that is legal, else ``KEEP``, and never exact.

A factory is labelled by the factory action it was sent (none, build LIGHT, build HEAVY, water).

A label that :func:`agent.masks.action_masks` forbids is dropped: its cell's robot (or factory)
components get an all-False mask, which the distribution treats as absent, so the cell adds
nothing to the likelihood (it is never trained on); a sample whose every label was dropped is not
written.

**Output** is exactly what ``python -m training.imitation.bc fit data=...`` reads (``training.imitation.bc.collect``'s
format): ``planes`` float16 (N, C, S, S) and ``globals`` float32 (N, G) from
:func:`agent.features.encode`, ``masks`` uint8 (N, ceil(S*S*A/8)) bit-packed bool (S, S, A),
``actions`` int8 (N, S, S, K), ``map_size``; written with ``np.savez_compressed`` (observation
planes are mostly zeros). One sample per imported player and main-phase turn with
``real_env_steps % stride == 0`` on which the player has a robot or factory. The label statistics
count the sampled turns.

``check`` replays the game in ``luxai_s2`` from the replay's seed with the recorded actions and, at
every main-phase turn, branches one engine step in which both players' *labels* (converted back
to engine actions by :func:`label_actions`) are played instead; it compares every unit's position
with the recorded next observation (and power and cargo of every robot and factory on turns whose
labels were all exact).

Errors: a file that cannot be read (missing, truncated gzip or JSON, not a Lux S2 replay, another
game's or version's replay) raises :class:`ReplayError` naming the file; the CLI prints that one
line and exits with code 2 without writing anything (``skip_bad=true`` skips such files instead).
"""

import copy
import json
import os
import sys
import time

import numpy as np

from agent.actions import (
    AMOUNT_FRACTIONS, C_AMOUNT, C_FACTORY, C_MOVE, C_PRES, C_TDIR, C_TRES, C_TYPE, DIG, F_HEAVY, F_LIGHT,
    F_NONE, F_WATER, KEEP, MOVE, NUM_COMPONENTS, NVEC, OFFSETS, PICKUP, RECHARGE, SELF_DESTRUCT,
    TRANSFER, amount_units,
)

PLAYERS = ("player_0", "player_1")
# luxai_s2.actions: engine action types and directions
E_MOVE, E_TRANSFER, E_PICKUP, E_DIG, E_SELF_DESTRUCT, E_RECHARGE = range(6)
ROBOT_TO_ENGINE = {MOVE: E_MOVE, TRANSFER: E_TRANSFER, PICKUP: E_PICKUP, DIG: E_DIG,
                   SELF_DESTRUCT: E_SELF_DESTRUCT, RECHARGE: E_RECHARGE}
ENGINE_TO_FACTORY = {0: F_LIGHT, 1: F_HEAVY, 2: F_WATER}
FACTORY_TO_ENGINE = {F_LIGHT: 0, F_HEAVY: 1, F_WATER: 2}
# components each robot type uses besides robot_type (the head table in agent/actions.py)
USED = {MOVE: (C_MOVE,), TRANSFER: (C_TDIR, C_TRES, C_AMOUNT), PICKUP: (C_PRES, C_AMOUNT), RECHARGE: (C_AMOUNT,)}
ROBOT_SLICE = slice(0, int(OFFSETS[C_FACTORY]))
FACTORY_SLICE = slice(int(OFFSETS[C_FACTORY]), int(OFFSETS[C_FACTORY] + NVEC[C_FACTORY]))
TYPE_NAMES = {KEEP: "keep", MOVE: "move", TRANSFER: "transfer", PICKUP: "pickup", DIG: "dig",
              SELF_DESTRUCT: "self_destruct", RECHARGE: "recharge"}


from training.replay_io import (  # noqa: E402  (the reader, shared with training.evaluation.render)
    ReplayError, iter_states, load_replay,
)


# ---------------------------------------------------------------------------------------- labels
def amount_of(frac_idx, avail):
    """Units of an amount choice, as an int (the head's rule, :func:`agent.actions.amount_units`)."""
    return int(amount_units(frac_idx, int(avail)))


def quantise(amount, avail, cap=None):
    """Nearest amount choice for an engine ``amount`` given ``avail``; returns ``(index, exact)``.

    The engine moves ``min(cap, amount)`` (``cap`` defaults to ``avail``: what is held); exact means
    the quantised choice moves the same quantity.
    """
    cap = avail if cap is None else cap
    want = min(int(amount), int(cap))
    got = [min(amount_of(i, avail), int(cap)) for i in range(len(AMOUNT_FRACTIONS))]
    i = int(np.argmin([abs(g - want) for g in got]))
    return i, got[i] == want


def _factory_stock(state, x, y):
    """int64 (5,) ice, ore, water, metal, power of our factory covering (x, y); zeros if none."""
    f = state.my_factories
    for i in range(len(f)):
        if abs(int(f.pos[i, 0]) - x) <= 1 and abs(int(f.pos[i, 1]) - y) <= 1:
            return np.concatenate([f.cargo[i], f.power[i:i + 1]])
    return np.zeros(5, np.int64)


def label_turn(state, actions, masks):
    """Head labels of what the engine executes this turn for ``state.player``'s units.

    Args:
        state (agent.obs.GameState): main-phase state before the step.
        actions (dict): the action dict the player sent (``{"unit_3": [[...], ...], "factory_1": 2}``).
        masks (np.ndarray): bool (S, S, A), :func:`agent.masks.action_masks` of ``state``.

    Returns:
        (cells, info): int64 (S, S, K) labels (0 on cells without our unit), and a dict of
        per-robot arrays in ``state.my_units`` order: ``new`` bool (a new queue took effect),
        ``exact`` bool, ``legal`` bool, ``labelled`` bool (False: an unreadable queue head,
        left as KEEP), ``stay`` bool (move-center or empty queue), and per-factory ``f_legal`` bool,
        ``f_sent`` bool.
    """
    cfg = state.cfg
    S = cfg.map_size
    cells = np.zeros((S, S, NUM_COMPONENTS), np.int64)
    u = state.my_units
    n = len(u)
    new, exact, labelled, legal = (np.zeros(n, bool), np.ones(n, bool), np.ones(n, bool), np.ones(n, bool))
    stay = np.zeros(n, bool)
    qsize = int(cfg.raw.get("UNIT_ACTION_QUEUE_SIZE", 20))
    for i, uid in enumerate(u.ids):
        x, y = int(u.pos[i, 0]), int(u.pos[i, 1])
        h = int(u.heavy[i])
        q = int(cfg.robot["ACTION_QUEUE_POWER_COST"][h])
        c = cells[x, y]
        queue = actions.get(uid)
        if queue is None or int(u.power[i]) < q:
            c[C_TYPE] = KEEP
            continue
        new[i] = True
        try:
            queue = list(queue)[:qsize]
            head = [int(v) for v in np.asarray(queue[0]).reshape(-1)] if queue else None
            if head is not None and len(head) != 6:
                raise ValueError
        except (TypeError, ValueError):
            labelled[i] = exact[i] = False
            c[C_TYPE] = KEEP
            continue
        if head is None or (head[0] == E_MOVE and head[1] == 0):  # a stay
            exact[i], stay[i] = False, True
            if masks[x, y, OFFSETS[C_TYPE] + RECHARGE]:
                c[C_TYPE], c[C_AMOUNT] = RECHARGE, len(AMOUNT_FRACTIONS) - 1
            else:
                c[C_TYPE] = KEEP
            continue
        kind, d, res, amount = head[:4]
        if kind == E_MOVE and 1 <= d <= 4:
            c[C_TYPE], c[C_MOVE] = MOVE, d - 1
        elif kind == E_TRANSFER and 0 <= d <= 4 and 0 <= res <= 4:
            held = int(u.cargo[i, res]) if res < 4 else int(u.power[i]) - q
            c[C_TYPE], c[C_TDIR], c[C_TRES] = TRANSFER, d, res
            c[C_AMOUNT], exact[i] = quantise(amount, max(held, 0))
        elif kind == E_PICKUP and 0 <= res <= 4:
            stock = int(_factory_stock(state, x, y)[res])
            space = (int(cfg.robot["CARGO_SPACE"][h]) - int(u.cargo[i, res]) if res < 4
                     else int(cfg.robot["BATTERY_CAPACITY"][h]) - int(u.power[i]))
            c[C_TYPE], c[C_PRES] = PICKUP, res
            c[C_AMOUNT], exact[i] = quantise(amount, max(min(stock, space), 0), cap=stock)
        elif kind == E_DIG:
            c[C_TYPE] = DIG
        elif kind == E_SELF_DESTRUCT:
            c[C_TYPE] = SELF_DESTRUCT
        elif kind == E_RECHARGE:
            cap = int(cfg.robot["BATTERY_CAPACITY"][h])
            c[C_TYPE] = RECHARGE
            c[C_AMOUNT] = int(np.argmin([abs(amount_of(j, cap) - amount) for j in range(len(AMOUNT_FRACTIONS))]))
            exact[i] = amount_of(int(c[C_AMOUNT]), cap) == amount
        else:
            labelled[i] = exact[i] = False
            c[C_TYPE] = KEEP
    # legality under our masks
    for i in range(n):
        x, y = int(u.pos[i, 0]), int(u.pos[i, 1])
        c = cells[x, y]
        t = int(c[C_TYPE])
        ok = masks[x, y, OFFSETS[C_TYPE] + t]
        for k in USED.get(t, ()):
            ok = ok and masks[x, y, OFFSETS[k] + c[k]]
        legal[i] = bool(ok)
    f = state.my_factories
    nf = len(f)
    f_legal, f_sent = np.ones(nf, bool), np.zeros(nf, bool)
    for i, fid in enumerate(f.ids):
        x, y = int(f.pos[i, 0]), int(f.pos[i, 1])
        a = actions.get(fid)
        choice = F_NONE
        if a is not None:
            try:
                choice = ENGINE_TO_FACTORY.get(int(a), F_NONE)
            except (TypeError, ValueError):
                choice = F_NONE
        f_sent[i] = choice != F_NONE
        cells[x, y, C_FACTORY] = choice
        f_legal[i] = bool(masks[x, y, OFFSETS[C_FACTORY] + choice])
    return cells, dict(new=new, exact=exact, legal=legal, labelled=labelled, stay=stay, f_legal=f_legal,
                       f_sent=f_sent)


def label_actions(state, cells):
    """Engine action dict that plays the labels ``cells`` exactly as the head means them.

    Every robot whose label is not KEEP is sent a one-action queue ``[type, dir, res, amount, 0, 1]``
    (amounts by :func:`amount_of`: transfer of what is held, power after the queue cost; pickup of
    ``min(factory stock, free space)``; recharge of the battery capacity); factories get their
    action. Used by :func:`engine_check`.
    """
    cfg = state.cfg
    u = state.my_units
    out = {}
    for i, uid in enumerate(u.ids):
        x, y = int(u.pos[i, 0]), int(u.pos[i, 1])
        c = cells[x, y]
        t = int(c[C_TYPE])
        if t == KEEP:
            continue
        h = int(u.heavy[i])
        vec = [ROBOT_TO_ENGINE[t], 0, 0, 0, 0, 1]
        if t == MOVE:
            vec[1] = int(c[C_MOVE]) + 1
        elif t == TRANSFER:
            res = int(c[C_TRES])
            held = int(u.cargo[i, res]) if res < 4 else int(u.power[i]) - int(cfg.robot["ACTION_QUEUE_POWER_COST"][h])
            vec[1], vec[2], vec[3] = int(c[C_TDIR]), res, amount_of(int(c[C_AMOUNT]), held)
        elif t == PICKUP:
            res = int(c[C_PRES])
            stock = int(_factory_stock(state, x, y)[res])
            space = (int(cfg.robot["CARGO_SPACE"][h]) - int(u.cargo[i, res]) if res < 4
                     else int(cfg.robot["BATTERY_CAPACITY"][h]) - int(u.power[i]))
            vec[2], vec[3] = res, amount_of(int(c[C_AMOUNT]), min(stock, space))
        elif t == RECHARGE:
            vec[3] = amount_of(int(c[C_AMOUNT]), int(cfg.robot["BATTERY_CAPACITY"][h]))
        out[uid] = [vec]
    f = state.my_factories
    for i, fid in enumerate(f.ids):
        choice = int(cells[int(f.pos[i, 0]), int(f.pos[i, 1]), C_FACTORY])
        if choice != F_NONE:
            out[fid] = FACTORY_TO_ENGINE[choice]
    return out


# ---------------------------------------------------------------------------------------- our queues
class StickyQueues:
    """The action queues our agent would hold had it played the recorded actions (``queues=sticky``).

    A recorded bot keeps its own queues (e.g. three moves, then five digs, then a transfer, sent at
    once). Labelled against those (``queues=recorded``), a dig that the bot's queue runs after its
    moves is ``keep``: the state shows the bot's queue head (a dig) and keeping it digs. Our agent
    plays one-action sticky queues (:mod:`agent.actions`): at the same tile its head is still the
    sticky move, and keep would walk on. So a clone learns "keep" where our agent must send a dig.

    This class follows, robot by robot, the one-action queue our head would have sent for the
    actions the engine executed: a sticky move, dig or recharge (``repeat=1, n=1``); transfer,
    pickup and self-destruct run once and leave the queue empty. Each turn, the executed action
    (:func:`executed_action`) is labelled ``keep`` when our queue would run the same action (same
    type, and the same direction for a move; an idle robot whose queue is empty or a recharge);
    otherwise the label is the executed action, sent as a new queue, which becomes our queue. The
    queue planes and masks of a sampled turn are computed with our queues in place of the bot's
    (:meth:`apply`), so the state is the one our agent would see.

    Approximations (named, not hidden): a new queue is assumed paid (``ACTION_QUEUE_POWER_COST``
    is taken from the recorded robot's power, as the bot paid for its own); a sticky action the
    engine rejects would stay in our queue, an executed one in the bot's is followed.
    """

    def __init__(self):
        self.heads = {}  # unit_id -> int64 (6,) our queue head, absent = empty queue

    def step(self, state, actions):
        """Advance our queues by one turn; returns the action dict our agent would send (engine
        vectors, one action per robot that needs a new queue: label it with :func:`label_turn`)."""
        u = state.my_units
        sent = {}
        alive = set(u.ids)
        for uid in [k for k in self.heads if k not in alive]:
            del self.heads[uid]
        for i, uid in enumerate(u.ids):
            e = executed_action(state, actions, i)
            ours = self.heads.get(uid)
            if _same_action(ours, e):
                if ours is not None and int(ours[4]) == 0:
                    del self.heads[uid]  # a one-shot head runs once
                continue
            if e is None:  # idle: stay with a sticky recharge of the full battery
                cap = int(state.cfg.robot["BATTERY_CAPACITY"][int(u.heavy[i])])
                e = np.array([E_RECHARGE, 0, 0, cap, 1, 1], np.int64)
            vec = np.array(e, np.int64).copy()
            sticky = int(vec[0]) in (E_MOVE, E_DIG, E_RECHARGE)
            vec[4], vec[5] = (1, 1) if sticky else (0, 1)
            sent[uid] = [vec.tolist()]
            if sticky:
                self.heads[uid] = vec
            else:
                self.heads.pop(uid, None)
        return sent

    def apply(self, state):
        """Put our queues in ``state.my_units`` (head, queue_len) in place of the recorded bot's,
        before masks and features of this turn are computed."""
        u = state.my_units
        for i, uid in enumerate(u.ids):
            h = self.heads.get(uid)
            if h is None:
                u.head[i] = -1
                u.queue_len[i] = 0
            else:
                u.head[i] = h
                u.queue_len[i] = 1
        u.derived.clear()


def shadow_labels(state, actions):
    """The bot's action dict as our agent would send it, for the labels of a DAgger shadow
    (:class:`training.imitation.teachers.ShadowAgent`); returns the dict to give :func:`label_turn`.

    The student plays our one-action sticky queues, so ``state.my_units`` holds *its* queues. A bot
    shadow re-plans every robot every turn (a new queue for each). Sent as is, every label would be
    a new queue and a DAgger fit would learn never to keep, where the teacher's own games (imported
    with ``queues=sticky``) label ``keep`` whenever our queue already runs the teacher's action. So
    the shadow's answer goes through :meth:`StickyQueues.step` with the student's queues as
    ours: a robot whose queue head runs what the bot would execute (:func:`executed_action`) gets
    no entry (``keep``), the others get that action as a one-action queue. Factory actions pass.

    Args:
        state (agent.obs.GameState): the student's main-phase state before the step.
        actions (dict): the bot's action dict (``{"unit_3": [[...], ...], "factory_1": 2}``).

    Returns:
        dict: ``{unit_id: [int (6,)]}`` for robots that need a new queue, and the factory actions.
    """
    ours = StickyQueues()
    u = state.my_units
    for i, uid in enumerate(u.ids):
        if int(u.queue_len[i]) > 0:
            ours.heads[uid] = np.asarray(u.head[i], np.int64).copy()
    sent = ours.step(state, actions)
    sent.update({k: v for k, v in actions.items() if str(k).startswith("factory_")})
    return sent


def executed_action(state, actions, i):
    """The engine action vector (int64 (6,)) robot ``i`` of ``state.my_units`` runs this turn, or
    None when it stays idle (empty queue, move to the center).

    ``LuxAI_S2.step``: a submitted queue replaces the robot's own when it has
    ``ACTION_QUEUE_POWER_COST`` power; the engine then runs the head of the queue."""
    u = state.my_units
    uid = u.ids[i]
    q = int(state.cfg.robot["ACTION_QUEUE_POWER_COST"][int(u.heavy[i])])
    head = None
    queue = actions.get(uid)
    if queue is not None and int(u.power[i]) >= q:
        try:
            queue = list(queue)
            head = np.asarray(queue[0], np.int64).reshape(-1) if queue else None
        except (TypeError, ValueError, IndexError):
            head = None
        if head is not None and head.shape[0] != 6:
            head = None
    elif int(u.queue_len[i]) > 0:
        head = u.head[i]
    if head is None or (int(head[0]) == E_MOVE and int(head[1]) == 0):
        return None
    return head


def _same_action(ours, e):
    """Whether our queue head ``ours`` (or None) runs the executed action ``e`` (or None = idle)."""
    if ours is None or int(ours[0]) == E_RECHARGE:
        return e is None or (ours is not None and int(e[0]) == E_RECHARGE)
    if e is None:
        return False
    if int(ours[0]) != int(e[0]):
        return False
    if int(e[0]) == E_MOVE:
        return int(ours[1]) == int(e[1])
    return int(e[0]) == E_DIG


# ---------------------------------------------------------------------------------------- import
class Stats:
    """Counters of an import (robot-turns and factory-turns of the sampled turns)."""

    KEYS = ("files", "steps", "robot_turns", "labelled", "new_queue", "exact", "legal", "factory_turns",
            "factory_sent", "factory_legal", "samples", "empty_samples")

    def __init__(self):
        for k in self.KEYS:
            setattr(self, k, 0)
        self.seconds = 0.0
        self.illegal = {}  # robot label type name -> robot-turns our masks forbid
        self.inexact = {}  # label type name ("stay" for move-center / empty queue) -> robot-turns

    def _inexact_text(self):
        if not self.inexact:
            return ""
        return "; inexact: " + ", ".join(f"{k} {v}" for k, v in sorted(self.inexact.items(), key=lambda kv: -kv[1]))

    def _illegal_text(self):
        if not self.illegal:
            return ""
        return "; forbidden: " + ", ".join(f"{k} {v}" for k, v in sorted(self.illegal.items(), key=lambda kv: -kv[1]))

    def line(self):
        r = max(self.robot_turns, 1)
        f = max(self.factory_turns, 1)
        return (f"{self.files} replay(s), {self.steps} turns: {self.robot_turns} robot-turns seen, "
                f"{self.labelled} labelled ({self.new_queue / r:.1%} new queues, rest keep), "
                f"{self.exact} exactly expressible ({self.exact / r:.1%}{self._inexact_text()}), "
                f"{self.legal} legal under our masks "
                f"({self.legal / r:.1%}{self._illegal_text()}); {self.factory_turns} factory-turns ({self.factory_sent} acting, "
                f"{self.factory_legal / f:.1%} legal); {self.samples} samples written; "
                f"{self.steps / max(self.seconds, 1e-9):.0f} turns/s")


def import_replay(replay, players=PLAYERS, stride=1, stats=None, sink=None, queues="recorded"):
    """Label one replay; append samples to ``sink`` (a dict of lists) and count into ``stats``.

    Args:
        replay (Replay): the game.
        players (tuple[str]): whose side to import.
        stride (int): sample every ``stride``-th main-phase turn (``real_env_steps % stride == 0``).
        queues (str): ``recorded`` (labels and queue planes against the recorded bot's own queues)
            or ``sticky`` (against the one-action sticky queues our agent would hold:
            :class:`StickyQueues`; the data to clone a bot whose queues are not ours).
        stats (Stats | None), sink (dict | None): accumulators (created when None).

    Returns:
        (stats, sink): sink has lists ``planes`` float16 (C, S, S), ``globals`` float32 (G,),
        ``masks`` uint8 packed, ``actions`` int8 (S, S, K).

    Raises:
        ReplayError: an observation the GameState refuses.
    """

    if queues not in ("recorded", "sticky"):
        raise ValueError(f"queues={queues!r}: choose recorded or sticky")
    stats = Stats() if stats is None else stats
    sink = {k: [] for k in ("planes", "globals", "masks", "actions")} if sink is None else sink
    t0 = time.perf_counter()
    stats.files += 1
    ours = {p: StickyQueues() for p in players}
    for t, states, acts in iter_states(replay, players):
        stats.steps += 1
        for p, st in states.items():
            sent = acts[p]
            if queues == "sticky" and st.real_env_steps >= 0:
                before = {uid: h.copy() for uid, h in ours[p].heads.items()}
                sent = ours[p].step(st, acts[p])
                sent.update({k: v for k, v in acts[p].items() if k.startswith("factory_")})
            if st.real_env_steps < 0 or st.real_env_steps % stride:
                continue
            if not (len(st.my_units) or len(st.my_factories)):
                continue
            if queues == "sticky":  # the state our agent would see: our queues, not the bot's
                held, ours[p].heads = ours[p].heads, before
                ours[p].apply(st)
                ours[p].heads = held
            record_turn(st, sent, stats, sink)
    stats.seconds += time.perf_counter() - t0
    return stats, sink


def record_turn(state, sent, stats, sink):
    """Label one sampled turn and append it to ``sink`` (the import's and the DAgger shadow's one
    recording step).

    The labels are :func:`label_turn` of ``sent`` under :func:`agent.masks.action_masks`; a robot
    whose label is unreadable or illegal under our masks, and a factory whose label is illegal,
    has its masks and label cleared (counted by type in ``stats.illegal``; inexact labels in
    ``stats.inexact``). A turn left with no legal choice is counted in ``stats.empty_samples`` and
    not recorded.

    Args:
        state (agent.obs.GameState): main-phase state before the step (with the queues the labels
            are taken against).
        sent (dict): the action dict to label (``{"unit_3": [[...]], "factory_1": 2}``).
        stats (Stats): counters, updated.
        sink (dict): lists ``planes`` float16 (C, S, S), ``globals`` float32 (G,), ``masks`` uint8
            packed, ``actions`` int8 (S, S, K), appended to.
    """
    from agent.features import encode
    from agent.masks import action_masks

    m = action_masks(state)
    cells, info = label_turn(state, sent, m)
    u = state.my_units
    stats.robot_turns += len(u)
    stats.labelled += int(info["labelled"].sum())
    stats.new_queue += int(info["new"].sum())
    stats.exact += int(info["exact"].sum())
    stats.legal += int((info["legal"] & info["labelled"]).sum())
    stats.factory_turns += len(state.my_factories)
    stats.factory_sent += int(info["f_sent"].sum())
    stats.factory_legal += int(info["f_legal"].sum())
    drop = ~(info["legal"] & info["labelled"])
    for i in np.flatnonzero(~info["exact"]):
        name = "stay" if info["stay"][i] else TYPE_NAMES.get(int(cells[u.pos[i, 0], u.pos[i, 1], C_TYPE]), "?")
        stats.inexact[name] = stats.inexact.get(name, 0) + 1
    for i in np.flatnonzero(drop):
        name = TYPE_NAMES.get(int(cells[u.pos[i, 0], u.pos[i, 1], C_TYPE]), "?")
        stats.illegal[name] = stats.illegal.get(name, 0) + 1
        x, y = u.pos[i]
        m[x, y, ROBOT_SLICE] = False
        cells[x, y, :C_FACTORY] = 0
    for i in np.flatnonzero(~info["f_legal"]):
        x, y = state.my_factories.pos[i]
        m[x, y, FACTORY_SLICE] = False
        cells[x, y, C_FACTORY] = 0
    if not m.any():
        stats.empty_samples += 1
        return
    pl, gl = encode(state)
    sink["planes"].append(pl.astype(np.float16))
    sink["globals"].append(np.asarray(gl, np.float32))
    sink["masks"].append(np.packbits(m.reshape(-1)))
    sink["actions"].append(cells.astype(np.int8))
    stats.samples += 1


def write_dataset(sink, out):
    """Write the samples in ``training.imitation.bc``'s format (see module docstring); returns ``out``.

    Raises:
        ValueError: no samples, or samples of different map sizes.
    """
    if not sink["actions"]:
        raise ValueError("no samples to write (no main-phase turn with a robot or factory of the chosen players)")
    sizes = {a.shape[0] for a in sink["actions"]}
    if len(sizes) != 1:
        raise ValueError(f"replays mix map sizes {sorted(sizes)}; import one size per file")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = out + ".tmp.npz"
    np.savez_compressed(tmp, planes=np.stack(sink["planes"]), globals=np.stack(sink["globals"]),
                        masks=np.stack(sink["masks"]), actions=np.stack(sink["actions"]), map_size=sizes.pop())
    os.replace(tmp, out)
    return out


def expand_paths(paths):
    """Files named by ``paths``; a directory stands for its ``*.json``, ``*.json.gz`` and ``*.json.xz`` files (sorted)."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith((".json", ".json.gz", ".json.xz")))
        else:
            out.append(p)
    return out


def parse_players(player):
    if player == "both":
        return PLAYERS
    if player in PLAYERS:
        return (player,)
    raise ValueError(f"player={player!r} must be player_0, player_1 or both")


def shard_name(path):
    """The shard file name of one replay: its base name without ``.json[.gz|.xz]``, plus ``.npz``."""
    base = os.path.basename(path)
    for ext in (".gz", ".xz"):
        base = base[:-len(ext)] if base.endswith(ext) else base
    return (base[:-5] if base.endswith(".json") else base) + ".npz"


def import_shards(paths, shard_dir, player="both", stride=1, max_episode_length=1000, skip_bad=False, log=print,
                  queues="recorded"):
    """Import each replay into its own shard ``shard_dir/<name>.npz`` (:func:`shard_name`); resumable.

    A shard that exists already is not made again, so a killed import goes on where it stopped
    (each shard is written to a temporary name and renamed). ``training.imitation.bc fit data=DIR`` streams
    the shards of a folder. Returns the :class:`Stats` of the files imported in this call.

    Raises:
        ReplayError: a bad file (unless ``skip_bad``: one line, and the other files go on).
        ValueError: bad ``player``/``stride``.
    """
    players = parse_players(player)
    if int(stride) < 1:
        raise ValueError(f"stride={stride} must be >= 1")
    os.makedirs(shard_dir, exist_ok=True)
    total = Stats()
    for path in expand_paths(paths):
        out = os.path.join(shard_dir, shard_name(path))
        if os.path.exists(out):
            log(f"{out} exists, skipped")
            continue
        try:
            rep = load_replay(path, max_episode_length=max_episode_length)
            stats, sink = import_replay(rep, players, int(stride), queues=queues)
        except ReplayError as e:
            if not skip_bad:
                raise
            log(f"skipped {e}")
            continue
        if sink["actions"]:
            write_dataset(sink, out)
        log(f"{stats.line()} -> {out}")
        for k, v in vars(stats).items():
            if isinstance(v, dict):
                for kk, vv in v.items():
                    getattr(total, k)[kk] = getattr(total, k).get(kk, 0) + vv
            else:
                setattr(total, k, getattr(total, k) + v)
    return total


def import_files(paths, out, player="both", stride=1, max_episode_length=1000, skip_bad=False, log=print,
                 queues="recorded"):
    """Import replay files into one dataset; returns the :class:`Stats`.

    Raises:
        ReplayError: a bad file (unless ``skip_bad``: then it is skipped with one line); nothing is
            written.
        ValueError: bad ``player``/``stride``, or nothing to write.
    """
    players = parse_players(player)
    if int(stride) < 1:
        raise ValueError(f"stride={stride} must be >= 1")
    stats, sink = Stats(), None
    for path in expand_paths(paths):
        try:
            rep = load_replay(path, max_episode_length=max_episode_length)
            stats, sink = import_replay(rep, players, int(stride), stats, sink, queues=queues)
        except ReplayError as e:
            if not skip_bad:
                raise
            log(f"skipped {e}")
    write_dataset(sink or {"actions": []}, out)
    return stats


# ---------------------------------------------------------------------------------------- engine check
def make_engine(env_cfg):
    """A ``luxai_s2.env.LuxAI_S2`` with exactly the rules ``env_cfg`` (dict), quiet."""
    from luxai_s2.config import EnvConfig
    from luxai_s2.env import LuxAI_S2

    env = LuxAI_S2(collect_stats=True, verbose=0)
    cfg = copy.deepcopy(env_cfg)
    cfg["verbose"] = 0
    env.env_cfg = EnvConfig.from_dict(cfg)
    env.max_episode_length = env.env_cfg.max_episode_length
    return env


def _units_of(state):
    """{player: {unit_id: (x, y, power, ice, ore, water, metal)}} and factories likewise (engine state)."""
    units, facs = {}, {}
    for p in PLAYERS:
        units[p] = {uid: (int(u.pos.x), int(u.pos.y), int(u.power), int(u.cargo.ice), int(u.cargo.ore),
                          int(u.cargo.water), int(u.cargo.metal)) for uid, u in state.units[p].items()}
        facs[p] = {fid: (int(f.power), int(f.cargo.ice), int(f.cargo.ore), int(f.cargo.water), int(f.cargo.metal))
                   for fid, f in state.factories[p].items()}
    return units, facs


def _units_of_obs(obs):
    units, facs = {}, {}
    for p in PLAYERS:
        units[p] = {uid: (int(u["pos"][0]), int(u["pos"][1]), int(u["power"]), *(int(u["cargo"][r]) for r in
                    ("ice", "ore", "water", "metal"))) for uid, u in (obs["units"].get(p) or {}).items()}
        facs[p] = {fid: (int(f["power"]), *(int(f["cargo"][r]) for r in ("ice", "ore", "water", "metal")))
                   for fid, f in (obs["factories"].get(p) or {}).items()}
    return units, facs


def _replay_engine(replay):
    """(replay, env): the replay loaded (a path is read) and a ``luxai_s2`` engine reset to its seed.

    Raises:
        ReplayError: no seed in the replay.
    """
    from wrappers.engine import quiet_engine

    if isinstance(replay, str):
        replay = load_replay(replay)
    if replay.seed is None:
        raise ReplayError(f"{replay.path}: no map seed recorded; cannot replay it in the engine")
    env = make_engine(replay.env_cfg)
    with quiet_engine():
        env.reset(seed=int(replay.seed))
    return replay, env


def _branch(env, actions):
    """Units and factories (:func:`_units_of`) after one engine step with ``actions`` from the
    current state, which is then put back (the engine itself is not advanced)."""
    from wrappers.engine import quiet_engine

    saved, agents = copy.deepcopy(env.state), list(env.agents)
    with quiet_engine():
        env.step(actions)
    out = _units_of(env.state)
    env.set_state(saved)
    env.agents = agents  # a last-turn branch ends the game and empties env.agents
    return out


def _count_positions(res, units, rec_units):
    """Count into ``res`` each recorded unit whose branched position agrees; True when all do (and
    the sets of units are equal)."""
    ok = True
    for p in PLAYERS:
        if set(units[p]) != set(rec_units[p]):
            ok = False
        for uid, v in rec_units[p].items():
            res["unit_turns"] += 1
            good = uid in units[p] and units[p][uid][:2] == v[:2]
            res["unit_positions_agree"] += good
            ok &= good
    return ok


def engine_check(replay, max_turns=None, log=None):
    """Replay a game in ``luxai_s2`` and test the labels against it (see module docstring).

    Args:
        replay (Replay | str): the game (needs its seed).
        max_turns (int | None): stop after this many main-phase turns.
        log (callable | None): gets one line per mismatching turn (first 5).

    Returns:
        dict: ``turns`` (main-phase turns branched), ``positions_agree`` (turns on which every
        unit's position and the set of units matched the recording), ``exact_turns`` (turns whose
        labels were all exact), ``state_agree`` (of those, turns on which power and cargo of every
        robot and factory matched too), ``unit_turns``, ``unit_positions_agree``,
        ``recorded_agree`` (steps on which the recorded actions reproduced the recording: the
        replay itself is consistent with the engine).

    Raises:
        ReplayError: no seed in the replay.
    """
    from agent.masks import action_masks
    from wrappers.engine import quiet_engine

    replay, env = _replay_engine(replay)
    res = dict(turns=0, positions_agree=0, exact_turns=0, state_agree=0, unit_turns=0, unit_positions_agree=0,
               steps=0, recorded_agree=0)
    shown = 0
    for t, states, acts in iter_states(replay):
        nxt = replay.observations[t + 1]
        nxt = json.loads(nxt) if isinstance(nxt, str) else nxt
        rec_units, rec_facs = _units_of_obs(nxt)
        if states["player_0"].real_env_steps >= 0 and (max_turns is None or res["turns"] < max_turns):
            label_acts, all_exact = {}, True
            for p, st in states.items():
                m = action_masks(st)
                cells, info = label_turn(st, acts[p], m)
                all_exact &= bool(info["exact"].all())
                label_acts[p] = label_actions(st, cells)
            units, facs = _branch(env, label_acts)
            res["turns"] += 1
            pos_ok = _count_positions(res, units, rec_units)
            res["positions_agree"] += pos_ok
            if all_exact:
                res["exact_turns"] += 1
                res["state_agree"] += pos_ok and units == rec_units and facs == rec_facs
            if not pos_ok and log and shown < 5:
                shown += 1
                log(f"{replay.path}: step {t}: label positions differ from the recording")
        with quiet_engine():
            env.step({p: acts[p] for p in PLAYERS})
        units, facs = _units_of(env.state)
        res["steps"] += 1
        res["recorded_agree"] += units == rec_units and facs == rec_facs
    return res


def sticky_check(replay, max_turns=None):
    """Test the ``queues=sticky`` labels against the engine: each main-phase turn, branch one
    engine step in which every robot holds the one-action queue our agent would hold
    (:class:`StickyQueues`) and our agent sends exactly what those labels say (nothing on keep), then
    compare every unit's position with the recorded next observation.

    Returns:
        dict: ``turns``, ``unit_turns``, ``unit_positions_agree``, ``positions_agree`` (turns with
        every position right), ``keep`` / ``new`` (robot-turns labelled keep / a new queue).

    Raises:
        ReplayError: no seed in the replay.
    """
    from luxai_s2.actions import format_action_vec

    from wrappers.engine import quiet_engine

    replay, env = _replay_engine(replay)
    res = dict(turns=0, positions_agree=0, unit_turns=0, unit_positions_agree=0, keep=0, new=0)
    ours = {p: StickyQueues() for p in PLAYERS}
    for t, states, acts in iter_states(replay):
        nxt = replay.observations[t + 1]
        nxt = json.loads(nxt) if isinstance(nxt, str) else nxt
        rec_units, _ = _units_of_obs(nxt)
        if states["player_0"].real_env_steps >= 0:
            before = {p: {uid: h.copy() for uid, h in ours[p].heads.items()} for p in PLAYERS}
            sent = {p: ours[p].step(states[p], acts[p]) for p in PLAYERS}
            if max_turns is None or res["turns"] < max_turns:
                recorded = {(p, uid): unit.action_queue for p in PLAYERS for uid, unit in env.state.units[p].items()}
                for p in PLAYERS:
                    for uid, unit in env.state.units[p].items():
                        h = before[p].get(uid)
                        unit.action_queue = [] if h is None else [format_action_vec(np.asarray(h))]
                    n_new = sum(1 for uid in env.state.units[p] if uid in sent[p])
                    res["new"] += n_new
                    res["keep"] += len(env.state.units[p]) - n_new
                    sent[p].update({k: v for k, v in acts[p].items() if k.startswith("factory_")})
                units, _ = _branch(env, sent)
                for (p, uid), queue in recorded.items():  # the recorded game goes on with the bot's queues
                    env.state.units[p][uid].action_queue = queue
                res["turns"] += 1
                res["positions_agree"] += _count_positions(res, units, rec_units)
        with quiet_engine():
            env.step({p: acts[p] for p in PLAYERS})
    return res


# ---------------------------------------------------------------------------------------- CLI
USAGE = __doc__.split("\n\n")[1]


def main(argv=None):
    """CLI entry; returns the exit code (0 ok, 2 bad input: one line on stderr, nothing written)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, file=sys.stderr)
        return 2 if not argv else 0
    if argv[0] not in ("import", "check", "render", "plot"):
        print(f"replays: unknown command {argv[0]!r}; choose import, check, render or plot "
              "(python -m training.imitation.replays --help)", file=sys.stderr)
        return 2
    from training.kv import split_kv

    files, kw = split_kv(argv[1:], paths=True)  # a word that names an existing file is a file
    if not files:
        print(f"replays: no replay files given\n{USAGE}", file=sys.stderr)
        return 2
    try:
        if argv[0] in ("render", "plot"):  # see a game offline: training.evaluation.render
            from training.evaluation.render import command

            print(command(argv[0], files, kw))
            return 0
        if argv[0] == "import":
            allowed = {"out", "shard_dir", "player", "stride", "max_episode_length", "skip_bad", "queues"}
            unknown = set(kw) - allowed
            if unknown or ("out" in kw) == ("shard_dir" in kw):
                raise ValueError(f"unknown keys {sorted(unknown)}" if unknown else
                                 "give one of out=FILE.npz (one dataset) or shard_dir=DIR (one shard per replay)")
            opts = dict(player=kw.get("player", "both"), stride=int(kw.get("stride", 1)),
                        max_episode_length=int(kw.get("max_episode_length", 1000)),
                        skip_bad=kw.get("skip_bad", "false").lower() in ("1", "true", "yes"),
                        queues=kw.get("queues", "recorded"),
                        log=lambda s: print(f"replays: {s}", file=sys.stderr))
            if "shard_dir" in kw:
                stats = import_shards(files, kw["shard_dir"], **opts)
                print(f"{stats.line()} -> {kw['shard_dir']}/")
            else:
                stats = import_files(files, kw["out"], **opts)
                print(f"{stats.line()} -> {kw['out']}")
        else:
            unknown = set(kw) - {"max_turns", "max_episode_length"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            for path in expand_paths(files):
                rep = load_replay(path, max_episode_length=int(kw.get("max_episode_length", 1000)))
                t0 = time.perf_counter()
                r = engine_check(rep, max_turns=int(kw["max_turns"]) if "max_turns" in kw else None,
                                 log=lambda s: print(f"replays: {s}", file=sys.stderr))
                print(f"{path}: positions agree on {r['positions_agree']}/{r['turns']} turns "
                      f"({r['unit_positions_agree']}/{r['unit_turns']} unit-turns); power+cargo agree on "
                      f"{r['state_agree']}/{r['exact_turns']} turns with all labels exact; recorded actions "
                      f"reproduce {r['recorded_agree']}/{r['steps']} steps; {time.perf_counter() - t0:.1f} s")
    except ValueError as e:  # ReplayError included
        print(f"replays: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
