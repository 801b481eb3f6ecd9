"""End-to-end training throughput against the raw engine, measured in the same run.

    python benchmarks/train_throughput.py [--steps 1024] [key=value ...]
    python benchmarks/train_throughput.py --nets-only [--nets small,medium,cone] [--sizes 64,32]

Prints (1) the raw engine's steps/s (``LuxAI_S2.step`` alone, random-masked actions decided
outside the timer, same map seeds), (2) train.py's end-to-end steps/s for the given config
(rollout collection in the VecEnv + PPO update, from a MaskablePPO.learn call after a warm-up
rollout), their ratio, (3) the forward and forward+backward time of the config's network on a
batch of ``batch_size`` observations of this map size, and (4) a side-by-side table of the
``--nets`` presets at each of ``--sizes``: parameters, weight-file size, forward and
forward+backward+Adam samples/s, and their ratios to the first preset (``small``). The presets
are timed round-robin (``--rounds`` rounds, the median kept), so a load change on a shared machine
hits all of them alike. ``--nets-only`` prints only (4).
"""

import argparse
import dataclasses
import os
import time

import numpy as np
import torch



def raw_engine_steps_per_s(rules, steps, seed=0):
    from agent.actions import decode
    from agent.early import early_action
    from agent.masks import action_masks
    from agent.obs import GameState
    from agent.policy import sample_uniform_masked
    from wrappers.engine import make_env

    rng = np.random.default_rng(seed)
    total, n, map_seed = 0.0, 0, seed
    while n < steps:
        env = make_env(rules)
        obs, _ = env.reset(seed=map_seed)
        map_seed += 1
        states = {p: GameState(dataclasses.asdict(env.env_cfg), p) for p in ("player_0", "player_1")}
        done = False
        while not done and n < steps:
            acts = {}
            for p, st in states.items():
                st.update(obs[p], step=env.env_steps)
                if st.step == 0 or st.is_early_phase:
                    acts[p] = early_action(st)
                else:
                    acts[p] = decode(st, sample_uniform_masked(action_masks(st), rng))
            t = time.perf_counter()
            obs, _, term, trunc, _ = env.step(acts)
            total += time.perf_counter() - t
            done = term["player_0"] or trunc["player_0"]
            if env.state.real_env_steps > 0:
                n += 1
    return n / total


def _time_net(net, x, g, opt=None):
    """Seconds for one forward (``opt`` None, no grad) or forward+backward+Adam step."""
    t = time.perf_counter()
    if opt is None:
        with torch.no_grad():
            net(x, g)
    else:
        logits, v = net(x, g)
        (logits.square().mean() + v.square().mean()).backward()
        opt.step()
        opt.zero_grad()
    return time.perf_counter() - t


def net_table(nets, sizes, batch_size, rounds=3):
    """Print params, weight-file KiB and samples/s (forward; forward+backward+Adam) of each preset in
    ``nets`` at each map size, with ratios to ``nets[0]``; returns {(net, S): (fwd, fb) samples/s}."""
    import tempfile

    from agent.features import NUM_GLOBALS, NUM_PLANES
    from agent.net import build_net, save_checkpoint

    out = {}
    print(f"\nnetworks side by side: batch {batch_size}, torch threads {torch.get_num_threads()}, "
          f"median of {rounds} round-robin rounds")
    head = (f"{'net':<8} {'map':>5} {'params':>9} {'file KiB':>9} {'fwd /s':>8} {'fwd+bwd /s':>11} "
            f"{'fwd ratio':>10} {'fwd+bwd ratio':>14}")
    print(head)
    print("-" * len(head))
    for S in sizes:
        torch.manual_seed(0)
        x = torch.randn(batch_size, NUM_PLANES, S, S)
        g = torch.randn(batch_size, NUM_GLOBALS)
        built = {name: build_net(name) for name in nets}
        opts = {name: torch.optim.Adam(net.parameters()) for name, net in built.items()}
        times = {name: ([], []) for name in nets}
        for name, net in built.items():  # warm-up
            _time_net(net, x, g)
            _time_net(net, x, g, opts[name])
        for _ in range(rounds):
            for name, net in built.items():
                times[name][0].append(_time_net(net, x, g))
                times[name][1].append(_time_net(net, x, g, opts[name]))
        for name, net in built.items():
            fwd, fb = (batch_size / float(np.median(t)) for t in times[name])
            out[(name, S)] = (fwd, fb)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "w.pt")
                save_checkpoint(path, net)
                kib = os.path.getsize(path) / 1024
            base = out[(nets[0], S)]
            print(f"{name:<8} {S:>2}x{S:<2} {sum(p.numel() for p in net.parameters()):>9,d} {kib:>9.0f} {fwd:>8.1f} "
                  f"{fb:>11.1f} {fwd / base[0]:>10.2f} {fb / base[1]:>14.2f}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1024, help="training steps to time (after a warm-up rollout)")
    ap.add_argument("--nets", default="small,medium,cone", help="presets of the side-by-side table (first = base)")
    ap.add_argument("--sizes", default="64,32", help="map sizes of the side-by-side table")
    ap.add_argument("--rounds", type=int, default=3, help="round-robin timing rounds of the table")
    ap.add_argument("--nets-only", action="store_true", help="print only the side-by-side network table")
    ap.add_argument("overrides", nargs="*", help="train.py key=value overrides")
    args = ap.parse_args(argv)
    nets = [n for n in args.nets.split(",") if n]
    sizes = [int(v) for v in args.sizes.split(",") if v]
    if args.nets_only:
        from training.ppo.config import parse_overrides

        cfg = parse_overrides(["opponent=random", "progress_bar=false", *args.overrides])
        torch.set_num_threads(cfg.torch_threads)
        net_table(nets, sizes, cfg.batch_size, args.rounds)
        return
    from sb3_contrib import MaskablePPO

    from agent.features import NUM_GLOBALS, NUM_PLANES
    from agent.net import build_net
    from training.ppo.run import build_venv
    from training.ppo.config import parse_overrides
    from training.ppo.policy import GridPolicy, PackedMaskDictRolloutBuffer

    cfg = parse_overrides(["opponent=random", "progress_bar=false", *args.overrides])
    torch.set_num_threads(cfg.torch_threads)
    S = cfg.resolved_map_size()
    raw = raw_engine_steps_per_s(cfg.rules, 400)
    venv = build_venv(cfg, pool_dir="/nonexistent")
    model = MaskablePPO(GridPolicy, venv, device="cpu", seed=cfg.seed, n_steps=cfg.n_steps, batch_size=cfg.batch_size,
                        n_epochs=cfg.n_epochs, learning_rate=cfg.learning_rate, ent_coef=cfg.ent_coef,
                        policy_kwargs=dict(net_config=cfg.resolved_net(), map_size=S),
                        rollout_buffer_class=PackedMaskDictRolloutBuffer)
    from training.ppo.callbacks import TorchThreadsCallback

    cb = TorchThreadsCallback(1, cfg.torch_threads) if cfg.vec_env == "subproc" and cfg.n_envs > 1 else None
    per_rollout = cfg.n_steps * cfg.n_envs
    model.learn(per_rollout, callback=cb)  # warm-up: process start, first rollout and update
    steps = max(per_rollout, (args.steps // per_rollout) * per_rollout)
    t = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False, callback=cb)
    train_sps = steps / (time.perf_counter() - t)
    venv.close()
    net = build_net(cfg.resolved_net())
    x = torch.randn(cfg.batch_size, NUM_PLANES, S, S)
    g = torch.randn(cfg.batch_size, NUM_GLOBALS)
    with torch.no_grad():
        net(x, g)
        t = time.perf_counter()
        for _ in range(3):
            net(x, g)
        fwd = (time.perf_counter() - t) / 3
    opt = torch.optim.Adam(net.parameters())
    t = time.perf_counter()
    for _ in range(2):
        logits, v = net(x, g)
        (logits.square().mean() + v.square().mean()).backward()
        opt.step()
        opt.zero_grad()
    fb = (time.perf_counter() - t) / 2
    print(f"rules={cfg.rules} map {S}x{S}, net={cfg.net}, n_envs={cfg.n_envs}, n_steps={cfg.n_steps}, "
          f"batch_size={cfg.batch_size}, n_epochs={cfg.n_epochs}, torch threads={cfg.torch_threads}")
    print(f"raw engine                : {raw:8.1f} steps/s (LuxAI_S2.step only, random-masked play)")
    print(f"training end to end       : {train_sps:8.1f} steps/s (collection + PPO update, {steps} steps)")
    print(f"ratio training / raw      : {train_sps / raw:8.3f}")
    print(f"net forward, batch {cfg.batch_size:4d}   : {fwd * 1000:8.1f} ms ({cfg.batch_size / fwd:.0f} samples/s)")
    print(f"net fwd+bwd+Adam, batch {cfg.batch_size:4d}: {fb * 1000:8.1f} ms ({cfg.batch_size / fb:.0f} samples/s)")
    net_table(nets, sizes, cfg.batch_size, args.rounds)


if __name__ == "__main__":
    main()
