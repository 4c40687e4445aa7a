#!/usr/bin/env bash
# Starts two extra OVN chassis, each in its own network namespace with its own Open vSwitch
# (ovsdb-server + ovs-vswitchd, userspace datapath) and ovn-controller, joined to the OVN of
# scripts/start-ovn.sh (its Southbound database, through the unix socket: the namespaces share
# the file system). For packet tests across chassis: traffic between them goes over Geneve.
#
#   namespace   chassis (system-id)   underlay (br-phy)   OVS database
#   govpool-ch1 govpool-ch1           192.168.250.1/24    unix:<dir>/govpool-ch1/db.sock
#   govpool-ch2 govpool-ch2           192.168.250.2/24    unix:<dir>/govpool-ch2/db.sock
#
# The underlay is a veth pair (MTU 9000: room for Geneve's overhead) between the namespaces.
# With the userspace datapath the tunnel endpoint address must live on a netdev bridge that holds
# the underlay port (br-phy): OVS then routes and resolves tunnel peers itself (tnl_push/tnl_pop).
# Why not the chassis of start-ovn.sh: its tunnel address is 127.0.0.1 (no underlay), and
# changing it would disturb everyone sharing it; two chassis of our own need nothing of it.
#
# Idempotent: when both chassis run and their ovn-controllers are connected it only prints the
# exports; anything half there is stopped (scripts/stop-ovn-chassis.sh) and started afresh.
# Needs start-ovn.sh's OVN running (it is started when it is not).
#
# Environment:
#   GOVPOOL_OVN_DIR          start-ovn.sh's directory (default ${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn)
#   GOVPOOL_OVN_CHASSIS_DIR  this script's (default ${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn-chassis)
# Prints (and writes to <dir>/env): GOVPOOL_OVN_CHASSIS1_DB, GOVPOOL_OVN_CHASSIS1_NETNS,
# GOVPOOL_OVN_CHASSIS1_RUNDIR and the same for CHASSIS2.
set -euo pipefail

ovn_dir="${GOVPOOL_OVN_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn}"
dir="${GOVPOOL_OVN_CHASSIS_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn-chassis}"
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="$PATH:/usr/sbin:/sbin"
log() { echo "start-ovn-chassis: $*"; }

names=(govpool-ch1 govpool-ch2)
declare -A ip=([govpool-ch1]=192.168.250.1 [govpool-ch2]=192.168.250.2)
declare -A veth=([govpool-ch1]=gpch1-phy [govpool-ch2]=gpch2-phy)

exports() {
  local i=1 n
  for n in "${names[@]}"; do
    echo "export GOVPOOL_OVN_CHASSIS${i}_DB=unix:$dir/$n/db.sock"
    echo "export GOVPOOL_OVN_CHASSIS${i}_NETNS=$n"
    echo "export GOVPOOL_OVN_CHASSIS${i}_RUNDIR=$dir/$n"
    i=$((i + 1))
  done
}

alive() {  # COMM PIDFILE
  local pid
  [ -s "$2" ] || return 1
  pid="$(cat "$2" 2>/dev/null || true)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$1" ] &&
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}
connected() {  # NAME
  local r="$dir/$1" pid
  pid="$(cat "$r/ovn-controller.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && [ "$(ovs-appctl -t "$r/ovn-controller.$pid.ctl" connection-status 2>/dev/null)" = connected ]
}
healthy() {
  local n
  for n in "${names[@]}"; do
    alive ovsdb-server "$dir/$n/ovsdb-server.pid" && alive ovs-vswitchd "$dir/$n/ovs-vswitchd.pid" &&
      alive ovn-controller "$dir/$n/ovn-controller.pid" && connected "$n" || return 1
  done
}

if healthy; then
  log "chassis already running ($dir)"
  exports | tee "$dir/env"
  exit 0
fi
"$here/start-ovn.sh" >/dev/null
if [ -d "$dir" ] || ip netns list | grep -q '^govpool-ch'; then "$here/stop-ovn-chassis.sh" >/dev/null; fi
sb="unix:$ovn_dir/run/ovnsb_db.sock"
t0=$(date +%s%N)
mkdir -p "$dir"
chmod 0700 "$dir"

for n in "${names[@]}"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
done
ip link add "${veth[govpool-ch1]}" netns govpool-ch1 type veth peer name "${veth[govpool-ch2]}" netns govpool-ch2

for n in "${names[@]}"; do
  r="$dir/$n"
  mkdir -p "$r"
  # Every daemon of the chassis runs in its namespace with its own run directory (ovs-vswitchd
  # makes br-int.mgmt there; ovn-controller finds it there and puts its control socket there).
  in_ns=(env OVS_RUNDIR="$r" OVS_DBDIR="$r" OVS_LOGDIR="$r" OVN_RUNDIR="$r" OVN_DBDIR="$r" OVN_LOGDIR="$r"
         ip netns exec "$n")
  detach=(-vconsole:off --detach --no-chdir)
  vsctl() { ovs-vsctl --db="unix:$r/db.sock" --timeout=10 "$@"; }
  ovsdb-tool create "$r/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  "${in_ns[@]}" ovsdb-server "$r/conf.db" --remote="punix:$r/db.sock" --pidfile="$r/ovsdb-server.pid" \
    --unixctl="$r/ovsdb-server.ctl" "${detach[@]}" --log-file="$r/ovsdb-server.log"
  vsctl --no-wait init
  "${in_ns[@]}" ovs-vswitchd "unix:$r/db.sock" --pidfile="$r/ovs-vswitchd.pid" \
    --unixctl="$r/ovs-vswitchd.ctl" "${detach[@]}" --log-file="$r/ovs-vswitchd.log"
  vsctl -- add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
    other-config:disable-in-band=true \
    -- add-br br-phy -- set bridge br-phy datapath_type=netdev -- add-port br-phy "${veth[$n]}"
  ip -n "$n" link set "${veth[$n]}" mtu 9000 up
  for i in $(seq 100); do ip -n "$n" link show br-phy >/dev/null 2>&1 && break; sleep 0.05; done
  ip -n "$n" addr add "${ip[$n]}/24" dev br-phy
  ip -n "$n" link set br-phy up
  vsctl set open_vswitch . external_ids:system-id="$n" external_ids:hostname="$n" \
    external_ids:ovn-remote="$sb" external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip="${ip[$n]}" external_ids:ovn-bridge=br-int \
    external_ids:ovn-bridge-datapath-type=netdev
  "${in_ns[@]}" ovn-controller "unix:$r/db.sock" --pidfile="$r/ovn-controller.pid" "${detach[@]}" \
    --log-file="$r/ovn-controller.log"
done

deadline=$(($(date +%s) + 30))
until healthy; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "error: the chassis did not come up within 30 s; see $dir/*/*.log" >&2
    exit 1
  fi
  sleep 0.1
done
ovn-nbctl --db="unix:$ovn_dir/run/ovnnb_db.sock" --timeout=30 --wait=hv sync
exports >"$dir/env"
log "chassis ${names[*]} started in $((($(date +%s%N) - t0) / 1000000)) ms; source $dir/env or:"
exports
