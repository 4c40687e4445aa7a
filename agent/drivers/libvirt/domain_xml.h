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

// One <disk> element, e.g. for AttachDisk's hot-plug (virDomainAttachDeviceFlags):
//   file: <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
//         <source file='/p'/><target dev='vdb' bus='virtio'/>[<serial>][<readonly/>]</disk>
//   RBD:  <disk type='network' device='disk'>
//         <driver name='qemu' type='raw' cache='none' discard='unmap'/>
//         [<auth username='admin'><secret type='ceph' uuid='...'/></auth>]
//         <source protocol='rbd' name='pool/image'><host name='127.0.0.1' port='6789'/>...
//         </source><target dev='vdb' bus='virtio'/>[<serial>][<readonly/>]</disk>
// kInvalidArgument when ValidateDiskSpec refuses the disk or a value holds a control character.
Result<std::string> BuildDiskXml(const DiskSpec& disk);

// Every <disk> element of a domain definition (live or persistent), in document order.
struct DiskElement {
  std::string target_dev;  // target/@dev ("" when missing)
  std::string device;      // @device: "disk", "cdrom", "lun"...
  // True when the source is one govpool can describe (a file or block device, or an RBD
  // image); `spec` then holds it as a DiskSpec (a block device's path as `path`).
  bool known = false;
  DiskSpec spec;
  std::string xml;  // the element itself, serialized (what virDomainDetachDeviceFlags takes)
};
std::vector<DiskElement> ParseDiskElements(std::string_view domain_xml);

// The disks DomainInfo reports: the known device='disk' elements of ParseDiskElements. A disk
// written by BuildDomainXml or BuildDiskXml reads back equal to its DiskSpec (libvirt's
// additions, such as <alias> and <address>, are ignored). XML that does not parse: none.
std::vector<DiskSpec> ParseDomainDisks(std::string_view domain_xml);

// One <interface> element, e.g. for AttachNic's hot-plug:
//   <interface type='bridge'><mac address='02:..'/><source bridge='br-int'/>
//     <virtualport type='openvswitch'><parameters interfaceid='PORT_ID'/></virtualport>
//     <target dev='tapPORTIDPREF'/><model type='virtio'/>
//     <driver name='qemu'><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/>
//       <guest csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>
//     [<mtu size='1400'/>]</interface>
// (the tap name is NicTapName; the offloads are off because OVS's userspace datapath would
// forward partial checksums unfinished). kInvalidArgument when ValidateNicSpec refuses it.
Result<std::string> BuildNicXml(const NicSpec& nic);

// Every <interface> element of a domain definition (live or persistent), in document order.
struct NicElement {
  // True for a bridge interface with an openvswitch virtualport and an interfaceid (what
  // govpool writes); `spec` then describes it.
  bool known = false;
  NicSpec spec;
  std::string tap;  // target/@dev ("" when missing)
  std::string xml;  // the element itself, serialized (what virDomainDetachDeviceFlags takes)
};
std::vector<NicElement> ParseNicElements(std::string_view domain_xml);

// The NICs DomainInfo reports: the known elements of ParseNicElements. A NIC written by
// BuildDomainXml or BuildNicXml reads back equal to its NicSpec.
std::vector<NicSpec> ParseDomainNics(std::string_view domain_xml);

// A libvirt secret definition: private (its value cannot be read back through the API),
// persistent (not ephemeral), usage type ceph named `usage_name`. kInvalidArgument for a bad
// uuid or an empty usage name (or one with a control character).
Result<std::string> BuildCephSecretXml(const std::string& uuid, const std::string& usage_name);

// The usage of a secret definition (virSecretGetXMLDesc): type ("ceph", "volume"...) and its
// name (<name>, or <volume>/<target> for other types); empty when missing or unparsable.
struct SecretUsage {
  std::string type;
  std::string name;
};
SecretUsage ParseSecretUsage(std::string_view secret_xml);

// The bytes of standard base64 text (RFC 4648 alphabet, '=' padding optional, no whitespace);
// kInvalidArgument when it is not that.
Result<std::string> DecodeBase64(std::string_view text);

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
