"""Train a masked PPO policy on the real Lux S2 engine (the project's main job): the command line.

    python train.py                                   # defaults: a few minutes on 2 CPU cores
    python train.py total_timesteps=200000 n_envs=2 seed=3 rules=kaggle
    python train.py resume=runs/default/20261122-101500 total_timesteps=50000
    python train.py mode=test checkpoint=runs/.../checkpoints/latest.pt opponents=random,scripted
    python train.py sweep=sweeps/example.json index=3    # setting 3 mod N, seed 3 div N
    python train.py sweep=sweeps/example.json index=0:8 backend=ray ray_address=auto   # on a Ray cluster

Every key of training/ppo/config.py ``TrainConfig`` can be set as ``key=value`` (``reward.lichen=0.01``
sets one reward weight); an unknown key or a bad value is an error listing the valid keys. By
default a run continues from the shipped agent (``init_weights=shipped``) with a decaying KL term
toward it; ``init_weights=none`` trains from scratch.

The run itself is :func:`training.ppo.run.train` (its docstring lists what a run writes); test mode
is :mod:`training.evaluation.evaluate`, sweeps :mod:`training.ppo.sweep`.
"""

import dataclasses
import sys

from training.ppo.run import fail, train


def main(argv):
    from training.ppo.config import ConfigError, parse_overrides

    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        from training.ppo.config import TrainConfig

        for f in dataclasses.fields(TrainConfig):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            print(f"  {f.name}={default}")
        return 0
    sweep = [a.split("=", 1)[1] for a in argv if a.startswith("sweep=")]
    index = [a.split("=", 1)[1] for a in argv if a.startswith("index=")]
    if sweep or index:
        if not (sweep and index):
            fail("a sweep needs both sweep=FILE and index=i")
        from training.cluster import ClusterError
        from training.ppo.sweep import parse_indices, run_indices

        rest = [a for a in argv if not a.startswith(("sweep=", "index="))]
        try:
            run_indices(sweep[-1], parse_indices(index[-1]), rest)
        except (ValueError, ClusterError) as e:  # ConfigError included
            fail(str(e))
        return 0
    try:
        cfg = parse_overrides(argv)
    except ConfigError as e:
        fail(str(e))
    if cfg.mode == "test":
        from training.evaluation.evaluate import main_test  # issue #6

        return main_test(cfg)
    train(cfg, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
