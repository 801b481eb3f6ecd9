#!/usr/bin/env bash
# Build a C++ Lux S2 bot from a checkout you supply, outside this repository, and make it usable as
# `bot:BUILD_DIR/protocol_bot` (training.botproc: teacher or test-mode opponent).
#
#   bash scripts/build_cpp_bot.sh CHECKOUT BUILD_DIR
#   e.g. git clone https://github.com/ryandy/Lux-S2-neurips-public /tmp/ryandy-src
#        bash scripts/build_cpp_bot.sh /tmp/ryandy-src /tmp/ryandy-build
#        python -m training.imitation.bc collect teacher=bot:/tmp/ryandy-build/protocol_bot rules=neurips games=2 ...
#
# Written for ryandy/Lux-S2-neurips-public (NeurIPS 2023 winner, C++20, Apache-2.0,
# "Copyright 2023 Ryan Anderson"); nothing of it is copied into this repository. Its compile.sh
# downloads nlohmann/json with curl; here the header comes from the system package
# (apt-get install nlohmann-json3-dev) instead. The layout it expects: CMakeLists.txt at the root,
# the header at src/lux/nlohmann_json.hpp, the binary built as agent.out.
#
# The binary speaks the stdin/stdout protocol itself (the luxai-s2 runner starts it directly);
# the checkout's main.py is for Kaggle's Python host, so the script writes
# BUILD_DIR/protocol_bot/main.py, a two-line shim that execs the binary (what `bot:` starts).
# Env: JOBS (default 1: this machine is shared), CXXFLAGS passed through.
set -euo pipefail
log() { echo "[build_cpp_bot] $*" >&2; }
[[ $# -eq 2 ]] || { log "usage: bash scripts/build_cpp_bot.sh CHECKOUT BUILD_DIR"; exit 2; }
SRC="$(cd "$1" && pwd)" || { log "no checkout at $1"; exit 2; }
OUT="$2"
[[ -f "$SRC/CMakeLists.txt" ]] || { log "$SRC has no CMakeLists.txt"; exit 2; }
command -v cmake >/dev/null || { log "cmake not found (apt-get install cmake g++)"; exit 2; }
HDR=/usr/include/nlohmann/json.hpp
[[ -f "$HDR" ]] || { log "$HDR missing: apt-get install nlohmann-json3-dev"; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
case "$OUT/" in "$ROOT"/*) log "BUILD_DIR must be outside the repository ($ROOT)"; exit 2;; esac
log "copying $SRC -> $OUT/src-copy"
rm -rf "$OUT/src-copy"
if [[ "$(git -C "$SRC" rev-parse --is-inside-work-tree 2>/dev/null)" == true ]]; then
    mkdir -p "$OUT/src-copy" && git -C "$SRC" archive HEAD | tar -x -C "$OUT/src-copy"
else
    cp -r "$SRC" "$OUT/src-copy"
fi
cp "$HDR" "$OUT/src-copy/src/lux/nlohmann_json.hpp"
t0=$(date +%s)
# -include cstddef: src/lux/defs.cpp uses NULL without including <cstddef>; g++ 12's headers
# no longer pull it in (a compiler flag, the sources stay untouched).
nice -n 19 cmake -S "$OUT/src-copy" -B "$OUT/build" -DBUILD_WARNINGS=OFF -DBUILD_DEBUG=OFF -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS="-include cstddef ${CXXFLAGS:-}" >&2
nice -n 19 cmake --build "$OUT/build" --config Release -j "${JOBS:-1}" >&2
BIN="$(find "$OUT/build" -maxdepth 2 -name agent.out -type f | head -1)"
[[ -x "$BIN" ]] || { log "no agent.out was built"; exit 1; }
mkdir -p "$OUT/protocol_bot"
cat >"$OUT/protocol_bot/main.py" <<EOF
import os
os.execv("$BIN", ["$BIN"])  # the binary speaks the Lux stdin/stdout protocol itself
EOF
log "built $BIN in $(( $(date +%s) - t0 )) s; use bot:$OUT/protocol_bot"
