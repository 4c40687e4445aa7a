#!/usr/bin/env bash
# run.sh: installs what is needed, builds govpool, and runs a whole single-host govpool on this
# machine on embedded defaults: the controller on SQLite (127.0.0.1:8080), libvirtd (started
# when not running), and one node agent for this host. It then creates a demo department,
# flavor and VM (a tiny guest booted from a kernel + initramfs), waits until the VM runs and
# its console shows it booted, and prints how to reach everything.
# The daemons run in their own sessions so that a Ctrl-C reaches only this script, which then
# stops them in order: Ctrl-C (or SIGTERM) deletes the demo VM (the agent removes its domain and disk), stops the
# agent and the controller, and stops libvirtd if this script started it: nothing is left
# behind but the state directory.
#
# Environment: GOVPOOL_HOME (state, default /var/tmp/govpool-demo), GOVPOOL_LISTEN
# (default 127.0.0.1:8080), GOVPOOL_DEMO=0 to skip the demo VM.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
home="${GOVPOOL_HOME:-/var/tmp/govpool-demo}"
listen="${GOVPOOL_LISTEN:-127.0.0.1:8080}"
url="http://$listen"

"$root/scripts/setup.sh"
# Builds only what this script runs, the two daemons and the CLI (not the test and bench
# targets), in a build directory configured without tests and benches.
GOVPOOL_TARGETS="govpool-controller govpool-agent govpoolctl" \
  "$root/scripts/build.sh" "$root/build/release" -DGOVPOOL_BUILD_TESTS=OFF -DGOVPOOL_BUILD_BENCH=OFF
bin="$root/build/release"
ctl="$bin/cli/govpoolctl"
mkdir -p "$home"

controller_pid="" agent_pid="" started_libvirtd=0 demo_vm=""
api() { # api METHOD PATH [BODY]: prints the body; fails on HTTP errors
  curl -fsS -X "$1" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$url$2"
}
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "run: stopping"
  if [ -n "$demo_vm" ] && [ -n "$agent_pid" ]; then
    api DELETE "/v1/vms/$demo_vm" >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do  # the record goes once the agent confirms the cleanup
      api GET "/v1/vms/$demo_vm" >/dev/null 2>&1 || break
      sleep 1
    done
  fi
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "$controller_pid" ] && kill "$controller_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "$started_libvirtd" = 1 ]; then "$root/scripts/stop-libvirtd.sh" || true; fi
  echo "run: stopped (state kept in $home)"
}
trap cleanup EXIT INT TERM

# 1. Controller.
setsid "$bin/controller/govpool-controller" --listen "$listen" --state-dir "$home/controller" \
  >"$home/controller.out" 2>"$home/controller.log" &
controller_pid=$!
for _ in $(seq 1 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$url/healthz" >/dev/null || { cat "$home/controller.log"; exit 1; }
admin_token="$(cat "$home/controller/admin-token")"

# 2. libvirtd and the tiny test guest image.
if ! virsh -c qemu:///system uri >/dev/null 2>&1; then started_libvirtd=1; fi
"$root/scripts/start-libvirtd.sh"
"$root/scripts/make-test-guest.sh" "$home/guest"

# 3. The agent, with a token of its own ("agent" role: it may register and report only its
#    own host).
host_name="$(hostname)"
if [ ! -s "$home/agent-token" ] || ! curl -fsS -H "Authorization: Bearer $(cat "$home/agent-token")" \
    "$url/v1/hosts" >/dev/null 2>&1; then
  agent_user="$(api GET /v1/users?limit=1000 | jq -r --arg n "agent-$host_name" '.items[] | select(.name==$n) | .id')"
  if [ -z "$agent_user" ]; then
    agent_user="$(api POST /v1/users "{\"name\":\"agent-$host_name\",\"role\":\"agent\"}" | jq -r .id)"
  fi
  ( umask 077; api POST "/v1/users/$agent_user/tokens" '{"name":"run.sh"}' | jq -r .token >"$home/agent-token" )
fi
setsid "$bin/agent/govpool-agent" --controller "$url" --token-file "$home/agent-token" \
  --host-name "$host_name" --domain-type auto --state-dir "$home/agent" \
  --guest-kernel "$home/guest/vmlinuz" --guest-initrd "$home/guest/initrd.img" \
  --guest-cmdline "console=ttyS0 panic=-1" --reconcile-interval-seconds 5 \
  >"$home/agent.out" 2>"$home/agent.log" &
agent_pid=$!

# 4. The demo: a department, a flavor and one VM.
if [ "${GOVPOOL_DEMO:-1}" = 1 ]; then
  dept="$(api GET /v1/departments?limit=1000 | jq -r '.items[] | select(.name=="demo") | .id')"
  [ -n "$dept" ] || dept="$(api POST /v1/departments '{"name":"demo","quota":{"instances":10}}' | jq -r .id)"
  api GET /v1/flavors/tiny >/dev/null 2>&1 ||
    api POST /v1/flavors '{"name":"tiny","vcpus":1,"memory_mib":128,"disk_gib":1}' >/dev/null
  for _ in $(seq 1 100); do  # wait for the agent to register this host
    [ "$(api GET /v1/hosts | jq --arg n "$host_name" '[.items[] | select(.name==$n and .status=="up")] | length')" = 1 ] && break
    sleep 0.2
  done
  demo_vm="$(api GET "/v1/vms?department_id=$dept" | jq -r '.items[] | select(.name=="demo-1") | .id')"
  [ -n "$demo_vm" ] || demo_vm="$(api POST /v1/vms "{\"name\":\"demo-1\",\"department_id\":\"$dept\",\"flavor\":\"tiny\"}" | jq -r .id)"
  echo "run: demo VM $demo_vm created; waiting for it to run and boot"
  console="$home/agent/console/govpool-$demo_vm.log"
  for _ in $(seq 1 180); do
    state="$(api GET "/v1/vms/$demo_vm" | jq -r .state)"
    [ "$state" = running ] && grep -q GOVPOOL-GUEST-BOOTED "$console" 2>/dev/null && break
    sleep 1
  done
  echo "run: VM state: $(api GET "/v1/vms/$demo_vm" | jq -r .state)"
  echo "run: console ($console):"
  grep -a GOVPOOL-GUEST "$console" 2>/dev/null | sed 's/^/    /' || echo "    (no boot marker yet)"
  GOVPOOL_URL="$url" GOVPOOL_TOKEN="$admin_token" "$ctl" vm list || true
fi

cat <<TXT

govpool is running.
  controller URL : $url
  admin token    : $admin_token
  token file     : $home/controller/admin-token (mode 0600)
  logs           : $home/controller.log, $home/agent.log

Try:
  export GOVPOOL_URL=$url GOVPOOL_TOKEN=\$(cat $home/controller/admin-token)
  $ctl vm list
  $ctl host list

Press Ctrl-C to stop (the demo VM is deleted, the agent and controller stop).
TXT
wait "$controller_pid"
