#!/usr/bin/env bash
# run.sh: installs what is needed, builds govpool, and runs a whole single-host govpool on this
# machine on embedded defaults: the controller on SQLite (127.0.0.1:8080), libvirtd (started
# when not running), a local single-node Ceph cluster (scripts/start-ceph.sh; used as it is
# when already running) with a pool for govpool, and one node agent for this host, configured
# for that cluster. It then registers the Ceph pool as a govpool storage pool, uploads a small
# demo disk image (raw, 64 MiB, starting with the text GOVPOOL-DEMO-DISK), waits until the
# agent imported it into RBD, and creates a demo VM from it: the VM's root disk is a
# copy-on-write RBD clone of the image, and the tiny guest (booted from a kernel + initramfs)
# prints what its first disk holds ("GOVPOOL-GUEST-DISK vda GOVPOOL-DEMO-DISK"). When Ceph
# cannot be started (or its part of the demo fails), it says so loudly and makes the demo VM
# on a local qcow2 disk instead. It waits until the VM runs and its console shows it booted,
# and prints how to reach everything.
# The daemons run in their own sessions so that a Ctrl-C reaches only this script, which then
# stops them in order: Ctrl-C (or SIGTERM) deletes the demo VM (the agent removes its domain
# and its disk: the RBD clone or the qcow2 file) and the demo image (the agent removes its RBD
# image), stops the agent and the controller, stops libvirtd if this script started it, and
# stops Ceph if this script started it (a cluster that was already running, e.g. for the
# tests, is left running, and so is its empty demo pool): nothing else is left behind but the
# state directory.
#
# Environment: GOVPOOL_HOME (state, default /var/tmp/govpool-demo), GOVPOOL_LISTEN
# (default 127.0.0.1:8080), GOVPOOL_DEMO=0 to skip the demo VM, GOVPOOL_CEPH=0 to run without
# Ceph (the demo VM on a local disk), GOVPOOL_DEMO_CEPH_POOL (the Ceph pool, default
# govpool-demo), GOVPOOL_CEPH_DIR (the cluster's directory, scripts/start-ceph.sh's default:
# one cluster per machine, shared with scripts/test.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
home="${GOVPOOL_HOME:-/var/tmp/govpool-demo}"
listen="${GOVPOOL_LISTEN:-127.0.0.1:8080}"
url="http://$listen"
ceph_dir="${GOVPOOL_CEPH_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ceph}"
ceph_pool="${GOVPOOL_DEMO_CEPH_POOL:-govpool-demo}"

"$root/scripts/setup.sh"
# Builds only what this script runs, the two daemons and the CLI (not the test and bench
# targets), in a build directory configured without tests and benches.
GOVPOOL_TARGETS="govpool-controller govpool-agent govpoolctl" \
  "$root/scripts/build.sh" "$root/build/release" -DGOVPOOL_BUILD_TESTS=OFF -DGOVPOOL_BUILD_BENCH=OFF
bin="$root/build/release"
ctl="$bin/cli/govpoolctl"
mkdir -p "$home"

controller_pid="" agent_pid="" started_libvirtd=0 started_ceph=0 ceph_conf="" demo_vm=""
demo_image="" bg_pid=""
api() { # api METHOD PATH [BODY]: prints the body; fails on HTTP errors
  curl -fsS -X "$1" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$url$2"
}
http_status() { # http_status PATH: the status code of a GET (000 when unreachable)
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin_token" "$url$1" || true
}
gctl() { GOVPOOL_URL="$url" GOVPOOL_TOKEN="$admin_token" "$ctl" "$@"; }
# run_bg COMMAND...: runs a command that may take long in the background and waits for it, so
# that a SIGTERM runs the trap at once (bash defers traps until a foreground command ends) and
# the trap can stop it (bg_pid: a program, not a function, so that killing it stops it).
run_bg() {
  "$@" &
  bg_pid=$!
  local rc=0
  wait "$bg_pid" || rc=$?
  bg_pid=""
  return "$rc"
}
loud() {
  {
    echo "run: ********************************************************************"
    for line in "$@"; do echo "run: ** $line"; done
    echo "run: ********************************************************************"
  } >&2
}
# delete_and_wait KIND ID: DELETE /v1/KIND/ID, then wait (60 s at most) until the record is
# gone, which happens once the agent confirmed it removed the domain, disk or RBD image.
delete_and_wait() {
  api DELETE "/v1/$1/$2" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    [ "$(http_status "/v1/$1/$2")" = 404 ] && return 0
    sleep 1
  done
  echo "run: $1/$2 is still there after 60 s (see $home/agent.log)" >&2
  return 1
}
cleanup() {
  trap - EXIT INT TERM HUP
  echo
  echo "run: stopping"
  [ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null || true
  if [ -n "$agent_pid" ]; then
    # The VM first: its root disk is a clone of the image.
    if [ -n "$demo_vm" ]; then delete_and_wait vms "$demo_vm" && echo "run: deleted the demo VM" || true; fi
    if [ -n "$demo_image" ]; then delete_and_wait images "$demo_image" && echo "run: deleted the demo image" || true; fi
  fi
  # The agent before the controller, so that it does not log the controller going away.
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true; fi
  [ -n "$controller_pid" ] && kill "$controller_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "$started_libvirtd" = 1 ]; then "$root/scripts/stop-libvirtd.sh" || true; fi
  if [ "$started_ceph" = 1 ]; then GOVPOOL_CEPH_DIR="$ceph_dir" "$root/scripts/stop-ceph.sh" || true; fi
  echo "run: stopped (state kept in $home)"
}
on_signal() { cleanup; exit "$1"; }
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP  # the terminal went away

# 1. Controller.
setsid "$bin/controller/govpool-controller" --listen "$listen" --state-dir "$home/controller" \
  >"$home/controller.out" 2>"$home/controller.log" &
controller_pid=$!
for _ in $(seq 1 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$url/healthz" >/dev/null || { cat "$home/controller.log"; exit 1; }
admin_token="$(cat "$home/controller/admin-token")"

# 2. libvirtd, the tiny test guest image, and Ceph.
if ! virsh -c qemu:///system uri >/dev/null 2>&1; then started_libvirtd=1; fi
"$root/scripts/start-libvirtd.sh"
"$root/scripts/make-test-guest.sh" "$home/guest"
ceph_up() {
  [ -f "$ceph_dir/ceph.conf" ] &&
    ceph --conf "$ceph_dir/ceph.conf" --connect-timeout 5 osd dump --format json 2>/dev/null |
      jq -e '.osds[0].up == 1' >/dev/null 2>&1
}
if [ "${GOVPOOL_CEPH:-1}" = 1 ]; then
  ceph_up || started_ceph=1  # stopped at the end only when this script started it
  if GOVPOOL_CEPH_DIR="$ceph_dir" "$root/scripts/start-ceph.sh" --pool "$ceph_pool"; then
    ceph_conf="$ceph_dir/ceph.conf"
  else
    loud "Ceph could not be started (see above and $ceph_dir/log):" \
         "running WITHOUT storage; the demo VM gets a local qcow2 disk instead of an RBD one."
    if [ "$started_ceph" = 1 ]; then GOVPOOL_CEPH_DIR="$ceph_dir" "$root/scripts/stop-ceph.sh" || true; fi
    started_ceph=0
  fi
else
  echo "run: GOVPOOL_CEPH=0: no Ceph; the demo VM gets a local qcow2 disk"
fi

# 3. The agent, with a token of its own ("agent" role: it may register and report only its
#    own host), and the Ceph flags when there is a cluster.
host_name="$(hostname)"
if [ ! -s "$home/agent-token" ] || ! curl -fsS -H "Authorization: Bearer $(cat "$home/agent-token")" \
    "$url/v1/hosts" >/dev/null 2>&1; then
  agent_user="$(api GET /v1/users?limit=1000 | jq -r --arg n "agent-$host_name" '.items[] | select(.name==$n) | .id')"
  if [ -z "$agent_user" ]; then
    agent_user="$(api POST /v1/users "{\"name\":\"agent-$host_name\",\"role\":\"agent\"}" | jq -r .id)"
  fi
  ( umask 077; api POST "/v1/users/$agent_user/tokens" '{"name":"run.sh"}' | jq -r .token >"$home/agent-token" )
fi
ceph_flags=()
[ -n "$ceph_conf" ] && ceph_flags=(--ceph-conf "$ceph_conf" --ceph-cluster ceph)
setsid "$bin/agent/govpool-agent" --controller "$url" --token-file "$home/agent-token" \
  --host-name "$host_name" --domain-type auto --state-dir "$home/agent" \
  --guest-kernel "$home/guest/vmlinuz" --guest-initrd "$home/guest/initrd.img" \
  --guest-cmdline "console=ttyS0 panic=-1" --reconcile-interval-seconds 5 \
  --heartbeat-interval-seconds 5 "${ceph_flags[@]}" \
  >"$home/agent.out" 2>"$home/agent.log" &
agent_pid=$!

# The RBD part of the demo: the storage pool, the demo image uploaded and imported. Sets
# demo_image; fails (after saying why) when a step does.
demo_storage() {
  # Provisioning ratio 8: the test cluster's OSD holds 1 GiB in RAM, so a pool offers a little
  # less than 1 GiB, which is 0 whole GiB at ratio 1; RBD disks are thin, and the demo writes
  # only its 64 MiB image.
  if ! gctl storage-pool show "$ceph_pool" >/dev/null 2>&1; then
    gctl storage-pool create "$ceph_pool" --cluster ceph --ceph-pool "$ceph_pool" \
      --provisioning-ratio 8 >/dev/null || return 1
    echo "run: registered Ceph pool $ceph_pool as storage pool $ceph_pool"
  else
    gctl storage-pool update "$ceph_pool" --enable --provisioning-ratio 8 >/dev/null || return 1
  fi
  local status=""
  for _ in $(seq 1 60); do  # until the agent reported the pool's stats
    status="$(gctl --json storage-pool show "$ceph_pool" 2>/dev/null | jq -r .status || true)"
    [ "$status" = ok ] && break
    sleep 1
  done
  if [ "$status" != ok ]; then
    echo "run: storage pool $ceph_pool is '$status' after 60 s (see $home/agent.log)" >&2
    return 1
  fi
  gctl storage-pool list
  # A leftover of a run that did not stop cleanly may name RBD data a restarted Ceph lost:
  # the demo's VM and image are made again.
  local old
  old="$(api GET "/v1/vms?department_id=$dept" | jq -r '.items[] | select(.name=="demo-1") | .id')"
  for id in $old; do echo "run: deleting the demo VM a previous run left"; delete_and_wait vms "$id" || return 1; done
  old="$(api GET "/v1/images?limit=1000" | jq -r --arg d "$dept" '.items[] | select(.name=="demo-disk" and .department_id==$d) | .id')"
  for id in $old; do echo "run: deleting the demo image a previous run left"; delete_and_wait images "$id" || return 1; done
  # The disk: 64 MiB, sparse, the marker at its start (the guest prints its first bytes).
  local disk="$home/demo-disk.raw"
  if [ ! -s "$disk" ]; then
    rm -f "$disk.tmp"
    truncate -s 64M "$disk.tmp"
    printf 'GOVPOOL-DEMO-DISK' | dd of="$disk.tmp" conv=notrunc status=none
    mv "$disk.tmp" "$disk"
  fi
  demo_image="$(gctl --json image create demo-disk --department "$dept" --format raw | jq -r .id)" || return 1
  echo "run: uploading the demo image ($disk)"
  gctl image upload "$demo_image" "$disk" >/dev/null || return 1
  echo "run: waiting for the agent to import it into RBD ($ceph_pool/govpool-img-$demo_image)"
  run_bg env GOVPOOL_URL="$url" GOVPOOL_TOKEN="$admin_token" "$ctl" image wait "$demo_image" \
    --timeout 180 >/dev/null || return 1
  gctl image list
}

# 4. The demo: a department, a flavor and one VM (from the demo image when there is Ceph).
if [ "${GOVPOOL_DEMO:-1}" = 1 ]; then
  dept="$(api GET /v1/departments?limit=1000 | jq -r '.items[] | select(.name=="demo") | .id')"
  [ -n "$dept" ] || dept="$(api POST /v1/departments '{"name":"demo","quota":{"instances":10}}' | jq -r .id)"
  api GET /v1/flavors/tiny >/dev/null 2>&1 ||
    api POST /v1/flavors '{"name":"tiny","vcpus":1,"memory_mib":128,"disk_gib":1}' >/dev/null
  for _ in $(seq 1 100); do  # wait for the agent to register this host
    [ "$(api GET /v1/hosts | jq --arg n "$host_name" '[.items[] | select(.name==$n and .status=="up")] | length')" = 1 ] && break
    sleep 0.2
  done
  if [ -n "$ceph_conf" ] && ! demo_storage; then
    loud "the Ceph part of the demo failed (see above and $home/agent.log):" \
         "the demo VM gets a local qcow2 disk instead of an RBD one."
    if [ -n "$demo_image" ]; then delete_and_wait images "$demo_image" || true; demo_image=""; fi
  fi
  demo_vm="$(api GET "/v1/vms?department_id=$dept" | jq -r '.items[] | select(.name=="demo-1") | .id')"
  if [ -n "$demo_image" ]; then
    demo_vm="$(gctl --json vm create demo-1 --department "$dept" --flavor tiny --image "$demo_image" | jq -r .id)"
    echo "run: demo VM $demo_vm created from image demo-disk (root disk: an RBD clone in $ceph_pool); waiting for it to run and boot"
  else
    if [ -n "$demo_vm" ] && [ -n "$(api GET "/v1/vms/$demo_vm" | jq -r '.image_id // empty')" ]; then
      echo "run: deleting the RBD-backed demo VM a previous run left (no Ceph now)"
      delete_and_wait vms "$demo_vm" || true
      demo_vm=""
    fi
    [ -n "$demo_vm" ] || demo_vm="$(api POST /v1/vms "{\"name\":\"demo-1\",\"department_id\":\"$dept\",\"flavor\":\"tiny\"}" | jq -r .id)"
    echo "run: demo VM $demo_vm created (local qcow2 disk); waiting for it to run and boot"
  fi
  console="$home/agent/console/govpool-$demo_vm.log"
  for _ in $(seq 1 180); do
    state="$(api GET "/v1/vms/$demo_vm" | jq -r .state)"
    [ "$state" = running ] && grep -q GOVPOOL-GUEST-BOOTED "$console" 2>/dev/null && break
    sleep 1
  done
  echo "run: VM state: $(api GET "/v1/vms/$demo_vm" | jq -r .state)"
  echo "run: console ($console):"
  grep -a GOVPOOL-GUEST "$console" 2>/dev/null | sed 's/^/    /' || echo "    (no boot marker yet)"
  if [ -n "$demo_image" ]; then
    if grep -aq 'GOVPOOL-GUEST-DISK vda GOVPOOL-DEMO-DISK' "$console" 2>/dev/null; then
      echo "run: the demo VM booted with its root disk (vda) on RBD: it reads the demo image's marker"
    else
      loud "the demo VM's console does not show the demo disk on vda (see $home/agent.log)"
    fi
  fi
  gctl vm list || true
fi

if [ -z "$ceph_conf" ]; then
  ceph_note="none (no storage pools)"
elif [ "$started_ceph" = 1 ]; then
  ceph_note="$ceph_conf, pool $ceph_pool (started by run.sh, stopped with it)"
else
  ceph_note="$ceph_conf, pool $ceph_pool (was already running, left running)"
fi
cat <<TXT

govpool is running.
  controller URL : $url
  admin token    : $admin_token
  token file     : $home/controller/admin-token (mode 0600)
  logs           : $home/controller.log, $home/agent.log
  ceph           : $ceph_note

Try:
  export GOVPOOL_URL=$url GOVPOOL_TOKEN=\$(cat $home/controller/admin-token)
  $ctl vm list
  $ctl host list
  $ctl storage-pool list
  $ctl image list
  $ctl volume list

Press Ctrl-C to stop (the demo VM and image are deleted, the agent and controller stop).
TXT
wait "$controller_pid"
