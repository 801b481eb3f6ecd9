"""How do a net's robots spend their turns, next to the scripted baseline's, in one game? (notes/training.md)

    python scripts/robot_budget.py agent/weights/model.pt --seed 1000112 --side player_0 \
        [--power-guard] [--park-guard] [--frontier-guard]

Plays one 64x64 game of the weights (robots greedy, factory head sampled, water guard; the other
guards of ``agent.guards.REGISTRY`` with their flags, e.g. ``--park-guard``) against the scripted baseline
and sorts every robot-turn of both sides, per robot class, by what changed since the robot's
previous turn:

* ``dug ice`` / ``dug ore``: that cargo grew; ``delivered``: ice, ore, water or metal cargo shrank;
* ``dug rubble``: the rubble under the robot went down;
* ``moved``; ``idle on factory`` / ``idle off factory``: none of the above, on or off our factory tiles.

``low power off factory`` counts, separately, the robot-turns spent off our factories with less
than one dig's power (HEAVY 60, LIGHT 5): robots stranded until the sun recharges them.
``parked on a recharge`` counts the idle-off-factory turns of a robot whose queue head is a
recharge while it holds at least half its battery: it stands still though it could go, because a
sticky recharge (``repeat=1``) stays at the head until a new queue replaces it (``luxai_s2``
``RechargeAction``). The teacher parks deliberately; a student that keeps such a queue wastes turns.

A second line per side gives the economy behind those shares: robots built per class (new
unit_ids), ice and ore dug per class (cargo gains), and HEAVY robots and factories alive at a few
turns. A net whose heavies never mine ore never gets the metal for its next heavy. A third line
gives, at the same turns, the cells our lichen covers, the lichen on them and the water in our
factories: lichen spreads only to rubble-free cells, so a side that holds water but covers few
cells is held back by the rubble its lights did not clear.

``--rules`` and ``--turns`` play a smaller or shorter game (the tests use ``tiny``).
"""

import argparse
from collections import Counter

import numpy as np

from agent.actions import A_RECHARGE, decode
from agent.guards import REGISTRY
from agent.player import NetPolicy
from agent.scripted import ScriptedPolicy
from wrappers.engine import make_env, run_game

KINDS = ("dug ice", "dug ore", "delivered", "dug rubble", "moved", "idle on factory", "idle off factory")
EXTRA = ("low power off factory", "parked on a recharge")  # counted beside KINDS, not in the total
SNAPSHOT_TURNS = (100, 300, 600, 999)  # turns at which heavies and factories alive are counted


def classify(prev, now, own_tile, rubble_before, rubble_now):
    """One robot-turn's kind from its (pos, cargo (4,)) before and now."""
    (p0, c0), (p1, c1) = prev, now
    if c1[0] > c0[0]:
        return "dug ice"
    if c1[1] > c0[1]:
        return "dug ore"
    if (c1 < c0).any():
        return "delivered"
    if p1 != p0:
        return "moved"
    if rubble_now < rubble_before:
        return "dug rubble"
    return "idle on factory" if own_tile else "idle off factory"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", help="a checkpoint (agent/net.py)")
    ap.add_argument("--seed", type=int, default=1000112, help="map seed (default: a validation seed)")
    ap.add_argument("--side", default="player_0", choices=("player_0", "player_1"))
    for g in REGISTRY:
        if g.key != "water_guard":  # always on
            ap.add_argument(g.flag, action="store_true", help=f"play the net with the {g.key}: {g.help}")
    ap.add_argument("--rules", default="neurips", help="a wrappers.engine.RULES preset (default neurips, 64x64)")
    ap.add_argument("--turns", type=int, default=1000, help="main-phase turns (default 1000)")
    args = ap.parse_args(argv)
    try:
        guards = {g.key: g.key == "water_guard" or getattr(args, g.key) for g in REGISTRY}
        net = NetPolicy.from_file(args.weights, greedy=True, sample_factories=True, **guards)
    except Exception as e:  # CheckpointError: missing or unfit weights
        raise SystemExit(f"cannot load {args.weights}: {e}") from None
    other = "player_1" if args.side == "player_0" else "player_0"
    scripted = ScriptedPolicy(seed=1)
    pols = {args.side: net, other: scripted}
    prev = {p: {} for p in pols}
    counts = {p: {c: Counter() for c in ("heavy", "light")} for p in pols}
    economy = {p: {"built": Counter(), "ice": Counter(), "ore": Counter(), "alive": {}} for p in pols}
    snapshots = tuple(t for t in SNAPSHOT_TURNS if t < args.turns) + (args.turns - 1,)

    def act(p, st):
        u, b = st.my_units, st.board
        own = st.own_factory_tiles()
        seen = {}
        for i, uid in enumerate(u.ids):
            x, y = int(u.pos[i, 0]), int(u.pos[i, 1])
            cls = "heavy" if u.heavy[i] else "light"
            now = ((x, y), u.cargo[i, :4].copy())
            if uid in prev[p]:
                before, rubble_before = prev[p][uid]
                kind = classify(before, now, own[x, y], rubble_before, int(b["rubble"][x, y]))
                counts[p][cls][kind] += 1
                if not own[x, y] and u.power[i] < st.cfg.robot["DIG_COST"][int(u.heavy[i])]:
                    counts[p][cls]["low power off factory"] += 1
                # the head that ran last turn is still the head: a sticky recharge never leaves it
                if (kind == "idle off factory" and u.queue_len[i] > 0 and u.head[i, 0] == A_RECHARGE
                        and 2 * u.power[i] >= st.cfg.robot["BATTERY_CAPACITY"][int(u.heavy[i])]):
                    counts[p][cls]["parked on a recharge"] += 1
                economy[p]["ice"][cls] += max(int(now[1][0] - before[1][0]), 0)
                economy[p]["ore"][cls] += max(int(now[1][1] - before[1][1]), 0)
            else:
                economy[p]["built"][cls] += 1
            seen[uid] = (now, int(b["rubble"][x, y]))
        prev[p] = seen
        if st.real_env_steps in snapshots:
            f = st.my_factories
            ours = np.isin(b["lichen_strains"], f.strain) & (b["lichen"] > 0)
            economy[p]["alive"][st.real_env_steps] = (int(u.heavy.sum()), len(f), int(ours.sum()),
                                                      int(b["lichen"][ours].sum()), int(f.cargo[:, 2].sum()))
        return decode(st, pols[p](st))

    env = make_env(args.rules, max_episode_length=args.turns)
    rewards, _ = run_game(env, args.seed, act)
    print(f"seed {args.seed}, net as {args.side}"
          + "".join(f" with the {g.key.replace('_', ' ')}" for g in REGISTRY if g.key != "water_guard" and getattr(args, g.key))
          + f"; final rewards (lichen) net {rewards[args.side]}, scripted {rewards[other]}")
    for p, name in ((args.side, "net"), (other, "scripted")):
        for cls in ("heavy", "light"):
            c = counts[p][cls]
            total = sum(c[k] for k in KINDS)
            shares = ", ".join(f"{k} {c[k] / max(total, 1):.3f}" for k in KINDS + EXTRA)
            print(f"{name:8s} {cls}: {total} robot-turns; {shares}")
        e = economy[p]
        alive = e["alive"]
        print(f"{name:8s} economy: built {e['built']['heavy']} heavies, {e['built']['light']} lights; ice dug by heavies "
              f"{e['ice']['heavy']:,}, lights {e['ice']['light']:,}; ore dug by heavies {e['ore']['heavy']:,}, lights "
              f"{e['ore']['light']:,}; heavies / factories alive at turns {'/'.join(map(str, sorted(alive)))}: "
              f"{'/'.join(str(alive[t][0]) for t in sorted(alive))} / {'/'.join(str(alive[t][1]) for t in sorted(alive))}")
        print(f"{name:8s} lichen cells / lichen / factory water at the same turns: "
              + " / ".join("/".join(f"{alive[t][k]:,}" for t in sorted(alive)) for k in (2, 3, 4)))


if __name__ == "__main__":
    main()
