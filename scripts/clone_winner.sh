#!/usr/bin/env bash
# Clone the NeurIPS 2023 winner (ryandy_neurips) from its own games: the recipe of notes/clone_ryandy.md.
#   1. import: every replay of REPLAYS (xz runner replays, one per seed) becomes one shard of samples
#      (python -m training.replays import ... shard_dir= queues=sticky stride=$STRIDE): labels and
#      queue planes against the one-action sticky queues our agent would hold; the files of
#      VAL_FILE_SEEDS go to a held-out folder (held-out NLL and agreement), the rest train,
#   2. behaviour cloning (python -m training.bc fit, streaming the shards, net $NET, $EPOCHS epochs,
#      one checkpoint per epoch; resumes a stopped fit),
#   3. validation games: each epoch's net, played as it would be packaged *without guards*
#      (greedy robots, sampled factories), against the scripted baseline on VAL_SEEDS (both sides;
#      never the test seeds) (train.py mode=test), and the best by wins then lichen margin goes on,
#   4. with --install: agent/weights/model.pt and an agent.json without guards, only when the clone
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
NONKEEP_WEIGHT="${NONKEEP_WEIGHT:-1}"; THREADS="${THREADS:-2}"
VAL_SEEDS="${VAL_SEEDS:-1000110:1000116}"; RULES="${RULES:-neurips}"; MAX_TURNS="${MAX_TURNS:-1000}"
WORKERS="${WORKERS:-2}"; IMPORT_JOBS="${IMPORT_JOBS:-2}"
INSTALL_DIR="${INSTALL_DIR:-$ROOT/agent/weights}"  # the shipped agent folder: the reference, and where --install writes
INSTALL=0
case "${1:-}" in
  "") ;;
  --install) INSTALL=1 ;;
  *) echo "usage: bash scripts/clone_winner.sh [--install]  (unknown argument: $1)"; exit 2 ;;
esac
[[ -d "$REPLAYS" ]] || { echo "clone_winner.sh: REPLAYS=$REPLAYS is not a folder of replays"; exit 2; }
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
    python -m training.replays import "${part[@]}" shard_dir="$OUT/shards" stride="$STRIDE" queues=sticky \
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
stage fit python -m training.bc fit data="$OUT/shards" val="$OUT/val_shards" net="$NET" epochs="$EPOCHS" \
  batch_size="$BATCH" lr="$LR" nonkeep_weight="$NONKEEP_WEIGHT" threads="$THREADS" keep_epochs=true progress=false \
  out="$OUT/clone.pt"

# 3. validation games of each epoch's net, no guards, against the scripted baseline
agent_folder() {  # agent_folder WEIGHTS DIR: DIR/agent.json plays WEIGHTS as packaged without guards
  mkdir -p "$2"; cp "$1" "$2/model.pt"
  printf '{"agent": "net", "weights": "model.pt", "greedy": true, "sample_factories": true}\n' > "$2/agent.json"
}
validate() {
  for e in $(seq 1 "$EPOCHS"); do
    local d="$OUT/val_ep$e"
    [[ -f "$d/results.json" ]] && continue
    agent_folder "$OUT/clone_ep$e.pt" "$OUT/agent_ep$e"
    python train.py mode=test checkpoint="$OUT/agent_ep$e" opponents=scripted test_seeds="$VAL_SEEDS" rules="$RULES" \
      max_episode_length="$MAX_TURNS" test_workers="$WORKERS" replays=false progress_bar=false run_dir="$d"
  done
  python - "$OUT" "$EPOCHS" <<'PY'
import json, sys
out, epochs = sys.argv[1], int(sys.argv[2])
rows = []
for e in range(1, epochs + 1):
    g = json.load(open(f"{out}/val_ep{e}/results.json"))["report"]["scripted"]
    margin = g["lichen"] - g["opp_lichen"]
    rows.append((g["wins"], margin, e))
    print(f"epoch {e}: {g['wins']}/{g['games']} wins against scripted, mean lichen {g['lichen']:.0f} vs "
          f"{g['opp_lichen']:.0f}, own factories alive {g['factories_alive']:.2f}")
best = max(rows)[2]
print(f"chosen: epoch {best}")
json.dump({"epoch": best, "rows": rows}, open(f"{out}/select.json", "w"))
PY
}
stage validate validate
BEST="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' "$OUT/select.json")"
echo "clone: $OUT/clone_ep$BEST.pt"

# 4. install only if it beats the shipped agent (both as packaged) on the validation seeds
if [[ "$INSTALL" == 1 ]]; then
  [[ -d "$OUT/vs_shipped" ]] || python train.py mode=test checkpoint="$OUT/agent_ep$BEST" opponents="$INSTALL_DIR" \
    test_seeds="$VAL_SEEDS" rules="$RULES" max_episode_length="$MAX_TURNS" test_workers="$WORKERS" replays=false \
    progress_bar=false run_dir="$OUT/vs_shipped"
  wins="$(python -c 'import json,sys; g=list(json.load(open(sys.argv[1]))["report"].values())[0]; print(g["wins"], g["losses"])' "$OUT/vs_shipped/results.json")"
  read -r w l <<< "$wins"
  if (( w > l )) || [[ "${FORCE_INSTALL:-0}" == 1 ]]; then
    cp "$OUT/agent_ep$BEST/model.pt" "$INSTALL_DIR/model.pt"
    cp "$OUT/agent_ep$BEST/agent.json" "$INSTALL_DIR/agent.json"
    echo "installed: the clone won $w and lost $l against the shipped agent on $VAL_SEEDS"
  else
    echo "not installed: the clone won $w and lost $l against the shipped agent on $VAL_SEEDS (FORCE_INSTALL=1 installs it)"
  fi
fi
