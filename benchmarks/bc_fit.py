"""Behaviour-cloning fit throughput: samples/s of one ``training.imitation.bc fit`` step per net preset and
variant, on real imitation data, all measured in the same run (ratios to the first row).

    python benchmarks/bc_fit.py --data runs/ryandy/shards/ryandy_neurips_selfplay_seed5000.npz
        [--nets small,cone,dilated] [--variants plain,prefetched,channels_last,crop32] [--steps 8]

A step is what the fit does for one batch: unpack the bit-packed masks and the float16 planes
(``training.imitation.shards.unpack_batch``), forward, the masked grid distribution's log-likelihood,
backward and Adam. Variants:

* ``plain``: the batch is prepared on the training thread (the fit before shards streamed).
* ``prefetched``: batch preparation excluded (``training.imitation.shards.ShardStream`` prepares batches on
  a reader thread while the net trains); the ratio plain/prefetched is the most a reader thread
  can save, and the reader thread competes for the same cores.
* ``channels_last``: prefetched, with net and input in ``torch.channels_last`` memory format.
* ``crop32``: prefetched, on random 32x32 crops of the 64x64 board (a fully convolutional net
  trains on crops; the crop holds fewer robots, so samples/s is not labels/s: labels/s is printed).
* ``threads1``: prefetched with one torch thread (for one process per core instead).

Rows are timed round-robin, median of ``--rounds`` rounds, so a busy machine slows all alike.
"""

import argparse
import time

import numpy as np
import torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="one shard (npz of training.imitation.bc / training.imitation.replays import)")
    ap.add_argument("--nets", default="small,cone,dilated")
    ap.add_argument("--variants", default="plain,prefetched,channels_last,crop32")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=6, help="steps per timing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    from agent.actions import NUM_LOGITS
    from agent.distribution import MaskedGridDistribution
    from agent.net import build_net
    from training.imitation.shards import load_shard, unpack_batch

    torch.manual_seed(0)
    arrays = load_shard(args.data)
    N = len(arrays["actions"])
    S = int(arrays["planes"].shape[-1])
    rng = np.random.default_rng(0)
    B = args.batch_size
    idx = [rng.choice(N, B, replace=False) for _ in range(args.steps)]
    pre = [unpack_batch(arrays, i, S, NUM_LOGITS) for i in idx]

    def crop(b, c=32):
        x0, y0 = rng.integers(0, S - c + 1, 2)
        pl, gl, m, a = b
        return (np.ascontiguousarray(pl[:, :, x0:x0 + c, y0:y0 + c]), gl, np.ascontiguousarray(m[:, x0:x0 + c, y0:y0 + c]),
                np.ascontiguousarray(a[:, x0:x0 + c, y0:y0 + c]))

    nets = args.nets.split(",")
    variants = args.variants.split(",")
    models = {}
    for name in nets:
        for v in variants:
            net = build_net(name)
            if v == "channels_last":
                net = net.to(memory_format=torch.channels_last)
            models[(name, v)] = (net, torch.optim.Adam(net.parameters(), lr=1e-4))

    def run(name, v):
        net, opt = models[(name, v)]
        torch.set_num_threads(1 if v == "threads1" else args.threads)
        labels = 0
        t = time.perf_counter()
        for k in range(args.steps):
            b = unpack_batch(arrays, idx[k], S, NUM_LOGITS) if v == "plain" else pre[k]
            if v == "crop32":
                b = crop(b)
            x, g, m, a = (torch.from_numpy(z) for z in b)
            if v == "channels_last":
                x = x.contiguous(memory_format=torch.channels_last)
            logits, _ = net(x, g)
            dist = MaskedGridDistribution(logits, m)
            loss = -dist.log_prob(a).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            labels += int(dist.active_present[:, 0].sum())
        return time.perf_counter() - t, labels

    for key in models:  # warm-up
        run(*key)
    times = {key: [] for key in models}
    labels = {}
    for _ in range(args.rounds):
        for key in models:
            dt, lab = run(*key)
            times[key].append(dt)
            labels[key] = lab
    print(f"bc fit step, {S}x{S}, batch {B}, {args.steps} steps x median of {args.rounds} rounds, "
          f"{args.threads} torch threads (threads1: 1), data {args.data}")
    head = f"{'net':<8} {'variant':<14} {'samples/s':>10} {'robot labels/s':>15} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    base = None
    for key in models:
        dt = float(np.median(times[key]))
        sps = B * args.steps / dt
        base = base or sps
        print(f"{key[0]:<8} {key[1]:<14} {sps:>10.1f} {labels[key] / dt:>15.0f} {sps / base:>7.2f}")


if __name__ == "__main__":
    main()
