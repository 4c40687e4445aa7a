// What one scrape of an agent's /metrics costs (AgentMetrics::Render: one bulk hypervisor call,
// the families, the text), at N VMs with 2 disks and 2 NICs each, over FakeHypervisor (our side
// alone); with --libvirt-uri, over the real libvirt of this host (its bulk call included, every
// domain on the host labelled as assigned). Prints JSON. Usage:
//   agent_metrics_bench [--vms 100] [--scrapes 200] [--libvirt-uri qemu:///system]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/drivers/libvirt/libvirt_hypervisor.h"
#include "common/clock.h"
#include "common/ids.h"
#include "tests/fakes/agent/fake_hypervisor.h"

namespace {

using govpool::agent::AgentMetrics;
using govpool::agent::DomainStats;

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  int vms = 100;
  int scrapes = 200;
  std::string libvirt_uri;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--vms") vms = std::atoi(argv[i + 1]);
    else if (flag == "--scrapes") scrapes = std::atoi(argv[i + 1]);
    else if (flag == "--libvirt-uri") libvirt_uri = argv[i + 1];
    else return std::fprintf(stderr, "unknown flag %s\n", flag.c_str()), 2;
  }
  std::unique_ptr<govpool::agent::Hypervisor> hv;
  govpool::api::WatchAnswer desired;
  if (libvirt_uri.empty()) {
    auto fake = std::make_unique<govpool::agent::FakeHypervisor>();
    for (int i = 0; i < vms; ++i) {
      govpool::agent::DomainSpec spec;
      spec.uuid = govpool::NewUuid();
      spec.name = "govpool-" + spec.uuid;
      spec.domain_type = "qemu";
      if (!fake->DefineDomain(spec).ok() || !fake->StartDomain(spec.uuid).ok()) return 1;
      DomainStats s;
      s.cpu_time_ns = 123'456'789'000ULL + static_cast<std::uint64_t>(i);
      s.vcpus = 2;
      s.memory_bytes = 4LL << 30;
      s.memory_used_bytes = 3LL << 30;
      s.disks = {{"vda", 1ULL << 30, 10000, 2ULL << 30, 20000}, {"vdb", 1ULL << 31, 30000, 1ULL << 29, 4000}};
      s.nics = {{"tap" + spec.uuid.substr(0, 11), 1ULL << 32, 3, 1ULL << 31, 0},
                {"tap" + spec.uuid.substr(24, 11), 1ULL << 20, 0, 1ULL << 21, 0}};
      fake->SetGuestStats(spec.uuid, s);
      govpool::api::Vm vm;
      vm.meta.id = spec.uuid;
      vm.name = "vm-" + std::to_string(i);
      vm.department_id = govpool::NewUuid();
      desired.items.push_back(vm);
    }
    hv = std::move(fake);
  } else {
    auto opened = govpool::agent::LibvirtHypervisor::Open({libvirt_uri, "qemu-img"});
    if (!opened.ok()) return std::fprintf(stderr, "%s\n", opened.status().ToString().c_str()), 1;
    hv = std::move(*opened);
    auto domains = hv->GetDomainStats();
    if (!domains.ok()) return std::fprintf(stderr, "%s\n", domains.status().ToString().c_str()), 1;
    for (const DomainStats& d : *domains) {
      govpool::api::Vm vm;
      vm.meta.id = d.uuid;
      vm.name = d.name;
      vm.department_id = "bench";
      desired.items.push_back(vm);
    }
    vms = static_cast<int>(desired.items.size());
  }
  govpool::api::RegisterHostRequest registration;
  registration.capacity = {64, 256 * 1024, 2000, {}};
  AgentMetrics metrics(*hv, registration, govpool::SystemClock());
  const govpool::Result<govpool::agent::ReconcileSummary> ok = govpool::agent::ReconcileSummary{};
  metrics.ObservePass({desired, std::chrono::milliseconds(50), ok});
  std::vector<double> ms;
  std::size_t bytes = 0;
  std::size_t lines = 0;
  for (int i = 0; i < scrapes; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string text = metrics.Render();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    bytes = text.size();
    lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  std::printf(
      "{\"hypervisor\":\"%s\",\"vms\":%d,\"scrapes\":%d,\"render_ms_p50\":%.3f,\"render_ms_p99\":%.3f,"
      "\"exposition_bytes\":%zu,\"exposition_lines\":%zu}\n",
      libvirt_uri.empty() ? "fake" : libvirt_uri.c_str(), vms, scrapes, Percentile(ms, 0.5), Percentile(ms, 0.99), bytes,
      lines);
  return 0;
}
