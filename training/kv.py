"""The kit's ``key=value`` command-line words: one parser and one converter for every CLI.

``python train.py n_envs=2`` (:func:`training.ppo.config.parse_overrides`), ``python -m training.imitation.bc
collect games=8``, ``python -m training.imitation.replays import a.json out=x.npz``, ``python -m
training.evaluation.league play seeds=1:3`` and ``python -m training.evaluation.mask_audit games=2`` split their words
with :func:`split_kv` and type the values with :func:`convert_value` (a seed range ``start:stop``:
:func:`parse_seed_range`, and :func:`check_disjoint` keeps train and held-out seeds apart); bad input raises
:class:`ConfigError`, whose message is the one line the command prints. Standard library only, so
a command that parses its words does not import the training stack.
"""

import json
import os
import re

_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)=(.*)", re.S)  # key: a name, dots allowed (reward.win)


class ConfigError(ValueError):
    """A bad command-line override or config value; the message says which and what is allowed."""


def split_kv(words, paths=False, keys=None):
    """Split command-line words into positional words and ``key=value`` pairs.

    A word is a pair when it is ``NAME=VALUE`` (NAME: letters, digits, ``_`` and ``.``, not starting
    with a digit; VALUE any text, ``=`` included) and, with ``paths``, does not name an existing
    file or folder.

    Args:
        words (iterable[str]): the command-line words.
        paths (bool): positional words are allowed (any word that is not a pair); without it every
            word must be a pair.
        keys (iterable[str] | None): the valid keys, listed in the error message (not checked here).

    Returns:
        (list[str], dict[str, str]): the positional words in order, and key -> value text (the
        last of a repeated key wins).

    Raises:
        ConfigError: without ``paths``, a word that is not a pair: ``argument 'x' is not
            key=value`` (with ``keys``: ``; valid keys: a, b``).
    """
    pos, kw = [], {}
    for word in words:
        m = _PAIR.fullmatch(word)
        if m and not (paths and os.path.exists(word)):
            kw[m.group(1)] = m.group(2)
        elif paths:
            pos.append(word)
        else:
            raise ConfigError(f"argument {word!r} is not key=value"
                              + (f"; valid keys: {', '.join(keys)}" if keys is not None else ""))
    return pos, kw


def convert_value(name, typ, text):
    """``text`` of a ``name=text`` argument as ``typ`` (bool: 1/true/yes/on or 0/false/no/off;
    int: also ``1e6``; dict: JSON; anything else: the text).

    Raises:
        ConfigError: naming the argument and the expected type.
    """
    try:
        if typ is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(float(text)) if "e" in text.lower() else int(text)
        if typ is float:
            return float(text)
        if typ is dict:
            return json.loads(text)
        return str(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a valid {typ.__name__}") from None


def parse_seed_range(text, key="seeds"):
    """``"start:stop"`` -> range(start, stop); raises ConfigError."""
    try:
        a, b = text.split(":")
        r = range(int(a), int(b))
    except ValueError:
        raise ConfigError(f"{key}={text!r} must be start:stop, e.g. 0:1000") from None
    if len(r) == 0:
        raise ConfigError(f"{key}={text!r} is empty")
    return r


def check_disjoint(train_seeds, test_seeds):
    """Raise ValueError if two seed ranges overlap (train seeds vs held-out test/eval seeds, as in
    the ProcGen train/test level splits)."""
    if max(train_seeds.start, test_seeds.start) < min(train_seeds.stop, test_seeds.stop):
        raise ValueError(f"test seeds {test_seeds.start}:{test_seeds.stop} overlap the train seeds "
                         f"{train_seeds.start}:{train_seeds.stop}; pick a held-out range")
