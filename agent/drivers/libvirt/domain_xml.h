// Domain and capabilities XML for LibvirtHypervisor: building a domain definition from a
// DomainSpec and reading back the few things govpool needs (its metadata, host capabilities).
// Pure functions on strings (no libvirt calls), so they are cheap to test. Thread-safe.
//
// Reading and writing go through an XML library (pugixml, kept out of this header), so any
// well-formed XML is understood (either quote style, CDATA, comments, character references)
// and every value written is escaped.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/drivers/hypervisor.h"
#include "common/result.h"

namespace govpool::agent::libvirt {

// The XML namespace of govpool's domain metadata and the prefix used when writing it:
//   <metadata>
//     <govpool:instance xmlns:govpool="https://govpool.org/xmlns/instance/1">
//       <govpool:entry key="department">eng</govpool:entry> ...
//     </govpool:instance>
//   </metadata>
inline constexpr std::string_view kMetadataNamespace = "https://govpool.org/xmlns/instance/1";
inline constexpr std::string_view kMetadataPrefix = "govpool";

// The full <domain> definition for `spec`. kInvalidArgument when the spec is malformed (no or
// bad UUID, empty name, non-positive vCPUs or memory, relative paths, empty domain type, text
// with a control character other than tab, newline or carriage return).
Result<std::string> BuildDomainXml(const DomainSpec& spec);

// The key/value entries of govpool's metadata element: the <entry key=...> children of either
// a root <instance> element (virDomainGetMetadata returns it so, namespace stripped) or an
// <instance> element in the kMetadataNamespace namespace inside a full domain XML, under any
// prefix (libvirt may rewrite it). Other elements, entries without a key and other namespaces
// are ignored; XML that does not parse yields no entries.
std::map<std::string, std::string> ParseMetadataEntries(std::string_view xml);

// The facts virConnectGetCapabilities XML carries: host CPU model, NUMA cells (cpus, memory) and
// the domain types offered for `host_arch` (e.g. "x86_64"; empty: the host's <arch>).
// Missing parts (or XML that does not parse) leave their fields empty.
struct CapabilitiesFacts {
  std::string cpu_model;
  std::string host_arch;
  std::vector<NumaCellFacts> numa_cells;
  std::vector<std::string> domain_types;
};
CapabilitiesFacts ParseCapabilities(std::string_view xml);

}  // namespace govpool::agent::libvirt
