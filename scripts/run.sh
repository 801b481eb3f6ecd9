#!/usr/bin/env bash
# The main job, end to end on a small default:
#   1. set up .venv (fast when already done),
#   2. train a masked PPO policy:  python train.py [key=value ...]   (defaults: ~9 minutes on 2 cores with the periodic evaluations;
#      it continues from the shipped weights agent/weights/model.pt with a KL term toward them (teacher_kl_coef=0.5,
#      learning_rate=1e-4), against a pool that holds the shipped agent and the scripted baseline (pool_agents=),
#      init_weights=none trains from scratch; its masks apply the shipped bot's guards (agent.guards.GUARDS), and
#      rewards are normalised (normalize_reward=true)); its periodic evaluation plays the agent as it would be
#      packaged (greedy, the shipped sample_factories and guards) on full games of the run's rules against the
#      scripted baseline, one validation seed both sides every 8192 steps,
#   3. like with like, in a league in the run folder (python -m training.evaluation.league, <run>/league.sqlite): the new
#      checkpoint decoded as it would be packaged (<run>/candidate/: the shipped agent/weights/agent.json with the
#      new weights), the shipped agent folder agent/weights and the scripted baseline play each other on 2
#      validation seeds (COMPARE_SEEDS, default 1000110:1000112; never the test seeds), both sides: 12 games,
#      a table of ratings and win rates, then one line: does the new agent beat the shipped one on the same
#      games (more wins, a tie broken by the mean lichen margin)?
#   4. build submission/ and submission.tar.gz (robots greedy, factory head sampled, the shipped guards) from the
#      new weights only when they beat the shipped agent; otherwise one line says so and the shipped agent is
#      packaged. PACKAGE=new|shipped|auto (env, or package=... among the arguments; default auto) forces either.
#      package.py proves the archive plays with the training libraries blocked,
#   5. watch it play itself: luxai-s2 on the packaged bot, replays/trained_selfplay.{json,html}, and one line
#      naming them with the seconds each game took.
# Usage: bash scripts/run.sh [package=new|shipped|auto] [train.py key=value overrides...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE="${PACKAGE:-auto}"
ARGS=()
for a in "$@"; do
  case "$a" in package=*) PACKAGE="${a#package=}" ;; *) ARGS+=("$a") ;; esac
done
case "$PACKAGE" in new|shipped|auto) ;; *) echo "run.sh: PACKAGE=$PACKAGE: choose new, shipped or auto" >&2; exit 2 ;; esac
COMPARE_SEEDS="${COMPARE_SEEDS:-1000110:1000112}"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
RUN_DIR="runs/default/$(date +%Y%m%d-%H%M%S)"
GUARDS=($(python scripts/shipped_guards.py))  # the decoding guards of agent/weights/agent.json: water_guard=true ...
GUARD_FLAGS=()  # the same guards as package.py flags: water_guard=true -> --water-guard
for g in "${GUARDS[@]}"; do k="${g%%=*}"; [[ "${g#*=}" == true ]] && GUARD_FLAGS+=("--${k//_/-}"); done
# the shipped agent's factory sampling and weights file name (agent.json sample_factories, weights)
read -r SAMPLE_FACTORIES WEIGHTS_NAME < <(python -c 'import json
from agent.player import resolve_agent_config
c = resolve_agent_config("agent/weights", environ={})
print(str(c["sample_factories"]).lower(), json.load(open("agent/weights/agent.json")).get("weights") or "model.pt")')
SF_FLAG=(); [[ "$SAMPLE_FACTORIES" == true ]] && SF_FLAG=(--sample-factories)
# the pool holds opponents the learner can lose to: the shipped agent as packaged and the scripted baseline;
# a strong KL pull toward the shipped policy and a small step size keep the new weights near what they start from
python train.py run_dir="$RUN_DIR" "${GUARDS[@]}" sample_factories="$SAMPLE_FACTORIES" normalize_reward=true \
  pool_agents=agent/weights,scripted pool_agent_prob=0.5 teacher_kl_coef=0.5 learning_rate=0.0001 \
  eval_max_turns=0 eval_seeds=1000110:1000111 eval_interval=8192 ${ARGS[@]+"${ARGS[@]}"}
# the rules and turns of the run (rules=... max_episode_length=... among the overrides), for the comparison games
RULES=small
MAX_LEN=1000
for a in ${ARGS[@]+"${ARGS[@]}"}; do
  [[ "$a" == rules=* ]] && RULES="${a#rules=}"
  [[ "$a" == max_episode_length=* ]] && MAX_LEN="${a#max_episode_length=}"
done
CAND="$RUN_DIR/candidate"  # the new weights decoded as they would be packaged
mkdir -p "$CAND"
cp agent/weights/agent.json "$CAND/agent.json"
cp "$RUN_DIR/checkpoints/latest.pt" "$CAND/$WEIGHTS_NAME"
DB=(db="$RUN_DIR/league.sqlite")
python -m training.evaluation.league add new "$CAND" "${DB[@]}"
python -m training.evaluation.league add shipped agent/weights "${DB[@]}"
python -m training.evaluation.league add scripted scripted "${DB[@]}"
python -m training.evaluation.league play games=all seeds="$COMPARE_SEEDS" rules="$RULES" max_episode_length="$MAX_LEN" \
  workers=2 "${DB[@]}"
python -m training.evaluation.league table "${DB[@]}"
BEATS=0
python -m training.evaluation.league compare new shipped "${DB[@]}" || BEATS=$?
(( BEATS <= 1 )) || exit "$BEATS"
if [[ "$PACKAGE" == auto ]]; then
  if (( BEATS == 0 )); then
    PACKAGE=new
  else
    echo "run.sh: the new weights do not beat the shipped agent on these games: packaging the shipped agent (PACKAGE=new packages the new weights)"
    PACKAGE=shipped
  fi
fi
if [[ "$PACKAGE" == new ]]; then WEIGHTS="$RUN_DIR/checkpoints/latest.pt"; else WEIGHTS="agent/weights/$WEIGHTS_NAME"; fi
echo "run.sh: packaging the $PACKAGE agent ($WEIGHTS)"
python scripts/package.py --weights "$WEIGHTS" ${SF_FLAG[@]+"${SF_FLAG[@]}"} ${GUARD_FLAGS[@]+"${GUARD_FLAGS[@]}"}
# luxai-s2 ends by printing the game's wall time as a bare float: it goes into one labelled line
# below; the runner's other output goes to stderr
selfplay() {  # selfplay VERBOSITY OUT: the packaged bot against itself, seed 42; prints the seconds taken
  (cd submission && luxai-s2 main.py main.py -s 42 -v "$1" -o "../$2") |
    awk '/^[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?$/ { printf "%.0f", $0; next } { print > "/dev/stderr" }'
}
mkdir -p replays
T_JSON="$(selfplay 1 replays/trained_selfplay.json)"
T_HTML="$(selfplay 0 replays/trained_selfplay.html)"
echo "run.sh: the packaged bot played itself (luxai-s2, seed 42): replays/trained_selfplay.json (${T_JSON} s)," \
  "replays/trained_selfplay.html (${T_HTML} s)"
python scripts/plot_run.py --run "$RUN_DIR"
echo "run: $RUN_DIR  (tensorboard --logdir $RUN_DIR/tb; league: python -m training.evaluation.league table db=$RUN_DIR/league.sqlite)"
echo "submission ($PACKAGE agent): submission/ and submission.tar.gz; replays: replays/trained_selfplay.html"
