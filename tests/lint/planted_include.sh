#!/usr/bin/env bash
# The include check must fail on a forbidden #include: plant one (a backend including another backend, and
# the job layer including the agent) in a copy of src/ and expect exit 1 naming both.
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/src" "$tmp/src"
echo '#include "backends/netns/netns_cluster.hpp"' >>"$tmp/src/backends/local/local_backend.cpp"
echo '#include "agent/wire.hpp"' >>"$tmp/src/job/pw_run.cpp"
set +e
out=$(python3 "$src/tools/check_includes.py" "$tmp/src")
rc=$?
set -e
echo "$out"
[[ $rc -eq 1 ]] || { echo "FAIL: the check passed a planted violation (exit $rc)"; exit 1; }
grep -q 'src/backends/local/ may not include "backends/netns/netns_cluster.hpp"' <<<"$out" || { echo "FAIL: backend → backend not named"; exit 1; }
grep -q 'src/job/ may not include "agent/wire.hpp"' <<<"$out" || { echo "FAIL: job → agent not named"; exit 1; }
echo "planted violations caught"
