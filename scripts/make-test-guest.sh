#!/usr/bin/env bash
# make-test-guest.sh OUTDIR: prepares a tiny bootable test guest for direct kernel boot:
#   OUTDIR/vmlinuz      the Debian 12 kernel (linux-image-6.1.0-*-amd64, extracted, not installed)
#   OUTDIR/initrd.img   a busybox initramfs whose /init loads the virtio modules, prints
#                       "GOVPOOL-GUEST-DISKS: <block devices>" and then the marker line
#                       "GOVPOOL-GUEST-BOOTED" on the console (boot with console=ttyS0), and idles.
#                       It powers off on the ACPI power button (busybox acpid), so graceful
#                       shutdown and libvirt's ACPI reboot work.
#                       Disks (virtio block devices vd*), so tests can see what the guest sees:
#                         at boot, before the marker, one line per disk
#                           GOVPOOL-GUEST-DISK <name> <content>
#                         then, polling /sys/block every 0.5 s,
#                           GOVPOOL-GUEST-HOTPLUG <name> <size in 512-byte sectors> <content>
#                           GOVPOOL-GUEST-RESIZE <name> <sectors>
#                           GOVPOOL-GUEST-UNPLUG <name>
#                         where <content> is the printable characters of the disk's first 64
#                         bytes, or EMPTY when its first byte is zero (or none is printable).
#                         The cloud-init seed disk (ISO 9660 labelled cidata) is not one of them.
#                       cloud-init seed (govpool-seed), before the marker: mounts the seed
#                       read-only (isofs) and prints
#                           GOVPOOL-GUEST-HOSTNAME <local-hostname of its meta-data>
#                           GOVPOOL-GUEST-SSH-KEY <comment, or type without one>  (one per key)
#                       or GOVPOOL-GUEST-SEED none when no disk holds a seed.
#                       NICs (virtio ethN, at boot and hot-plugged, polled every 0.5 s after the
#                       marker): each is brought up and asks DHCP (busybox udhcpc, -t 10), then
#                           GOVPOOL-GUEST-IP ethN <addr>/<prefix>   or   GOVPOOL-GUEST-NOIP ethN
#                       (the first address also gets the default route);
#                           GOVPOOL-GUEST-NIC-UNPLUG ethN   when one goes away.
# Idempotent and cached: when OUTDIR already holds a complete guest built by this version of the
# script it exits at once. The kernel package is cached under ${GOVPOOL_CACHE_DIR}.
# Needs: apt-get (with package lists), dpkg-deb, busybox-static, cpio, gzip. Run as root.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out_dir="$1"
cache_dir="${GOVPOOL_CACHE_DIR:-${GOVPOOL_STATE_DIR:-/var/tmp/govpool}/cache}"
script_hash="$(sha256sum "$0" | cut -c1-16)"
stamp="$out_dir/.govpool-test-guest"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$script_hash" ] &&
   [ -s "$out_dir/vmlinuz" ] && [ -s "$out_dir/initrd.img" ]; then
  exit 0
fi

# busybox-static installs a statically linked /bin/busybox: it runs alone in the initramfs.
busybox_bin="$(command -v busybox || true)"
if [ -z "$busybox_bin" ] || ! { LC_ALL=C ldd "$busybox_bin" 2>&1 || true; } | grep -q 'not a dynamic'; then
  echo "make-test-guest: a static busybox is needed (apt-get install busybox-static)" >&2
  exit 1
fi

mkdir -p "$out_dir" "$cache_dir"
work="$(mktemp -d "${TMPDIR:-/tmp}/govpool-guest.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# 1. The newest Debian 6.1 kernel package, downloaded once into the cache.
find_pkg() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' |
    sort -V | tail -1
}
deb="$(ls -1 "$cache_dir"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$deb" ]; then
  pkg="$(find_pkg)"
  if [ -z "$pkg" ]; then
    apt-get update -qq
    pkg="$(find_pkg)"
  fi
  if [ -z "$pkg" ]; then
    echo "make-test-guest: no linux-image-6.1.0-*-amd64 package found by apt-cache" >&2
    exit 1
  fi
  # As root, apt would warn that the _apt sandbox user cannot write to $work: download as root.
  (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
  mv "$work"/"$pkg"_*.deb "$cache_dir"/
  deb="$(ls -1 "$cache_dir"/"$pkg"_*.deb | tail -1)"
fi
dpkg-deb -x "$deb" "$work/kernel"
kver="$(ls "$work/kernel/lib/modules" | head -1)"
mods="$work/kernel/lib/modules/$kver/kernel"

# 2. The initramfs: busybox, the modules /init loads (in dependency order), /init itself.
root="$work/initramfs"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,etc/acpi/PWRF}
cp "$busybox_bin" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
failover net_failover virtio_net button evdev"
# --- cloud-init seed (govpool-seed below): ISO 9660 ---
modules="$modules cdrom isofs"  # isofs needs cdrom
# --- end cloud-init seed ---
for m in $modules; do
  f="$(find "$mods" -name "$m.ko" -print -quit)"
  if [ -z "$f" ]; then
    echo "make-test-guest: module $m.ko not found in $kver" >&2
    exit 1
  fi
  cp "$f" "$root/lib/modules/"
done
cat >"$root/etc/acpi/PWRF/00000080" <<'ACPI'
#!/bin/sh
echo "GOVPOOL-GUEST-POWEROFF"
/bin/busybox poweroff -f
ACPI
chmod +x "$root/etc/acpi/PWRF/00000080"
cat >"$root/bin/govpool-disks" <<'DISKS'
#!/bin/sh
# govpool-disks boot: one GOVPOOL-GUEST-DISK line per virtio disk, remembering their sizes;
# govpool-disks watch: forever, report disks that appear, change size or disappear.
state=/tmp/govpool-disks
mkdir -p "$state"
content() {
  first="$(dd if="/dev/$1" bs=1 count=1 2>/dev/null | od -An -tu1 | tr -d ' \n')"
  text="$(dd if="/dev/$1" bs=64 count=1 2>/dev/null | tr -cd ' -~')"
  if [ -z "$first" ] || [ "$first" = 0 ] || [ -z "$text" ]; then text=EMPTY; fi
  echo "$text"
}
# The cloud-init seed: an ISO 9660 volume whose label (byte 32808) is cidata.
is_seed() {
  [ "$(dd if="/dev/$1" bs=8 skip=4101 count=1 2>/dev/null | tr -cd 'a-zA-Z')" = cidata ]
}
scan() {
  for dir in /sys/block/vd*; do
    [ -e "$dir/size" ] || continue
    name="${dir##*/}"
    is_seed "$name" && continue
    size="$(cat "$dir/size")"
    if [ ! -f "$state/$name" ]; then
      echo "$size" >"$state/$name"
      if [ "$1" = boot ]; then
        echo "GOVPOOL-GUEST-DISK $name $(content "$name")"
      else
        echo "GOVPOOL-GUEST-HOTPLUG $name $size $(content "$name")"
      fi
    elif [ "$(cat "$state/$name")" != "$size" ]; then
      echo "$size" >"$state/$name"
      echo "GOVPOOL-GUEST-RESIZE $name $size"
    fi
  done
  for f in "$state"/*; do
    [ -f "$f" ] || continue
    name="${f##*/}"
    if [ ! -e "/sys/block/$name" ]; then
      rm -f "$f"
      echo "GOVPOOL-GUEST-UNPLUG $name"
    fi
  done
}
if [ "$1" = boot ]; then
  scan boot
else
  while :; do
    scan watch
    usleep 500000
  done
fi
DISKS
chmod +x "$root/bin/govpool-disks"
# --- cloud-init seed: what the guest reads from its NoCloud seed ---
cat >"$root/bin/govpool-seed" <<'SEED'
#!/bin/sh
# govpool-seed: finds the disk holding the cloud-init seed (ISO 9660 labelled cidata), mounts it
# read-only, sets the host name and shows the host name and govpool's SSH keys.
for dir in /sys/block/vd*; do
  name="${dir##*/}"
  [ -e "/dev/$name" ] || continue
  [ "$(dd if="/dev/$name" bs=8 skip=4101 count=1 2>/dev/null | tr -cd 'a-zA-Z')" = cidata ] || continue
  mkdir -p /mnt/seed
  if ! mount -t iso9660 -o ro "/dev/$name" /mnt/seed; then
    echo "GOVPOOL-GUEST-SEED mount-failed $name"
    exit 0
  fi
  host="$(sed -n 's/^local-hostname: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /mnt/seed/meta-data)"
  hostname "$host"
  echo "GOVPOOL-GUEST-HOSTNAME $host"
  # govpool's cloud-config (the first ssh_authorized_keys list): '  - "<type> <key> [comment]"'.
  awk '
    done { next }
    /^ssh_authorized_keys:/ { on = 1; next }
    on && /^  - "/ {
      s = $0; sub(/^  - "/, "", s); sub(/"$/, "", s)
      i = index(s, " "); rest = substr(s, i + 1); j = index(rest, " ")
      print "GOVPOOL-GUEST-SSH-KEY " (j > 0 ? substr(rest, j + 1) : substr(s, 1, i - 1))
      next
    }
    on { done = 1 }
  ' /mnt/seed/user-data
  umount /mnt/seed
  exit 0
done
echo "GOVPOOL-GUEST-SEED none"
SEED
chmod +x "$root/bin/govpool-seed"
# --- end cloud-init seed ---
# --- NICs: DHCP on every ethN (govpool-nics, polled like the disks) ---
# busybox udhcpc has no default hook script: govpool-dhcp sets the address, prefix, MTU and
# (when there is none yet) the default route, and prints the address on the console.
cat >"$root/bin/govpool-dhcp" <<'DHCP'
#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound | renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -z "$mtu" ] || ip link set "$interface" mtu "$mtu"
    if [ -n "$router" ] && ! ip route | grep -q '^default'; then
      ip route add default via "${router%% *}" dev "$interface"
    fi
    echo "GOVPOOL-GUEST-IP $interface $ip/$mask"
    ;;
esac
exit 0
DHCP
chmod +x "$root/bin/govpool-dhcp"
cat >"$root/bin/govpool-nics" <<'NICS'
#!/bin/sh
# govpool-nics: every 0.5 s, each ethN not seen before (at boot or hot-plugged) is brought up
# and asks DHCP for an address in the background, printing
#   GOVPOOL-GUEST-IP ethN <addr>/<prefix>   (from govpool-dhcp)   or   GOVPOOL-GUEST-NOIP ethN
# and an ethN that disappears prints GOVPOOL-GUEST-NIC-UNPLUG ethN.
state=/tmp/govpool-nics
mkdir -p "$state"
ip link set lo up
while :; do
  for dir in /sys/class/net/eth*; do
    [ -e "$dir" ] || continue
    name="${dir##*/}"
    [ -f "$state/$name" ] && continue
    : >"$state/$name"
    ip link set "$name" up
    # udhcpc's own lines ("udhcpc: ...") stay on the console: they show why a NIC got nothing.
    (udhcpc -i "$name" -n -q -t 10 -s /bin/govpool-dhcp 2>&1 || echo "GOVPOOL-GUEST-NOIP $name") &
  done
  for f in "$state"/*; do
    [ -f "$f" ] || continue
    name="${f##*/}"
    if [ ! -e "/sys/class/net/$name" ]; then
      rm -f "$f"
      echo "GOVPOOL-GUEST-NIC-UNPLUG $name"
    fi
  done
  usleep 500000
done
NICS
chmod +x "$root/bin/govpool-nics"
# --- end NICs ---
cat >"$root/init" <<INIT
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(echo $modules); do
  insmod /lib/modules/\$m.ko || echo "govpool-guest: insmod \$m failed"
done
acpid -c /etc/acpi -l /tmp/acpid.log
echo "GOVPOOL-GUEST-DISKS: \$(ls /sys/block | grep -v -e '^loop' -e '^ram' | tr '\n' ' ')"
/bin/govpool-disks boot
/bin/govpool-seed  # cloud-init seed
echo "GOVPOOL-GUEST-BOOTED"
/bin/govpool-disks watch &
/bin/govpool-nics &  # NICs: DHCP, in the background (a NIC without DHCP takes ~30 s)
while :; do sleep 3600; done
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"

# 3. Publish atomically (rename within OUTDIR) and stamp.
cp "$work/kernel/boot/vmlinuz-$kver" "$out_dir/.vmlinuz.tmp"
cp "$work/initrd.img" "$out_dir/.initrd.img.tmp"
chmod 0644 "$out_dir/.vmlinuz.tmp" "$out_dir/.initrd.img.tmp"
mv "$out_dir/.vmlinuz.tmp" "$out_dir/vmlinuz"
mv "$out_dir/.initrd.img.tmp" "$out_dir/initrd.img"
echo "$kver" >"$out_dir/kernel-version"
echo "$script_hash" >"$stamp"
echo "make-test-guest: $out_dir ready (kernel $kver)"
