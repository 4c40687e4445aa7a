#include "agent/watched_items.h"

#include "common/ids.h"

namespace govpool::agent {
namespace {

// What was sent, quoted safely into a message (bounded; control bytes replaced).
std::string Quoted(const std::string& sent) {
  std::string out = "'";
  for (char c : sent.substr(0, 64)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out + (sent.size() > 64 ? "...'" : "'");
}

}  // namespace

Status CheckWatchedVm(const api::Vm& vm, const std::string& host_id) {
  if (!IsUuid(vm.meta.id)) return InvalidArgument("a watched VM's id is not a UUID: " + Quoted(vm.meta.id));
  const std::string which = "VM " + vm.meta.id;
  if (vm.host_id != host_id) {
    return InvalidArgument(which + " is placed on host " + Quoted(vm.host_id) + ", not on this one");
  }
  if (vm.vcpus < 1 || vm.vcpus > kMaxVmVcpus) {
    return InvalidArgument(which + " has " + std::to_string(vm.vcpus) + " vCPUs (1-" +
                           std::to_string(kMaxVmVcpus) + ")");
  }
  if (vm.memory_mib < 1 || vm.memory_mib > kMaxVmMemoryMib) {
    return InvalidArgument(which + " has " + std::to_string(vm.memory_mib) + " MiB of memory");
  }
  if (vm.disk_gib < 0 || vm.disk_gib > kMaxVmDiskGib) {
    return InvalidArgument(which + " has a " + std::to_string(vm.disk_gib) + " GiB local disk");
  }
  return OkStatus();
}

}  // namespace govpool::agent
