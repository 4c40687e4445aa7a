#!/usr/bin/env bash
# Starts Open vSwitch and OVN on this machine for development and tests, by hand (no systemd,
# no ovs-ctl), with the userspace datapath (datapath_type=netdev: there is no kernel OVS module
# here). Everything lives under one directory:
#   run/   sockets, pidfiles, control sockets (OVS_RUNDIR and OVN_RUNDIR point here)
#     db.sock          the local Open vSwitch database (ovs-vsctl --db=unix:<dir>/run/db.sock)
#     ovnnb_db.sock    the OVN Northbound database   <- what the controller programs
#     ovnsb_db.sock    the OVN Southbound database
#   db/    conf.db, ovnnb_db.db, ovnsb_db.db
#   log/   one log per daemon
#   env    the export lines printed at the end (source it)
# Daemons: ovsdb-server (Open_vSwitch) + ovs-vswitchd with the integration bridge br-int;
# OVN central: the NB and SB ovsdb-servers and ovn-northd; one ovn-controller (this chassis,
# Geneve encap on 127.0.0.1). The NB and SB also listen on TCP, loopback only
# (tcp:127.0.0.1:6641 and :6642, OVN's usual ports) for clients that cannot reach the sockets.
#
# Idempotent: when every daemon of that directory runs and the NB answers, it does nothing but
# print the exports. A half-dead instance is stopped (scripts/stop-ovn.sh), wiped and started
# again: the databases hold test data only (the controller reconciles the NB level-triggered).
#
# Environment:
#   GOVPOOL_OVN_DIR        the directory (default ${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn)
#   GOVPOOL_OVN_NB_PORT    NB TCP port on 127.0.0.1 (default 6641)
#   GOVPOOL_OVN_SB_PORT    SB TCP port on 127.0.0.1 (default 6642)
#   GOVPOOL_OVN_TIMEOUT_S  how long to wait for the chassis to come up (default 30)
#
# Not the system's default sockets, but libvirt's <virtualport type='openvswitch'> runs
# `ovs-vsctl` without --db, i.e. on the default /var/run/openvswitch/db.sock: when nothing is
# there, the script makes that path a symlink to our run/db.sock (recorded in run/default-db-link,
# so scripts/stop-ovn.sh removes that link and nothing else). When another Open vSwitch owns the
# default socket it is left alone, with a warning: guests' NICs would go to that one.
#   GOVPOOL_OVS_DEFAULT_DB  the default socket path (default /var/run/openvswitch/db.sock)
set -euo pipefail

dir="${GOVPOOL_OVN_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn}"
nb_port="${GOVPOOL_OVN_NB_PORT:-6641}"
sb_port="${GOVPOOL_OVN_SB_PORT:-6642}"
timeout_s="${GOVPOOL_OVN_TIMEOUT_S:-30}"
run="$dir/run"
system_id="govpool-$(hostname -s 2>/dev/null || echo host)"

log() { echo "start-ovn: $*"; }
export PATH="$PATH:/usr/sbin:/sbin"
for bin in ovsdb-tool ovsdb-server ovsdb-client ovs-vsctl ovs-vswitchd ovn-northd ovn-controller \
           ovn-nbctl ovn-sbctl; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    log "error: $bin not found; install the packages listed by scripts/setup.sh" >&2
    exit 1
  fi
done

# Every OVS/OVN tool and daemon gets our directories, never the system defaults: ovs-vswitchd
# creates br-int.mgmt in OVS_RUNDIR, ovn-controller connects to it there and puts its control
# socket (ovn-controller.<pid>.ctl: it has no --unixctl option) into OVN_RUNDIR.
export OVS_RUNDIR="$run" OVS_DBDIR="$dir/db" OVS_LOGDIR="$dir/log" OVS_SYSCONFDIR="$dir/db"
export OVN_RUNDIR="$run" OVN_DBDIR="$dir/db" OVN_LOGDIR="$dir/log" OVN_SYSCONFDIR="$dir/db"

nb="unix:$run/ovnnb_db.sock"
sb="unix:$run/ovnsb_db.sock"
exports() {
  cat <<EOF
export GOVPOOL_TEST_OVN_NB=$nb
export GOVPOOL_TEST_OVN_NB_TCP=tcp:127.0.0.1:$nb_port
export GOVPOOL_OVN_SB=$sb
export GOVPOOL_OVS_DB=unix:$run/db.sock
EOF
}

daemons=(ovsdb-server:conf ovs-vswitchd:ovs-vswitchd ovsdb-server:ovnnb_db ovsdb-server:ovnsb_db
         ovn-northd:ovn-northd ovn-controller:ovn-controller)
# alive COMM PIDFILE: the pidfile names a live (not zombie) process called COMM.
alive() {
  local comm="$1" pidfile="$2" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$comm" ] &&
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}
healthy() {
  local d
  for d in "${daemons[@]}"; do alive "${d%%:*}" "$run/${d#*:}.pid" || return 1; done
  ovsdb-client --timeout=5 list-dbs "$nb" 2>/dev/null | grep -qx OVN_Northbound
}

default_db="${GOVPOOL_OVS_DEFAULT_DB:-/var/run/openvswitch/db.sock}"
# Points the default OVS socket at ours when nothing (or a dangling link of an earlier instance
# of this directory) is there. Idempotent.
link_default_db() {
  if [ -L "$default_db" ] && [ "$(readlink "$default_db")" = "$run/db.sock" ]; then
    echo "$default_db" >"$run/default-db-link"
    return 0
  fi
  if [ -e "$default_db" ] || [ -L "$default_db" ]; then
    log "warning: $default_db belongs to another Open vSwitch; libvirt will plug guests' NICs there" >&2
    return 0
  fi
  mkdir -p "$(dirname "$default_db")"
  ln -s "$run/db.sock" "$default_db"
  echo "$default_db" >"$run/default-db-link"
}

if healthy; then
  link_default_db
  log "ovn already running ($dir)"
  exports | tee "$dir/env"
  exit 0
fi

# Anything left of an earlier instance in $dir goes.
if [ -d "$dir" ]; then
  "$(dirname "$0")/stop-ovn.sh" >/dev/null
fi
# One instance per machine: the TCP ports are fixed and the bridge names (tap devices br-int and
# ovs-netdev of the userspace datapath) are global.
for port in "$nb_port" "$sb_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "error: 127.0.0.1:$port is taken (another OVN, started from another directory?)" >&2
    exit 1
  fi
done
if ip link show br-int >/dev/null 2>&1; then
  log "error: a br-int interface exists (another Open vSwitch on this machine?)" >&2
  exit 1
fi

t0=$(date +%s%N)
ms() { echo $((($(date +%s%N) - t0) / 1000000)); }
mkdir -p "$run" "$dir/db" "$dir/log"
chmod 0700 "$dir"
# -vconsole:off first: it also silences the "opened log file" line --log-file prints.
detach=(-vconsole:off --detach --no-chdir)

# 1. Open vSwitch: its database, then ovs-vswitchd, then the integration bridge.
ovsdb-tool create "$dir/db/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$dir/db/conf.db" --remote="punix:$run/db.sock" --pidfile="$run/conf.pid" \
  --unixctl="$run/conf.ctl" "${detach[@]}" --log-file="$dir/log/ovsdb-server-conf.log"
vsctl() { ovs-vsctl --db="unix:$run/db.sock" --timeout=10 "$@"; }
vsctl --no-wait init
ovs-vswitchd "unix:$run/db.sock" --pidfile="$run/ovs-vswitchd.pid" --unixctl="$run/ovs-vswitchd.ctl" \
  "${detach[@]}" --log-file="$dir/log/ovs-vswitchd.log"
vsctl -- --may-exist add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
  other-config:disable-in-band=true

# 2. OVN central: NB and SB databases, then ovn-northd between them.
ovsdb-tool create "$dir/db/ovnnb_db.db" /usr/share/ovn/ovn-nb.ovsschema
ovsdb-tool create "$dir/db/ovnsb_db.db" /usr/share/ovn/ovn-sb.ovsschema
ovsdb-server "$dir/db/ovnnb_db.db" --remote="punix:$run/ovnnb_db.sock" \
  --remote="ptcp:$nb_port:127.0.0.1" --pidfile="$run/ovnnb_db.pid" --unixctl="$run/ovnnb_db.ctl" \
  "${detach[@]}" --log-file="$dir/log/ovsdb-server-nb.log"
ovsdb-server "$dir/db/ovnsb_db.db" --remote="punix:$run/ovnsb_db.sock" \
  --remote="ptcp:$sb_port:127.0.0.1" --pidfile="$run/ovnsb_db.pid" --unixctl="$run/ovnsb_db.ctl" \
  "${detach[@]}" --log-file="$dir/log/ovsdb-server-sb.log"
ovn-nbctl --db="$nb" --timeout=10 --no-wait init
ovn-sbctl --db="$sb" --timeout=10 init  # (ovn-sbctl has no --no-wait)
ovn-northd --ovnnb-db="$nb" --ovnsb-db="$sb" --pidfile="$run/ovn-northd.pid" \
  --unixctl="$run/ovn-northd.ctl" "${detach[@]}" --log-file="$dir/log/ovn-northd.log"

# 3. This chassis: ovn-controller, told by the local database where the SB is.
vsctl set open_vswitch . external_ids:system-id="$system_id" external_ids:hostname="$system_id" \
  external_ids:ovn-remote="$sb" external_ids:ovn-encap-type=geneve \
  external_ids:ovn-encap-ip=127.0.0.1 external_ids:ovn-bridge=br-int \
  external_ids:ovn-bridge-datapath-type=netdev
ovn-controller "unix:$run/db.sock" --pidfile="$run/ovn-controller.pid" \
  "${detach[@]}" --log-file="$dir/log/ovn-controller.log"

# Ready when the chassis has caught up with the NB: northd computed the flows and ovn-controller
# installed them (--wait=hv needs both, and the chassis registered in the SB).
if ! timeout "$timeout_s" ovn-nbctl --db="$nb" --wait=hv sync; then
  log "error: the chassis did not come up within ${timeout_s}s; see $dir/log" >&2
  exit 1
fi
if ! healthy; then
  log "error: a daemon died during start-up; see $dir/log" >&2
  exit 1
fi
link_default_db
exports >"$dir/env"
log "ovs and ovn started in $(ms) ms (chassis $system_id); NB at $nb; source $dir/env or:"
exports
