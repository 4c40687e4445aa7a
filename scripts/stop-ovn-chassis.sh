#!/usr/bin/env bash
# Stops what scripts/start-ovn-chassis.sh started: per chassis ovn-controller, ovs-vswitchd
# (exit --cleanup: its tap devices go) and ovsdb-server, only the processes its pidfiles name
# (checking /proc/PID/comm); then removes the chassis from the Southbound database (or the other
# chassis keep tunnels to them), the namespaces (the underlay veth goes with them) and the
# directory. Idempotent.
set -uo pipefail

ovn_dir="${GOVPOOL_OVN_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn}"
dir="${GOVPOOL_OVN_CHASSIS_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn-chassis}"
export PATH="$PATH:/usr/sbin:/sbin"
names=(govpool-ch1 govpool-ch2)

pid_of() {  # COMM PIDFILE: the pid when the pidfile names a live COMM
  local pid
  pid="$(cat "$2" 2>/dev/null || true)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$1" ] && echo "$pid"
}
stop() {  # COMM PIDFILE CTL [exit args]
  local comm="$1" pidfile="$2" ctl="$3" pid i
  shift 3
  pid="$(pid_of "$comm" "$pidfile")" || return 0
  ovs-appctl -t "$ctl" exit "$@" >/dev/null 2>&1 || kill "$pid" 2>/dev/null
  for i in $(seq 100); do
    # Gone, or a zombie waiting for PID 1 to reap it.
    [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 0
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
}

for n in "${names[@]}"; do
  r="$dir/$n"
  pid="$(pid_of ovn-controller "$r/ovn-controller.pid")" &&
    stop ovn-controller "$r/ovn-controller.pid" "$r/ovn-controller.$pid.ctl"
  stop ovs-vswitchd "$r/ovs-vswitchd.pid" "$r/ovs-vswitchd.ctl" --cleanup
  stop ovsdb-server "$r/ovsdb-server.pid" "$r/ovsdb-server.ctl"
  if [ -S "$ovn_dir/run/ovnsb_db.sock" ]; then
    ovn-sbctl --db="unix:$ovn_dir/run/ovnsb_db.sock" --timeout=10 --if-exists chassis-del "$n" >/dev/null 2>&1
  fi
  ip netns del "$n" 2>/dev/null
done
rm -rf "$dir"
echo "stop-ovn-chassis: stopped"
