#!/usr/bin/env bash
# fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]: runs every libFuzzer target of a GOVPOOL_FUZZ build
# (tests/fuzz/) over its seed corpus for a bounded time (default 30 s each), one after another,
# and prints each target's run time and executions. New inputs go to a scratch corpus, not into
# the tree. A crash, leak, timeout (10 s on one input) or broken promise fails the run; the input
# that did it is left in BUILD_DIR/fuzz-artifacts/ and named in the output, to be replayed with
# `BUILD_DIR/tests/fuzz/TARGET FILE`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${1:?usage: fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]}"
seconds="${2:-30}"
artifacts="$build_dir/fuzz-artifacts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
total_start=$(date +%s)
for corpus in "$root"/tests/fuzz/corpus/*/; do
  target="$(basename "$corpus")"
  binary="$build_dir/tests/fuzz/$target"
  [ -x "$binary" ] || { echo "fuzz: $binary is missing (build it with GOVPOOL_FUZZ=ON)"; exit 1; }
  mkdir -p "$scratch/$target"
  start=$(date +%s)
  log="$scratch/$target.log"
  # The targets that keep state across inputs (a Db that grows with each write, a server with
  # its threads) free memory in later inputs than they allocate it, so libFuzzer's per-input
  # leak check would scan the heap after nearly every input (90% of the time, 15x slower) to
  # report nothing; LeakSanitizer still checks them when the run ends.
  per_input_leaks=1
  case "$target" in api_handler_fuzzer|http_server_fuzzer) per_input_leaks=0 ;; esac
  # -rss_limit_mb: above it is a failure (a leak or unbounded growth), not the machine's problem.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$binary" -max_total_time="$seconds" -timeout=10 -detect_leaks="$per_input_leaks" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$target-" "$scratch/$target" "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $target FAILED after $(( $(date +%s) - start )) s; input: $(ls -t "$artifacts" | head -n 1)"
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)"
  echo "fuzz: $target ok: $(( $(date +%s) - start )) s, ${runs:-?} inputs, ${cov:-cov: ?}"
done
echo "fuzz: all targets ok in $(( $(date +%s) - total_start )) s"
