"""How a net weighs ``keep`` against the teacher's robot labels of a data file.

    python scripts/keep_probe.py WEIGHTS DATA.npz [--samples 200]

For up to ``--samples`` samples spread over the file (a ``training.imitation.bc`` npz or a shard of
``python -m training.imitation.replays import ... shard_dir=``), on every robot cell with a label:
the share of ``keep`` labels, the net's mean probability of ``keep`` (masked softmax of the robot
type component) on keep labels and on the others, how often its most likely type is ``keep`` where
the teacher acts, and the share of ``keep`` labels on robots whose action queue is empty (feature
plane ``robot_queue_empty``): where that share is near one half, the planes cannot tell an idle
robot from one about to leave. Bad input is one line and exit 2.
"""

import argparse
import sys

import numpy as np


def probe(weights, data, samples=200):
    """Counts of :mod:`scripts.keep_probe` (see the module docstring) as a dict of floats.

    Raises:
        agent.net.CheckpointError: ``weights`` is not a loadable checkpoint.
        OSError, KeyError, ValueError: ``data`` is not a readable data file of this kit.
    """
    import torch

    from agent.actions import C_TYPE, KEEP, NUM_LOGITS, OFFSETS
    from agent.distribution import MaskedGridDistribution
    from agent.features import P
    from agent.net import load_checkpoint
    from training.imitation.shards import unpack_batch

    torch.set_num_threads(1)
    net, _ = load_checkpoint(weights)
    net.eval()
    d = np.load(data)
    S, n = int(d["map_size"]), len(d["actions"])
    arrays = {k: d[k] for k in ("planes", "globals", "masks", "actions")}
    idx = np.unique(np.linspace(0, n - 1, min(samples, n)).astype(int))
    type_slice = slice(OFFSETS[C_TYPE], OFFSETS[C_TYPE + 1])
    p_keep, is_keep, empty = [], [], []
    for i in range(0, len(idx), 16):
        pl, gl, m, ac = unpack_batch(arrays, idx[i:i + 16], S, NUM_LOGITS)
        with torch.no_grad():
            logits = net(torch.from_numpy(pl), torch.from_numpy(gl))[0]
        robot = MaskedGridDistribution(logits, torch.from_numpy(m)).present[..., C_TYPE].numpy()
        z = logits.permute(0, 2, 3, 1)[..., type_slice].clone()
        z[~torch.from_numpy(m[..., type_slice])] = -1e9
        p = torch.softmax(z, -1)[..., KEEP].numpy()
        p_keep.append(p[robot])
        is_keep.append(ac[..., C_TYPE][robot] == KEEP)
        empty.append(pl[:, P["robot_queue_empty"]][robot] > 0.5)
    p_keep, is_keep, empty = (np.concatenate(a) for a in (p_keep, is_keep, empty))

    def mean(a):
        return float(a.mean()) if a.size else float("nan")

    return dict(samples=len(idx), robot_cells=int(p_keep.size), keep_labels=mean(is_keep),
                p_keep_on_keep=mean(p_keep[is_keep]), p_keep_on_other=mean(p_keep[~is_keep]),
                argmax_keep_on_other=mean(p_keep[~is_keep] > 0.5), empty_queue_cells=int(empty.sum()),
                keep_labels_on_empty_queue=mean(is_keep[empty]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("data")
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args(argv)
    try:
        r = probe(args.weights, args.data, args.samples)
    except (OSError, KeyError, ValueError) as e:
        print(f"keep_probe: {e}", file=sys.stderr)
        return 2
    print(f"{args.data}: {r['samples']} samples, {r['robot_cells']} robot cells, keep labels {r['keep_labels']:.3f}; "
          f"mean P(keep) on keep labels {r['p_keep_on_keep']:.3f}, on the others {r['p_keep_on_other']:.3f}; "
          f"argmax keep where the teacher acts {r['argmax_keep_on_other']:.3f}; robots with an empty queue "
          f"{r['empty_queue_cells']}, keep labels on them {r['keep_labels_on_empty_queue']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
