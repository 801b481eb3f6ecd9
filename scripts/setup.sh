#!/usr/bin/env bash
# Create/refresh the project virtualenv at <repo>/.venv (Python 3.11) and make the luxai-s2
# runner usable. Idempotent: when .venv already holds the packages of the current
# requirements.txt (stamp file = sha256 of requirements.txt), it only re-checks the runner patch.
#
# Install order matters (see /work/shared/FACTS.md): vec-noise 1.1.4 is an sdist only and must be
# built against numpy 1.x without build isolation, so numpy goes in first, then vec-noise, then
# the rest of requirements.txt. Env: PYTHON (default python3.11), LUXKIT_FORCE_INSTALL=1 to
# ignore the stamp.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/requirements.txt"
STAMP="$VENV/.luxkit-requirements.sha256"
PYTHON="${PYTHON:-python3.11}"

log() { echo "[setup] $*" >&2; }

[[ -f "$REQ" ]] || { log "missing $REQ"; exit 1; }

if [[ ! -x "$VENV/bin/python" ]]; then
    command -v "$PYTHON" >/dev/null || { log "$PYTHON not found on PATH"; exit 1; }
    log "creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

VPY="$VENV/bin/python"
if ! "$VPY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    log "$VPY is $("$VPY" --version 2>&1), expected Python 3.11; remove $VENV and rerun"
    exit 1
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" || "${LUXKIT_FORCE_INSTALL:-0}" == 1 ]]; then
    # Take the numpy / vec-noise pins from requirements.txt (single source of truth).
    numpy_req="$(grep -E '^numpy[=<>~!]' "$REQ" | head -n1 | tr -d '[:space:]' || true)"
    vecnoise_req="$(grep -E '^vec-noise[=<>~!]' "$REQ" | head -n1 | tr -d '[:space:]' || true)"
    numpy_req="${numpy_req:-numpy==1.26.4}"
    vecnoise_req="${vecnoise_req:-vec-noise==1.1.4}"
    PIP=("$VPY" -m pip --disable-pip-version-check)
    log "step 1/3: pip install $numpy_req setuptools wheel"
    "${PIP[@]}" install -q "$numpy_req" setuptools wheel
    log "step 2/3: pip install --no-build-isolation $vecnoise_req"
    "${PIP[@]}" install -q --no-build-isolation "$vecnoise_req"
    log "step 3/3: pip install -r requirements.txt"
    "${PIP[@]}" install -q -r "$REQ"
    echo "$want" >"$STAMP"
    log "installed requirements (stamp $want)"
else
    log "requirements up to date ($VENV)"
fi

"$VPY" "$ROOT/scripts/patch_luxai_runner.py"

# luxkit itself, editable: agent/, training/ and wrappers/ of this checkout importable from anywhere
# (setuptools from step 1; no build isolation, so nothing is downloaded)
if ! (cd / && "$VPY" - "$ROOT" 2>/dev/null) <<'PY'
import os, sys
import agent
sys.exit(0 if os.path.dirname(os.path.dirname(os.path.abspath(agent.__file__))) == os.path.abspath(sys.argv[1]) else 1)
PY
then
    log "pip install --no-deps -e $ROOT (editable luxkit)"
    (cd / && "$VPY" -m pip --disable-pip-version-check install -q --no-deps --no-build-isolation \
        --config-settings editable_mode=compat -e "$ROOT")
fi

# Optional: Kaggle's own game host, kaggle-environments 1.14.17, for genuine Kaggle-format episodes
# (scripts/kaggle_replays.py play). Its declared deps (transformers, gymnasium==0.29, sb3 2.1...)
# cannot share this venv (numpy<2), and it needs none of them for lux_ai_s2: install it with
# --no-deps into its own folder (put on sys.path by the script), with Flask's small deps.
# A failed attempt (offline) is remembered in $KENV.failed and not retried: delete it to retry;
# LUXKIT_SKIP_KAGGLE_ENV=1 skips this step.
KENV="$VENV/kaggle_env"
if [[ ! -d "$KENV/kaggle_environments" && ! -e "$KENV.failed" && "${LUXKIT_SKIP_KAGGLE_ENV:-0}" != 1 ]]; then
    log "optional: kaggle-environments 1.14.17 (--no-deps) into $KENV"
    if ! "$VPY" -m pip --disable-pip-version-check install -q --retries 1 --timeout 20 --no-deps \
            --target "$KENV" kaggle-environments==1.14.17 flask click itsdangerous blinker; then
        touch "$KENV.failed"
        log "WARNING: kaggle-environments not installed (only 'scripts/kaggle_replays.py play' needs it); rm $KENV.failed to retry"
    fi
fi
