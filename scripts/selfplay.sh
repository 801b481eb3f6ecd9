#!/usr/bin/env bash
# Set up .venv (fast when already done) and play one full self-play game of main.py against
# itself with the luxai-s2 runner, writing replays/selfplay.json and replays/selfplay.html.
# Usage: bash scripts/selfplay.sh [seed]   (default seed 42)
# The runner starts each bot as `python main.py`, so the venv's bin goes first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
SEED="${1:-42}"
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p replays
luxai-s2 main.py main.py -s "$SEED" -v 1 -o replays/selfplay.json
luxai-s2 main.py main.py -s "$SEED" -v 0 -o replays/selfplay.html
python - <<'PY'
import json
r = json.load(open("replays/selfplay.json"))
print(f"self-play game: {len(r['actions'])} steps (bidding + placement + main phase); "
      "replays/selfplay.json and replays/selfplay.html written (open the .html in a browser)")
PY
