#!/usr/bin/env bash
# Set up .venv (fast when already done), lint with ruff (pyproject.toml [tool.ruff]) and run the
# test suite with it.
# Usage: bash scripts/test.sh [pytest args...]
#   no args            -> pytest -q tests -n auto --dist loadfile   (one worker per core, pytest-xdist;
#                         each test file stays on one worker, so module fixtures run once)
#   paths given        -> pytest -q <args>          (e.g. tests/test_runner_cli.py -x)
#   only options given -> pytest -q tests -n auto --dist loadfile <args>    (e.g. -k runner)
# LUXKIT_TEST_WORKERS=N sets the worker count (0 = no xdist, one process).
# The exit code is ruff's when it finds a problem, else pytest's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
"$ROOT/.venv/bin/ruff" check .

has_path=0
for a in "$@"; do
    [[ "$a" == -* ]] && continue
    if [[ -e "${a%%::*}" ]]; then has_path=1; break; fi
done

if [[ $has_path == 1 ]]; then
    exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
else
    exec "$ROOT/.venv/bin/python" -m pytest -q tests -n "${LUXKIT_TEST_WORKERS:-auto}" --dist loadfile "$@"
fi
