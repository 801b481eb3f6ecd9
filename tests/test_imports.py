"""Kaggle has no luxai_s2, gymnasium or stable-baselines3: agent/ and main.py must not need them."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_THIRD_PARTY = {"numpy", "torch"}
GAME_TIME_FILES = sorted((ROOT / "agent").rglob("*.py")) + [ROOT / "main.py"]  # agent/guards/ too


def _top_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_game_time_code_imports_only_stdlib_numpy_torch():
    bad = {}
    for path in GAME_TIME_FILES:
        for mod in _top_imports(path):
            if mod in ("agent",) or mod in sys.stdlib_module_names or mod in ALLOWED_THIRD_PARTY:
                continue
            bad.setdefault(str(path.relative_to(ROOT)), []).append(mod)
    assert not bad, f"game-time code imports modules Kaggle lacks: {bad}"


BLOCKER = """
import sys
class Block:
    BLOCKED = ("luxai_s2", "luxai_runner", "gymnasium", "gym", "stable_baselines3", "sb3_contrib", "pettingzoo")
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ImportError(f"{name} is blocked (not on Kaggle)")
        return None
sys.meta_path.insert(0, Block())
"""


def test_agent_and_main_import_with_training_libraries_blocked():
    code = BLOCKER + (
        "import importlib, pkgutil, agent\n"
        "for m in pkgutil.walk_packages(agent.__path__, 'agent.'):\n"
        "    importlib.import_module(m.name)\n"
        "import runpy; g = runpy.run_path('main.py', run_name='not_main'); assert callable(g['agent_fn'])\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr
