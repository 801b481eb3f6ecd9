#!/usr/bin/env bash
# Remake the shipped weights (agent/weights/model.pt) in one command: the recipe of notes/training.md.
#   1. teacher games: the scripted baseline plays itself and the random-masked policy on 64x64
#      train seeds; every 4th turn is recorded (python -m training.imitation.bc collect),
#   2. behaviour cloning through the map-shaped head (python -m training.imitation.bc fit),
#   3. DAgger rounds: the cloned net plays (the teacher's action on a fraction BETA of its turns)
#      against the scripted baseline or the random-masked policy, the teacher labels every
#      recorded state, and the net is refitted on all the data so far, our HEAVY robots' cells
#      counted HEAVY_WEIGHT times in the loss
#      (FITS > 1: the round's fit is repeated with seeds 1..FITS-1 as extra candidates),
#   3b. choice of the clone: every DAgger round's net (and extra fit) and the shipped weights play
#      the scripted baseline on validation seeds (VAL_SEEDS, disjoint from the test seeds); the best
#      by lichen margin, then wins, goes on (scripts/select_checkpoint.py, select_dagger.json),
#   4. PPO from the chosen clone (PPO_STEPS > 0; 0 = skip, the default until a run shows it helps):
#      train.py with a decaying KL term toward the clone (teacher=init), the reward annealed from
#      the dense terms to the game result over the run, against the self-play pool, the
#      random-masked policy and the scripted baseline (pool_agents=scripted); then the clone and the
#      PPO net are chosen between in the same way (select_ppo.json),
#   5. test mode on 50 held-out seeds against random-masked and scripted, both sides, and the
#      learning curve (win rate and lichen vs gradient steps) across BC, DAgger and PPO,
#   6. with --install, copy the result to agent/weights/model.pt, only if it ranks above the shipped
#      weights on the validation seeds (FORCE_INSTALL=1 installs it anyway).
# Each stage starts from the last one's file and is skipped when its output already exists, so a
# stopped run resumes. Two collectors run in parallel (one per core).
# Usage: bash scripts/train_agent.sh [--install]      (OUT=runs/agent by default; about 2 h 50 min on 2 cores)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-runs/agent}"
ROUNDS="${ROUNDS:-3}"   # DAgger rounds (the shipped weights: round 3, rounds 2-3 with HEAVY_WEIGHT=4)
FITS="${FITS:-1}"       # fits per DAgger round (seeds 0..FITS-1; the seed-0 fit feeds the next round)
HEAVY_WEIGHT="${HEAVY_WEIGHT:-4}"  # DAgger fits count our HEAVY robots' cells this many times (1 = plain NLL)
VAL_SEEDS="${VAL_SEEDS:-1000110:1000122}"  # validation seeds that choose the weights (never the test seeds)
BETA="${BETA:-0.3}"     # probability that a DAgger turn plays the teacher's action
GREEDY="${GREEDY:-true}"  # evaluate by the most likely legal choices (agent.json "greedy")
SAMPLE_FACTORIES="${SAMPLE_FACTORIES:-true}"  # ... but sample the factory head (agent.json "sample_factories")
GUARDS="${GUARDS:-}"  # decoding guards as train.py key=value words, e.g. "water_guard=true ice_guard=false";
                      # empty = those of agent/weights/agent.json (scripts/shipped_guards.py)
# sizes (defaults = the shipped recipe; the test suite runs a tiny version of this script)
RULES="${RULES:-neurips}"; GAMES="${GAMES:-12}"; MAX_TURNS="${MAX_TURNS:-1000}"
EPOCHS="${EPOCHS:-8}"; DAGGER_EPOCHS="${DAGGER_EPOCHS:-4}"; WORKERS="${WORKERS:-2}"
TEST_SEEDS="${TEST_SEEDS:-1000000:1000050}"; CURVE_SEEDS="${CURVE_SEEDS:-1000100:1000103}"
# PPO stage (4): steps (0 = skip), its map rules (default RULES), and extra train.py key=value args
PPO_STEPS="${PPO_STEPS:-0}"; PPO_RULES="${PPO_RULES:-$RULES}"; PPO_ARGS="${PPO_ARGS:-}"
INSTALL=0
case "${1:-}" in
  "") ;;
  --install) INSTALL=1 ;;
  *) echo "usage: bash scripts/train_agent.sh [--install]  (unknown argument: $1)"; exit 2 ;;
esac
if (( EPOCHS < 4 )); then echo "EPOCHS=$EPOCHS: use at least 4 (the curve takes epochs EPOCHS/4, EPOCHS/2, EPOCHS)"; exit 2; fi
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p "$OUT"
if [[ -z "$GUARDS" ]]; then GUARDS="$(python scripts/shipped_guards.py)"; fi
read -r -d '' -a GUARD_ARGS <<< "$GUARDS" || true  # the words of GUARDS (spaces or newlines)

collect_pair() {  # collect_pair SEED_A SEED_B [extra collect args...]: GAMES games per seed block, in parallel
  local a="$1" b="$2"; shift 2
  local pids=()
  for s in "$a" "$b"; do
    local f="$OUT/data_$s.npz"
    if [[ ! -f "$f" ]]; then
      python -m training.imitation.bc collect teacher=scripted rules="$RULES" games="$GAMES" max_turns="$MAX_TURNS" seed0="$s" \
        stride=4 out="$f.tmp.npz" "$@" \
        > "$OUT/collect_$s.log" 2>&1 && mv "$f.tmp.npz" "$f" &
      pids+=($!)
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  for s in "$a" "$b"; do [[ -f "$OUT/data_$s.npz" ]] || { echo "collect seed0=$s failed: $OUT/collect_$s.log"; exit 1; }; done
}

# 1-2. teacher data and behaviour cloning
collect_pair 100 200
collect_pair 300 400
DATA="$OUT/data_100.npz,$OUT/data_200.npz,$OUT/data_300.npz,$OUT/data_400.npz"
if [[ ! -f "$OUT/bc0.done" ]]; then
  python -m training.imitation.bc fit data="$DATA" net=small epochs="$EPOCHS" threads=2 keep_epochs=true out="$OUT/bc0.pt" \
    | tee "$OUT/fit0.log"
  touch "$OUT/bc0.done"
fi
# 3. DAgger
LAST="$OUT/bc0.pt"
CANDIDATES=()
for r in $(seq 1 "$ROUNDS"); do
  s1=$((1000 + 200 * r)); s2=$((1100 + 200 * r))
  collect_pair "$s1" "$s2" student="$LAST" beta="$BETA" opponent_mix=0.25
  DATA="$DATA,$OUT/data_$s1.npz,$OUT/data_$s2.npz"
  for f in $(seq 0 $((FITS - 1))); do  # seed 0: bc$r, which the next round continues; more seeds: extra candidates
    name="bc$r"; keep=true
    if (( f > 0 )); then name="bc${r}_s$f"; keep=false; fi
    if [[ ! -f "$OUT/$name.done" ]]; then
      python -m training.imitation.bc fit data="$DATA" init="$LAST" epochs="$DAGGER_EPOCHS" lr=0.0005 threads=2 seed="$f" \
        heavy_weight="$HEAVY_WEIGHT" keep_epochs="$keep" out="$OUT/$name.pt" | tee "$OUT/fit${name#bc}.log"
      touch "$OUT/$name.done"
    fi
    CANDIDATES+=("$OUT/$name.pt")
  done
  LAST="$OUT/bc$r.pt"
done
# 3b. choose the clone on the validation seeds, the shipped weights as the reference
DECODE=()
[[ "$GREEDY" == true ]] && DECODE+=(--greedy)
[[ "$SAMPLE_FACTORIES" == true ]] && DECODE+=(--sample-factories)
for g in "${GUARD_ARGS[@]}"; do k="${g%%=*}"; [[ "${g#*=}" == true ]] && DECODE+=("--${k//_/-}"); done
json_key() {  # json_key FILE KEY: one top-level value of a JSON file
  python -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
select_weights() {  # select_weights OUT.json CANDIDATE...: the table to stderr, the chosen path to stdout
  local out="$1"; shift
  python scripts/select_checkpoint.py "$@" --reference "$ROOT/agent/weights/model.pt" --seeds "$VAL_SEEDS" \
    --test-seeds "$TEST_SEEDS" --rules "$RULES" --max-episode-length "$MAX_TURNS" --workers "$WORKERS" \
    "${DECODE[@]}" --out "$out" | tee "${out%.json}.log" >&2 || return 1
  json_key "$out" selected
}
CLONE="$(select_weights "$OUT/select_dagger.json" "${CANDIDATES[@]}")"
FINAL_SELECT="$OUT/select_dagger.json"
LAST="$CLONE"
# 4. PPO from the clone (resumes a stopped run; the stage's wall time goes to $OUT/ppo.seconds)
if (( PPO_STEPS > 0 )); then
  if [[ ! -f "$OUT/ppo.done" ]]; then
    t0=$(date +%s)
    if [[ -f "$OUT/ppo/checkpoints/latest.zip" ]]; then
      python train.py resume="$OUT/ppo" total_timesteps="$PPO_STEPS" progress_bar=false | tee -a "$OUT/ppo.log"
    else
      # shellcheck disable=SC2086  # PPO_ARGS is a list of key=value words
      python train.py init_weights="$CLONE" teacher=init net=auto rules="$PPO_RULES" max_episode_length="$MAX_TURNS" \
        total_timesteps="$PPO_STEPS" reward_anneal_steps="$PPO_STEPS" teacher_kl_decay_steps="$PPO_STEPS" \
        pool_agents=scripted pool_agent_prob=0.3 pool_random_prob=0.1 eval_interval=0 progress_bar=false run_dir="$OUT/ppo" \
        normalize_reward=true "${GUARD_ARGS[@]}" $PPO_ARGS | tee "$OUT/ppo.log"
    fi
    cp "$OUT/ppo/checkpoints/latest.pt" "$OUT/ppo.pt"
    echo $(( $(cat "$OUT/ppo.seconds" 2>/dev/null || echo 0) + $(date +%s) - t0 )) > "$OUT/ppo.seconds"
    touch "$OUT/ppo.done"
  fi
  LAST="$(select_weights "$OUT/select_ppo.json" "$CLONE" "$OUT/ppo.pt")"
  FINAL_SELECT="$OUT/select_ppo.json"
fi
# 5. held-out evaluation (test seeds 1000000+ never appear above) and the learning curve
python train.py mode=test checkpoint="$LAST" opponents=random,scripted test_seeds="$TEST_SEEDS" rules="$RULES" \
  max_episode_length="$MAX_TURNS" greedy="$GREEDY" sample_factories="$SAMPLE_FACTORIES" "${GUARD_ARGS[@]}" \
  test_workers="$WORKERS" replays=false progress_bar=false \
  run_dir="$OUT/test"
CURVE=("$OUT/bc0_ep$((EPOCHS / 4)).pt" "$OUT/bc0_ep$((EPOCHS / 2)).pt" "$OUT/bc0_ep$EPOCHS.pt" "$OUT/bc$ROUNDS.pt")
if (( PPO_STEPS > 0 )); then CURVE+=("$OUT/ppo.pt"); fi
python scripts/checkpoint_curves.py "${CURVE[@]}" --opponent scripted --seeds "$CURVE_SEEDS" --rules "$RULES" \
  --max-episode-length "$MAX_TURNS" --workers "$WORKERS" --out "$OUT/curve.png" "${DECODE[@]}"
# 6. install, unless the shipped weights rank above the result on the validation seeds
if [[ "$INSTALL" == 1 ]]; then
  if [[ "$(json_key "$FINAL_SELECT" beats_reference)" == True || "${FORCE_INSTALL:-0}" == 1 ]]; then
    cp "$LAST" agent/weights/model.pt
    echo "installed $LAST as agent/weights/model.pt"
  else
    echo "not installed: $LAST does not rank above the shipped weights on the validation seeds ($FINAL_SELECT);"
    echo "FORCE_INSTALL=1 installs it anyway"
  fi
fi
echo "weights: $LAST   evaluation: $OUT/test/results.json   curve: $OUT/curve.png"
