#!/usr/bin/env bash
# The README's first command: install what is needed, build, and run the main job on the silicon example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo
echo "== qecloud run examples/si/scf.in"
./build/qecloud run examples/si/scf.in
echo
./build/qecloud list --limit 5
