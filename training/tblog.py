"""Reading a run's TensorBoard scalars back (for plots and sweep results), via tensorboard's
own EventAccumulator."""

import functools
import glob
import os

import numpy as np


def _event_files(run_dir):
    """Event files under ``run_dir/tb`` (a train.py run), else anywhere under ``run_dir`` (e.g. the
    ``<out>_tb`` folder of ``training.imitation.bc fit``)."""
    base = os.path.join(run_dir, "tb") if os.path.isdir(os.path.join(run_dir, "tb")) else run_dir
    return tuple(sorted(glob.glob(os.path.join(base, "**", "events.out.tfevents.*"), recursive=True),
                        key=os.path.getmtime))


@functools.lru_cache(maxsize=32)
def _load_run(files_and_stats):
    """{tag: {step: value}} over the given event files, read once (later files win on equal steps,
    e.g. after a resume). Keyed by (path, mtime, size) so a growing run is read again."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points = {}
    for f, _, _ in files_and_stats:
        ea = EventAccumulator(f, size_guidance={"scalars": 0})
        ea.Reload()
        for tag in ea.Tags().get("scalars", []):
            points.setdefault(tag, {}).update({int(ev.step): float(ev.value) for ev in ea.Scalars(tag)})
    return points


def read_scalars(run_dir, tag):
    """(steps int64 (N,), values float64 (N,)) of ``tag`` over all event files under ``run_dir/tb``
    (or ``run_dir`` itself when it has no ``tb``),
    sorted by step (later files win on equal steps, e.g. after a resume). Empty arrays if absent.
    Each run's event files are parsed once for all its tags."""
    key = tuple((f, os.path.getmtime(f), os.path.getsize(f)) for f in _event_files(run_dir))
    points = _load_run(key).get(tag, {})
    steps = np.array(sorted(points), dtype=np.int64)
    return steps, np.array([points[s] for s in steps], dtype=np.float64)


def band(runs, tag, grid=None):
    """Interpolate ``tag`` of several runs onto a common step grid.

    Returns (grid int64 (G,), mean (G,), low (G,), high (G,)) where low/high are the min/max over
    runs (the band over seeds); runs without the tag are skipped; all None if none has it.
    """
    series = [read_scalars(r, tag) for r in runs]
    series = [(s, v) for s, v in series if len(s)]
    if not series:
        return None, None, None, None
    if grid is None:
        hi = min(s[-1] for s, _ in series)
        lo = max(s[0] for s, _ in series)
        grid = np.linspace(lo, hi, num=50) if hi > lo else np.array([lo])
    vals = np.stack([np.interp(grid, s, v) for s, v in series])
    return grid, vals.mean(0), vals.min(0), vals.max(0)
