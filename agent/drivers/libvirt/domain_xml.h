// Domain and capabilities XML for LibvirtHypervisor: building a domain definition from a
// DomainSpec and reading back the few things govpool needs (its metadata, host capabilities).
// Pure functions on strings (no libvirt calls), so they are cheap to test. Thread-safe.
//
// The parsers are deliberately small scanners for the XML libvirt itself emits (attributes in
// single quotes, no CDATA), not general XML parsers.
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

// `text` with &, <, >, " and ' replaced by entities; valid in element text and attributes.
std::string XmlEscape(std::string_view text);
// Reverses XmlEscape, plus numeric character references (&#10; &#x41;).
std::string XmlUnescape(std::string_view text);

// The full <domain> definition for `spec`. kInvalidArgument when the spec is malformed (no or
// bad UUID, empty name, non-positive vCPUs or memory, relative paths, empty domain type).
Result<std::string> BuildDomainXml(const DomainSpec& spec);

// The key/value entries of a govpool metadata element (as returned by virDomainGetMetadata or
// found inside a full domain XML). Entries whose element is not "<prefix:entry key=...>" are
// ignored; any namespace prefix is accepted (libvirt may rewrite it).
std::map<std::string, std::string> ParseMetadataEntries(std::string_view xml);

// The facts virConnectGetCapabilities XML carries: host CPU model, NUMA cells (cpus, memory) and
// the domain types offered for `host_arch` (e.g. "x86_64"; empty: the host's <arch>).
struct CapabilitiesFacts {
  std::string cpu_model;
  std::string host_arch;
  std::vector<NumaCellFacts> numa_cells;
  std::vector<std::string> domain_types;
};
CapabilitiesFacts ParseCapabilities(std::string_view xml);

}  // namespace govpool::agent::libvirt
