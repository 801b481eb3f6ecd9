"""Behaviour cloning through the map-shaped head (kickstarting from a teacher, e.g. the scripted
baseline).

    python -m training.bc collect teacher=scripted rules=kaggle games=16 out=runs/bc/data.npz
    python -m training.bc fit data=runs/bc/data.npz epochs=4 out=runs/bc/bc.pt [net=small]

``collect`` plays the teacher against itself and the random-masked policy on train seeds and keeps,
every ``stride`` turns, the teacher's observation (planes stored as float16), masks (bit-packed)
and chosen cell actions (int8). ``fit`` maximises the masked log-likelihood
``MaskedGridDistribution.log_prob`` of the teacher's actions (exactly the policy PPO later
trains, so the weights drop into ``train.py init_weights=...``) and writes an agent/net.py
checkpoint that main.py can play.
"""

import os
import sys
import time

import numpy as np
import torch

PLAYERS = ("player_0", "player_1")


def collect(teacher="scripted", rules="kaggle", games=8, seed0=0, stride=2, max_turns=1000, out="runs/bc/data.npz",
            opponent_mix=0.5):
    """Play ``games`` games with the teacher on train seeds ``seed0...``; returns the npz path."""
    from agent.actions import decode
    from agent.features import encode
    from agent.masks import action_masks
    from agent.policy import sample_uniform_masked
    from wrappers.engine import make_env, run_game

    planes, globs, masks, actions = [], [], [], []
    rng = np.random.default_rng(seed0)
    t0 = time.time()
    for g in range(games):
        env = make_env(rules, max_episode_length=max_turns)
        vs_random = rng.random() < opponent_mix
        teach = {p: _teacher_cells(teacher, seed0 + g + i) for i, p in enumerate(PLAYERS)}
        learners = PLAYERS if not vs_random else (PLAYERS[g % 2],)

        def act(p, st):
            m = action_masks(st)
            if p not in learners:
                return decode(st, sample_uniform_masked(m, rng))
            a = teach[p](st)
            if st.real_env_steps % stride == 0 and (len(st.my_units) or len(st.my_factories)):
                pl, gl = encode(st)
                planes.append(pl.astype(np.float16))
                globs.append(gl)
                masks.append(np.packbits(m.reshape(-1)))
                actions.append(a.astype(np.int8))
            return decode(st, a)

        run_game(env, seed0 + g, act)
        print(f"game {g + 1}/{games}: seed {seed0 + g}, {env.state.real_env_steps} turns, "
              f"{'vs random' if vs_random else 'self-play'}, {len(actions)} samples, {time.time() - t0:.0f} s", flush=True)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    np.savez(out, planes=np.stack(planes), globals=np.stack(globs), masks=np.stack(masks), actions=np.stack(actions),
             map_size=planes[0].shape[-1])
    return out


def _teacher_cells(spec, seed):
    """A ``state -> int (S, S, 7)`` teacher (cell actions, not the decoded dict)."""
    if spec == "scripted":
        from agent.scripted import ScriptedPolicy

        return ScriptedPolicy(seed=seed)
    if os.path.isfile(spec):
        from agent.player import NetPolicy

        return NetPolicy.from_file(spec, greedy=True, seed=seed)
    raise ValueError(f"teacher {spec!r} must be 'scripted' or a weights file")


def fit(data, out="runs/bc/bc.pt", net="small", epochs=4, batch_size=32, lr=1e-3, seed=0, init="", threads=2):
    """Fit a GridNet to the teacher's actions by masked maximum likelihood; returns the checkpoint path."""
    from agent.actions import NUM_LOGITS
    from agent.distribution import MaskedGridDistribution
    from agent.net import build_net, load_checkpoint, save_checkpoint

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    d = np.load(data)
    planes, globs, packed, actions = d["planes"], d["globals"], d["masks"], d["actions"]
    S = int(d["map_size"])
    n = len(actions)
    model = load_checkpoint(init)[0] if init else build_net(net)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    hold = rng.permutation(n)
    n_val = max(1, n // 10)
    val, trn = hold[:n_val], hold[n_val:]

    def batch(idx):
        m = np.unpackbits(packed[idx], axis=1, count=S * S * NUM_LOGITS).astype(bool).reshape(len(idx), S, S, NUM_LOGITS)
        return (torch.from_numpy(planes[idx].astype(np.float32)), torch.from_numpy(globs[idx]),
                torch.from_numpy(m), torch.from_numpy(actions[idx].astype(np.int64)))

    def nll(idx):
        x, g, m, a = batch(idx)
        logits, _ = model(x, g)
        dist = MaskedGridDistribution(logits, m)
        return -dist.log_prob(a).mean(), dist, a

    t0 = time.time()
    for ep in range(epochs):
        rng.shuffle(trn)
        losses = []
        for i in range(0, len(trn), batch_size):
            loss, _, _ = nll(trn[i:i + batch_size])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            vl, dist, a = nll(val[:256])
            agree = (dist.mode() == a).float()
            type_acc = agree[..., 0][dist.present[..., 0]].mean().item()
            fac_acc = agree[..., 6][dist.present[..., 6]].mean().item() if dist.present[..., 6].any() else float("nan")
        print(f"epoch {ep + 1}/{epochs}: train nll {np.mean(losses):.2f}, val nll {vl.item():.2f}, "
              f"robot-type agreement {type_acc:.3f}, factory agreement {fac_acc:.3f}, {time.time() - t0:.0f} s", flush=True)
    model.eval()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    save_checkpoint(out, model, step=0, source=f"bc from {data}", epochs=epochs)
    return out


def _kv(argv):
    out = {}
    for a in argv:
        if "=" not in a:
            raise SystemExit(f"argument {a!r} is not key=value")
        k, v = a.split("=", 1)
        out[k] = v
    return out


def main(argv):
    if not argv or argv[0] not in ("collect", "fit"):
        raise SystemExit(__doc__)
    kw = _kv(argv[1:])
    types = dict(games=int, seed0=int, stride=int, max_turns=int, opponent_mix=float, epochs=int, batch_size=int,
                 lr=float, seed=int, threads=int)
    kw = {k: types.get(k, str)(v) for k, v in kw.items()}
    fn = collect if argv[0] == "collect" else fit
    try:
        print(fn(**kw))
    except TypeError as e:
        raise SystemExit(f"bad arguments for {argv[0]}: {e}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
