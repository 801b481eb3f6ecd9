#!/usr/bin/env bash
# CPU vs GPU: samples/s of a BC fit and steps/s of a short PPO run, on device=cpu and device=cuda
# (and cuda with amp=bf16), same data and config.
#   bash benchmarks/gpu_check.sh            # NET=cone RULES=neurips PPO_RULES=small EPOCHS=2 PPO_STEPS=2048
#   SETTINGS="cpu none" bash benchmarks/gpu_check.sh      # only some of the "device amp" settings (;-separated)
# Without CUDA (and with the default SETTINGS) it prints one line saying so and exits 0. PYTHON picks the interpreter (default: the
# project's .venv, else python on PATH). Scratch files go to a temp folder that is removed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi
SETTINGS="${SETTINGS:-cpu none;cuda none;cuda bf16}"
if [[ "$SETTINGS" == *cuda* ]] && ! "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing to compare"
  exit 0
fi
NET="${NET:-cone}"; RULES="${RULES:-neurips}"; PPO_RULES="${PPO_RULES:-small}"
EPOCHS="${EPOCHS:-2}"; PPO_STEPS="${PPO_STEPS:-2048}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -c "import torch; print('gpu_check:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU only', 'torch', torch.__version__)"
"$PYTHON" -m training.imitation.bc collect teacher=scripted rules="$RULES" games=1 max_turns=300 stride=2 seed0=0 \
  out="$TMP/bc.npz" > "$TMP/collect.log" 2>&1 || { cat "$TMP/collect.log"; exit 1; }
printf '%-22s %20s %20s\n' "setting" "BC fit samples/s" "PPO steps/s"
IFS=';' read -r -a settings <<< "$SETTINGS"
for setting in "${settings[@]}"; do
  read -r dev amp <<< "$setting"
  bc=$("$PYTHON" -m training.imitation.bc fit data="$TMP/bc.npz" net="$NET" epochs="$EPOCHS" threads=2 device="$dev" amp="$amp" \
         out="$TMP/bc_${dev}_$amp.pt" 2>&1 | tee "$TMP/fit_${dev}_$amp.log" | sed -n 's/.*, \([0-9.]*\) train samples\/s$/\1/p' | tail -1)
  ppo=$("$PYTHON" train.py rules="$PPO_RULES" net="$NET" total_timesteps="$PPO_STEPS" n_envs=2 eval_interval=0 \
          progress_bar=false device="$dev" amp="$amp" run_dir="$TMP/ppo_${dev}_$amp" 2>&1 \
          | tee "$TMP/ppo_${dev}_$amp.log" | sed -n 's/.*(\([0-9.]*\) steps\/s)$/\1/p' | tail -1)
  printf '%-22s %20s %20s\n' "device=$dev amp=$amp" "${bc:-failed}" "${ppo:-failed}"
done
