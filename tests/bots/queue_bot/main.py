"""A protocol bot with long, repeating action queues and arbitrary amounts (tests only)."""
import json
import random
import sys

rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
board = None


def apply(obs):
    global board
    b = obs["board"]
    if board is None:
        board = dict(b)
        return
    for k, v in b.items():
        if isinstance(v, dict):
            for xy, val in v.items():
                x, y = xy.split(",")
                board[k][int(x)][int(y)] = val
        else:
            board[k] = v


def robot_queue():
    kind = rng.random()
    if kind < 0.35:  # a few moves, some repeating
        return [[0, rng.randint(0, 4), 0, 0, rng.randint(0, 1), rng.randint(1, 4)] for _ in range(rng.randint(1, 3))]
    if kind < 0.5:
        return [[3, 0, 0, 0, 0, rng.randint(1, 5)], [0, rng.randint(1, 4), 0, 0, 0, 2]]
    if kind < 0.6:
        return [[1, rng.randint(0, 4), rng.randint(0, 4), rng.randint(1, 400), 0, 1]]
    if kind < 0.75:
        return [[2, 0, rng.choice([0, 1, 2, 3, 4]), rng.randint(1, 500), 0, 1]]
    if kind < 0.85:
        return [[5, 0, 0, rng.randint(1, 3000), 0, 1]]
    if kind < 0.9:
        return []
    return [[0, 0, 0, 0, 0, 1]]


def act(msg):
    obs = msg["obs"]
    me, step = msg["player"], msg["step"]
    apply(obs)
    if step == 0:
        return {"faction": "AlphaStrike", "bid": 0}
    if obs["real_env_steps"] < 0:
        team = obs["teams"].get(me)
        if team is None or team["factories_to_place"] == 0:
            return {}
        my_turn = (step % 2 == 1) if team["place_first"] else (step % 2 == 0)
        if not my_turn:
            return {}
        spots = [(x, y) for x, col in enumerate(board["valid_spawns_mask"]) for y, ok in enumerate(col) if ok]
        x, y = rng.choice(spots)
        return {"spawn": [x, y], "metal": 150, "water": 150}
    out = {}
    for fid, f in obs["factories"][me].items():
        r = rng.random()
        if r < 0.3 and f["cargo"]["metal"] >= 10 and f["power"] >= 50:
            out[fid] = 0
        elif r < 0.4:
            out[fid] = 2
    for uid in obs["units"][me]:
        if rng.random() < 0.3:
            out[uid] = robot_queue()
    return out


for line in sys.stdin:
    if line.strip():
        print(json.dumps(act(json.loads(line))), flush=True)
