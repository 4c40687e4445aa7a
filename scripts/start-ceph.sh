#!/usr/bin/env bash
# Starts a single-node Ceph 16 cluster on 127.0.0.1 for development and tests: one monitor
# (mon.a), one manager (mgr.x: pool usage statistics and pool quotas need it, see below) and one
# OSD (osd.0) on memstore (data lives in RAM). No systemd: daemons are started by hand with
# pidfiles. Everything lives under one directory, which ends up holding:
#   ceph.conf                     the client config (export CEPH_CONF=<dir>/ceph.conf)
#   ceph.client.admin.keyring     client.admin's key (the conf names it)
#   mon/ osd/ mgr/ run/ log/      daemon data, pidfiles, admin sockets, logs
# Idempotent: when the cluster in that directory answers and its OSD is up it does nothing and
# prints one line. A half-dead cluster (memstore loses its data with its OSD) is stopped, wiped
# and bootstrapped again.
#
# Usage: start-ceph.sh [--pool NAME]...   (each --pool is created, 8 PGs, and `rbd pool init`ed
#                                           when missing)
# Environment:
#   GOVPOOL_CEPH_DIR          the directory (default ${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ceph)
#   GOVPOOL_CEPH_OSD_BYTES    memstore size of the OSD in bytes (default 1 GiB); only read when
#                             the cluster is bootstrapped
#   GOVPOOL_CEPH_TIMEOUT_S    how long to wait for the cluster (default 60)
#
# Why a manager: in Ceph 16 the monitor learns pool and cluster usage only from the manager's
# digest. Without a mgr, `ceph df`, rados_ioctx_pool_stat and rados_cluster_stat report zeros
# and pool quotas are never enforced (the monitor sets a pool's `full_quota` flag from those
# statistics). Its modules are trimmed to the always-on ones and its stats period shortened, so
# a write shows up in pool statistics within ~2 s.
set -euo pipefail

dir="${GOVPOOL_CEPH_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ceph}"
osd_bytes="${GOVPOOL_CEPH_OSD_BYTES:-1073741824}"
timeout_s="${GOVPOOL_CEPH_TIMEOUT_S:-60}"
pools=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pool) pools+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--pool NAME]..." >&2; exit 2 ;;
  esac
done

log() { echo "start-ceph: $*"; }
export PATH="$PATH:/usr/sbin:/sbin"
for bin in ceph ceph-mon ceph-osd ceph-mgr ceph-authtool monmaptool rbd; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    log "error: $bin not found; install the packages listed by scripts/setup.sh" >&2
    exit 1
  fi
done

conf="$dir/ceph.conf"
cephc() { ceph --conf "$conf" --connect-timeout 5 "$@"; }

# healthy: the monitor answers and osd.0 is up.
healthy() {
  [ -f "$conf" ] || return 1
  [ "$(cephc osd dump --format json 2>/dev/null | jq -r '.osds[0].up // 0' 2>/dev/null)" = 1 ]
}

create_pools() {
  local pool
  for pool in "${pools[@]}"; do
    if ! cephc osd pool ls | grep -qx -- "$pool"; then
      cephc osd pool create "$pool" 8 8 >/dev/null 2>&1 ||
        { log "error: cannot create pool $pool" >&2; exit 1; }
      rbd --conf "$conf" pool init "$pool"
      log "created pool $pool"
    fi
  done
}

if healthy; then
  log "ceph already running ($conf)"
  create_pools
  exit 0
fi

# Anything left of an earlier cluster in $dir goes: its OSD's data was in RAM.
if [ -d "$dir" ]; then
  "$(dirname "$0")/stop-ceph.sh" >/dev/null
fi
# One test cluster per machine: the monitor's ports are fixed (libvirt's RBD disks name them).
if (exec 3<>/dev/tcp/127.0.0.1/6789) 2>/dev/null; then
  log "error: 127.0.0.1:6789 is taken (another Ceph cluster, started from another directory?)" >&2
  exit 1
fi
start=$SECONDS
mkdir -p "$dir"/{run,log,mon/ceph-a,osd/ceph-0,mgr/ceph-x}
chmod 0700 "$dir"
fsid="$(cat /proc/sys/kernel/random/uuid)"
mon_addr='[v2:127.0.0.1:3300,v1:127.0.0.1:6789]'

cat >"$conf" <<EOF
# Written by govpool's scripts/start-ceph.sh: a single-node test cluster on 127.0.0.1.
[global]
fsid = $fsid
mon host = $mon_addr
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $dir/run
admin socket = $dir/run/\$cluster-\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
mgr data = $dir/mgr/\$cluster-\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool delete = true
mon allow pool size one = true
mon warn on pool no redundancy = false
# Statistics reach the monitor (and pool quotas take effect) within ~2 s instead of ~10 s.
mgr stats period = 1
mon tick interval = 1
osd objectstore = memstore
memstore device bytes = $osd_bytes

[mon]
keyring = $dir/mon/\$cluster-\$id/keyring
[osd]
keyring = $dir/osd/\$cluster-\$id/keyring
[mgr]
keyring = $dir/mgr/\$cluster-\$id/keyring
mgr initial modules =
[client]
keyring = $dir/ceph.client.admin.keyring
EOF

# Keys: the monitor's, client.admin's (all capabilities), imported into the monitor's keyring.
ceph-authtool --create-keyring "$dir/mon/keyring.tmp" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
chmod 0600 "$dir/ceph.client.admin.keyring"
ceph-authtool "$dir/mon/keyring.tmp" --import-keyring "$dir/ceph.client.admin.keyring" >/dev/null
monmaptool --create --fsid "$fsid" --addv a "$mon_addr" "$dir/mon/monmap" >/dev/null
ceph-mon --conf "$conf" -i a --mkfs --monmap "$dir/mon/monmap" --keyring "$dir/mon/keyring.tmp"
rm -f "$dir/mon/keyring.tmp" "$dir/mon/monmap"
ceph-mon --conf "$conf" -i a

# The manager.
cephc auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
  -o "$dir/mgr/ceph-x/keyring"
ceph-mgr --conf "$conf" -i x

# The OSD: registered with its own cephx secret, then formatted and started.
osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
osd_key="$(ceph-authtool --gen-print-key)"
osd_id="$(echo "{\"cephx_secret\": \"$osd_key\"}" | cephc osd new "$osd_uuid" -i -)"
[ "$osd_id" = 0 ] || { log "error: expected osd.0, got osd.$osd_id" >&2; exit 1; }
ceph-authtool --create-keyring "$dir/osd/ceph-0/keyring" --name osd.0 --add-key "$osd_key" >/dev/null
# ceph-osd prints start-up chatter on stderr before it detaches; keep it with the logs.
ceph-osd --conf "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/log/osd.0.stderr"
ceph-osd --conf "$conf" -i 0 2>>"$dir/log/osd.0.stderr"

deadline=$((SECONDS + timeout_s))
until healthy; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "error: osd.0 not up within ${timeout_s}s; see $dir/log" >&2
    exit 1
  fi
  sleep 0.2
done
create_pools
log "ceph started in $((SECONDS - start))s; export CEPH_CONF=$conf"
