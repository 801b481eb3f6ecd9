"""The registry of decoding guards (agent.guards.REGISTRY) and everything derived from it.

Each guard's own rule is tested in tests/test_masks_rules.py, the chain of all of them in the
training env in tests/test_train.py; here: the registry is well formed, and agent.json's keys,
train.py's config, the script flags and the README table all follow it.
"""

import dataclasses
import importlib
import runpy
from pathlib import Path

import pytest

from agent.guards import GUARDS, NEEDS, REGISTRY, guard_options, guarded_masks

ROOT = Path(__file__).resolve().parents[1]


def test_registry_is_well_formed():
    keys = [g.key for g in REGISTRY]
    assert len(set(keys)) == len(keys) and all(k.endswith("_guard") for k in keys)
    assert list(GUARDS) == keys and all(GUARDS[g.key] == g.help for g in REGISTRY)
    for g in REGISTRY:
        assert g.help and "\n" not in g.help, g.key
        assert set(g.needs) <= set(NEEDS), g.key
        module = importlib.import_module(g.apply.__module__)  # one module per guard, whose GUARD it is
        assert module.__name__.startswith("agent.guards.") and module.GUARD is g, g.key
        assert g.flag == "--" + g.key.replace("_", "-")
    assert keys[0] == "water_guard" and keys[-1] == "raid_guard"  # raid applies last, from the unguarded masks
    with pytest.raises(ValueError, match="unknown needs"):
        type(REGISTRY[0])("x_guard", "x", REGISTRY[0].apply, needs=("weather",))


def test_guard_options_and_guarded_masks_refuse_unknown_keys():
    assert guard_options(ice_guard=True) == {k: k == "ice_guard" for k in GUARDS}
    with pytest.raises(TypeError, match="unknown decoding guard"):
        guard_options(ice_gaurd=True)
    with pytest.raises(TypeError, match="unknown decoding guard"):
        guarded_masks(None, ice_gaurd=True)  # refused before the state is read


def test_agent_masks_does_not_import_the_guards():
    """The exact engine masks stand apart from strategy: agent.masks neither imports nor forwards
    agent.guards (no import circle; the guards import the masks, not the other way)."""
    import ast

    import agent.masks

    tree = ast.parse(open(agent.masks.__file__).read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith("agent.guards") for m in imported), imported
    for name in ("GUARDS", "guard_options", "guarded_masks"):
        assert not hasattr(agent.masks, name)

def test_config_keys_flags_and_agent_json_follow_the_registry():
    import argparse

    from agent.player import CONFIG_KEYS
    from training.ppo.config import ConfigError, TrainConfig, parse_overrides
    from training.evaluation.evaluate import add_decoding_flags, guard_kwargs

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for g in REGISTRY:
        assert fields[g.key].type is bool and fields[g.key].default is False, g.key
        assert CONFIG_KEYS[g.key] is bool
    cfg = parse_overrides([f"{REGISTRY[-1].key}=true"])
    assert guard_kwargs(cfg) == {k: k == REGISTRY[-1].key for k in GUARDS}
    with pytest.raises(ConfigError, match="unknown config key 'raid_gaurd'"):
        parse_overrides(["raid_gaurd=true"])
    ap = argparse.ArgumentParser()
    add_decoding_flags(ap)
    assert guard_kwargs(ap.parse_args([g.flag for g in REGISTRY])) == {k: True for k in GUARDS}


def test_readme_table_of_guards_is_the_generated_one():
    """README.md holds, between its guard markers, exactly ``python scripts/guard_table.py``'s table
    (run ``python scripts/guard_table.py --write`` after adding a guard or changing its help)."""
    script = runpy.run_path(str(ROOT / "scripts" / "guard_table.py"), run_name="guard_table")
    table = script["table"]()
    assert table.count("\n") == len(REGISTRY) + 2
    assert script["readme_block"]((ROOT / "README.md").read_text()) == table, \
        "README's table of guards is stale: run python scripts/guard_table.py --write"
