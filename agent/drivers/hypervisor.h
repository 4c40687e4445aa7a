// Hypervisor: the agent's seam to the virtualization layer on one host. LibvirtHypervisor
// (agent/drivers/libvirt) is the only implementation that talks to libvirt; FakeHypervisor
// (tests/fakes/agent) is an in-memory double with fault injection. One contract test suite runs
// against both (tests/integration/agent/hypervisor_contract_test.cc), so the fake cannot drift.
//
// Domains are identified by UUID (govpool uses the VM id). A domain is "owned" by govpool when
// its XML carries govpool metadata (DomainSpec::metadata, stored under the govpool XML
// namespace); the agent never touches domains it does not own. Domains are always persistent
// (defined), never transient.
//
// Errors use the canonical codes of common/status.h, keeping the library's message text:
//   kNotFound            the domain (or other named object) does not exist
//   kInvalidArgument     the spec or an argument is malformed
//   kAlreadyExists       a different domain already uses the spec's name
//   kFailedPrecondition  the domain is not in a state that allows the operation
//   kUnavailable         the hypervisor connection is down (transient: retry later)
//   kPermissionDenied, kDeadlineExceeded, kUnimplemented, kInternal: as their names say.
//
// Thread-safety: implementations are safe for concurrent use from several threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::agent {

struct NumaCellFacts {
  std::int32_t id = 0;
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
};

struct HostFacts {
  std::string hostname;
  std::string cpu_model;
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
  std::vector<NumaCellFacts> numa_cells;
  // Domain types the hypervisor offers for the host architecture ("kvm", "qemu", "test"...).
  std::vector<std::string> domain_types;
  // True when hardware-accelerated "kvm" domains can really run here (offered by the hypervisor
  // AND the host CPU exposes VMX/SVM). A /dev/kvm without them (some nested or paravirtual
  // setups) cannot boot a stock kernel, so such hosts must use "qemu" (TCG).
  bool kvm_usable = false;
};

// The domain type to use on a host: `configured` when set (it must be one the host offers:
// kInvalidArgument otherwise); else "kvm" when usable; else "qemu" (TCG) when offered; else
// the first type offered. kFailedPrecondition when the host offers none.
inline Result<std::string> ChooseDomainType(const HostFacts& facts,
                                            const std::string& configured) {
  auto offered = [&](const std::string& t) {
    return std::find(facts.domain_types.begin(), facts.domain_types.end(), t) !=
           facts.domain_types.end();
  };
  if (!configured.empty()) {
    if (!offered(configured)) {
      return InvalidArgument("configured domain type '" + configured +
                             "' is not offered by this host's hypervisor");
    }
    return configured;
  }
  if (facts.kvm_usable && offered("kvm")) return std::string("kvm");
  if (offered("qemu")) return std::string("qemu");
  if (!facts.domain_types.empty()) return facts.domain_types.front();
  return FailedPrecondition("the hypervisor offers no domain type for this host");
}

// Where a disk's bytes live.
enum class DiskSourceKind {
  kFile,  // a local image file (path + format)
  kRbd,   // a Ceph RBD image reached over the network by QEMU's librbd (always raw)
};

// One virtio disk of a domain. Exactly one source: a local file (`path`, `format`) or an RBD
// image (`rbd_pool`, `rbd_image`, `rbd_hosts`, optional cephx auth). Use File()/Rbd() to make
// one; both leave the other kind's fields empty. Every member has a default, so the aggregate
// form {path, format, target_dev} still works for file disks.
struct DiskSpec {
  // File source: absolute path of a local image file and its format ("qcow2" or "raw").
  std::string path;
  std::string format = "qcow2";  // RBD: must be "raw" (Rbd() sets it)
  std::string target_dev = "vda";  // virtio bus: "vd" + lower-case letters
  // RBD source: pool and image names (no '/', '@', whitespace or control characters), the
  // monitors as "host:port" ("[v6addr]:port" for IPv6; at least one), and cephx: the user
  // name without "client." ("admin") and the UUID of the libvirt secret holding its key (see
  // Hypervisor::EnsureCephSecret); both empty when the cluster has no cephx.
  std::string rbd_pool = {};
  std::string rbd_image = {};
  std::vector<std::string> rbd_hosts = {};
  std::string auth_user = {};
  std::string secret_uuid = {};
  // The disk's serial number (govpool: the volume id); empty for none. Characters
  // [A-Za-z0-9_.+-] only. Linux shows it as /dev/disk/by-id/virtio-<serial>, cut to the
  // virtio-blk limit of 20 bytes (so a UUID serial appears as its first 20 characters).
  std::string serial = {};
  bool read_only = false;

  DiskSourceKind kind() const {
    return rbd_pool.empty() && rbd_image.empty() ? DiskSourceKind::kFile : DiskSourceKind::kRbd;
  }

  static DiskSpec File(std::string path, std::string format, std::string target_dev) {
    DiskSpec d;
    d.path = std::move(path);
    d.format = std::move(format);
    d.target_dev = std::move(target_dev);
    return d;
  }
  static DiskSpec Rbd(std::string pool, std::string image, std::vector<std::string> hosts,
                      std::string auth_user, std::string secret_uuid, std::string target_dev) {
    DiskSpec d;
    d.format = "raw";
    d.rbd_pool = std::move(pool);
    d.rbd_image = std::move(image);
    d.rbd_hosts = std::move(hosts);
    d.auth_user = std::move(auth_user);
    d.secret_uuid = std::move(secret_uuid);
    d.target_dev = std::move(target_dev);
    return d;
  }
  friend bool operator==(const DiskSpec&, const DiskSpec&) = default;
};

// True when `a` and `b` name the same bytes: same kind and the same file path, or the same RBD
// pool and image (monitors, auth, serial, target and read-only are not compared). What
// AttachDisk uses to tell "already attached" from "target taken by another disk".
bool SameDiskSource(const DiskSpec& a, const DiskSpec& b);

// Checks one disk as ValidateDomainSpec does: InvalidArgument saying which part is wrong.
Status ValidateDiskSpec(const DiskSpec& disk);

// One virtio NIC of a domain, plugged into an Open vSwitch bridge (OVN's integration bridge):
// the host side is a tap device that the hypervisor adds to `bridge` with the OVS interface's
// external_ids:iface-id = port_id, which is how ovn-controller binds it to the OVN logical
// port of that name. A NIC is identified by its port_id (as a disk by its target).
struct NicSpec {
  // The OVN logical switch port name = OVS iface-id: govpool's port id, a UUID in canonical
  // lower-case form (libvirt's interfaceid is a UUID: it refuses anything else).
  std::string port_id;
  // The guest's MAC, "xx:xx:xx:xx:xx:xx" in lower-case hex, unicast (govpool: the port's).
  std::string mac;
  std::string bridge = "br-int";  // 1..15 characters of [A-Za-z0-9_.-]
  std::int32_t mtu = 0;           // 0: the hypervisor's default; else 68..65535
  friend bool operator==(const NicSpec&, const NicSpec&) = default;
};

// Checks one NIC as ValidateDomainSpec does: InvalidArgument saying which part is wrong.
Status ValidateNicSpec(const NicSpec& nic);

// The host-side tap device of a NIC: "tap" + the first 11 hex digits of its port id (14
// bytes, within the kernel's 15; OpenStack names its taps so). The
// same name on every definition and hot-plug, so tools and tests can find the device and its
// OVS port, and a leftover one is recognisable.
std::string NicTapName(const std::string& port_id);

// The desired definition of a govpool domain.
struct DomainSpec {
  std::string uuid;  // the VM id (canonical UUID text)
  std::string name;  // libvirt domain name, e.g. "govpool-<vm id>"
  std::string domain_type = "kvm";  // "kvm" or "qemu" (TCG): see ChooseDomainType
  std::int64_t vcpus = 1;
  std::int64_t memory_mib = 128;  // QEMU guests need at least 96 MiB to boot a Debian kernel
  std::vector<DiskSpec> disks;
  // The NICs, in guest order (eth0, eth1, ...: the PCI slot order of definition).
  std::vector<NicSpec> nics;
  // Direct kernel boot (test guests); empty kernel: boot from the first disk.
  std::string kernel_path;
  std::string initrd_path;
  std::string kernel_cmdline;   // e.g. "console=ttyS0 panic=-1"
  std::string serial_log_path;  // serial console appended to this file; empty: no serial log
  // govpool metadata stored in the domain XML (vm id, department, generation...). Keys and
  // values are arbitrary text (escaped by the implementation).
  std::map<std::string, std::string> metadata;
};

// Checks what every implementation relies on: a UUID, a name, a domain type, vcpus and memory
// of at least 1, absolute kernel/initrd/console paths, no initrd without a kernel, disks valid
// for ValidateDiskSpec (exactly one source kind: an absolute path and a format, or an RBD pool,
// image and monitors; a virtio target; safe names) with distinct targets, NICs valid for
// ValidateNicSpec with distinct port ids, MACs and tap names. InvalidArgument
// saying which part is wrong.
Status ValidateDomainSpec(const DomainSpec& spec);

enum class PowerState { kRunning, kShutoff, kPaused, kCrashed, kOther };

struct DomainInfo {
  std::string uuid;
  std::string name;
  PowerState state = PowerState::kOther;
  bool persistent = false;
  bool owned = false;  // carries govpool metadata
  std::map<std::string, std::string> metadata;  // of the persistent definition
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  // The domain's disks as the hypervisor sees them: the live definition while it runs (so a
  // hot-plugged or not yet released disk shows), the persistent one otherwise. Disks that are
  // neither a local file (or block device, reported as a file path) nor an RBD image, and
  // non-disk devices (CD-ROMs), are left out. Libvirt reports them as written by DefineDomain
  // or AttachDisk, so a DiskSpec read back equals the one given.
  std::vector<DiskSpec> disks;
  // The domain's NICs that are on an Open vSwitch bridge with an iface-id (others are left
  // out), from the same definition as `disks`, in definition order. A NicSpec read back equals
  // the one given.
  std::vector<NicSpec> nics;
};

// One virtual disk's I/O since the domain started (Hypervisor::GetDomainStats).
struct DiskStats {
  std::string target;  // "vda"
  std::uint64_t read_bytes = 0;
  std::uint64_t reads = 0;
  std::uint64_t write_bytes = 0;
  std::uint64_t writes = 0;
};

// One NIC's traffic since the domain started, as the host side of the NIC (the tap) counts it
// from the guest's point of view: receive is what the guest received.
struct NicStats {
  std::string device;  // the tap device
  std::uint64_t receive_bytes = 0;
  std::uint64_t receive_drops = 0;
  std::uint64_t transmit_bytes = 0;
  std::uint64_t transmit_drops = 0;
};

// One domain's statistics from the hypervisor's bulk call. A value the hypervisor does not
// report (libvirt's test driver has no vcpu or balloon figures) is nullopt, never a made-up
// zero. A stopped domain has its state and no disks or NICs.
struct DomainStats {
  std::string uuid;
  std::string name;
  PowerState state = PowerState::kOther;
  std::optional<std::uint64_t> cpu_time_ns;  // all vCPUs and the emulator, since start
  std::optional<std::int64_t> vcpus;         // online vCPUs
  // What the guest has now (the balloon's current size), and of that what it uses: current
  // minus what the guest's balloon driver reports unused, or, without such a report, what the
  // guest holds resident on the host.
  std::optional<std::int64_t> memory_bytes;
  std::optional<std::int64_t> memory_used_bytes;
  std::vector<DiskStats> disks;
  std::vector<NicStats> nics;
};

// The host's own use, as the kernel counts it.
struct HostUsage {
  std::uint64_t cpu_busy_ns = 0;  // CPU time of all CPUs not idle (nor I/O wait) since boot
  std::int64_t memory_total_bytes = 0;
  std::int64_t memory_available_bytes = 0;  // free, buffers and page cache
};

// The hypervisor connection's health, for the agent's metrics.
struct HypervisorConnection {
  bool up = true;               // the last call reached the hypervisor
  std::int64_t reconnects = 0;  // connections opened after the first
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;

  // Every domain's statistics in one call (cheap enough for every scrape: no per-domain
  // round trips), running or not. kUnavailable when the hypervisor cannot be asked.
  // Libvirt: virConnectGetAllDomainStats (state, cpu-total, vcpu, balloon, block, interface).
  virtual Result<std::vector<DomainStats>> GetDomainStats() = 0;

  // The host's CPU time and memory as its kernel counts them. kUnimplemented when the
  // hypervisor keeps no such figures (libvirt's test driver). Libvirt: virNodeGetCPUStats,
  // virNodeGetMemoryStats.
  virtual Result<HostUsage> GetHostUsage() = 0;

  // Whether the connection is up and how often it was opened again. Thread-safe, no I/O.
  virtual HypervisorConnection Connection() const { return {}; }

  // Facts about the host: CPUs, memory, NUMA cells, CPU model, domain types.
  // Libvirt: virNodeGetInfo, virConnectGetCapabilities, virConnectGetHostname.
  virtual Result<HostFacts> GetHostFacts() = 0;

  // Every domain on the host, owned or not, persistent or not (the caller filters on `owned`).
  // Libvirt: virConnectListAllDomains (+ per-domain info as in GetDomain).
  virtual Result<std::vector<DomainInfo>> ListDomains() = 0;

  // The domain with this UUID. kNotFound when there is none.
  // Libvirt: virDomainLookupByUUIDString, virDomainGetState, virDomainGetInfo,
  // virDomainIsPersistent, virDomainGetMetadata.
  virtual Result<DomainInfo> GetDomain(const std::string& uuid) = 0;

  // Defines (or redefines) the persistent domain described by `spec`. Idempotent: defining the
  // same spec again is OK; a changed spec replaces the definition (a running domain picks it up
  // at its next start). kInvalidArgument for a malformed spec; kAlreadyExists when another
  // domain (different UUID) has spec.name; kFailedPrecondition when the UUID's domain has a
  // different name (renaming is not supported). Never creates a transient domain.
  // Libvirt: virDomainDefineXML.
  virtual Status DefineDomain(const DomainSpec& spec) = 0;

  // Boots the domain. OK if already running (a paused domain is resumed). kNotFound if absent.
  // Libvirt: virDomainCreate (virDomainResume when paused).
  virtual Status StartDomain(const std::string& uuid) = 0;

  // Asks the guest to power off (ACPI power button); returns once the request is delivered,
  // not when the guest is off (poll GetDomain; a guest may ignore it: DestroyDomain then).
  // OK if already shut off. kNotFound if absent. Libvirt: virDomainShutdown.
  virtual Status ShutdownDomain(const std::string& uuid) = 0;

  // Hard power-off (pulls the plug). OK if already off. kNotFound if absent.
  // Libvirt: virDomainDestroy.
  virtual Status DestroyDomain(const std::string& uuid) = 0;

  // Asks a running guest to reboot (ACPI; the hypervisor restarts it once it powers off).
  // kFailedPrecondition when the domain is not running; kNotFound if absent.
  // Libvirt: virDomainReboot.
  virtual Status RebootDomain(const std::string& uuid) = 0;

  // Removes the persistent definition (and managed-save images, snapshot/checkpoint metadata
  // and NVRAM). OK (idempotent) if absent. kFailedPrecondition while the domain is active:
  // destroy it first (undefining a running domain would leave it transient).
  // Libvirt: virDomainUndefineFlags.
  virtual Status UndefineDomain(const std::string& uuid) = 0;

  // Creates a sparse qcow2 disk of size_gib at `path` (an absolute path; missing parent
  // directories are created). Idempotent: OK, untouched, if `path` already exists.
  // kInvalidArgument for a relative path or size_gib < 1.
  virtual Status CreateDisk(const std::string& path, std::int64_t size_gib) = 0;

  // Deletes the disk file at `path`. OK if absent. kInvalidArgument for a relative path.
  virtual Status DeleteDisk(const std::string& path) = 0;

  // --- Secrets and hot-pluggable disks (Ceph RBD volumes, or local files) ---

  // Makes the host hold a private, persistent secret `uuid` of usage type ceph named
  // `usage_name` (e.g. "client.govpool"), whose value is the cephx key `key_base64` (as `ceph
  // auth get-key` prints it). RBD disks name it in DiskSpec::secret_uuid. Idempotent: an
  // existing secret with this uuid and usage gets the value set again (a changed key
  // replaces the old one). kInvalidArgument for a bad uuid, an empty usage name or a key that
  // is not base64; kFailedPrecondition when `uuid` exists with another usage; kAlreadyExists
  // when another secret already has this ceph usage name. The value cannot be read back
  // (private). Libvirt: virSecretDefineXML + virSecretSetValue.
  virtual Status EnsureCephSecret(const std::string& uuid, const std::string& usage_name,
                                  const std::string& key_base64) = 0;

  // Removes secret `uuid`. OK (idempotent) if absent. Running guests that already opened their
  // RBD disks keep them. Libvirt: virSecretUndefine.
  virtual Status RemoveSecret(const std::string& uuid) = 0;

  // Attaches `disk` to the domain: to the running guest (hot-plug; the guest sees a new
  // virtio disk at once) AND to the persistent definition, or only to the definition when the
  // domain is shut off. Idempotent: OK when disk.target_dev already holds the same source
  // (SameDiskSource) in both; a half-attached disk (in one of the two) is completed.
  // kFailedPrecondition when the target is taken by another disk or the same source is
  // already attached at another target; kInvalidArgument for a malformed disk; kNotFound when
  // the domain is absent. Libvirt: virDomainAttachDeviceFlags (AFFECT_LIVE|AFFECT_CONFIG
  // while running, AFFECT_CONFIG when shut off).
  virtual Status AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) = 0;

  // Detaches the disk at `target_dev` from the persistent definition and from the running
  // guest. OK (idempotent) when no disk is there. A live detach needs the guest's consent
  // (it must release the device, as with a PCI unplug): the call asks, then waits a bounded
  // time (LibvirtOptions::detach_timeout_ms) for the device to leave the live domain. On
  // timeout it returns kDeadlineExceeded: the disk is gone from the definition (it will not
  // come back at the next boot) but the guest still holds it and the request stays pending;
  // the caller must not delete or unmap the backing image yet and should call DetachDisk
  // again later (it waits again; OK once the guest let go, or the domain stopped).
  // kNotFound when the domain is absent. Libvirt: virDomainDetachDeviceFlags, then polling
  // the live XML.
  virtual Status DetachDisk(const std::string& domain_uuid, const std::string& target_dev) = 0;

  // Tells a running guest that the disk at `target_dev` now has `size_bytes` (the caller grew
  // the RBD image or file first; for a file QEMU grows it itself): the guest sees the new
  // capacity at once. OK with nothing done when the domain is shut off (it reads the size at
  // its next boot) or the guest already sees that size. kInvalidArgument for size_bytes < 1
  // or smaller than the guest's current size (shrinking is not supported); kNotFound when the
  // domain or the disk at target_dev is absent. Libvirt: virDomainBlockResize with
  // VIR_DOMAIN_BLOCK_RESIZE_BYTES.
  virtual Status ResizeDisk(const std::string& domain_uuid, const std::string& target_dev,
                            std::int64_t size_bytes) = 0;

  // --- Hot-pluggable NICs (OVN logical ports on the integration bridge) ---

  // Plugs `nic` into the domain: into the running guest (hot-plug; the guest sees a new
  // virtio NIC at once) AND into the persistent definition, or only into the definition when
  // shut off. Idempotent: OK when a NIC with this port_id and MAC is already there (a
  // half-attached NIC is completed). kFailedPrecondition when the port_id is there with
  // another MAC (reason NIC_PORT_TAKEN) or the MAC belongs to another NIC (reason
  // NIC_MAC_TAKEN); kInvalidArgument for a malformed NIC; kNotFound when the domain is absent.
  // Libvirt: virDomainAttachDeviceFlags (AFFECT_LIVE|AFFECT_CONFIG while running,
  // AFFECT_CONFIG when shut off); libvirt adds the tap to the bridge with ovs-vsctl.
  virtual Status AttachNic(const std::string& domain_uuid, const NicSpec& nic) = 0;

  // Unplugs the NIC of `port_id` from the definition and from the running guest, as DetachDisk
  // does for disks: OK (idempotent) when absent; a guest that has not released it within
  // LibvirtOptions::detach_timeout_ms gives kDeadlineExceeded (reason NIC_DETACH_PENDING; it
  // is gone from the definition, call again later). Once released, the tap and its OVS port
  // are gone. kNotFound when the domain is absent. Libvirt: virDomainDetachDeviceFlags.
  virtual Status DetachNic(const std::string& domain_uuid, const std::string& port_id) = 0;
};

}  // namespace govpool::agent
