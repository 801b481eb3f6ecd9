"""Training-side code (may import luxai_s2, gymnasium, stable-baselines3): SB3 policy and buffer,
config, opponents, callbacks. Nothing here is needed at game time."""
