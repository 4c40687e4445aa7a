#!/usr/bin/env bash
# Stops what scripts/start-ovn.sh started (only the daemons its pidfiles name, and only while they
# still are OVS/OVN daemons), removes the userspace datapath's tap devices they leave, and
# removes the directory and the default-socket symlink start-ovn.sh recorded. Idempotent.
#
# Order: ovn-controller, then ovs-vswitchd (`exit --cleanup` removes its datapath ports and tap
# devices), then ovn-northd and the three ovsdb-servers. TERM, KILL after 10 s. A daemon counts
# as stopped once it is a zombie (they are detached, so PID 1 reaps them, here every ~2 s); the
# script then waits up to 5 s more for the reaping.
#
# Environment:
#   GOVPOOL_OVN_DIR   the directory (default ${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn)
set -euo pipefail

dir="${GOVPOOL_OVN_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn}"
run="$dir/run"
log() { echo "stop-ovn: $*"; }
export PATH="$PATH:/usr/sbin:/sbin"

if [ ! -d "$dir" ]; then
  log "nothing to stop ($dir does not exist)"
  exit 0
fi
export OVS_RUNDIR="$run" OVN_RUNDIR="$run"

running() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# ours COMM PIDFILE: prints the pid when the pidfile names a running process called COMM.
ours() {
  local pid
  [ -s "$2" ] || return 0
  pid="$(cat "$2" 2>/dev/null || true)"
  if [ -n "$pid" ] && running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$1" ]; then
    echo "$pid"
  fi
}
all=()
# wait_stopped PID...: waits up to 10 s for each to stop (after whatever asked it to), then KILL.
wait_stopped() {
  local pid
  for pid in "$@"; do
    all+=("$pid")
    for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then
      log "pid $pid ignored TERM, sending KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
term() {  # COMM PIDFILE...
  local comm="$1" f pid pids=()
  shift
  for f in "$@"; do
    pid="$(ours "$comm" "$f")"
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  [ ${#pids[@]} -eq 0 ] || wait_stopped "${pids[@]}"
}

term ovn-controller "$run/ovn-controller.pid"
pid="$(ours ovs-vswitchd "$run/ovs-vswitchd.pid")"
if [ -n "$pid" ]; then
  timeout 5 ovs-appctl -t "$run/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 ||
    kill -TERM "$pid" 2>/dev/null || true
  wait_stopped "$pid"
fi
term ovn-northd "$run/ovn-northd.pid"
term ovsdb-server "$run/ovnnb_db.pid" "$run/ovnsb_db.pid" "$run/conf.pid"

# The userspace datapath's tap devices, when vswitchd could not remove them (killed): only tap
# devices, and only ours (start-ovn.sh refuses to start while a br-int exists).
for link in br-int ovs-netdev; do
  if ip -d link show "$link" 2>/dev/null | grep -q 'tun type tap'; then
    ip link del "$link" 2>/dev/null || true
  fi
done

# Wait for PID 1 to reap them, so that nothing of ours shows in ps, not even a zombie.
for pid in "${all[@]}"; do
  for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
done

# The default-socket symlink start-ovn.sh made (for libvirt's ovs-vsctl), only while it still
# points at our socket.
if [ -s "$run/default-db-link" ]; then
  link="$(cat "$run/default-db-link")"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$run/db.sock" ]; then
    rm -f "$link"
  fi
fi

case "$dir" in
  / | "") log "error: refusing to remove '$dir'" >&2; exit 1 ;;
esac
rm -rf "$dir"
log "stopped ${#all[@]} daemon(s), removed $dir"
