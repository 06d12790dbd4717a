#!/usr/bin/env bash
# Runs each fuzz target for a bounded time from a seed corpus of real inputs. Usage: run.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?build dir}; seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd); top=$(dirname "$here")
corpus=$(mktemp -d); trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/in" "$corpus/out"
cp "$top"/examples/*/*.in "$corpus/in/"
cp "$top"/tests/data/fuzz-regressions/* "$corpus/in/" 2>/dev/null || true
find "$top/tests/data" -name '*.in' -exec cp {} "$corpus/in/" \; 2>/dev/null || true
find "$top/tests/data" -name '*.out' -size -200k -exec cp {} "$corpus/out/" \; 2>/dev/null || true
run() {
  local target=$1 dir=$2
  echo "fuzz: $target for ${seconds}s"
  "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/" \
    "$dir" 2>&1 | tail -n 12
  return "${PIPESTATUS[0]}"
}
run fuzz_pw_input "$corpus/in"
if [ -x "$build/fuzz/fuzz_pw_output" ]; then run fuzz_pw_output "$corpus/out"; fi
