"""PPO training: what ``python train.py`` runs. ``config`` (TrainConfig, the ``key=value`` overrides),
``run`` (one masked-PPO run: environments, the SB3 model, checkpoints), ``policy`` (the SB3 GridPolicy
and its bit-packed rollout buffer), ``callbacks`` (TensorBoard statistics, periodic evaluation,
warm-ups), ``opponents`` (the self-play opponent pool) and ``sweep`` (hyperparameter sweeps by index).
"""
