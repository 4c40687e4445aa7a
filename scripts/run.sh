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
# Networking: Open vSwitch and OVN are started too (scripts/start-ovn.sh; used as they are when
# already running), the controller programs OVN's Northbound database and the agent makes this
# host an OVN chassis. The demo department gets a network demo-net (10.90.0.0/24, OVN's DHCP);
# the demo VM has a NIC on it and gets its address by DHCP. A second port of demo-net, the
# "host access" port, is an OVS internal port in the network namespace govpool-demo on this
# host: the script pings the VM from there (ip netns exec govpool-demo ping <VM address>).
# GOVPOOL_NETWORK=0 skips the networking (no OVS/OVN, a VM without NICs).
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
url="https://$listen"
# The controller serves HTTPS with a certificate from its own CA (docs/security.md, "TLS and
# agent enrolment"); everything here verifies it against that CA.
ca_file="$home/controller/tls/ca.crt"
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
demo_image="" bg_pid="" started_ovn=0 ovn_dir="" demo_host_port="" vm_ip="" prometheus_pid=""
api() { # api METHOD PATH [BODY]: prints the body; fails on HTTP errors (as the system-admin)
  curl -fsS --cacert "$ca_file" -X "$1" -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$url$2"
}
http_status() { # http_status PATH: the status code of a GET (000 when unreachable)
  curl -s --cacert "$ca_file" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin_token" "$url$1" || true
}
gctl() { GOVPOOL_URL="$url" GOVPOOL_CA_FILE="$ca_file" GOVPOOL_TOKEN="$admin_token" "$ctl" "$@"; }
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
# The host's way into demo-net: an OVS internal port bound to the logical port
# $demo_host_port (iface-id), moved into the network namespace govpool-demo.
demo_host_access_up() { # demo_host_access_up MAC IP/PREFIX
  demo_host_access_down
  ovs-vsctl --db="$GOVPOOL_OVS_DB" --timeout=10 add-port br-int gp-demo-host -- \
    set interface gp-demo-host type=internal "external_ids:iface-id=$demo_host_port" >/dev/null
  ip netns add govpool-demo
  ip link set gp-demo-host netns govpool-demo
  ip netns exec govpool-demo ip link set gp-demo-host address "$1" mtu 1442 up
  ip netns exec govpool-demo ip addr add "$2" dev gp-demo-host
  ip netns exec govpool-demo ip link set lo up
}
demo_host_access_down() {
  [ -n "${GOVPOOL_OVS_DB:-}" ] &&
    ovs-vsctl --db="$GOVPOOL_OVS_DB" --timeout=10 --if-exists del-port br-int gp-demo-host >/dev/null 2>&1 || true
  ip netns del govpool-demo 2>/dev/null || true
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
  demo_host_access_down
  if [ -n "$demo_host_port" ]; then api DELETE "/v1/ports/$demo_host_port" >/dev/null 2>&1 || true; fi
  # The agent before the controller, so that it does not log the controller going away.
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true; fi
  [ -n "$controller_pid" ] && kill "$controller_pid" 2>/dev/null || true
  [ -n "$prometheus_pid" ] && kill "$prometheus_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "$started_libvirtd" = 1 ]; then "$root/scripts/stop-libvirtd.sh" || true; fi
  if [ "$started_ceph" = 1 ]; then GOVPOOL_CEPH_DIR="$ceph_dir" "$root/scripts/stop-ceph.sh" || true; fi
  if [ "$started_ovn" = 1 ]; then "$root/scripts/stop-ovn.sh" >/dev/null || true; fi
  echo "run: stopped (state kept in $home)"
}
on_signal() { cleanup; exit "$1"; }
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP  # the terminal went away

# 0. Open vSwitch and OVN (the tenant networks' data plane), unless GOVPOOL_NETWORK=0.
ovn_flags=()
if [ "${GOVPOOL_NETWORK:-1}" = 1 ]; then
  ovn_dir="${GOVPOOL_OVN_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/ovn}"
  if ! grep -qs . "$ovn_dir/env" || ! ovsdb-client --timeout=5 list-dbs "unix:$ovn_dir/run/ovnnb_db.sock" >/dev/null 2>&1; then
    started_ovn=1  # stopped at the end only when this script started it
  fi
  "$root/scripts/start-ovn.sh" >/dev/null
  # shellcheck disable=SC1091 # written by start-ovn.sh
  source "$ovn_dir/env"
  ovn_flags=(--ovn-nb "$GOVPOOL_TEST_OVN_NB")
fi

# 1. Controller.
# --bootstrap-tokens: the first start writes an API token per administrator role (the demo's
# automation); the administrators' one-time passwords are in $home/controller/initial-passwords.
setsid "$bin/controller/govpool-controller" --listen "$listen" --state-dir "$home/controller" \
  --bootstrap-tokens --bootstrap-token-ttl-h 720 \
  "${ovn_flags[@]}" >"$home/controller.out" 2>"$home/controller.log" &
controller_pid=$!
for _ in $(seq 1 100); do curl -fsS --cacert "$ca_file" "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --cacert "$ca_file" "$url/healthz" >/dev/null || { cat "$home/controller.log"; exit 1; }
echo "run: the controller serves HTTPS at $url (its CA: $ca_file)"
admin_token="$(cat "$home/controller/system-admin-token")"

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

# 3. The agent enrols (docs/security.md, "TLS and agent enrolment"): the system-admin lets this
#    host's agent enrol (a one-time token, 10 minutes); the agent trades it and a CSR for its
#    client certificate (kept in $home/agent/tls/agent.pem) and from then on authenticates with
#    that certificate (mutual TLS), renewing it itself. A restart reuses the certificate.
host_name="$(hostname)"
enrol_flags=()
if [ ! -s "$home/agent/tls/agent.pem" ]; then
  ( umask 077; api POST /v1/host-enrolments "{\"host_name\":\"$host_name\",\"ttl_s\":600}" |
      jq -r .token >"$home/enrolment-token" )
  enrol_flags=(--enrolment-token-file "$home/enrolment-token")
  echo "run: enrolling this host's agent ($host_name)"
fi
ceph_flags=()
[ -n "$ceph_conf" ] && ceph_flags=(--ceph-conf "$ceph_conf" --ceph-cluster ceph)
# The chassis keeps the name start-ovn.sh gave it (the Open_vSwitch row's system-id).
net_flags=()
if [ -n "$ovn_dir" ]; then
  system_id="$(ovs-vsctl --db="$GOVPOOL_OVS_DB" --timeout=10 get open_vswitch . external_ids:system-id | tr -d '"')"
  net_flags=(--ovn-remote "$GOVPOOL_OVN_SB" --ovn-encap-ip 127.0.0.1 --ovn-system-id "$system_id"
             --ovs-db "$GOVPOOL_OVS_DB" --ovn-rundir "$ovn_dir/run" --ovn-datapath-type netdev)
fi
# The agent serves its metrics (docs/operations.md, "Agent metrics") to scrapes with this token.
[ -s "$home/agent-metrics-token" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$home/agent-metrics-token")
metrics_flags=(--metrics-listen "127.0.0.1:${GOVPOOL_AGENT_METRICS_PORT:-9478}" --metrics-token-file "$home/agent-metrics-token")
setsid "$bin/agent/govpool-agent" --controller "$url" --ca-file "$ca_file" "${enrol_flags[@]}" \
  --host-name "$host_name" --domain-type auto --state-dir "$home/agent" "${metrics_flags[@]}" \
  --guest-kernel "$home/guest/vmlinuz" --guest-initrd "$home/guest/initrd.img" \
  --guest-cmdline "console=ttyS0 panic=-1" --reconcile-interval-seconds 5 \
  --heartbeat-interval-seconds 5 "${ceph_flags[@]}" "${net_flags[@]}" \
  >"$home/agent.out" 2>"$home/agent.log" &
agent_pid=$!

# 3b. Prometheus (Debian's package; GOVPOOL_PROMETHEUS=0 leaves it out): the controller with a
#     metrics-reader token, the agents found through the controller's /v1/metrics/targets, the
#     rules of ops/prometheus loaded. Its own port (9091), so a packaged Prometheus service on
#     9090 does not get in the way.
prometheus_url=""
if [ "${GOVPOOL_PROMETHEUS:-1}" != 0 ]; then
  prom="$home/prometheus"
  mkdir -p "$prom"
  if [ ! -s "$prom/token" ]; then
    me="$(api GET /v1/auth/session | jq -r .user.id)"
    api POST "/v1/users/$me/tokens" \
      "{\"name\":\"demo-prometheus\",\"role\":\"metrics-reader\",\"expires_at\":\"$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)\"}" |
      jq -r .token | (umask 077 && cat >"$prom/token")
  fi
  cp "$root/ops/prometheus/govpool.rules.yml" "$prom/govpool.rules.yml"
  cat >"$prom/prometheus.yml" <<YML
global: {scrape_interval: 15s, evaluation_interval: 30s}
rule_files: [$prom/govpool.rules.yml]
scrape_configs:
  - job_name: govpool-controller
    scheme: https
    tls_config: {ca_file: $ca_file}
    authorization: {credentials_file: $prom/token}
    static_configs: [{targets: ['${url#https://}']}]
  - job_name: govpool-agents
    authorization: {credentials_file: $home/agent-metrics-token}
    http_sd_configs:
      - url: $url/v1/metrics/targets
        refresh_interval: 30s
        tls_config: {ca_file: $ca_file}
        authorization: {type: Bearer, credentials_file: $prom/token}
YML
  prometheus_listen="127.0.0.1:${GOVPOOL_PROMETHEUS_PORT:-9091}"
  setsid prometheus --config.file="$prom/prometheus.yml" --storage.tsdb.path="$prom/data" \
    --web.listen-address="$prometheus_listen" >"$home/prometheus.log" 2>&1 &
  prometheus_pid=$!
  prometheus_url="http://$prometheus_listen"
  echo "run: Prometheus at $prometheus_url scrapes the controller and, through /v1/metrics/targets, the agent"
fi

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
  run_bg env GOVPOOL_URL="$url" GOVPOOL_CA_FILE="$ca_file" GOVPOOL_TOKEN="$admin_token" "$ctl" image wait "$demo_image" \
    --timeout 180 >/dev/null || return 1
  gctl image list
}

# 4. The demo: a department, a flavor and one VM (from the demo image when there is Ceph).
if [ "${GOVPOOL_DEMO:-1}" = 1 ]; then
  dept="$(api GET /v1/departments?limit=1000 | jq -r '.items[] | select(.name=="demo") | .id')"
  [ -n "$dept" ] || dept="$(api POST /v1/departments '{"name":"demo","quota":{"instances":10}}' | jq -r .id)"
  api GET /v1/flavors/tiny >/dev/null 2>&1 ||
    api POST /v1/flavors '{"name":"tiny","vcpus":1,"memory_mib":128,"disk_gib":1}' >/dev/null
  # The demo network: demo-net with one IPv4 subnet (OVN answers DHCP), and the host's port.
  nic_flag=() nic_json=""
  if [ -n "$ovn_dir" ]; then
    net="$(api GET "/v1/networks?department_id=$dept" | jq -r '.items[] | select(.name=="demo-net") | .id')"
    [ -n "$net" ] || net="$(api POST /v1/networks "{\"name\":\"demo-net\",\"department_id\":\"$dept\"}" | jq -r .id)"
    if [ "$(api GET "/v1/subnets?network_id=$net" | jq '.items | length')" = 0 ]; then
      api POST /v1/subnets "{\"name\":\"demo-v4\",\"network_id\":\"$net\",\"cidr\":\"10.90.0.0/24\"}" >/dev/null
    fi
    demo_host_port="$(api GET "/v1/ports?network_id=$net" | jq -r '.items[] | select(.name=="host-access") | .id')"
    [ -n "$demo_host_port" ] ||
      demo_host_port="$(api POST /v1/ports "{\"name\":\"host-access\",\"network_id\":\"$net\"}" | jq -r .id)"
    host_port_json="$(api GET "/v1/ports/$demo_host_port")"
    demo_host_access_up "$(jq -r .mac_address <<<"$host_port_json")" \
      "$(jq -r '.fixed_ips[0].ip_address' <<<"$host_port_json")/24"
    echo "run: network demo-net (10.90.0.0/24); this host reaches it from network namespace govpool-demo" \
         "($(jq -r '.fixed_ips[0].ip_address' <<<"$host_port_json"))"
    nic_flag=(--network demo-net) nic_json=',"networks":[{"network":"demo-net"}]'
  fi
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
    demo_vm="$(gctl --json vm create demo-1 --department "$dept" --flavor tiny --image "$demo_image" "${nic_flag[@]}" | jq -r .id)"
    echo "run: demo VM $demo_vm created from image demo-disk (root disk: an RBD clone in $ceph_pool); waiting for it to run and boot"
  else
    if [ -n "$demo_vm" ] && [ -n "$(api GET "/v1/vms/$demo_vm" | jq -r '.image_id // empty')" ]; then
      echo "run: deleting the RBD-backed demo VM a previous run left (no Ceph now)"
      delete_and_wait vms "$demo_vm" || true
      demo_vm=""
    fi
    if [ -n "$demo_vm" ] && [ "$(api GET "/v1/vms/$demo_vm" | jq '.nics // [] | length')" != "${#nic_flag[@]}" ]; then
      echo "run: deleting the demo VM a previous run left (its NICs differ)"
      delete_and_wait vms "$demo_vm" || true
      demo_vm=""
    fi
    [ -n "$demo_vm" ] || demo_vm="$(api POST /v1/vms "{\"name\":\"demo-1\",\"department_id\":\"$dept\",\"flavor\":\"tiny\"$nic_json}" | jq -r .id)"
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
  # Its NIC: the address OVN's DHCP gave it (the console says), and a ping from this host.
  if [ -n "$ovn_dir" ]; then
    for _ in $(seq 1 60); do
      # (no match yet is no error: pipefail would end the script)
      vm_ip="$( { grep -a -o 'GOVPOOL-GUEST-IP eth0 [0-9.]*' "$console" 2>/dev/null || true; } | tail -1 | awk '{print $3}')"
      [ -n "$vm_ip" ] && break
      sleep 1
    done
    if [ -z "$vm_ip" ]; then
      loud "the demo VM got no address by DHCP on demo-net (see $console and $home/agent.log)"
    else
      echo "run: the demo VM got $vm_ip by DHCP (the API says: $(api GET "/v1/vms/$demo_vm" | jq -r '[.nics[].ip_addresses[]] | join(" ")'))"
      pinged=0
      for _ in $(seq 1 10); do  # the first packets may go while the flows settle
        if ip netns exec govpool-demo busybox ping -c 1 -W 2 "$vm_ip" >/dev/null 2>&1; then pinged=1; break; fi
      done
      if [ "$pinged" = 1 ]; then
        echo "run: the demo VM answers ping from this host:"
        ip netns exec govpool-demo busybox ping -c 3 -W 2 "$vm_ip" | sed 's/^/    /' || true
      else
        loud "the demo VM ($vm_ip) does not answer ping from network namespace govpool-demo"
      fi
    fi
  fi
  gctl vm list || true
fi

net_note="none (GOVPOOL_NETWORK=0)"
ping_target="${vm_ip:-ADDRESS}"
if [ -n "$ovn_dir" ]; then
  net_note="OVN (Northbound unix:$ovn_dir/run/ovnnb_db.sock); demo-net 10.90.0.0/24${vm_ip:+, the demo VM is $vm_ip}"
  [ "$started_ovn" = 1 ] && net_note="$net_note (started by run.sh, stopped with it)"
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
  controller URL : $url (HTTPS; its CA: $ca_file)
  agent          : enrolled; its client certificate: $home/agent/tls/agent.pem (mutual TLS)
  admin tokens   : $home/controller/{system,security,audit}-admin-token (mode 0600, 30 days)
  first logins   : $home/controller/initial-passwords (one-time passwords of sysadmin,
                   secadmin, auditadmin: change them and enrol a TOTP factor at first login)
  logs           : $home/controller.log, $home/agent.log
  metrics        : ${prometheus_url:-no Prometheus (GOVPOOL_PROMETHEUS=0)}: try the query
                   govpool:pool_utilisation:ratio or govpool_vm_cpu_seconds_total; Grafana: point a
                   Prometheus data source at it and import ops/grafana/dashboards/*.json
                   (docs/operations.md, "Dashboards"); the agent's own: 127.0.0.1:${GOVPOOL_AGENT_METRICS_PORT:-9478}/metrics
  ceph           : $ceph_note
  network        : $net_note

Try:
  export GOVPOOL_URL=$url GOVPOOL_CA_FILE=$ca_file GOVPOOL_TOKEN=\$(cat $home/controller/system-admin-token)
  $ctl vm list
  $ctl host list
  $ctl storage-pool list
  $ctl image list
  $ctl volume list
  $ctl network list
  $ctl port list
  ip netns exec govpool-demo busybox ping $ping_target

Press Ctrl-C to stop (the demo VM and image are deleted, the agent and controller stop).
TXT
wait "$controller_pid"
