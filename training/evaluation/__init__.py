"""Evaluation: how good a policy is, and what it does. ``evaluate`` (test mode, ``train.py mode=test``:
games on held-out seeds with win-rate intervals), ``league`` (every agent against every other, rated:
``python -m training.evaluation.league``), ``render`` (a replay as frames and a timeline figure) and
``mask_audit`` (what the masks forbid that the engine would accept: ``python -m training.evaluation.mask_audit``).
"""
