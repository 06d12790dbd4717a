#!/usr/bin/env bash
# The README's second command (and what CI runs): install, build with -Werror, run every test suite
# (unit, integration with real pw.x/OpenMPI/ASE, end-to-end), then an ASan+UBSan build of the unit tests and
# a bounded libFuzzer run of the input parser. Any failure fails the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== build (warnings are errors)"
cmake -S . -B build-ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQECLOUD_WERROR=ON >/dev/null
cmake --build build-ci -j "$jobs"

echo "== tests"
ctest --test-dir build-ci --output-on-failure -j "$jobs" --timeout 900
# The corpus tests' counts (agree / false accept / false refusal for inputs, agree / disagree for outputs),
# printed by passing tests too.
grep -h -E "^(examples corpus|single edits|output corpus|output corpus vs ASE|output truncation|reference outputs|pw runs vs ASE)" \
  build-ci/Testing/Temporary/LastTest.log || { echo "corpus counts missing from the test log" >&2; exit 1; }

echo "== unit tests under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQECLOUD_SANITIZE=ON -DQECLOUD_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs" --target qecloud_unit_tests
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit

echo "== libFuzzer (bounded)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQECLOUD_FUZZ=ON \
  -DQECLOUD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_pw_input fuzz_pw_output
bash fuzz/run.sh build-fuzz "${QECLOUD_FUZZ_SECONDS:-60}"
