// libvirt's XML as the agent reads it (agent/drivers/libvirt/domain_xml.h): a domain definition
// (disks, NICs, govpool's metadata), a secret's usage, the host's capabilities, base64. Besides
// crashes, leaks and undefined behaviour, it checks the reader's round-trip promise: a disk or
// NIC read from any XML that the writer accepts is written as XML that reads back equal (what
// the agent redefines or hot-plugs is what it read).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/drivers/libvirt/domain_xml.h"

namespace govpool::agent::libvirt {
namespace {

[[noreturn]] void Broken(const char* what, const std::string& xml) {
  std::fprintf(stderr, "%s; written as: %s\n", what, xml.c_str());
  std::abort();
}

}  // namespace
}  // namespace govpool::agent::libvirt

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace govpool::agent;
  using namespace govpool::agent::libvirt;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  (void)ParseDiskElements(xml);
  (void)ParseNicElements(xml);
  (void)ParseSecretUsage(xml);
  (void)ParseMetadataEntries(xml);
  (void)ParseCapabilities(xml);
  (void)DecodeBase64(xml);
  for (const DiskSpec& disk : ParseDomainDisks(xml)) {
    auto written = BuildDiskXml(disk);
    if (!written.ok()) continue;
    const std::vector<DiskSpec> again = ParseDomainDisks("<domain><devices>" + *written + "</devices></domain>");
    if (again.size() != 1 || !(again[0] == disk)) Broken("a disk read back differently", *written);
  }
  for (const NicSpec& nic : ParseDomainNics(xml)) {
    auto written = BuildNicXml(nic);
    if (!written.ok()) continue;
    const std::vector<NicSpec> again = ParseDomainNics("<domain><devices>" + *written + "</devices></domain>");
    if (again.size() != 1 || !(again[0] == nic)) Broken("a NIC read back differently", *written);
  }
  return 0;
}
