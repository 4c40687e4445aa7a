#!/usr/bin/env bash
# Installs every Debian 12 package govpool needs to build, test and run (as root). Idempotent:
# when everything is already installed it only says so.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries. Boost by component, not libboost1.81-all-dev (which pulls in MPI, Python and
  # ~130 packages nothing here uses): libboost1.81-dev has the header-only parts (Asio, Beast,
  # UUID, Describe), the other two the compiled Boost.JSON and Boost.URL.
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libssl-dev openssl prometheus-cpp-dev libpugixml-dev libcli11-dev
  # tests (the benches print JSON themselves: no benchmark library)
  libgtest-dev libgmock-dev libyaml-cpp-dev
  # the sanitizer build (ASan + UBSan unit tests and the libFuzzer targets share it): Clang and
  # its runtimes (libFuzzer, the sanitizers)
  clang-14 libclang-rt-14-dev
  # virtualization (agent; real daemons in tests)
  libvirt-dev libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
  libvirt-clients
  # the agent's cloud-init seed images (ISO 9660 with Rock Ridge and Joliet)
  libisofs-dev
  # user passwords (Argon2id) and the CLI's QR code for TOTP enrolment
  libargon2-dev libqrencode-dev
  # QEMU's rbd block driver (RBD network disks: VM root disks and volumes)
  qemu-block-extra
  # block storage: librados/librbd for the agent's RBD driver; a mon, mgr and osd for the
  # single-node test cluster (scripts/start-ceph.sh)
  ceph-mon ceph-osd ceph-mgr ceph-common librados-dev librbd-dev libradospp-dev
  # tenant networks: Open vSwitch (userspace datapath) and OVN central + host for the local
  # instance scripts/start-ovn.sh starts (tests, demo)
  openvswitch-switch ovn-central ovn-host
  # the tiny test guest
  busybox-static cpio
  # the Prometheus rules' checks and unit tests (promtool; ops/prometheus)
  prometheus
  # scripts
  curl jq procps
)
# The OpenAPI lint (scripts/lint-openapi.sh) runs on node and installs its tool with npm. A node
# that brings its own npm (NodeSource's nodejs) is kept: Debian's npm package conflicts with it.
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
