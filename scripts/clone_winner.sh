#!/usr/bin/env bash
# Clone the NeurIPS 2023 winner (ryandy_neurips) from its own games: the recipe of notes/clone_ryandy.md.
#   1. import: every replay of REPLAYS (xz runner replays, one per seed) becomes one shard of samples
#      (python -m training.imitation.replays import ... shard_dir= queues=sticky stride=$STRIDE): labels and
#      queue planes against the one-action sticky queues our agent would hold; the files of
#      VAL_FILE_SEEDS go to a held-out folder (held-out NLL and agreement), the rest train,
#   2. behaviour cloning (python -m training.imitation.bc fit, streaming the shards, net $NET, $EPOCHS epochs,
#      one checkpoint per epoch; resumes a stopped fit),
#   3. validation games: each epoch's net, played as it would be packaged *without guards*
#      (robots greedy, or sampled with GREEDY=false; JOINT_GREEDY=true: greedy robot types by the joint argmax of the
#      whole action; factories sampled, or greedy with SAMPLE_FACTORIES=false), against the scripted baseline on VAL_SEEDS (both sides;
#      never the test seeds) (train.py mode=test), and the best by wins then lichen margin goes on,
#   4. DAgger with the teacher bot as shadow (DAGGER_ROUNDS rounds, TEACHER=bot:PATH, e.g. the C++ bot of
#      scripts/build_cpp_bot.sh): round r's student (the chosen epoch, then round r-1's net) plays
#      DAGGER_GAMES games against the bot (or DAGGER_OPPONENT, e.g. scripted) on training seeds DAGGER_SEED0 + ... while the bot labels
#      every state it reaches (python -m training.imitation.bc collect ... student=); the chosen epoch is then
#      fine-tuned for one epoch on the first FT_SHARDS teacher shards (the same each round) plus every
#      round's DAgger file so far, DAGGER_REPEAT times (the aggregate of DAgger; or, with DAGGER_SHARE, as
#      many times as holds them at that share of the samples), and validated like the
#      epochs; the best of all epochs and rounds (wins, then own mean lichen, then mean game length: a margin
#      would favour a clone that dies at turn 151 before the opponent grows any lichen) is chosen,
#   5. with --install: agent/weights/model.pt and an agent.json without guards, only when the clone
#      beats the shipped agent (played as packaged: the folder agent/weights) on VAL_SEEDS
#      (FORCE_INSTALL=1 installs it anyway).
# Each stage is skipped when its output exists, so a stopped run resumes; the wall time of each
# stage is appended to $OUT/stages.tsv.
# Usage: bash scripts/clone_winner.sh [--install]   (OUT=runs/clone by default)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-runs/clone}"
REPLAYS="${REPLAYS:-$ROOT/../shared/data/ryandy_neurips}"   # a folder of *.json.xz / *.json.gz / *.json replays
VAL_FILE_SEEDS="${VAL_FILE_SEEDS:-5095 5096 5097 5098 5099}"  # replays held out for NLL (by seed in the name)
STRIDE="${STRIDE:-2}"; NET="${NET:-cone}"; EPOCHS="${EPOCHS:-4}"; BATCH="${BATCH:-32}"; LR="${LR:-0.001}"
# non-keep robot labels weigh 3x in the loss: greedy play needs the net pushed off keep (notes/clone_ryandy.md: one DAgger
# round so weighted dug 12,637 ice a game against 890 unweighted); 1 torch thread: 7.7x 2 threads for cone on a busy
# 2-core machine (notes/usage.md)
NONKEEP_WEIGHT="${NONKEEP_WEIGHT:-3}"; THREADS="${THREADS:-1}"
VAL_SEEDS="${VAL_SEEDS:-1000110:1000116}"; RULES="${RULES:-neurips}"; MAX_TURNS="${MAX_TURNS:-1000}"
WORKERS="${WORKERS:-2}"; IMPORT_JOBS="${IMPORT_JOBS:-2}"
TEACHER="${TEACHER:-}"; DAGGER_ROUNDS="${DAGGER_ROUNDS:-0}"; DAGGER_GAMES="${DAGGER_GAMES:-4}"
DAGGER_SEED0="${DAGGER_SEED0:-6000}"; DAGGER_MAX_TURNS="${DAGGER_MAX_TURNS:-500}"; DAGGER_REPEAT="${DAGGER_REPEAT:-3}"
# DAGGER_SHARE=0.3: every fine-tune holds the DAgger samples at about that share of the epoch (the DAgger files
# repeated, or more teacher shards of $OUT/shards added: python -m training.imitation.bc mix) instead of repeating
# them DAGGER_REPEAT times, which let them grow from 15 % to 53 % over 8 rounds (notes/clone_ryandy.md)
DAGGER_SHARE="${DAGGER_SHARE:-}"
# DAGGER_BETA=0.5: each turn of a DAgger game plays the teacher's own action with that probability (the student's otherwise),
# so the games last into the mid-game, where the teacher clears the ground for its lichen (notes/clone_ryandy.md)
DAGGER_BETA="${DAGGER_BETA:-0}"
FT_SHARDS="${FT_SHARDS:-10}"; FT_LR="${FT_LR:-0.0003}"
GREEDY="${GREEDY:-true}"  # the clone's robots: true = most likely choice, false = sampled
SAMPLE_FACTORIES="${SAMPLE_FACTORIES:-true}"  # the clone's factories: true = sampled, false = most likely choice
JOINT_GREEDY="${JOINT_GREEDY:-false}"  # true: a greedy robot's type is the joint argmax of its whole action (agent.json joint_greedy)
DAGGER_OPPONENT="${DAGGER_OPPONENT:-}"  # the other side of DAgger games: "" = the teacher bot, or an agent spec (scripted, ...)
[[ "$GREEDY" == true || "$GREEDY" == false ]] || { echo "clone_winner.sh: GREEDY=$GREEDY: choose true or false"; exit 2; }
[[ "$SAMPLE_FACTORIES" == true || "$SAMPLE_FACTORIES" == false ]] || {
  echo "clone_winner.sh: SAMPLE_FACTORIES=$SAMPLE_FACTORIES: choose true or false"; exit 2; }
[[ "$JOINT_GREEDY" == true || "$JOINT_GREEDY" == false ]] || {
  echo "clone_winner.sh: JOINT_GREEDY=$JOINT_GREEDY: choose true or false"; exit 2; }
INSTALL_DIR="${INSTALL_DIR:-$ROOT/agent/weights}"  # the shipped agent folder: the reference, and where --install writes
INSTALL=0
case "${1:-}" in
  "") ;;
  --install) INSTALL=1 ;;
  *) echo "usage: bash scripts/clone_winner.sh [--install]  (unknown argument: $1)"; exit 2 ;;
esac
[[ -d "$REPLAYS" ]] || { echo "clone_winner.sh: REPLAYS=$REPLAYS is not a folder of replays"; exit 2; }
if (( DAGGER_ROUNDS > 0 )) && [[ "$TEACHER" != bot:* ]]; then
  echo "clone_winner.sh: DAGGER_ROUNDS=$DAGGER_ROUNDS needs TEACHER=bot:PATH (the teacher as a protocol bot)"; exit 2
fi
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p "$OUT/shards" "$OUT/val_shards"
stage() {  # stage NAME CMD...: run CMD unless $OUT/NAME.done exists; log its wall time
  local name="$1"; shift
  [[ -f "$OUT/$name.done" ]] && return 0
  local t0; t0=$(date +%s)
  "$@"
  echo -e "$name\t$(( $(date +%s) - t0 ))" >> "$OUT/stages.tsv"
  touch "$OUT/$name.done"
}

# 1. import, IMPORT_JOBS processes over disjoint file lists (import_shards skips shards that exist)
import_all() {
  mapfile -t files < <(find "$REPLAYS" -maxdepth 1 -name '*.json*' | sort)
  (( ${#files[@]} )) || { echo "no replays in $REPLAYS"; exit 2; }
  local pids=()
  for j in $(seq 0 $((IMPORT_JOBS - 1))); do
    local part=()
    for i in "${!files[@]}"; do (( i % IMPORT_JOBS == j )) && part+=("${files[$i]}"); done
    python -m training.imitation.replays import "${part[@]}" shard_dir="$OUT/shards" stride="$STRIDE" queues=sticky \
      skip_bad=true > "$OUT/import_$j.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for s in $VAL_FILE_SEEDS; do
    for f in "$OUT"/shards/*seed"$s".npz; do [[ -f "$f" ]] && mv "$f" "$OUT/val_shards/"; done
  done
  ls "$OUT"/val_shards/*.npz > /dev/null || { echo "no held-out shards (VAL_FILE_SEEDS=$VAL_FILE_SEEDS)"; exit 2; }
}
stage import import_all

# 2. behaviour cloning (resumes from $OUT/clone.pt.state)
stage fit python -m training.imitation.bc fit data="$OUT/shards" val="$OUT/val_shards" net="$NET" epochs="$EPOCHS" \
  batch_size="$BATCH" lr="$LR" nonkeep_weight="$NONKEEP_WEIGHT" threads="$THREADS" channels_last=true keep_epochs=true progress=false \
  out="$OUT/clone.pt"

# 3. validation games of each epoch's net, no guards, against the scripted baseline
agent_folder() {  # agent_folder WEIGHTS DIR: DIR/agent.json plays WEIGHTS as packaged without guards (GREEDY, SAMPLE_FACTORIES, JOINT_GREEDY)
  mkdir -p "$2"; cp "$1" "$2/model.pt"
  printf '{"agent": "net", "weights": "model.pt", "greedy": %s, "sample_factories": %s, "joint_greedy": %s}\n' \
    "$GREEDY" "$SAMPLE_FACTORIES" "$JOINT_GREEDY" > "$2/agent.json"
}
validate_one() {  # validate_one NAME WEIGHTS: $OUT/agent_NAME played against scripted into $OUT/val_NAME
  [[ -f "$OUT/val_$1/results.json" ]] && return 0
  agent_folder "$2" "$OUT/agent_$1"
  python train.py mode=test checkpoint="$OUT/agent_$1" opponents=scripted test_seeds="$VAL_SEEDS" rules="$RULES" \
    max_episode_length="$MAX_TURNS" test_workers="$WORKERS" replays=false progress_bar=false run_dir="$OUT/val_$1"
}
select_best() {  # select_best NAME...: the best validated agent (wins, own lichen, game length) into $OUT/select.json
  python - "$OUT" "$@" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
rows = []
for name in names:
    g = json.load(open(f"{out}/val_{name}/results.json"))["report"]["scripted"]
    rows.append((g["wins"], round(g["lichen"], 1), round(g.get("game_length", 0), 1), name))
    print(f"{name}: {g['wins']}/{g['games']} wins against scripted, mean lichen {g['lichen']:.0f} vs "
          f"{g['opp_lichen']:.0f}, ice dug {g.get('ice_dug', 0):.0f}, game length {g.get('game_length', 0):.0f}, "
          f"own factories alive {g['factories_alive']:.2f}")
best = max(rows)[-1]
print(f"chosen: {best}")
json.dump({"agent": best, "rows": rows}, open(f"{out}/select.json", "w"))
PY
}
validate() {
  local names=()
  for e in $(seq 1 "$EPOCHS"); do validate_one "ep$e" "$OUT/clone_ep$e.pt"; names+=("ep$e"); done
  select_best "${names[@]}"
}
stage validate validate
chosen() { python -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent"])' "$OUT/select.json"; }
BASE="$(chosen)"
echo "clone: $OUT/agent_$BASE/model.pt"

# 4. DAgger rounds with the teacher bot as shadow (aggregated data, each round fine-tuned from the clone)
if (( DAGGER_ROUNDS > 0 )); then
  [[ -f "$OUT/dagger_base" ]] || echo "$BASE" > "$OUT/dagger_base"  # the clone every round starts from
  BASE="$(cat "$OUT/dagger_base")"
  mapfile -t teacher_shards < <(find -L "$OUT/shards" -maxdepth 1 -name '*.npz' | sort | head -n "$FT_SHARDS")
  (( ${#teacher_shards[@]} )) || { echo "clone_winner.sh: no teacher shards in $OUT/shards for the DAgger fits"; exit 2; }
  student="$OUT/agent_$BASE"; dagger_files=(); names=("$BASE")  # played as packaged (its agent.json)
  for r in $(seq 1 "$DAGGER_ROUNDS"); do
    stage "dagger${r}_collect" python -m training.imitation.bc collect teacher="$TEACHER" student="$student" rules="$RULES" \
      games="$DAGGER_GAMES" seed0=$((DAGGER_SEED0 + (r - 1) * DAGGER_GAMES)) opponent_mix=0 beta="$DAGGER_BETA" stride=1 \
      max_turns="$DAGGER_MAX_TURNS" opponent="$DAGGER_OPPONENT" out="$OUT/dagger$r.npz"
    dagger_files+=("$OUT/dagger$r.npz")
    data="$(IFS=,; echo "${teacher_shards[*]}")"
    if [[ -n "$DAGGER_SHARE" ]]; then  # DAgger files repeated (or teacher shards added) to hold their share
      data="$(python -m training.imitation.bc mix teacher="$data" dagger="$(IFS=,; echo "${dagger_files[*]}")" \
        share="$DAGGER_SHARE" pool="$OUT/shards")"
    else
      for _ in $(seq 1 "$DAGGER_REPEAT"); do data+=",$(IFS=,; echo "${dagger_files[*]}")"; done
    fi
    stage "dagger${r}_fit" python -m training.imitation.bc fit data="$data" val="$OUT/val_shards" init="$OUT/agent_$BASE/model.pt" \
      epochs=1 batch_size="$BATCH" lr="$FT_LR" nonkeep_weight="$NONKEEP_WEIGHT" threads="$THREADS" channels_last=true progress=false \
      out="$OUT/dagger$r.pt"
    stage "dagger${r}_validate" validate_one "dagger$r" "$OUT/dagger$r.pt"
    student="$OUT/agent_dagger$r"; names+=("dagger$r")
  done
  select_best "${names[@]}"
fi
BEST="$(chosen)"
echo "chosen agent: $OUT/agent_$BEST (no guards)"

# 5. install only if it beats the shipped agent (both as packaged) on the validation seeds
if [[ "$INSTALL" == 1 ]]; then
  [[ -d "$OUT/vs_shipped" ]] || python train.py mode=test checkpoint="$OUT/agent_$BEST" opponents="$INSTALL_DIR" \
    test_seeds="$VAL_SEEDS" rules="$RULES" max_episode_length="$MAX_TURNS" test_workers="$WORKERS" replays=false \
    progress_bar=false run_dir="$OUT/vs_shipped"
  wins="$(python -c 'import json,sys; g=list(json.load(open(sys.argv[1]))["report"].values())[0]; print(g["wins"], g["losses"])' "$OUT/vs_shipped/results.json")"
  read -r w l <<< "$wins"
  if (( w > l )) || [[ "${FORCE_INSTALL:-0}" == 1 ]]; then
    cp "$OUT/agent_$BEST/model.pt" "$INSTALL_DIR/model.pt"
    cp "$OUT/agent_$BEST/agent.json" "$INSTALL_DIR/agent.json"
    echo "installed: the clone won $w and lost $l against the shipped agent on $VAL_SEEDS"
  else
    echo "not installed: the clone won $w and lost $l against the shipped agent on $VAL_SEEDS (FORCE_INSTALL=1 installs it)"
  fi
fi
