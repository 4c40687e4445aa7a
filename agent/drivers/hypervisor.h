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
#include <string>
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

struct DiskSpec {
  std::string path;  // absolute path of a local file (qcow2) for now
  std::string format = "qcow2";
  std::string target_dev = "vda";  // virtio bus
};

// The desired definition of a govpool domain.
struct DomainSpec {
  std::string uuid;  // the VM id (canonical UUID text)
  std::string name;  // libvirt domain name, e.g. "govpool-<vm id>"
  std::string domain_type = "kvm";  // "kvm" or "qemu" (TCG): see ChooseDomainType
  std::int64_t vcpus = 1;
  std::int64_t memory_mib = 128;  // QEMU guests need at least 96 MiB to boot a Debian kernel
  std::vector<DiskSpec> disks;
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
// of at least 1, absolute disk/kernel/initrd/console paths, disks with a target device and a
// format, no initrd without a kernel. InvalidArgument saying which part is wrong.
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
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;

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
};

}  // namespace govpool::agent
