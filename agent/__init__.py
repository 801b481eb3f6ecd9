"""luxkit game-time package: everything main.py needs on Kaggle.

Imports only the standard library, numpy and torch (Kaggle's Lux S2 image has no luxai_s2,
gymnasium or stable-baselines3); ``tests/test_imports.py`` enforces it.

Data path (see README "Architecture"): raw observation -> :mod:`agent.obs` GameState ->
:mod:`agent.features` planes, :mod:`agent.masks` per-cell masks (what the engine accepts), narrowed
by the decoding guards of :mod:`agent.guards` (strategy) -> policy -> :mod:`agent.actions` decode ->
Lux action dict.
"""
