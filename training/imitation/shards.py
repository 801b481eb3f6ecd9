"""Imitation data on disk, streamed: shards of ``training.imitation.bc`` samples read a few at a time.

A *shard* is one npz file in the format of ``python -m training.imitation.bc collect`` and
``python -m training.imitation.replays import`` (``planes`` float16 (N, C, S, S), ``globals`` float32 (N, G),
``masks`` uint8 (N, ceil(S*S*A/8)) bit-packed bool (S, S, A), ``actions`` int8 (N, S, S, K),
``map_size``). ``python -m training.imitation.replays import ... shard_dir=DIR`` writes one per replay.

At 64x64 a sample is 0.5 MB of float16 planes, so tens of thousands of samples do not fit in
memory together. :class:`ShardStream` holds ``buffer`` shards at a time: each epoch it visits the
shards in a seeded random order, in groups of ``buffer``, shuffles the samples of a group and
yields batches; a background thread reads (decompresses) the next group and prepares batches
(bit unpacking, float16 -> float32, and with ``crop``/``channels_last`` the windows and the memory
order) while the net trains on the current one. The order depends
only on ``(seed, epoch)``, so a fit resumed at a group boundary sees the same batches as one that
was never stopped.
"""

import os
import queue
import threading
import zipfile

import numpy as np

KEYS = ("planes", "globals", "masks", "actions")


def expand_data(data):
    """The npz files named by ``data``: comma-separated files and folders (a folder stands for its
    ``*.npz`` files, sorted; temporary ``*.tmp.npz`` files are left out).

    Raises:
        ValueError: nothing named, or a name that is neither an npz file nor a folder with one.
    """
    files = []
    for p in [p for p in str(data).split(",") if p]:
        if os.path.isdir(p):
            found = sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".npz") and not f.endswith(".tmp.npz"))
            if not found:
                raise ValueError(f"folder {p!r} holds no .npz shards (make them with python -m training.imitation.replays import "
                                 f"... shard_dir={p})")
            files += found
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise ValueError(f"behaviour-cloning data {p!r} does not exist (make it with 'collect' or 'replays import')")
    if not files:
        raise ValueError("no data files given (data=FILE[,FILE|DIR...])")
    return files


def shard_info(path):
    """(samples int, map side int, planes int) of one shard, reading only its small members.

    Raises:
        ValueError: not a readable shard of this format.
    """
    try:
        with np.load(path) as d:
            missing = [k for k in KEYS + ("map_size",) if k not in d.files]
            if missing:
                raise ValueError(f"{path}: not imitation data (missing {missing})")
            n = len(d["globals"])
            S = int(d["map_size"])
        # the planes' channel count without reading the planes (npy header of the member)
        with zipfile.ZipFile(path) as z, z.open("planes.npy") as f:
            version = np.lib.format.read_magic(f)
            shape = np.lib.format._read_array_header(f, version)[0]
        return n, S, int(shape[1])
    except (OSError, zipfile.BadZipFile, KeyError, EOFError) as e:
        raise ValueError(f"{path}: unreadable shard ({e})") from None


def load_shard(path, index=None):
    """The arrays of one shard as a dict (``KEYS``), restricted to ``index`` (int array) if given."""
    with np.load(path) as d:
        out = {k: d[k] for k in KEYS}
    if index is not None:
        out = {k: v[index] for k, v in out.items()}
    return out


def unpack_batch(arrays, idx, S, num_logits, crop=0, margin=0, rng=None, channels_last=False):
    """Batch ``idx`` of loaded arrays as numpy: planes float32 (B, C, S, S), globals float32 (B, G),
    masks bool (B, S, S, A), actions int64 (B, S, S, K).

    Args:
        crop (int): 0 = whole boards; else each sample is cut to its own ``crop x crop`` window
            (:func:`crop_windows`; planes, masks and actions cut alike, globals unchanged), so the
            arrays are (B, C, crop, crop), (B, crop, crop, A), (B, crop, crop, K).
        margin (int): with ``crop``: the masks of the window's cells within ``margin`` of a window
            edge that is not the map's edge are cleared (those cells leave the loss: a net whose
            logits see ``margin`` cells around them gets there the logits it gets on the whole
            board only away from such an edge).
        rng (np.random.Generator): with ``crop``: draws the windows.
        channels_last (bool): planes in ``torch.channels_last`` memory order (the same (B, C, H, W)
            array, strided (B, H, W, C)), so ``torch.from_numpy`` gives a channels-last tensor without
            a copy on the training thread.
    """
    pl, gl, pk, ac = (arrays[k] for k in KEYS)
    idx = np.asarray(idx)
    B = len(idx)
    m = np.unpackbits(pk[idx], axis=1, count=S * S * num_logits).view(bool).reshape(B, S, S, num_logits)
    if crop:
        x0, y0 = crop_windows(m, crop, margin, rng)
        planes = np.empty((B, crop, crop, pl.shape[1]) if channels_last else (B, pl.shape[1], crop, crop), np.float32)
        masks = np.empty((B, crop, crop, num_logits), bool)
        actions = np.empty((B, crop, crop, ac.shape[-1]), np.int64)
        for j, (i, x, y) in enumerate(zip(idx, x0, y0)):
            win = pl[i, :, x:x + crop, y:y + crop]  # float16, converted only inside the window
            planes[j] = win.transpose(1, 2, 0) if channels_last else win
            masks[j] = m[j, x:x + crop, y:y + crop]
            actions[j] = ac[i, x:x + crop, y:y + crop]
            if margin:
                masks[j] &= _interior(crop, margin, x, y, S)[:, :, None]
        planes = planes.transpose(0, 3, 1, 2) if channels_last else planes
        return planes, gl[idx].astype(np.float32), masks, actions
    if channels_last:
        planes = np.empty((B, S, S, pl.shape[1]), np.float32)
        planes[:] = pl[idx].transpose(0, 2, 3, 1)
        planes = planes.transpose(0, 3, 1, 2)
    else:
        planes = pl[idx].astype(np.float32)
    return planes, gl[idx].astype(np.float32), m, ac[idx].astype(np.int64)


def _interior(crop, margin, x, y, S):
    """bool (crop, crop): the cells of the window at (x, y) that are at least ``margin`` cells from
    every window edge that is not also the map's edge."""
    def axis(o):
        keep = np.ones(crop, bool)
        if o > 0:
            keep[:margin] = False
        if o + crop < S:
            keep[crop - margin:] = False
        return keep

    return axis(x)[:, None] & axis(y)[None, :]


def crop_windows(masks, crop, margin, rng):
    """Top-left corners (x0, y0) int arrays (B,) of one ``crop x crop`` window per sample of
    ``masks`` bool (B, S, S, A): a window holds an active cell (our robot or factory: some choice
    legal) drawn uniformly from the sample's active cells, inside the window's exact interior
    (:func:`_interior` with ``margin``), the window drawn uniformly among those that do; a sample
    without an active cell gets a uniform window."""
    B, S = masks.shape[0], masks.shape[1]
    n = S - crop + 1
    o = np.arange(n)
    lo = o + np.where(o > 0, margin, 0)  # (n,) first exact cell of a window starting at o
    hi = o + crop - np.where(o + crop < S, margin, 0)  # one past the last
    ok = (lo[None, :] <= np.arange(S)[:, None]) & (np.arange(S)[:, None] < hi[None, :])  # (cell, start)
    active = masks.any(-1)
    x0, y0 = np.empty(B, np.int64), np.empty(B, np.int64)
    for j in range(B):
        cells = np.flatnonzero(active[j])
        if len(cells):
            cx, cy = divmod(int(cells[rng.integers(len(cells))]), S)
            x0[j], y0[j] = rng.choice(np.flatnonzero(ok[cx])), rng.choice(np.flatnonzero(ok[cy]))
        else:
            x0[j], y0[j] = rng.integers(n), rng.integers(n)
    return x0, y0


class ShardStream:
    """Shuffled training batches over shards on disk, ``buffer`` shards in memory at a time.

    Args:
        sources (list[tuple[str, np.ndarray | None]]): (file, sample indices or None for all).
        batch_size (int): samples per batch (the last batch of a group may be smaller).
        buffer (int): shards read into memory together (their samples are shuffled together).
        seed (int): the order of shards and samples is a function of ``(seed, epoch)``.
        S (int), num_logits (int): map side and head width (to unpack the masks).
        prefetch (int): prepared batches queued ahead by the reader thread.
        sizes (dict | None): samples per file, when the caller has read them (:func:`shard_info`).
        crop (int), margin (int), channels_last (bool): as for :func:`unpack_batch`, done on the
            reader thread; the windows are a function of ``(seed, epoch, group)`` too.
    """

    def __init__(self, sources, batch_size, buffer, seed, S, num_logits, prefetch=6, sizes=None, crop=0, margin=0,
                 channels_last=False):
        self.sources, self.batch_size, self.buffer = list(sources), int(batch_size), max(1, int(buffer))
        self.seed, self.S, self.num_logits, self.prefetch = int(seed), int(S), int(num_logits), int(prefetch)
        self.crop, self.margin, self.channels_last = int(crop), int(margin), bool(channels_last)
        self.counts = [source_size(src, sizes) for src in self.sources]

    @property
    def samples(self):
        return int(sum(self.counts))

    def groups(self, epoch):
        """The epoch's shard groups: a list of lists of source positions."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.sources))
        return [list(order[i:i + self.buffer]) for i in range(0, len(order), self.buffer)]

    def batches_in_epoch(self):
        return int(sum(-(-sum(self.counts[j] for j in g) // self.batch_size) for g in self.groups(0)))

    def iter_epoch(self, epoch, start_group=0):
        """Yield ``(group, last_of_group, batch)`` with batch = (planes, globals, masks, actions) numpy
        arrays (see :func:`unpack_batch`), from group ``start_group`` on. A reader thread works ahead."""
        groups = self.groups(epoch)
        q = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def produce():
            try:
                for gi in range(start_group, len(groups)):
                    parts = [load_shard(*self.sources[j]) for j in groups[gi]]
                    arrays = {k: np.concatenate([p[k] for p in parts]) if len(parts) > 1 else parts[0][k] for k in KEYS}
                    del parts
                    n = len(arrays["actions"])
                    perm = np.random.default_rng([self.seed, epoch, gi]).permutation(n)
                    crop_rng = np.random.default_rng([self.seed, epoch, gi, 1])
                    starts = list(range(0, n, self.batch_size))
                    for bi, s in enumerate(starts):
                        if stop.is_set():
                            return
                        q.put((gi, bi == len(starts) - 1, unpack_batch(
                            arrays, perm[s:s + self.batch_size], self.S, self.num_logits, crop=self.crop,
                            margin=self.margin, rng=crop_rng, channels_last=self.channels_last)))
                    del arrays
                q.put(None)
            except BaseException as e:  # surfaced in the consumer
                q.put(e)

        t = threading.Thread(target=produce, daemon=True)
        t.start()
        try:
            while True:
                item = q.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while t.is_alive():  # unblock a producer waiting on a full queue
                try:
                    q.get_nowait()
                except queue.Empty:
                    t.join(0.05)


def source_size(source, sizes=None):
    """Samples of one source ``(file, indices or None)``; a file's size from ``sizes`` (file ->
    samples) when given, else read with :func:`shard_info`."""
    f, idx = source
    if idx is not None:
        return len(idx)
    return sizes[f] if sizes and f in sizes else shard_info(f)[0]


def load_held_out(sources, max_samples, sizes=None):
    """Up to ``max_samples`` held-out samples spread evenly over ``sources`` (every k-th sample of
    each), as one dict of arrays (``KEYS``, still packed). ``sizes``: as for :class:`ShardStream`."""
    total = sum(source_size(src, sizes) for src in sources)
    step = max(1, -(-total // max(1, int(max_samples))))
    parts = []
    for f, idx in sources:
        take = (np.arange(source_size((f, None), sizes)) if idx is None else np.sort(np.asarray(idx)))[::step]
        if len(take):
            parts.append(load_shard(f, take))
    return {k: np.concatenate([p[k] for p in parts])[:max_samples] for k in KEYS}


def dagger_mix(teacher, dagger, share, pool=()):
    """The file list of a DAgger fine-tune in which the DAgger samples make up about ``share`` of
    the epoch, however much DAgger data the rounds have gathered (DAgger aggregates: without this
    the students' own states swamp the teacher's games round by round).

    The DAgger files are repeated ``r`` times, ``r`` the whole number (>= 1) that brings their share
    nearest ``share``; when even ``r = 1`` leaves them above it, teacher shards are added from
    ``pool`` (those not yet listed first, then the whole pool once more) until the teacher's samples
    are at least ``(1 - share) / share`` times the (repeated) DAgger samples, or that list runs out.

    Args:
        teacher (list of str): teacher shards every fine-tune uses.
        dagger (list of str): the DAgger files of every round so far.
        share (float): the wanted fraction of DAgger samples, 0 < share < 1.
        pool (list of str): further teacher shards to draw on (e.g. every training shard).

    Returns:
        (files list of str, DAgger share float achieved, repeats int).

    Raises:
        ValueError: ``share`` outside (0, 1), no teacher shards, or an unreadable file (:func:`shard_info`).
    """
    if not 0.0 < float(share) < 1.0:
        raise ValueError(f"share={share}: the DAgger share of a fine-tune must lie strictly between 0 and 1")
    teacher, dagger = list(teacher), list(dagger)
    if not teacher:
        raise ValueError("dagger_mix needs at least one teacher shard")
    n = {f: shard_info(f)[0] for f in set(teacher) | set(dagger) | set(pool)}
    T, D = sum(n[f] for f in teacher), sum(n[f] for f in dagger)
    if D == 0:
        return teacher, 0.0, 0
    ratio = share / (1.0 - share)  # wanted DAgger : teacher samples
    r = max(1, int(round(ratio * T / D)))
    extra = [f for f in pool if f not in teacher] + list(pool)
    while r * D > ratio * T * 1.0001 and extra:  # DAgger above its share: more teacher samples
        f = extra.pop(0)
        teacher.append(f)
        T += n[f]
    files = teacher + dagger * r
    return files, r * D / float(T + r * D), r
