#!/usr/bin/env bash
# test.sh: installs what is needed, builds govpool, starts the real daemons the tests use, and
# runs every test: unit, integration and end-to-end in a warnings-as-errors build, then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, the tests of concurrent
# code under ThreadSanitizer, and each libFuzzer target for a bounded time. Run as root on a
# Debian 12 machine. Exit status 0 only when every test passed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/setup.sh"

echo "== OpenAPI lint"
"$root/scripts/lint-openapi.sh"

# Test builds carry line tables only (-g1): backtraces keep file:line, and each translation unit
# compiles about a quarter faster than with full -g, which CI's 2 cores feel.
echo "== build (warnings are errors)"
"$root/scripts/build.sh" "$root/build/ci" -DGOVPOOL_WERROR=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

echo "== real daemons"
"$root/scripts/start-libvirtd.sh"
"$root/scripts/start-ceph.sh"
# The BlockStorage contract suite's real-Ceph case reads this (and fails without it).
export GOVPOOL_TEST_CEPH_CONF="${GOVPOOL_CEPH_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ceph}/ceph.conf"
"$root/scripts/start-ovn.sh"
# The network tests program this OVN Northbound database and this Open vSwitch (the exports
# GOVPOOL_TEST_OVN_NB, GOVPOOL_OVN_SB, GOVPOOL_OVS_DB that start-ovn.sh writes).
# shellcheck disable=SC1091
source "${GOVPOOL_OVN_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn}/env"

echo "== unit and integration tests"
ctest --test-dir "$root/build/ci" -L 'unit' --output-on-failure -j2
ctest --test-dir "$root/build/ci" -L 'integration' --output-on-failure
if ctest --test-dir "$root/build/ci" -L e2e -N | grep -q "Total Tests: [1-9]"; then
  echo "== end-to-end tests"
  ctest --test-dir "$root/build/ci" -L e2e --output-on-failure
fi

echo "== unit tests under ASan + UBSan"
# One Clang build serves both: the unit-test targets (each ctest test is the executable of the
# same name) and the libFuzzer targets (tests/fuzz), every object instrumented for ASan, UBSan
# and libFuzzer's coverage. At -O0: an instrumented unit compiles in half the time it takes at
# -O1 (api/codec.cc: 52 s against 111 s), which CI's 2 cores feel far more than the tests do
# (the unit tests: 49 s against 17 s). The price is the fuzzers' speed (api_decoder_fuzzer: 25
# thousand inputs in 30 s against 430 thousand): CI's run is a bounded smoke test from the seeds;
# fuzz for real in an -O1 or -O2 build (README). Warnings are the GCC build's job above.
sanitize="$root/build/sanitize"
[ -f "$sanitize/build.ninja" ] || CXX=clang++-14 cmake -S "$root" -B "$sanitize" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1 -DNDEBUG" \
  -DGOVPOOL_SANITIZE=ON -DGOVPOOL_FUZZ=ON -DGOVPOOL_BUILD_BENCH=OFF >/dev/null
units="$(ctest --test-dir "$sanitize" -N -L unit | sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')"
fuzzers="$(ctest --test-dir "$sanitize" -N -L fuzz | sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')"
GOVPOOL_TARGETS="$units $fuzzers" "$root/scripts/build.sh" "$sanitize"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$sanitize" -L 'unit|fuzz' --output-on-failure -j2

echo "== tests of concurrent code under ThreadSanitizer"
# Only the tests labelled "concurrency" (the HTTP server, Db's group commit, the watch hub, the
# scheduler's claims, the agent's loops) and what they link: a TSan build of everything would
# cost CI twice the minutes for code that runs on one thread.
tsan="$root/build/tsan"
[ -f "$tsan/build.ninja" ] || CXX=clang++-14 cmake -S "$root" -B "$tsan" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1 -DNDEBUG" \
  -DGOVPOOL_TSAN=ON -DGOVPOOL_BUILD_BENCH=OFF >/dev/null
concurrent="$(ctest --test-dir "$tsan" -N -L concurrency | sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')"
GOVPOOL_TARGETS="$concurrent" "$root/scripts/build.sh" "$tsan"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir "$tsan" -L concurrency --output-on-failure -j2

echo "== fuzzers"
# A bounded run of every fuzzer from its seed corpus (docs/security.md, "Fuzzing").
"$root/scripts/fuzz.sh" "$sanitize" "${GOVPOOL_FUZZ_SECONDS:-30}"

echo "== all tests passed"
