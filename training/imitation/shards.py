"""Imitation data on disk, streamed: shards of ``training.imitation.bc`` samples read a few at a time.

A *shard* is one npz file in the format of ``python -m training.imitation.bc collect`` and
``python -m training.imitation.replays import`` (``planes`` float16 (N, C, S, S), ``globals`` float32 (N, G),
``masks`` uint8 (N, ceil(S*S*A/8)) bit-packed bool (S, S, A), ``actions`` int8 (N, S, S, K),
``map_size``). ``python -m training.imitation.replays import ... shard_dir=DIR`` writes one per replay.

At 64x64 a sample is 0.5 MB of float16 planes, so tens of thousands of samples do not fit in
memory together. :class:`ShardStream` holds ``buffer`` shards at a time: each epoch it visits the
shards in a seeded random order, in groups of ``buffer``, shuffles the samples of a group and
yields batches; a background thread reads (decompresses) the next group and prepares batches
(bit unpacking, float16 -> float32) while the net trains on the current one. The order depends
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


def unpack_batch(arrays, idx, S, num_logits):
    """Batch ``idx`` of loaded arrays as numpy: planes float32 (B, C, S, S), globals float32 (B, G),
    masks bool (B, S, S, A), actions int64 (B, S, S, K)."""
    pl, gl, pk, ac = (arrays[k] for k in KEYS)
    m = np.unpackbits(pk[idx], axis=1, count=S * S * num_logits).view(bool).reshape(len(idx), S, S, num_logits)
    return pl[idx].astype(np.float32), gl[idx].astype(np.float32), m, ac[idx].astype(np.int64)


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
    """

    def __init__(self, sources, batch_size, buffer, seed, S, num_logits, prefetch=6, sizes=None):
        self.sources, self.batch_size, self.buffer = list(sources), int(batch_size), max(1, int(buffer))
        self.seed, self.S, self.num_logits, self.prefetch = int(seed), int(S), int(num_logits), int(prefetch)
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
                    starts = list(range(0, n, self.batch_size))
                    for bi, s in enumerate(starts):
                        if stop.is_set():
                            return
                        q.put((gi, bi == len(starts) - 1, unpack_batch(arrays, perm[s:s + self.batch_size], self.S,
                                                                       self.num_logits)))
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
