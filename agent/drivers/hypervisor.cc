#include "agent/drivers/hypervisor.h"

#include "common/ids.h"

namespace govpool::agent {
namespace {

bool IsAbsolute(const std::string& path) { return !path.empty() && path.front() == '/'; }

}  // namespace

Status ValidateDomainSpec(const DomainSpec& spec) {
  if (!IsUuid(spec.uuid)) return InvalidArgument("domain spec: bad uuid '" + spec.uuid + "'");
  if (spec.name.empty()) return InvalidArgument("domain spec: empty name");
  if (spec.domain_type.empty()) return InvalidArgument("domain spec: empty domain type");
  if (spec.vcpus < 1) return InvalidArgument("domain spec: vcpus must be >= 1");
  if (spec.memory_mib < 1) return InvalidArgument("domain spec: memory_mib must be >= 1");
  for (const auto& disk : spec.disks) {
    if (!IsAbsolute(disk.path)) {
      return InvalidArgument("domain spec: disk path must be absolute: '" + disk.path + "'");
    }
    if (disk.target_dev.empty() || disk.format.empty()) {
      return InvalidArgument("domain spec: disk needs a target device and a format");
    }
  }
  for (const std::string* p : {&spec.kernel_path, &spec.initrd_path, &spec.serial_log_path}) {
    if (!p->empty() && !IsAbsolute(*p)) {
      return InvalidArgument("domain spec: path must be absolute: '" + *p + "'");
    }
  }
  if (spec.kernel_path.empty() && !spec.initrd_path.empty()) {
    return InvalidArgument("domain spec: an initrd needs a kernel");
  }
  return OkStatus();
}

}  // namespace govpool::agent
