#!/usr/bin/env bash
# Stops the test cluster scripts/start-ceph.sh started (the daemons named by its pidfiles: TERM,
# then KILL after 10 s) and removes its directory; the data was in RAM anyway. Idempotent.
#
# Environment:
#   GOVPOOL_CEPH_DIR   the cluster's directory (default ${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ceph)
set -euo pipefail

dir="${GOVPOOL_CEPH_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ceph}"
log() { echo "stop-ceph: $*"; }

if [ ! -d "$dir" ]; then
  log "nothing to stop ($dir does not exist)"
  exit 0
fi

# Only processes our pidfiles name, and only if they still are Ceph daemons.
pids=()
for pidfile in "$dir"/run/*.pid; do
  [ -s "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  case "$(cat "/proc/$pid/comm" 2>/dev/null || true)" in
    ceph-mon | ceph-osd | ceph-mgr) kill -TERM "$pid" 2>/dev/null && pids+=("$pid") ;;
  esac
done
for _ in $(seq 100); do
  alive=()
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then alive+=("$pid"); fi
  done
  [ ${#alive[@]} -eq 0 ] && break
  sleep 0.1
done
for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done

case "$dir" in
  / | "" ) log "error: refusing to remove '$dir'" >&2; exit 1 ;;
esac
rm -rf "$dir"
log "stopped ${#pids[@]} daemon(s), removed $dir"
