"""Behaviour cloning through the map-shaped head (kickstarting from a teacher, e.g. the scripted
baseline).

    python -m training.imitation.bc collect teacher=scripted rules=kaggle games=16 out=runs/bc/data.npz
    python -m training.imitation.bc collect teacher=scripted student=runs/bc/bc.pt beta=0.3 rules=neurips games=8 \\
        out=runs/bc/dagger.npz
        [student_guards=true]   # the student plays the shipped decoding (the guards of agent/weights/agent.json)
        [shadow_anchor=true]    # the scripted teacher labels from where the student put each robot
    python -m training.imitation.bc collect teacher=bot:PATH student=AGENT_FOLDER opponent=scripted rules=neurips out=...
        # DAgger with a protocol bot as shadow, the student playing the scripted baseline (default: the bot)
    python -m training.imitation.bc collect teacher=scripted games=64 backend=ray ray_address=auto out=runs/bc/data.npz
    python -m training.imitation.bc fit data=runs/bc/data.npz,runs/bc/dagger.npz epochs=4 out=runs/bc/bc.pt [net=small]
        [val=runs/bc/heldout.npz] [device=auto|cpu|cuda] [amp=none|bf16]
    python -m training.imitation.bc fit data=... init=runs/bc/bc.pt grow=4,8 out=runs/bc/grown.pt    # 2 dilated blocks more
    python -m training.imitation.bc fit data=... heavy_weight=4 out=runs/bc/bc.pt  # cells of our HEAVY robots weigh 4 in the loss
    python -m training.imitation.bc fit data=runs/ryandy/shards val=runs/ryandy/val net=cone nonkeep_weight=4 buffer=4 out=...
        # streams a folder of shards (python -m training.imitation.replays import ... shard_dir=DIR); resumes from <out>.state
    python -m training.imitation.bc fit data=... net=small crop=32 channels_last=true threads=1 out=...  # faster (below)
    python -m training.imitation.bc replan data=runs/old/data.npz out=runs/bc/data.npz   # add new feature planes to old data
    python -m training.imitation.bc mix teacher=A.npz,B.npz dagger=d1.npz,d2.npz share=0.3 [pool=runs/clone/shards]
        # prints the data= list of a DAgger fine-tune whose DAgger samples make up about 30 %

``collect`` plays the teacher against itself and the random-masked policy on train seeds and keeps,
every ``stride`` turns, the teacher's observation (planes stored as float16), masks (bit-packed)
and chosen cell actions (int8). With ``student=WEIGHTS`` it collects DAgger data instead: one side
is played by the student (each turn the teacher's own action is played with probability ``beta``)
against the scripted baseline or the random-masked policy, and every recorded state is labelled
with the teacher's action, so the student learns to recover from the states its own mistakes
lead to. ``fit`` maximises the masked log-likelihood
``MaskedGridDistribution.log_prob`` of the teacher's actions (exactly the policy PPO later
trains, so the weights drop into ``train.py init_weights=...``) and writes an agent/net.py
checkpoint that main.py can play.

Fit throughput (issue #46; ``python benchmarks/bc_fit.py --data runs/ryandy/sticky/...seed5000.npz
--variants base,fused,cl,t1,cl+t1,compile+t1,crop32+cl,crop32+cl+t1``, 64x64, batch 32, all rows in
one run, round-robin, median of 7, on the 2-core machine shared with ~4 other busy processes: read
the ratios to ``base``, the fit before #46 with ``threads=2``; samples/s, then robot labels/s):

* fused Adam (now always): ``cone`` 1.10x, ``small`` 1.01x (the for-loop Adam is ~240 small ops a
  step for ``cone``, each waiting for every torch thread).
* ``channels_last=true``: ``cone`` 1.93x, ``small`` 1.23x at 2 threads; 1.31x / 1.20x over
  ``threads=1`` alone.
* ``threads=1``: ``cone`` 7.7x, ``small`` 1.95x -- on a busy machine only: each op of a 2-thread
  step waits for both threads, and with more busy processes than cores the second thread waits
  for a time slice (in an exploratory run with ``OMP_WAIT_POLICY=PASSIVE`` set, 2 threads were
  0.83x of 1 thread for ``cone``, against 0.2-0.25x without it).
  On a quiet 2-core machine measure again before choosing 1.
* ``channels_last=true threads=1``: ``cone`` 10.1x (100.7 against 10.0 samples/s), ``small`` 2.33x.
* ``crop=32 channels_last=true threads=1``, ``small`` only: 9.8x the samples/s, 3.7x the robot
  labels/s of ``base`` (1.6x those of ``channels_last=true threads=1`` on whole boards): a window
  centred near one of our units keeps ~28 robot labels in the loss against ~74 on a whole board.
* Not kept: ``torch.compile`` at one thread (``cone`` 0.84x of ``channels_last=true threads=1``;
  ``small`` 1.17x of it, whole boards, but 20-45 s to compile and a recompile per batch shape: not
  tried with crops); CPU bf16 autocast (0.7x on this CPU, an earlier exploratory run). Decoding
  float16 planes and unpacking masks off the training thread was already done (the reader thread
  of ``training.imitation.shards.ShardStream``, 40-200 ms a batch); it now also cuts the windows
  and lays out the planes channels-last there.
"""

import os
import sys
import time

import numpy as np
import torch

PLAYERS = ("player_0", "player_1")


def collect(teacher="scripted", rules="kaggle", games=8, seed0=0, stride=2, max_turns=1000, out="runs/bc/data.npz",
            opponent_mix=0.5, student="", beta=0.0, threads=1, backend="local", ray_address="", student_guards=False,
            shadow_anchor=False, opponent=""):
    """Play ``games`` games with the teacher on train seeds ``seed0...``; returns the npz path.

    Args:
        teacher (str): ``scripted``, a weights file (played greedily), or ``bot:PATH``, a folder whose
            main.py speaks the Lux protocol: its games are recorded as replays and imported
            (:func:`training.imitation.teachers.collect_from_bot`, local backend only); with ``student`` the
            bot labels the student's states as a shadow.
        rules (str): a :data:`wrappers.engine.RULES` preset.
        games (int): games to play; game ``g`` uses map seed ``seed0 + g`` and its own random
            stream (seeded by ``(seed0, g)``), so a game's samples do not depend on the backend.
        stride (int): record every ``stride``-th turn (turns).
        max_turns (int): episode length (turns).
        out (str): the npz written by this process (planes float16 (N, C, S, S), globals float32
            (N, G), masks bit-packed uint8 (N, ceil(S*S*34/8)), actions int8 (N, S, S, 7),
            map_size), games in order.
        opponent_mix (float): probability that a game is against the random-masked policy.
        opponent (str): ``bot:`` teachers only: an in-process agent spec (``scripted``, a weights file,
            an agent folder) on the other side instead of the bot itself (or the random-masked policy);
            with a student, DAgger visits the states of games against the opponent it is validated against.
        student (str): the DAgger student ("" = plain teacher games): a weights file (robots greedy)
            or an agent folder with ``agent.json``, played as it would be packaged
            (:func:`training.imitation.teachers.dagger_student`).
        beta (float): DAgger only: probability that a turn plays the teacher's action.
        student_guards (bool): DAgger only: the student plays the shipped decoding
            (greedy robots, and the factory sampling and guards of agent/weights/agent.json:
            :func:`dagger_student`), so its states are the ones the shipped bot meets; else plain greedy.
        shadow_anchor (bool): DAgger with the scripted teacher only: the shadow teacher re-anchors
            its memory to the student's robots each turn (``ScriptedPolicy(anchor=True)``: a robot
            standing on a cell its role would pick takes it as its target, and one with the power
            to go out is ``out``), so a label does not ask a robot to walk to a target only the
            teacher's own, unplayed choices had picked.
        threads (int): torch CPU threads of the student (1: collectors run one per core).
        backend (str): ``local`` (games one after another here) or ``ray`` (one Ray task per game,
            training/cluster.py; local when Ray cannot start, after one line).
        ray_address (str): with ``backend=ray``: "" (start Ray here), ``auto`` or ``HOST:PORT``.

    Raises:
        ValueError: bad teacher, student or backend, ``beta`` outside [0, 1], or ``shadow_anchor``
            without ``student`` or with a teacher other than ``scripted``.
        training.cluster.ClusterError: ``ray_address`` cannot be reached.
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta={beta} must be in [0, 1]")
    if backend not in ("local", "ray"):
        raise ValueError(f"backend={backend!r}: choose local or ray")
    if shadow_anchor and (not student or str(teacher) != "scripted"):
        raise ValueError("shadow_anchor=true re-anchors the scripted teacher's memory in DAgger: it needs "
                         f"teacher=scripted and a student (teacher={teacher!r}, student={student!r})")
    if str(teacher).startswith("bot:"):  # a protocol bot: recorded games, or DAgger with the bot as shadow
        from training.imitation.teachers import collect_from_bot

        if backend == "ray":
            print("collect: a bot: teacher plays its games on this machine (backend=local)", flush=True)
        return collect_from_bot(teacher, rules=rules, games=games, seed0=seed0, stride=stride, max_turns=max_turns,
                                out=out, opponent_mix=opponent_mix, student=student, beta=beta,
                                student_guards=student_guards, opponent=opponent)
    if opponent:
        raise ValueError(f"opponent={opponent} is for bot: teachers (teacher={teacher})")
    if student:
        from training.imitation.teachers import dagger_student

        dagger_student(student, seed0, student_guards)  # a bad student fails here, before any game
    _teacher_cells(teacher, seed0)  # ValueError for an unknown teacher
    from training.cluster import absolute_spec, connect

    ray = connect(ray_address) if backend == "ray" else None
    items = [dict(teacher=absolute_spec(teacher), rules=rules, seed0=seed0, g=g, stride=stride, max_turns=max_turns,
                  opponent_mix=opponent_mix, student=absolute_spec(student), beta=beta, threads=threads,
                  student_guards=bool(student_guards), shadow_anchor=bool(shadow_anchor)) for g in range(games)]
    t0 = time.time()
    per_game, samples = [None] * games, 0
    if ray is not None:
        from training.cluster import map_tasks

        results = map_tasks(ray, _collect_game, items, describe=lambda it: f"collect game {it['g'] + 1} (seed {seed0 + it['g']})")
    else:
        results = ((it["g"], _collect_game(it)) for it in items)
    for done, (g, res) in enumerate(results, 1):
        if res is None:
            continue
        per_game[g] = res
        samples += len(res["actions"])
        print(f"game {g + 1}/{games}: seed {seed0 + g}, {res['turns']} turns, {res['kind']}, {len(res['actions'])} samples "
              f"({samples} in {done} games), {time.time() - t0:.0f} s", flush=True)
    parts = [r for r in per_game if r is not None and len(r["actions"])]
    if not parts:
        raise ValueError("no game produced samples")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    np.savez(out, **{k: np.concatenate([r[k] for r in parts]) for k in ("planes", "globals", "masks", "actions")},
             map_size=parts[0]["planes"].shape[-1])
    return out


def _collect_game(item):
    """Play game ``item['g']`` of :func:`collect` (a local call or a Ray task); returns its samples
    (planes, globals, masks, actions arrays), ``turns`` and ``kind``."""
    from agent.actions import decode
    from agent.features import encode
    from agent.masks import action_masks
    from agent.policy import sample_uniform_masked
    from wrappers.engine import make_env, run_game

    teacher, seed0, g, stride, beta = item["teacher"], item["seed0"], item["g"], item["stride"], item["beta"]
    torch.set_num_threads(item["threads"])
    student_policy = None
    if item["student"]:
        from training.imitation.teachers import dagger_student

        student_policy = dagger_student(item["student"], seed0 + g, item.get("student_guards", False))
    planes, globs, masks, actions = [], [], [], []
    rng = np.random.default_rng([seed0, g])
    env = make_env(item["rules"], max_episode_length=item["max_turns"])
    vs_random = rng.random() < item["opponent_mix"]
    # DAgger: one learner side driven by the student; the other side is a pure (unrecorded) teacher
    learners = PLAYERS if not (vs_random or student_policy) else (PLAYERS[g % 2],)
    anchored = student_policy is not None and item.get("shadow_anchor")
    if anchored:
        from agent.scripted import ScriptedPolicy
    teach = {p: ScriptedPolicy(seed=seed0 + g + i, anchor=True) if anchored and p in learners
             else _teacher_cells(teacher, seed0 + g + i) for i, p in enumerate(PLAYERS)}

    def act(p, st):
        m = action_masks(st)
        if p not in learners:
            if vs_random:
                return decode(st, sample_uniform_masked(m, rng))
            return decode(st, teach[p](st))
        a = teach[p](st)
        if st.real_env_steps % stride == 0 and (len(st.my_units) or len(st.my_factories)):
            pl, gl = encode(st)
            planes.append(pl.astype(np.float16))
            globs.append(gl)
            masks.append(np.packbits(m.reshape(-1)))
            actions.append(a.astype(np.int8))
        if student_policy is not None and rng.random() >= beta:
            a = student_policy(st)
        return decode(st, a)

    run_game(env, seed0 + g, act)
    kind = "vs random" if vs_random else "vs teacher" if student_policy else "self-play"
    if not actions:
        return dict(planes=np.zeros((0,)), globals=np.zeros((0,)), masks=np.zeros((0,)), actions=np.zeros((0,)),
                    turns=int(env.state.real_env_steps), kind=kind)
    return dict(planes=np.stack(planes), globals=np.stack(globs), masks=np.stack(masks), actions=np.stack(actions),
                turns=int(env.state.real_env_steps), kind=kind)


def _teacher_cells(spec, seed):
    """A ``state -> int (S, S, 7)`` teacher (cell actions, not the decoded dict): a spec of
    :func:`agent.player.policy_from_spec`, nets played greedily."""
    from agent.player import policy_from_spec

    return policy_from_spec(spec, seed=seed, greedy=True)


def load_data(data):
    """Concatenate the npz files of ``collect`` named in ``data`` (comma-separated paths).

    Returns:
        (planes float16 (N, C, S, S), globals float32 (N, G), masks uint8 packed, actions int8
        (N, S, S, 7), S int).

    Raises:
        ValueError: a file is missing or the files have different map sizes.
    """
    parts = []
    for path in [p for p in str(data).split(",") if p]:
        if not os.path.isfile(path):
            raise ValueError(f"behaviour-cloning data {path!r} does not exist (make it with 'collect')")
        parts.append(np.load(path))
    if not parts:
        raise ValueError("no data files given (data=FILE[,FILE...])")
    sizes = {int(d["map_size"]) for d in parts}
    if len(sizes) != 1:
        raise ValueError(f"data files mix map sizes {sorted(sizes)}; fit one size at a time")
    # Filled file by file into preallocated arrays: the peak memory is the dataset plus one file's
    # array, not twice the dataset as with np.concatenate (an npz member is read whole on access).
    counts = [len(d["globals"]) for d in parts]
    cat = []
    for k in ("planes", "globals", "masks", "actions"):
        out, i = None, 0
        for d, n in zip(parts, counts):
            a = d[k]
            if out is None:
                out = np.empty((sum(counts),) + a.shape[1:], a.dtype)
            out[i:i + n] = a
            i += n
        cat.append(out)
    return (*cat, sizes.pop())


def imitation_loss(dist, actions, heavy_cells, heavy_weight=1.0, nonkeep_weight=1.0):
    """The behaviour-cloning loss: float scalar tensor, the batch mean of the negative weighted
    log-likelihood of the teacher's actions, summed over cells.

    Args:
        dist (agent.distribution.MaskedGridDistribution): the net's distribution, batch B, map H x W.
        actions (torch.Tensor): int (B, H, W, 7), the teacher's choices.
        heavy_cells (torch.Tensor): float (B, H, W), 1 where our HEAVY robot stands (feature plane
            ``heavy_ours``), else 0.
        heavy_weight (float): the weight of those cells.
        nonkeep_weight (float): the weight of a cell whose robot label is not ``keep`` (a new
            action queue: 3-18 % of a strong bot's robot labels); multiplies ``heavy_weight``.
            Every other active cell weighs 1, so with both weights 1 the loss is
            ``-dist.log_prob(actions).mean()`` exactly.
    """
    if heavy_weight == 1.0 and nonkeep_weight == 1.0:
        return -dist.log_prob(actions).mean()
    from agent.actions import KEEP

    w = 1.0 + (heavy_weight - 1.0) * heavy_cells.to(dist.dtype)
    if nonkeep_weight != 1.0:
        robot = dist.present[..., 0]
        nonkeep = robot & (actions[..., 0] != KEEP)
        w = w * (1.0 + (nonkeep_weight - 1.0) * nonkeep.to(dist.dtype))
    return -(dist.cell_log_prob(actions) * w).sum((1, 2)).mean()


METRICS = ("robot_type", "keep", "non_keep", "move_dir", "factory", "factory_acting", "dig")


def agreement_counts(dist, actions):
    """(hits, counts) float arrays over :data:`METRICS`: how often the net's most likely legal choice
    (``dist.mode()``) equals the teacher's label, on cells where the label exists.

    * ``robot_type``: every robot cell; ``keep`` / ``non_keep``: robot cells whose label is keep /
      any other type (a new action queue);
    * ``move_dir``: robot cells labelled move (is the direction right?);
    * ``factory``: every factory cell; ``factory_acting``: factory cells labelled build or water;
    * ``dig``: robot cells labelled dig (a new dig queue: on ice and ore, but also the rubble a
      factory's lichen needs cleared, which a clone that leaves its factories walled in never
      learned: notes/clone_ryandy.md).
    """
    from agent.actions import C_FACTORY, C_MOVE, C_TYPE, DIG, KEEP, MOVE

    agree = dist.mode() == actions
    present = dist.present
    robot = present[..., C_TYPE]
    fac = present[..., C_FACTORY]
    t = actions[..., C_TYPE]
    cells = {"robot_type": (robot, C_TYPE), "keep": (robot & (t == KEEP), C_TYPE),
             "non_keep": (robot & (t != KEEP), C_TYPE), "move_dir": (robot & (t == MOVE), C_MOVE),
             "factory": (fac, C_FACTORY), "factory_acting": (fac & (actions[..., C_FACTORY] != 0), C_FACTORY),
             "dig": (robot & (t == DIG), C_TYPE)}
    hits = np.array([agree[..., c][cells[k][0]].sum().item() for k, (_, c) in ((k, cells[k]) for k in METRICS)], float)
    counts = np.array([cells[k][0].sum().item() for k in METRICS], float)
    return hits, counts


def _sources(data, val, rng):
    """Training and held-out sources ``[(file, indices or None)]`` of :func:`fit`.

    With ``val`` its files are held out; else, with 10 files or more (shards of separate games),
    the last tenth of the files are; with fewer, a random tenth of the samples of every file."""
    from training.imitation.shards import expand_data, shard_info

    files = expand_data(data)
    vfiles = expand_data(val) if val else []
    if vfiles:
        return [(f, None) for f in files], [(f, None) for f in vfiles]
    if len(files) >= 10:
        k = len(files) // 10
        return [(f, None) for f in files[:-k]], [(f, None) for f in files[-k:]]
    trn, held = [], []
    for f in files:
        n = shard_info(f)[0]
        perm = rng.permutation(n)
        n_val = max(1, n // 10) if n > 1 else 0
        trn.append((f, np.sort(perm[n_val:])))
        held.append((f, np.sort(perm[:n_val])))
    return trn, [h for h in held if len(h[1])]


def fit(data, out="runs/bc/bc.pt", net="small", epochs=4, batch_size=32, lr=1e-3, seed=0, init="", threads=2,
        keep_epochs=False, val="", device="auto", amp="none", grow="", heavy_weight=1.0, nonkeep_weight=1.0,
        buffer=4, val_samples=512, resume=True, tb=True, progress=True, crop=0, channels_last=False, drop_planes=""):
    """Fit a network to the teacher's actions by masked maximum likelihood; returns the checkpoint path.

    The data streams from disk (:class:`training.imitation.shards.ShardStream`): ``buffer`` shards are in
    memory at a time, so the data may be far larger than memory. Adam with a cosine learning-rate
    decay from ``lr`` to 0 over all epochs. Held out: the ``val`` files, else the last tenth of the
    ``data`` files when there are 10 or more, else a random tenth of the samples of each file; up to
    ``val_samples`` of them, spread evenly. Each epoch prints (and, with ``tb``, writes to TensorBoard under
    ``<out without .pt>_tb/``) the training samples/s, the held-out NLL (unweighted) and the
    agreement of the net's most likely legal choice with the teacher's label per component
    (:func:`agreement_counts`: robot type, on keep and non-keep labels apart, move direction,
    factory); ``progress`` shows a tqdm bar over the epoch's batches.

    The checkpoint ``out`` is written after every shard group and epoch, so a stopped fit leaves a
    usable file; it records ``grad_steps`` (the gradient steps since fresh weights, including those
    of ``init``), the epoch's ``val_nll`` and ``agreement``. Beside it ``<out>.state`` holds the
    optimizer, schedule and position: with ``resume`` a fit started again with the same arguments
    goes on from the last finished shard group (same batches as an unstopped fit).

    Args:
        data (str): comma-separated npz files and folders of shards (one map size).
        out (str): checkpoint path (:func:`agent.net.save_checkpoint`).
        net (str): a preset of :data:`agent.net.NET_PRESETS` (ignored with ``init``).
        init (str): a checkpoint to continue from ("" = fresh weights).
        grow (str): comma-separated dilations of residual blocks appended to the ``init`` net before
            fitting (:func:`agent.net.grow_net`), e.g. ``4,8``; "" = none.
        threads (int): torch CPU threads.
        keep_epochs (bool): also keep each epoch's checkpoint as ``<out without .pt>_epN.pt``.
        val (str): comma-separated npz files or folders held out ("" = see above).
        device (str): ``auto`` (cuda when available), ``cpu`` or ``cuda`` (training/device.py).
        amp (str): ``none`` or ``bf16`` (CUDA autocast).
        heavy_weight (float): the training loss weight of a cell holding our HEAVY robot.
        nonkeep_weight (float): the training loss weight of a robot cell whose label is not keep
            (:func:`imitation_loss`). The held-out NLL stays unweighted, so fits compare.
        buffer (int): shards in memory at a time (a 64x64 shard of 1,000 samples is 0.5 GB).
        val_samples (int): held-out samples evaluated each epoch.
        resume (bool): go on from ``<out>.state`` when it exists.
        tb (bool): write TensorBoard scalars.
        progress (bool): a progress bar (on stderr).
        crop (int): 0 = train on whole boards; N = every training sample is its own random N x N
            window of the board (planes, masks and actions cut alike, globals unchanged; drawn on
            the reader thread, :func:`training.imitation.shards.crop_windows`), holding one of our
            units drawn at random; the loss counts only the window's cells whose logits equal
            those of the whole board (at least the net's receptive radius from a cut edge), so
            the gradient is the whole board's, restricted to those cells. Grid nets only
            (``small``, ``medium``, ``large``; ``dilated`` needs N > 58): ``cone`` pools over the
            whole map in its blocks, so a window would change what it computes, and it is refused.
            The held-out NLL and agreement are always on whole boards. At 64x64, ``small``,
            crop=32: see the module docstring.
        channels_last (bool): net and planes in ``torch.channels_last`` memory order (the planes
            reordered on the reader thread); same function, other kernels (module docstring).
            Checkpoints are written contiguous either way.
        drop_planes (str): an ablation: comma-separated feature planes (names of
            :data:`agent.features.P`, or ``path`` for the seven path planes ``ice_target`` ..
            ``dist_rubble_frontier``) read as zeros in training and held-out batches, so a fit tells
            what the net loses without them (held-out NLL and agreement against a fit without the
            key). The checkpoint records them; played, such a net still gets every plane.

    Adam runs fused (one kernel for all parameters) where this torch has it.

    Raises:
        ValueError: missing data files, mixed map sizes (also between ``data`` and ``val``), a
            weight <= 0, a bad ``device``/``amp`` or ``crop``, an unknown plane in ``drop_planes``
            (checked before anything is written).
        agent.net.CheckpointError: bad ``init``, ``net`` or ``grow`` (checked before the data is read).
    """
    from agent.actions import NUM_LOGITS
    from agent.features import NUM_PLANES
    from agent.net import CheckpointError, build_net, grow_net, load_checkpoint, save_checkpoint, widen_planes
    from training.device import autocast_net, resolve_device
    from training.imitation.shards import ShardStream, expand_data, load_held_out, shard_info, unpack_batch

    dev = resolve_device(device, amp)
    drop = plane_indices(drop_planes)
    for name, w in (("heavy_weight", heavy_weight), ("nonkeep_weight", nonkeep_weight)):
        if not float(w) > 0:
            raise ValueError(f"{name}={w} must be > 0 (1 = every cell weighs the same)")
    try:
        grow_dil = [int(d) for d in str(grow).split(",") if d.strip()]
    except ValueError:
        raise CheckpointError(f"grow={grow!r}: give comma-separated integer dilations, e.g. grow=4,8") from None
    if grow_dil and not init:
        raise CheckpointError("grow= needs init=CHECKPOINT (the net to grow); for fresh weights use net=dilated")
    torch.manual_seed(seed)  # fresh weights are a function of the seed
    model, init_payload = load_checkpoint(init) if init else (build_net(net), {})
    if grow_dil:
        model = grow_net(model, grow_dil)
    widened = int(model.config["in_planes"])
    if widened < NUM_PLANES:  # init from an older kit: new planes start with zero weights
        model = widen_planes(model, NUM_PLANES)
        print(f"init {init} reads {widened} planes: widened to {NUM_PLANES} (the new planes start unused)", flush=True)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    trn_src, val_src = _sources(data, val, rng)
    infos = {f: shard_info(f) for f, _ in trn_src + val_src}
    sides = {i[1] for i in infos.values()}
    if len(sides) != 1:
        raise ValueError(f"data files mix map sizes {sorted(sides)}; fit one size at a time"
                         + (f" (val={val} differs from data)" if val else ""))
    S = sides.pop()
    margin = crop_margin(model, crop, S)  # ValueError for a net or size a crop does not fit
    bad = sorted({f for f, i in infos.items() if i[2] != model.config["in_planes"]})
    if bad:
        raise ValueError(f"{bad[0]} has {infos[bad[0]][2]} feature planes, the net reads {model.config['in_planes']} "
                         f"(data of an older kit? its planes cannot all be derived again: collect it again with "
                         f"python -m training.imitation.bc collect)")
    sizes = {f: info[0] for f, info in infos.items()}  # samples per file, read once
    stream = ShardStream(trn_src, batch_size, buffer, seed, S, NUM_LOGITS, sizes=sizes, crop=crop, margin=margin,
                         channels_last=channels_last)
    n = stream.samples
    held = load_held_out(val_src, val_samples, sizes)
    total = sum(sizes[f] for f in expand_data(data))
    print(f"{total} samples of {S}x{S} from {data} ({len(trn_src)} file(s); {n} for training; {len(held['actions'])} "
          f"held-out samples of {len(val_src)} file(s) evaluated), device {dev}"
          + (f", amp {amp}" if amp != "none" else "")
          + (f", training on {crop}x{crop} windows (loss on cells {margin}+ from a cut edge)" if crop else ""), flush=True)
    model = model.to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    autocast_net(model, amp)
    steps0 = int(init_payload.get("grad_steps", 0))  # gradient steps of the fits this one continues
    opt = fit_optimizer(model, lr)
    per_epoch = stream.batches_in_epoch()
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * per_epoch))
    state_path = out + ".state"
    args_key = dict(data=str(data), val=str(val), net=str(net), init=str(init), grow=str(grow), epochs=int(epochs),
                    batch_size=int(batch_size), lr=float(lr), seed=int(seed), buffer=int(buffer),
                    heavy_weight=float(heavy_weight), nonkeep_weight=float(nonkeep_weight))
    if crop:  # other batches (absent otherwise, so the .state of a fit before crop= existed still resumes)
        args_key["crop"] = int(crop)
    if drop:
        args_key["drop_planes"] = list(drop)
    ep0, group0, steps = 0, 0, 0
    if resume and os.path.isfile(state_path):
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        if st.get("args") != args_key:
            print(f"{state_path} belongs to a fit with other arguments: starting over", flush=True)
        elif st["epoch"] >= epochs:
            print(f"{state_path}: this fit finished its {epochs} epochs already ({out})", flush=True)
            return out
        else:
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["opt"])
            sched.load_state_dict(st["sched"])
            ep0, group0, steps = st["epoch"], st["group"], st["steps"]
            print(f"resumed from {state_path}: epoch {ep0 + 1}, shard group {group0}, {steps} gradient steps",
                  flush=True)
    writer = None
    if tb:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(f"{out[:-3] if out.endswith('.pt') else out}_tb")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)

    def meta(ep, vnll=None, acc=None):
        return dict(step=0, source=f"bc from {data}", epochs=ep, init=init, grow=grow, init_planes=widened,
                    heavy_weight=float(heavy_weight), nonkeep_weight=float(nonkeep_weight), grad_steps=steps0 + steps,
                    batch_size=batch_size, val=val, val_nll=vnll, agreement=acc,
                    **(dict(crop=int(crop)) if crop else {}), **(dict(drop_planes=list(drop)) if drop else {}))

    def save_state(ep, group):
        tmp = state_path + ".tmp"
        torch.save(dict(args=args_key, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(),
                        epoch=ep, group=group, steps=steps), tmp)
        os.replace(tmp, state_path)

    bar, say = None, print
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=per_epoch, unit="batch", dynamic_ncols=True, mininterval=5, file=sys.stderr)
        say = tqdm.write
    t0 = time.time()
    model.train()
    for ep in range(ep0, epochs):
        losses, seen, labels = [], 0, 0
        t_ep = time.time()
        if bar is not None:
            bar.reset(total=per_epoch)
            bar.set_description(f"epoch {ep + 1}/{epochs}")
        for gi, last, b in stream.iter_epoch(ep, group0 if ep == ep0 else 0):
            loss, lab = fit_step(model, opt, b, dev, float(heavy_weight), float(nonkeep_weight), drop)
            sched.step()
            steps += 1
            seen += len(b[3])
            labels += lab
            losses.append(loss)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(nll=f"{np.mean(losses[-50:]):.2f}", refresh=False)
            if writer is not None and steps % 50 == 0:
                writer.add_scalar("bc/train_nll", loss, steps0 + steps)
                writer.add_scalar("bc/lr", sched.get_last_lr()[0], steps0 + steps)
            if last:  # a shard group done: a usable checkpoint and the resume point
                save_checkpoint(out, model, **meta(ep))
                save_state(ep, gi + 1)
        t_train = time.time() - t_ep
        model.eval()
        hits, counts, vls = np.zeros(len(METRICS)), np.zeros(len(METRICS)), []
        nh = len(held["actions"])
        with torch.no_grad():
            for i in range(0, nh, batch_size):
                vl, dist, a = _nll(model, unpack_batch(held, np.arange(i, min(nh, i + batch_size)), S, NUM_LOGITS,
                                                       channels_last=channels_last), dev, drop=drop)
                vls.append(vl.item() * min(batch_size, nh - i))
                h, c = agreement_counts(dist, a)
                hits += h
                counts += c
        model.train()
        acc = hits / np.maximum(counts, 1)
        vnll = float(np.sum(vls) / max(nh, 1))
        acc_d = dict(zip(METRICS, map(float, acc)))
        say(f"epoch {ep + 1}/{epochs}: train nll {np.mean(losses) if losses else float('nan'):.2f}, val nll {vnll:.2f}, "
              f"agreement: robot type {acc[0]:.3f} (keep {acc[1]:.3f}, non-keep {acc[2]:.3f}), move dir {acc[3]:.3f}, "
              f"factory {acc[4]:.3f} (acting {acc[5]:.3f}), dig {acc[6]:.3f}, {time.time() - t0:.0f} s, "
              f"{labels / max(t_train, 1e-9):.0f} robot labels/s, {seen / max(t_train, 1e-9):.1f} train samples/s")
        if writer is not None:
            writer.add_scalar("bc/val_nll", vnll, steps0 + steps)
            writer.add_scalar("bc/train_samples_per_s", seen / max(t_train, 1e-9), steps0 + steps)
            writer.add_scalar("bc/train_robot_labels_per_s", labels / max(t_train, 1e-9), steps0 + steps)
            for k, v in acc_d.items():
                writer.add_scalar(f"bc/agreement_{k}", v, steps0 + steps)
            writer.flush()
        save_checkpoint(out, model, **meta(ep + 1, vnll, acc_d))
        if keep_epochs:
            save_checkpoint(f"{out[:-3] if out.endswith('.pt') else out}_ep{ep + 1}.pt", model, **meta(ep + 1, vnll, acc_d))
        save_state(ep + 1, 0)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    model.eval()
    return out


def crop_margin(model, crop, S):
    """The margin of :func:`fit`'s ``crop`` for ``model`` on S x S maps: cells of a window closer
    than this to a cut edge get other logits than on the whole board (0 when ``crop`` is 0).

    Raises:
        ValueError: one line: ``crop`` is not 0 and the net is not a grid net (its logits depend on
            the whole map), or ``crop`` leaves no such cell or is not smaller than the map.
    """
    from agent.net import GridNet

    crop = int(crop)
    if not crop:
        return 0
    if not isinstance(model, GridNet):
        raise ValueError(f"crop={crop}: the {model.config.get('arch', 'grid')} net pools over the whole map inside its "
                         f"blocks, so its logits on a window are not those of the whole board; crop= needs a grid net "
                         f"(net=small, medium, large or dilated)")
    margin = (int(model.receptive_field) - 1) // 2
    if not 2 * margin < crop < S:
        raise ValueError(f"crop={crop}: give 0 (whole boards) or a window side from {2 * margin + 1} (this net sees "
                         f"{model.receptive_field}x{model.receptive_field} cells) to {S - 1} (the maps are {S}x{S})")
    return margin


def fit_optimizer(model, lr):
    """Adam over ``model``'s parameters, fused (one kernel for all of them) where this torch has it:
    the for-loop Adam is ~6 small ops per tensor, each a parallel region that waits for every torch
    thread (benchmarks/bc_fit.py)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (TypeError, RuntimeError):  # an older torch, or a device without the fused kernel
        return torch.optim.Adam(model.parameters(), lr=lr)


def plane_indices(names):
    """The feature-plane indices of ``names`` (a comma-separated string of :data:`agent.features.P`
    names; ``path`` stands for :data:`agent.features.PATH_PLANES`), sorted, as a tuple of ints.

    Raises:
        ValueError: an unknown plane name (the message lists the known ones).
    """
    from agent.features import P, PATH_PLANES

    out = set()
    for name in (n.strip() for n in str(names or "").split(",")):
        if not name:
            continue
        if name == "path":
            out.update(int(i) for i in PATH_PLANES)
        elif name in P:
            out.add(int(P[name]))
        else:
            raise ValueError(f"drop_planes: unknown feature plane {name!r}; known: path, {', '.join(P)}")
    return tuple(sorted(out))


def _nll(model, b, dev, hw=1.0, nkw=1.0, drop=()):
    """(loss, distribution, actions tensor) of ``model`` on numpy batch ``b`` (:func:`imitation_loss`);
    the planes ``drop`` (indices) read as zeros."""
    from agent.distribution import MaskedGridDistribution
    from agent.features import P

    if drop:
        b[0][:, list(drop)] = 0  # the batch is this call's own (unpack_batch makes it)
    x, g, m, a = (torch.from_numpy(t).to(dev) for t in b)  # a channels-last array stays channels-last
    logits, _ = model(x, g)
    dist = MaskedGridDistribution(logits, m)
    return imitation_loss(dist, a, x[:, P["heavy_ours"]], hw, nkw), dist, a


def fit_step(model, opt, batch, dev="cpu", heavy_weight=1.0, nonkeep_weight=1.0, drop=()):
    """One gradient step of :func:`fit` on a numpy batch of
    :func:`training.imitation.shards.unpack_batch`: loss, backward, gradient norm clipped to 1, ``opt``.

    Returns:
        (float loss, int robot labels: robot cells whose type label is in the loss).
    """
    from agent.actions import C_TYPE

    loss, dist, _ = _nll(model, batch, dev, heavy_weight, nonkeep_weight, drop)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item(), int(dist.active_present[:, C_TYPE].sum())


def replan(data, out):
    """Compute the path planes (``agent.features.path_planes``, a function of the other planes) of
    a ``collect`` file again, for every sample, so a file of this kit follows a change in how they
    are computed without replaying the games.

    Data of an older kit (fewer planes) cannot be brought up to date: the rank planes
    (``robot_rank``, ``robot_last``) need the robots' unit_ids, which ``collect`` does not store.

    Args:
        data (str): the npz of :func:`collect` to read (planes float16 (N, NUM_PLANES, S, S)).
        out (str): the npz to write (same members and shapes).

    Returns:
        str: ``out``.

    Raises:
        ValueError: ``data`` is missing, or its planes are not this kit's (``NUM_PLANES``).
    """
    import dataclasses

    from luxai_s2.config import EnvConfig

    from agent.features import NUM_PLANES, PATH_PLANES, path_planes
    from agent.obs import GameConfig

    if not os.path.isfile(data):
        raise ValueError(f"behaviour-cloning data {data!r} does not exist")
    d = np.load(data)
    old = d["planes"]
    N, C, S = old.shape[0], old.shape[1], old.shape[-1]
    if C != NUM_PLANES:
        raise ValueError(f"{data} has {C} feature planes, this kit has {NUM_PLANES}: replan computes the path "
                         f"planes {PATH_PLANES[0]}..{PATH_PLANES[-1]} again but cannot add the rank planes (they need "
                         f"unit_ids, which collect files do not store); collect the data again")
    cfg = GameConfig(dataclasses.asdict(EnvConfig(map_size=S)))  # robot constants: the same on every preset
    planes = np.array(old, np.float16)
    planes[:, list(PATH_PLANES)] = 0  # the path planes are all computed again
    del old
    for i in range(N):
        path_planes(planes[i], cfg)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = out + ".tmp.npz"
    np.savez(tmp, planes=planes, **{k: d[k] for k in d.files if k != "planes"})
    os.replace(tmp, out)
    print(f"{data}: {N} samples, planes {C} -> {NUM_PLANES}", flush=True)
    return out


def mix(teacher, dagger="", share=0.3, pool=""):
    """The ``data=`` list (comma-separated) of a DAgger fine-tune whose DAgger samples make up about
    ``share`` of the epoch (:func:`training.imitation.shards.dagger_mix`); the share achieved and the
    repeats go to stderr.

    Args:
        teacher (str): comma-separated teacher shards (files or folders) every fine-tune uses.
        dagger (str): comma-separated DAgger files of the rounds so far ("" = none yet).
        share (float): the wanted DAgger share, 0 < share < 1.
        pool (str): comma-separated further teacher shards or folders to add when the DAgger data
            outgrow ``teacher`` ("" = none).

    Raises:
        ValueError: a bad share, no teacher shards, a missing or unreadable file.
    """
    from training.imitation.shards import dagger_mix, expand_data

    files, got, r = dagger_mix(expand_data(teacher), expand_data(dagger) if dagger else [], share,
                               expand_data(pool) if pool else [])
    print(f"dagger mix: {len(files)} files, DAgger share {got:.3f} (wanted {float(share):.3f}), DAgger files x{r}",
          file=sys.stderr, flush=True)
    return ",".join(files)


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    if argv[0] not in ("collect", "fit", "replan", "mix"):
        print(f"training.imitation.bc: unknown command {argv[0]!r}; choose collect, fit, replan or mix "
              "(python -m training.imitation.bc --help)", file=sys.stderr)
        raise SystemExit(2)
    from training.kv import ConfigError, convert_value, split_kv

    try:
        kw = split_kv(argv[1:])[1]
    except ConfigError as e:
        raise SystemExit(str(e)) from None

    types = dict(games=int, seed0=int, stride=int, max_turns=int, opponent_mix=float, epochs=int, batch_size=int,
                 lr=float, seed=int, threads=int, beta=float, keep_epochs=bool, heavy_weight=float,
                 student_guards=bool, shadow_anchor=bool, nonkeep_weight=float, buffer=int, val_samples=int,
                 resume=bool, tb=bool, progress=bool, crop=int, channels_last=bool, share=float)  # drop_planes: str
    try:
        kw = {k: convert_value(k, types.get(k, str), v) for k, v in kw.items()}
    except ConfigError as e:
        raise SystemExit(f"bad value: {e}") from None
    fn = {"collect": collect, "fit": fit, "replan": replan, "mix": mix}[argv[0]]
    from training.cluster import ClusterError

    try:
        print(fn(**kw))
    except ClusterError as e:
        print(f"training.imitation.bc: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except (TypeError, ValueError) as e:
        raise SystemExit(f"bad arguments for {argv[0]}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
