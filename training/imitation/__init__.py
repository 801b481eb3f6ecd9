"""Imitation: learning from another player's moves. ``bc`` (collect teacher games, DAgger, fit the
net by behaviour cloning: ``python -m training.imitation.bc``), ``teachers`` (a protocol bot as the
teacher, or as a DAgger student's shadow), ``replays`` (import luxai-s2 and Kaggle replays as
behaviour-cloning data: ``python -m training.imitation.replays``) and ``shards`` (such data on disk,
streamed a few shards at a time).
"""
