#!/usr/bin/env bash
# build.sh [BUILD_DIR] [cmake args...]: configures (once) and builds govpool with Ninja, ccache
# and two jobs. Default build dir: build/release. GOVPOOL_TARGETS (space-separated) builds only
# those targets.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir="${1:-$root/build/release}"
shift || true
export CCACHE_BASEDIR="$root"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
# shellcheck disable=SC2086 # GOVPOOL_TARGETS is a list
ninja -C "$build_dir" -j"${GOVPOOL_JOBS:-2}" ${GOVPOOL_TARGETS:-}
