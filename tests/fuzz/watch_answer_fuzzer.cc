// The watch answer as the agent receives it (docs/security.md, "The agent trusts nothing it is
// sent"): decoded as the agent's client decodes it, then one reconcile pass of this host's VMs
// over a fake hypervisor. Besides crashes, leaks and undefined behaviour, it fails when the pass
// made anything from an item CheckWatchedVm should have refused: a domain whose id is not a
// UUID or whose VM is not placed on this host, or a disk outside the agent's disk directory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "agent/reconciler.h"
#include "api/codec.h"
#include "common/ids.h"
#include "tests/fakes/agent/fake_controller_client.h"
#include "tests/fakes/agent/fake_hypervisor.h"

namespace govpool::agent {
namespace {

constexpr char kHostId[] = "5b0c1e2a-6f1d-4c39-9a57-2f1e8c3d4b70";
constexpr char kDiskDir[] = "/var/lib/govpool/disks";

[[noreturn]] void Broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "watch item not refused: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace
}  // namespace govpool::agent

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace govpool;
  using namespace govpool::agent;
  auto answer = api::Decode<api::WatchAnswer>(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!answer.ok()) return 0;

  FakeHypervisor hypervisor;
  FakeControllerClient controller;
  ReconcilerOptions options;
  options.host_id = kHostId;
  options.domain_type = "qemu";
  options.disk_dir = kDiskDir;
  Reconciler reconciler(hypervisor, controller, options);
  (void)reconciler.Reconcile(*answer);

  std::set<std::string> placed_here;
  for (const api::Vm& vm : answer->items) {
    if (vm.host_id == kHostId && IsUuid(vm.meta.id)) placed_here.insert(vm.meta.id);
  }
  auto domains = hypervisor.ListDomains();
  if (!domains.ok()) std::abort();
  for (const DomainInfo& d : *domains) {
    if (!IsUuid(d.uuid)) Broken("a domain whose id is not a UUID", d.uuid);
    if (d.name != Reconciler::DomainName(d.uuid)) Broken("a domain named otherwise", d.name);
    if (!placed_here.count(d.uuid)) Broken("a domain of a VM not placed on this host", d.uuid);
  }
  // The hypervisor started empty, so every disk came from an item of this answer.
  std::set<std::string> disks_of_uuid_items;
  for (const api::Vm& vm : answer->items) {
    if (IsUuid(vm.meta.id)) disks_of_uuid_items.insert(reconciler.DiskPath(vm.meta.id));
  }
  for (const std::string& disk : hypervisor.Disks()) {
    if (!disks_of_uuid_items.count(disk)) Broken("a disk outside the agent's directory", disk);
  }
  return 0;
}
