"""Which distance plane do a data file's HEAVY move labels step down? (notes/log/training_log.md, path planes)

    python scripts/teacher_moves.py runs/agent/data_100.npz [--every 3]

For every MOVE label of a HEAVY robot of ours in a ``training.imitation.bc collect`` file (every
``--every``-th sample), the share of moves to a cell where a plane is lower than on the robot's
cell, per robot state: on one of our factory tiles or not, carrying ice/ore or empty, power below
30 % of the battery or not. A plane the labels step down is one a 3x3 convolution can follow.
"""

import argparse

import numpy as np

from agent.actions import DIRECTION_DELTAS, MOVE, MOVE_DIR_TO_ENGINE
from agent.features import NUM_PLANES, P

PLANES = ("dist_ice", "dist_factory_ours", "dist_ice_target", "dist_ore_target", "home_cost")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="an npz of python -m training.imitation.bc collect")
    ap.add_argument("--every", type=int, default=3, help="use every N-th sample (default 3)")
    args = ap.parse_args(argv)
    try:
        d = np.load(args.data)
        planes, actions = d["planes"], d["actions"]
    except (OSError, KeyError, ValueError) as e:
        raise SystemExit(f"cannot read {args.data}: {e}") from None
    if planes.shape[1] != NUM_PLANES:
        raise SystemExit(f"{args.data} has {planes.shape[1]} planes, not {NUM_PLANES}: "
                         f"python -m training.imitation.bc replan data={args.data} out=NEW.npz")
    groups = {}
    for i in range(0, len(actions), args.every):
        a, pl = actions[i], planes[i].astype(np.float32)
        S = a.shape[0]
        for x, y in zip(*np.nonzero((a[..., 0] == MOVE) & (pl[P["heavy_ours"]] > 0))):
            dx, dy = DIRECTION_DELTAS[MOVE_DIR_TO_ENGINE[a[x, y, 1]]]
            nx, ny = x + dx, y + dy
            if not (0 <= nx < S and 0 <= ny < S):
                continue
            key = ("factory" if pl[P["factory_ours"], x, y] > 0 else "away",
                   "carrying" if pl[P["robot_ice"], x, y] + pl[P["robot_ore"], x, y] > 0 else "empty",
                   "low power" if pl[P["robot_power"], x, y] < 0.3 else "")
            row = groups.setdefault(" ".join(k for k in key if k), np.zeros(len(PLANES) + 1))
            row[0] += 1
            row[1:] += [pl[P[n], nx, ny] < pl[P[n], x, y] for n in PLANES]
    total = sum(groups.values()) if groups else np.zeros(len(PLANES) + 1)
    print(f"{args.data}: share of heavy moves stepping down each plane (every {args.every}. sample)")
    print(f"{'robot state':28s} {'moves':>6s} " + " ".join(f"{n:>17s}" for n in PLANES))
    for name, row in sorted(groups.items()) + [("all", total)]:
        print(f"{name:28s} {int(row[0]):6d} " + " ".join(f"{v / max(row[0], 1):17.2f}" for v in row[1:]))


if __name__ == "__main__":
    main()
