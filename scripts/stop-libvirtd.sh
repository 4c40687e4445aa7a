#!/usr/bin/env bash
# Stops libvirtd, virtlockd and virtlogd started by scripts/start-libvirtd.sh (by pidfile only).
# Running guests are NOT stopped: QEMU processes outlive libvirtd, and the next libvirtd start
# reattaches to them. While QEMU guests run, virtlogd and virtlockd are left running (guests
# log through virtlogd; stopping it would disturb them).
#   --libvirtd-only            stop libvirtd alone (e.g. to test that a restart is harmless)
#   --destroy-govpool-guests   first destroy and undefine the domains whose names start with
#                              "govpool-test-" (left over by an interrupted test run)
# Idempotent: prints one line and exits 0 when nothing is running.
set -euo pipefail

pid_dir="${GOVPOOL_LIBVIRT_PID_DIR:-/run}"
uri="qemu:///system"
export PATH="$PATH:/usr/sbin:/sbin"

log() { echo "stop-libvirtd: $*"; }

libvirtd_only=0
destroy_test_guests=0
for arg in "$@"; do
  case "$arg" in
    --libvirtd-only) libvirtd_only=1 ;;
    --destroy-govpool-guests) destroy_test_guests=1 ;;
    *) echo "usage: $0 [--libvirtd-only] [--destroy-govpool-guests]" >&2; exit 2 ;;
  esac
done

if [ "$destroy_test_guests" = 1 ]; then
  if virsh -c "$uri" version >/dev/null 2>&1; then
    for dom in $(virsh -c "$uri" list --all --name | grep '^govpool-test-' || true); do
      virsh -c "$uri" destroy "$dom" >/dev/null 2>&1 || true
      virsh -c "$uri" undefine "$dom" --managed-save --snapshots-metadata --nvram \
        >/dev/null 2>&1 || virsh -c "$uri" undefine "$dom" >/dev/null 2>&1 || true
      log "removed leftover test domain $dom"
    done
  fi
fi

daemons="libvirtd virtlockd virtlogd"
if [ "$libvirtd_only" = 1 ]; then
  daemons="libvirtd"
elif [ -n "$(ls /run/libvirt/qemu/*.pid 2>/dev/null | grep -v '/driver\.pid$' || true)" ]; then
  daemons="libvirtd"
  log "QEMU guests are running: leaving virtlogd and virtlockd up"
fi

stopped=()
for daemon in $daemons; do
  pidfile="$pid_dir/$daemon.pid"
  [ -s "$pidfile" ] || continue
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$daemon" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    stopped+=("$daemon")
  fi
  rm -f "$pidfile"
done
if [ "${#stopped[@]}" -gt 0 ]; then
  log "stopped ${stopped[*]}"
else
  log "nothing to stop"
fi
