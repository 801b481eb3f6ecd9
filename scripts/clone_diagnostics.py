"""What a clone has and has not learned from its teacher, read off imitation data (shards of
``python -m training.imitation.replays import`` or DAgger files of ``python -m training.imitation.bc collect``):

    python scripts/clone_diagnostics.py water DATA...            # the teacher's watering vs the ground around the factory
    python scripts/clone_diagnostics.py dig WEIGHTS DATA...      # lights on rubble near our factories: labels vs the net
    python scripts/clone_diagnostics.py decoding WEIGHTS DATA... # per-component argmax vs the joint argmax, agreement
    python scripts/clone_diagnostics.py factory-head WEIGHTS --train DATA... --test DATA...
                                                                 # can another factory head learn the watering?

``water``: at our factory centres, the water the factory holds and its *open* cells (no rubble, no
factory, no ice or ore) among the 12 cells around its 3x3 (``agent.masks.WATER_INIT_DELTAS``, where
the engine's lichen starts), against the teacher's watering label, by
water held and by game phase. ryandy_neurips (its ``Mode::_do_water``) does not water where the lichen
cannot grow anywhere new, so a clone that leaves its factories walled in by rubble gets "no water"
labels however much water it holds (notes/clone_ryandy.md, fourth session).

``dig``: LIGHT robots standing on rubble (no ice, no ore) within 3 cells of our factory: the
teacher's robot-type label against the net's most likely legal type (a confusion table).

``decoding``: agreement with the labels of ``MaskedGridDistribution.mode`` (each component's argmax)
and ``joint_mode`` (the whole action's argmax; agent.json ``joint_greedy``): robot type, whole action,
recall per label type, and the predicted type shares against the labels'.

``factory-head``: the net's trunk fixed, factory cells only: the net's own factory logits against
heads fitted on the ``--train`` files (linear on the trunk's features; linear and a 32-unit MLP on
the trunk's features plus the raw planes and globals at the factory), scored on the ``--test``
files (held-out NLL, recall of the teacher's waterings).

Each reads at most ``--max-samples`` samples a file (default 400; 0 = all). Bad input (a missing or
foreign file, weights that do not load) is one line and exit 2.
"""

import argparse
import sys

import numpy as np

WATER = 3  # the factory component's choice "water" (agent.actions.FACTORY_ENGINE_ACTION: none, light, heavy, water)


def _load(path, max_samples):
    from training.imitation.shards import load_shard, shard_info

    try:
        n, S, _ = shard_info(path)  # ValueError for a foreign file
        take = n if max_samples <= 0 else min(n, max_samples)
        return load_shard(path, np.arange(take)), S
    except ValueError as e:
        raise ValueError(str(e) if str(path) in str(e) else f"{path}: not imitation data ({e})") from None


def factory_rows(planes, actions):
    """One row per (sample, our factory centre): water held, open ring cells (of 12), teacher waters
    (0/1), turn fraction. planes float (N, C, S, S), actions int (N, S, S, 7) -> float (R, 4)."""
    from agent.actions import C_FACTORY
    from agent.features import P
    from agent.masks import WATER_INIT_DELTAS

    S = planes.shape[-1]
    rows = []
    for i in range(len(planes)):
        pl = planes[i]
        blocked = (pl[P["rubble"]] > 0) | (pl[P["factory_ours"]] > 0) | (pl[P["factory_theirs"]] > 0) \
            | (pl[P["ice"]] > 0) | (pl[P["ore"]] > 0)
        for x, y in zip(*np.nonzero(pl[P["factory_center_ours"]] > 0)):
            ring = np.array([x, y]) + WATER_INIT_DELTAS  # the 12 cells around the 3x3
            ring = ring[((ring >= 0) & (ring < S)).all(axis=1)]
            opn = int(np.count_nonzero(~blocked[ring[:, 0], ring[:, 1]]))
            rows.append((float(pl[P["factory_water"], x, y]) * 1000.0, opn, float(actions[i, x, y, C_FACTORY] == WATER),
                         float(pl[P["turn"], x, y])))
    return np.array(rows, float).reshape(-1, 4)


def water(args):
    parts = []
    for f in args.data:
        d = _load(f, args.max_samples)[0]
        parts.append(factory_rows(d["planes"], d["actions"]))
    r = np.concatenate(parts)
    if not len(r):
        print("no factory of ours in these samples")
        return 0
    print(f"{len(r)} factory-turns; the teacher waters on {r[:, 2].mean():.3f}; open cells of 12 around the factory")
    print("| water held | factory-turns | teacher waters | none open: n, waters | some open: n, waters | mean open |")
    print("| --- | ---: | ---: | --- | --- | ---: |")
    for lo, hi in ((0, 150), (150, 350), (350, 800), (800, 2000), (2000, 1e9)):
        s = (r[:, 0] >= lo) & (r[:, 0] < hi)
        if s.any():
            none, some = s & (r[:, 1] == 0), s & (r[:, 1] > 0)
            rate = lambda m: f"{r[m, 2].mean():.3f}" if m.any() else "-"  # noqa: E731
            span = f"{lo:.0f}+" if hi > 1e8 else f"{lo:.0f}-{hi:.0f}"
            print(f"| {span} | {s.sum()} | {r[s, 2].mean():.3f} | {none.sum()}, {rate(none)} | "
                  f"{some.sum()}, {rate(some)} | {r[s, 1].mean():.2f} |")
    print("| turn (fraction of the game) | factory-turns | mean open | none open | teacher waters |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for lo, hi in ((0, .05), (.05, .1), (.1, .2), (.2, .3), (.3, .5), (.5, 1.01)):
        s = (r[:, 3] >= lo) & (r[:, 3] < hi)
        if s.any():
            print(f"| {lo:.2f}-{hi:.2f} | {s.sum()} | {r[s, 1].mean():.2f} | {np.mean(r[s, 1] == 0):.2f} | "
                  f"{r[s, 2].mean():.3f} |")
    return 0


def _batches(path, max_samples, batch=16):
    """(planes float32, globals float32, masks bool (B, S, S, A), actions int64) batches of one file
    (:func:`training.imitation.shards.unpack_batch`)."""
    from agent.actions import NUM_LOGITS
    from training.imitation.shards import unpack_batch

    d, S = _load(path, max_samples)
    n = len(d["globals"])
    for s in range(0, n, batch):
        yield unpack_batch(d, np.arange(s, min(s + batch, n)), S, NUM_LOGITS)


def _dists(net, args):
    import torch

    from agent.distribution import MaskedGridDistribution

    for f in args.data:
        for pl, gl, m, a in _batches(f, args.max_samples):
            with torch.no_grad():
                logits, _ = net(torch.from_numpy(pl), torch.from_numpy(gl))
            yield pl, MaskedGridDistribution(logits, torch.from_numpy(m)), torch.from_numpy(a)


def dig(args, net):
    from agent.actions import C_TYPE, ROBOT_TYPE_NAMES
    from agent.features import DIST_SCALE, P

    conf = np.zeros((len(ROBOT_TYPE_NAMES),) * 2, int)
    for pl, dist, a in _dists(net, args):
        mode = dist.mode().numpy()
        near = (pl[:, P["light_ours"]] > 0) & (pl[:, P["rubble"]] > 0) & (pl[:, P["ice"]] == 0) & (pl[:, P["ore"]] == 0) \
            & (pl[:, P["dist_factory_ours"]] * DIST_SCALE <= 3.0 + 1e-6)
        b, x, y = np.nonzero(near)
        np.add.at(conf, (a.numpy()[b, x, y, C_TYPE], mode[b, x, y, C_TYPE]), 1)
    print("LIGHT robots on rubble within 3 cells of our factory: rows the teacher's type label, columns the net's argmax")
    print("| label | n | " + " | ".join(ROBOT_TYPE_NAMES) + " |")
    print("| --- | ---: |" + " ---: |" * len(ROBOT_TYPE_NAMES))
    for i, name in enumerate(ROBOT_TYPE_NAMES):
        if conf[i].sum():
            print(f"| {name} | {conf[i].sum()} | " + " | ".join(str(c) for c in conf[i]) + " |")
    return 0


def decoding(args, net):
    import torch

    from agent.actions import C_FACTORY, C_TYPE, NUM_ROBOT_TYPES, ROBOT_TYPE_NAMES, USES

    uses = torch.from_numpy(USES)
    tot = {k: np.zeros((NUM_ROBOT_TYPES, 3)) for k in ("mode", "joint")}
    pred = {k: np.zeros(NUM_ROBOT_TYPES) for k in tot}
    for _, dist, a in _dists(net, args):
        robot = dist.present[..., C_TYPE]
        used = uses[a[..., C_TYPE]]  # the components the label's type uses
        for name, pick in (("mode", dist.mode()), ("joint", dist.joint_mode())):
            t, lt = pick[..., C_TYPE], a[..., C_TYPE]
            whole = ((pick[..., :C_FACTORY] == a[..., :C_FACTORY]) | ~used).all(-1)
            for k in range(NUM_ROBOT_TYPES):
                sel = robot & (lt == k)
                tot[name][k] += [sel.sum().item(), (t[sel] == k).sum().item(), whole[sel].sum().item()]
            pred[name] += np.bincount(t[robot].numpy(), minlength=NUM_ROBOT_TYPES)
    for name, c in tot.items():
        n = max(c[:, 0].sum(), 1)
        print(f"{name}: {int(c[:, 0].sum())} robot labels, type agreement {c[:, 1].sum() / n:.3f}, whole action "
              f"{c[:, 2].sum() / n:.3f}; recall by label type: "
              + ", ".join(f"{ROBOT_TYPE_NAMES[k]} {c[k, 1] / c[k, 0]:.2f} (n {int(c[k, 0])})" for k in range(NUM_ROBOT_TYPES)
                          if c[k, 0]))
        p = pred[name] / max(pred[name].sum(), 1)
        print("  predicted type shares: " + ", ".join(f"{ROBOT_TYPE_NAMES[k]} {p[k]:.3f}" for k in range(NUM_ROBOT_TYPES)))
    lab = tot["mode"][:, 0] / max(tot["mode"][:, 0].sum(), 1)
    print("  label type shares:     " + ", ".join(f"{ROBOT_TYPE_NAMES[k]} {lab[k]:.3f}" for k in range(NUM_ROBOT_TYPES)))
    return 0


def _factory_cells(net, files, max_samples):
    """Trunk features, planes, globals, factory masks and labels at every factory cell of ``files``."""
    import torch

    from agent.actions import C_FACTORY, FACTORY_LOGITS

    feats = {}
    hook = net.policy_head.register_forward_hook(lambda mod, inp, out: feats.__setitem__("x", inp[0]))
    cols = [[], [], [], [], []]
    try:
        for f in files:
            for pl, gl, m, a in _batches(f, max_samples, batch=32):
                with torch.no_grad():
                    net(torch.from_numpy(pl), torch.from_numpy(gl))
                fm = m[..., FACTORY_LOGITS]
                b, i, j = np.nonzero(fm.sum(-1) > 1)  # a factory with a choice to make
                for c, v in zip(cols, (feats["x"][b, :, i, j], torch.from_numpy(pl[b, :, i, j]), torch.from_numpy(gl[b]),
                                       torch.from_numpy(fm[b, i, j]), torch.from_numpy(a[b, i, j, C_FACTORY]))):
                    c.append(v)
    finally:
        hook.remove()
    return [torch.cat(c) for c in cols]


def factory_head(args, net):
    import torch

    from agent.actions import FACTORY_LOGITS

    torch.manual_seed(0)
    trn, tst = _factory_cells(net, args.train, args.max_samples), _factory_cells(net, args.test, args.max_samples)
    if not len(trn[4]) or not len(tst[4]):
        print("no factory cell with a choice in --train or --test")
        return 0
    print(f"factory cells: train {len(trn[4])} (teacher waters {(trn[4] == WATER).float().mean():.3f}), "
          f"test {len(tst[4])} ({(tst[4] == WATER).float().mean():.3f})")
    nf = FACTORY_LOGITS.stop - FACTORY_LOGITS.start

    def score(logits):
        lt = logits.masked_fill(~tst[3], -1e9)
        pred, w = lt.argmax(-1), tst[4] == WATER
        return (torch.nn.functional.cross_entropy(lt, tst[4]).item(),
                (pred[w] == WATER).float().mean().item() if w.any() else float("nan"))

    with torch.no_grad():
        w = net.policy_head.weight[FACTORY_LOGITS, :, 0, 0]
        own = score(tst[0] @ w.t() + net.policy_head.bias[FACTORY_LOGITS])
    print("| factory head | held-out NLL | recall of the teacher's waterings |")
    print("| --- | ---: | ---: |")
    print(f"| the net as trained | {own[0]:.4f} | {own[1]:.3f} |")
    both = lambda t: torch.cat([t[0], t[1], t[2]], 1)  # noqa: E731
    heads = (("linear on the trunk, refitted", lambda t: t[0], lambda n: torch.nn.Linear(n, nf)),
             ("linear on trunk + planes + globals", both, lambda n: torch.nn.Linear(n, nf)),
             ("MLP (32) on trunk + planes + globals", both,
              lambda n: torch.nn.Sequential(torch.nn.Linear(n, 32), torch.nn.ReLU(), torch.nn.Linear(32, nf))))
    for name, inputs, make in heads:
        xin, xte = inputs(trn), inputs(tst)
        head = make(xin.shape[1])
        opt = torch.optim.Adam(head.parameters(), 3e-3)
        for _ in range(args.steps):  # full-batch Adam
            loss = torch.nn.functional.cross_entropy(head(xin).masked_fill(~trn[3], -1e9), trn[4])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            nll, rec = score(head(xte))
        print(f"| {name} | {nll:.4f} | {rec:.3f} |")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("water")
    w.add_argument("data", nargs="+")
    for name in ("dig", "decoding"):
        p = sub.add_parser(name)
        p.add_argument("weights")
        p.add_argument("data", nargs="+")
    f = sub.add_parser("factory-head")
    f.add_argument("weights")
    f.add_argument("--train", nargs="+", required=True)
    f.add_argument("--test", nargs="+", required=True)
    f.add_argument("--steps", type=int, default=300, help="full-batch Adam steps per head (default 300)")
    for p in (w, f) + tuple(sub.choices[n] for n in ("dig", "decoding")):
        p.add_argument("--max-samples", type=int, default=400, help="samples read a file (0 = all)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "water":
            return water(args)
        from agent.net import CheckpointError, load_checkpoint

        try:
            net, _ = load_checkpoint(args.weights)
        except CheckpointError as e:
            raise ValueError(str(e)) from None
        return {"dig": dig, "decoding": decoding, "factory-head": factory_head}[args.cmd](args, net)
    except (ValueError, OSError) as e:
        print(f"clone_diagnostics.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
