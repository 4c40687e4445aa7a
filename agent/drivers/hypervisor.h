// Hypervisor: the agent's seam to the virtualization layer on one host. LibvirtHypervisor
// (agent/drivers/libvirt) is the only implementation that talks to libvirt; FakeHypervisor
// (tests/fakes) is an in-memory double with fault injection. One contract test suite runs
// against both (tests/integration/agent/hypervisor_contract_test.cc).
//
// Domains are identified by UUID (govpool uses the VM id). A domain is "owned" by govpool when
// its XML carries govpool metadata; the agent never touches domains it does not own.
// Thread-safety: implementations are safe for concurrent use from several threads.
#pragma once

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
};

struct DiskSpec {
  std::string path;           // local file (qcow2) for now
  std::string format = "qcow2";
  std::string target_dev = "vda";
};

// The desired definition of a govpool domain.
struct DomainSpec {
  std::string uuid;  // the VM id
  std::string name;  // libvirt domain name, e.g. "govpool-<vm id>"
  std::string domain_type = "kvm";  // "kvm" or "qemu" (TCG)
  std::int64_t vcpus = 1;
  std::int64_t memory_mib = 128;
  std::vector<DiskSpec> disks;
  // Direct kernel boot (test guests); empty kernel: boot from the first disk.
  std::string kernel_path;
  std::string initrd_path;
  std::string kernel_cmdline;
  std::string serial_log_path;  // serial console logged to this file
  // govpool metadata stored in the domain XML (vm id, department, generation...).
  std::map<std::string, std::string> metadata;
};

enum class PowerState { kRunning, kShutoff, kPaused, kCrashed, kOther };

struct DomainInfo {
  std::string uuid;
  std::string name;
  PowerState state = PowerState::kOther;
  bool persistent = false;
  bool owned = false;  // carries govpool metadata
  std::map<std::string, std::string> metadata;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  // See implementations for the library calls each method wraps.
  virtual Result<HostFacts> GetHostFacts() = 0;
  virtual Result<std::vector<DomainInfo>> ListDomains() = 0;
  virtual Result<DomainInfo> GetDomain(const std::string& uuid) = 0;  // NotFound
  // Defines (or redefines) a persistent domain from spec. Idempotent.
  virtual Status DefineDomain(const DomainSpec& spec) = 0;
  virtual Status StartDomain(const std::string& uuid) = 0;     // OK if already running
  virtual Status ShutdownDomain(const std::string& uuid) = 0;  // graceful (ACPI)
  virtual Status DestroyDomain(const std::string& uuid) = 0;   // hard off; OK if already off
  virtual Status RebootDomain(const std::string& uuid) = 0;
  virtual Status UndefineDomain(const std::string& uuid) = 0;  // OK (idempotent) if absent
  // Local disks for domains (qcow2 in the host's disk directory).
  virtual Status CreateDisk(const std::string& path, std::int64_t size_gib) = 0;  // idempotent
  virtual Status DeleteDisk(const std::string& path) = 0;  // OK if absent
};

}  // namespace govpool::agent
