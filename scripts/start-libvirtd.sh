#!/usr/bin/env bash
# Starts virtlogd, virtlockd and libvirtd (serving qemu:///system) when they are not already
# running, then waits until `virsh -c qemu:///system uri` answers. Idempotent: running it
# again with the daemons up does nothing and prints one line. No systemd needed (see
# docs and shared reference: daemons are started by hand with pidfiles).
#
# Environment:
#   GOVPOOL_LIBVIRT_PID_DIR   where pidfiles live (default /run: libvirt's own default, so a
#                             daemon started by hand the usual way is detected too)
#   GOVPOOL_LIBVIRT_TIMEOUT_S how long to wait for libvirtd to answer (default 90)
set -euo pipefail

pid_dir="${GOVPOOL_LIBVIRT_PID_DIR:-/run}"
timeout_s="${GOVPOOL_LIBVIRT_TIMEOUT_S:-90}"
uri="qemu:///system"

log() { echo "start-libvirtd: $*"; }

for bin in virtlogd virtlockd libvirtd virsh; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
    log "error: $bin not found; install the packages listed by scripts/setup.sh" >&2
    exit 1
  fi
done
export PATH="$PATH:/usr/sbin:/sbin"

# running NAME: true when the pidfile names a live process called NAME, or when a NAME process
# started some other way (another pidfile) exists: a second instance would refuse to start.
running() {
  local name="$1" pidfile="$pid_dir/$1.pid" pid
  if [ -s "$pidfile" ]; then
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then
      return 0
    fi
  fi
  pgrep -x "$name" >/dev/null 2>&1
}

# `virsh uri` needs a live daemon connection and answers in ~20 ms (`virsh version` takes ~4 s).
answers() { virsh -c "$uri" uri >/dev/null 2>&1; }

if answers && running virtlogd; then
  log "libvirtd already running ($uri answers)"
  exit 0
fi

# Without udev (no systemd here) /dev/kvm stays root-only 0600. libvirt then sees KVM in its
# cached QEMU capabilities but not usable by the QEMU user, declares the cache stale and
# re-probes QEMU on every call (measured: a define took 44 s instead of 0.05 s). Set what
# Debian's udev rule sets: group kvm, mode 0660. Whether KVM can really boot guests is a
# separate question (see ChooseDomainType).
if [ -c /dev/kvm ] && getent group kvm >/dev/null 2>&1 &&
   [ "$(stat -c '%G %a' /dev/kvm)" != "kvm 660" ]; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm || log "warning: cannot set /dev/kvm to kvm 0660" >&2
fi

mkdir -p "$pid_dir" /run/libvirt /var/log/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu

started=()
for daemon in virtlogd virtlockd libvirtd; do
  if running "$daemon"; then
    continue
  fi
  if [ "$daemon" = libvirtd ] && answers; then
    continue  # a libvirtd started some other way already serves the URI
  fi
  "$daemon" -d -p "$pid_dir/$daemon.pid"
  started+=("$daemon")
done

deadline=$((SECONDS + timeout_s))
until answers; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "error: libvirtd did not answer on $uri within ${timeout_s}s; see /var/log/libvirt" >&2
    exit 1
  fi
  sleep 0.2
done
if [ "${#started[@]}" -gt 0 ]; then
  log "started ${started[*]}; $uri answers"
else
  log "libvirtd already running ($uri answers)"
fi
