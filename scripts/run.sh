#!/usr/bin/env bash
# The main job, end to end on a small default:
#   1. set up .venv (fast when already done),
#   2. train a masked PPO policy:  python train.py [key=value ...]   (defaults: ~9 minutes on 2 cores with the periodic evaluations;
#      it continues from the shipped weights agent/weights/model.pt with a KL term toward them,
#      init_weights=none trains from scratch; its masks apply the shipped bot's guards (agent.masks.GUARDS), and
#      rewards are normalised (normalize_reward=true)),
#   3. test mode: the new checkpoint against the shipped weights and the scripted baseline on 3
#      held-out seeds, both sides (a short table: did training help?),
#   4. build submission/ and submission.tar.gz from the new weights (played like the shipped bot:
#      robots greedy, factory head sampled) and prove the archive plays
#      with the training libraries blocked (scripts/package.py),
#   5. watch it play itself: luxai-s2 on the packaged bot, replays/trained_selfplay.{json,html}.
# Usage: bash scripts/run.sh [train.py key=value overrides...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
RUN_DIR="runs/default/$(date +%Y%m%d-%H%M%S)"
GUARDS=($(python scripts/shipped_guards.py))  # the decoding guards of agent/weights/agent.json: water_guard=true ...
GUARD_FLAGS=()  # the same guards as package.py flags: water_guard=true -> --water-guard
for g in "${GUARDS[@]}"; do k="${g%%=*}"; [[ "${g#*=}" == true ]] && GUARD_FLAGS+=("--${k//_/-}"); done
python train.py run_dir="$RUN_DIR" "${GUARDS[@]}" normalize_reward=true "$@"
# the rules of the run (rules=... among the overrides), for the comparison games
RULES=small
for a in "$@"; do [[ "$a" == rules=* ]] && RULES="${a#rules=}"; done
python train.py mode=test checkpoint="$RUN_DIR/checkpoints/latest.pt" opponents=agent/weights/model.pt,scripted \
  test_seeds=1000000:1000003 rules="$RULES" greedy=true sample_factories=true "${GUARDS[@]}" replays=false \
  progress_bar=false run_dir="$RUN_DIR/test"
python scripts/package.py --weights "$RUN_DIR/checkpoints/latest.pt" --sample-factories "${GUARD_FLAGS[@]}"
mkdir -p replays
(cd submission && luxai-s2 main.py main.py -s 42 -v 1 -o ../replays/trained_selfplay.json \
  && luxai-s2 main.py main.py -s 42 -v 0 -o ../replays/trained_selfplay.html)
python scripts/plot_run.py --run "$RUN_DIR"
echo "run: $RUN_DIR  (tensorboard --logdir $RUN_DIR/tb)"
echo "submission: submission/ and submission.tar.gz; replays: replays/trained_selfplay.html"
