#!/usr/bin/env bash
# test.sh: installs what is needed, builds govpool, starts the real daemons the tests use, and
# runs every test: unit, integration and end-to-end in a warnings-as-errors build, then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer. Run as root on a
# Debian 12 machine. Exit status 0 only when every test passed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/setup.sh"

echo "== build (warnings are errors)"
"$root/scripts/build.sh" "$root/build/ci" -DGOVPOOL_WERROR=ON

echo "== real daemons"
"$root/scripts/start-libvirtd.sh"

echo "== unit and integration tests"
ctest --test-dir "$root/build/ci" -L 'unit' --output-on-failure -j2
ctest --test-dir "$root/build/ci" -L 'integration' --output-on-failure
if ctest --test-dir "$root/build/ci" -L e2e -N | grep -q "Total Tests: [1-9]"; then
  echo "== end-to-end tests"
  ctest --test-dir "$root/build/ci" -L e2e --output-on-failure
fi

echo "== unit tests under ASan + UBSan"
"$root/scripts/build.sh" "$root/build/asan" -DGOVPOOL_WERROR=ON -DGOVPOOL_SANITIZE=ON \
  -DGOVPOOL_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build/asan" -L unit --output-on-failure -j2

echo "== all tests passed"
