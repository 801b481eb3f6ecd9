"""Behaviour-cloning fit throughput: samples/s and robot labels/s of ``training.imitation.bc fit``'s
gradient step per net preset and variant, on real imitation data, all measured in the same run,
with the ratio to the first variant of each net (``base``: the fit before issue #46).

    python benchmarks/bc_fit.py --data runs/ryandy/sticky/ryandy_neurips_selfplay_seed5000.npz
        [--nets cone,small] [--variants base,fused,cl,t1,cl+t1,crop32+cl+t1] [--steps 2] [--rounds 7]

A step is :func:`training.imitation.bc.fit_step` (forward, the masked log-likelihood, backward,
gradient clipping, Adam) on a batch the fit's reader thread prepares
(:func:`training.imitation.shards.unpack_batch`: bit-unpacked masks, float32 planes, with the
variant's window and memory order); that preparation is timed apart (``prep ms``: the reader
thread's work per batch, done while the net trains). A variant is ``+``-joined words:

* ``base``: the fit before issue #46 (for-loop Adam, contiguous planes, whole boards,
  ``--threads`` torch threads). Every other variant uses the fit's fused Adam
  (:func:`training.imitation.bc.fit_optimizer`); ``fused`` alone is today's fit with no keys.
* ``cl``: ``channels_last=true``. ``t1``: ``threads=1``.
* ``cropN``: ``crop=N`` (N x N windows holding one of our units; the loss counts the cells
  exact for the net: robot labels/s is the figure to compare). A net that refuses crop= (``cone``)
  prints the fit's one-line refusal instead of a row.
* ``compile``: ``torch.compile`` of the net (not a fit key; its compile time is printed).

Rows are timed round-robin, the median of ``--rounds`` rounds, so a load change on a shared
machine hits all of them alike: read the ratios, not the absolute figures.
"""

import argparse
import time

import numpy as np
import torch

KEYS = {"base": "(before #46)", "fused": "", "cl": "channels_last=true", "t1": "threads=1", "compile": "(torch.compile)"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="one shard (npz of training.imitation.bc / training.imitation.replays import)")
    ap.add_argument("--nets", default="cone,small")
    ap.add_argument("--variants", default="base,fused,cl,t1,cl+t1,crop32+cl,crop32+cl+t1")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--samples", type=int, default=256, help="samples of the shard the batches are drawn from")
    ap.add_argument("--steps", type=int, default=2, help="steps per timing")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    from agent.actions import NUM_LOGITS
    from agent.net import build_net
    from training.imitation.bc import crop_margin, fit_optimizer, fit_step
    from training.imitation.shards import load_shard, shard_info, unpack_batch

    n_all, S, _ = shard_info(args.data)
    rng = np.random.default_rng(0)
    arrays = load_shard(args.data, np.sort(rng.choice(n_all, min(n_all, args.samples), replace=False)))
    N, B = len(arrays["actions"]), args.batch_size
    idx = [rng.choice(N, B, replace=False) for _ in range(args.steps)]

    rows, refused = {}, []
    for name in args.nets.split(","):
        for v in args.variants.split(","):
            words = set(v.split("+"))
            crop = next((int(w[4:]) for w in words if w.startswith("crop")), 0)
            torch.manual_seed(0)
            net = build_net(name)
            try:
                margin = crop_margin(net, crop, S)
            except ValueError as e:
                refused.append(f"{name} {v}: {e}")
                continue
            cl = "cl" in words
            if cl:
                net = net.to(memory_format=torch.channels_last)
            opt = torch.optim.Adam(net.parameters(), lr=1e-4) if "base" in words else fit_optimizer(net, 1e-4)
            fwd = net
            if "compile" in words:
                fwd = torch.compile(net)
                fwd.config, fwd.receptive_field = net.config, getattr(net, "receptive_field", None)
            brng = np.random.default_rng(1)
            t = time.perf_counter()
            batches = [unpack_batch(arrays, i, S, NUM_LOGITS, crop=crop, margin=margin, rng=brng, channels_last=cl)
                       for i in idx]
            prep = (time.perf_counter() - t) / len(idx)
            rows[(name, v)] = dict(fwd=fwd, opt=opt, batches=batches, prep=prep, threads=1 if "t1" in words else args.threads,
                                   cmd=" ".join(KEYS.get(w, f"crop={crop}" if w.startswith("crop") else w)
                                                for w in sorted(words) if KEYS.get(w, "x")) or "(no keys)")

    def run(r):
        torch.set_num_threads(r["threads"])
        labels = 0
        t = time.perf_counter()
        for b in r["batches"]:
            labels += fit_step(r["fwd"], r["opt"], b)[1]
        return time.perf_counter() - t, labels

    for key, r in rows.items():  # warm-up (and torch.compile's compile time)
        t = time.perf_counter()
        run(r)
        r["warm"] = time.perf_counter() - t
    times = {key: [] for key in rows}
    for _ in range(args.rounds):
        for key, r in rows.items():
            dt, r["labels"] = run(r)
            times[key].append(dt)
    print(f"bc fit step, {S}x{S}, batch {B}, {args.steps} steps x median of {args.rounds} rounds (round-robin), "
          f"{args.threads} torch threads unless t1, data {args.data}")
    head = (f"{'net':<6} {'variant':<16} {'samples/s':>9} {'ratio':>6} {'robot labels/s':>14} {'ratio':>6} "
            f"{'prep ms':>7} {'warm-up s':>9}  fit keys")
    print(head)
    print("-" * len(head))
    base = {}
    for key, r in rows.items():
        dt = float(np.median(times[key]))
        sps, lps = B * args.steps / dt, r["labels"] / dt
        b = base.setdefault(key[0], (sps, lps))
        print(f"{key[0]:<6} {key[1]:<16} {sps:>9.1f} {sps / b[0]:>6.2f} {lps:>14.0f} {lps / b[1]:>6.2f} "
              f"{1000 * r['prep']:>7.0f} {r['warm']:>9.1f}  {r['cmd']}")
    for line in refused:
        print(f"refused: {line}")


if __name__ == "__main__":
    main()
