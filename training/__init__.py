"""Training-side code (may import luxai_s2, gymnasium, stable-baselines3); nothing here is needed at game time.

The shared basics stand here: ``kv`` (the ``key=value`` command-line words, seed ranges), ``device``,
``tblog`` (TensorBoard scalars), ``cluster`` (Ray), ``botproc`` (the one driver of protocol bots) and
``replay_io`` (the replay reader). The rooms stand below them and import only them and the rooms
named before them: ``evaluation`` (test mode, league, rendering, the mask audit), ``ppo`` (one
training run and sweeps), ``imitation`` (behaviour cloning and its data), ``submission`` (the
Kaggle package and upload).
"""
