// Domain and capabilities XML on pugixml.
//
// Why pugixml rather than libxml2 (both are Debian packages): a C++ DOM whose documents free
// themselves (RAII), no process-wide parser state to initialise or clean up and no global
// error handler, a parser that never loads DTDs or resolves external entities (with libxml2
// every parse must switch those off correctly), and an output step that escapes text and
// attribute values itself, so building a domain definition cannot produce broken XML. What
// libxml2 offers beyond that (validation, full namespace support, XPath 1.0 with namespaces)
// is not needed for the few facts read here; the one namespace check (govpool's metadata
// element) is done by resolving its xmlns declaration by hand.
#include "agent/drivers/libvirt/domain_xml.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "common/ids.h"

namespace govpool::agent::libvirt {
namespace {

// The part of an element or attribute name after its namespace prefix ("govpool:entry" ->
// "entry").
std::string_view LocalName(const char* name) {
  const char* colon = std::strchr(name, ':');
  return colon == nullptr ? std::string_view(name) : std::string_view(colon + 1);
}

// The namespace URI of `element`: the nearest xmlns (unprefixed name) or xmlns:prefix
// declaration on it or an ancestor; empty when none is in scope.
std::string_view NamespaceOf(const pugi::xml_node& element) {
  const std::string_view name = element.name();
  const size_t colon = name.find(':');
  const std::string attribute =
      colon == std::string_view::npos ? "xmlns" : "xmlns:" + std::string(name.substr(0, colon));
  for (pugi::xml_node n = element; n.type() == pugi::node_element; n = n.parent()) {
    if (const pugi::xml_attribute a = n.attribute(attribute.c_str())) return a.value();
  }
  return {};
}

std::int64_t KibToMib(std::int64_t value, std::string_view unit) {
  if (unit == "MiB" || unit == "M") return value;
  if (unit == "GiB" || unit == "G") return value * 1024;
  if (unit == "bytes" || unit == "b") return value / (1024 * 1024);
  return value / 1024;  // KiB, libvirt's default
}

// Appends <name>text</name> to `parent`.
pugi::xml_node AppendText(pugi::xml_node parent, const char* name, const std::string& text) {
  pugi::xml_node node = parent.append_child(name);
  node.text().set(text.c_str(), text.size());
  return node;
}

void SetAttribute(pugi::xml_node node, const char* name, const std::string& value) {
  node.append_attribute(name).set_value(value.c_str(), value.size());
}

struct StringWriter final : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

// XML 1.0 cannot carry NUL or the other control characters but tab, newline and carriage
// return, not even as character references: libvirt would refuse the whole definition.
Status CheckXmlText(std::string_view what, std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return InvalidArgument("domain spec: " + std::string(what) +
                             " holds a control character XML cannot carry");
    }
  }
  return OkStatus();
}

Status CheckDiskText(const DiskSpec& disk) {
  GP_RETURN_IF_ERROR(CheckXmlText("disk path", disk.path));
  GP_RETURN_IF_ERROR(CheckXmlText("disk format", disk.format));
  GP_RETURN_IF_ERROR(CheckXmlText("disk target", disk.target_dev));
  GP_RETURN_IF_ERROR(CheckXmlText("cephx user", disk.auth_user));
  for (const auto& host : disk.rbd_hosts) GP_RETURN_IF_ERROR(CheckXmlText("monitor", host));
  return OkStatus();
}

// "host:port" / "[v6]:port" (validated by ValidateDiskSpec) split for <host name= port=>.
std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, address.substr(colon + 1)};
}

// Appends the <disk> element for `disk` (already validated) to `devices`.
void AppendDisk(pugi::xml_node devices, const DiskSpec& disk) {
  pugi::xml_node d = devices.append_child("disk");
  const bool rbd = disk.kind() == DiskSourceKind::kRbd;
  SetAttribute(d, "type", rbd ? "network" : "file");
  SetAttribute(d, "device", "disk");
  pugi::xml_node driver = d.append_child("driver");
  SetAttribute(driver, "name", "qemu");
  SetAttribute(driver, "type", disk.format);
  if (rbd) {
    // No host page cache between the guest and a network image (also what live migration
    // needs); guest TRIM/discard frees RBD objects.
    SetAttribute(driver, "cache", "none");
    SetAttribute(driver, "discard", "unmap");
    if (!disk.auth_user.empty()) {
      pugi::xml_node auth = d.append_child("auth");
      SetAttribute(auth, "username", disk.auth_user);
      pugi::xml_node secret = auth.append_child("secret");
      SetAttribute(secret, "type", "ceph");
      SetAttribute(secret, "uuid", disk.secret_uuid);
    }
    pugi::xml_node source = d.append_child("source");
    SetAttribute(source, "protocol", "rbd");
    SetAttribute(source, "name", disk.rbd_pool + "/" + disk.rbd_image);
    for (const auto& address : disk.rbd_hosts) {
      const auto [host, port] = SplitHostPort(address);
      pugi::xml_node h = source.append_child("host");
      SetAttribute(h, "name", host);
      SetAttribute(h, "port", port);
    }
  } else {
    SetAttribute(d.append_child("source"), "file", disk.path);
  }
  pugi::xml_node target = d.append_child("target");
  SetAttribute(target, "dev", disk.target_dev);
  SetAttribute(target, "bus", "virtio");
  if (!disk.serial.empty()) AppendText(d, "serial", disk.serial);
  if (disk.read_only) d.append_child("readonly");
}

// Appends the <interface> element for `nic` (already validated) to `devices`: a tap on an Open
// vSwitch bridge whose OVS port carries iface-id = port id (libvirt runs ovs-vsctl for that),
// a virtio NIC with every checksum and segmentation offload off. Why off: the tap is a kernel
// device read by OVS's userspace datapath (AF_PACKET, no virtio-net header), which forwards
// a packet left with a partial checksum as it is: TCP and UDP would fail silently while ping
// works. With the host offloads off the guest computes full checksums itself; with the guest
// offloads off QEMU hands it only finished packets. driver name='qemu': QEMU's own virtio-net
// backend, no vhost-net (the offload switches apply to both; vhost-net needs a device node
// not every host has).
void AppendNic(pugi::xml_node devices, const NicSpec& nic) {
  pugi::xml_node n = devices.append_child("interface");
  SetAttribute(n, "type", "bridge");
  SetAttribute(n.append_child("mac"), "address", nic.mac);
  SetAttribute(n.append_child("source"), "bridge", nic.bridge);
  pugi::xml_node virtualport = n.append_child("virtualport");
  SetAttribute(virtualport, "type", "openvswitch");
  SetAttribute(virtualport.append_child("parameters"), "interfaceid", nic.port_id);
  SetAttribute(n.append_child("target"), "dev", NicTapName(nic.port_id));
  SetAttribute(n.append_child("model"), "type", "virtio");
  pugi::xml_node driver = n.append_child("driver");
  SetAttribute(driver, "name", "qemu");
  pugi::xml_node host = driver.append_child("host");
  for (const char* feature : {"csum", "gso", "tso4", "tso6", "ecn", "ufo"}) {
    SetAttribute(host, feature, "off");
  }
  pugi::xml_node guest = driver.append_child("guest");
  for (const char* feature : {"csum", "tso4", "tso6", "ecn", "ufo"}) {
    SetAttribute(guest, feature, "off");
  }
  if (nic.mtu != 0) SetAttribute(n.append_child("mtu"), "size", std::to_string(nic.mtu));
}

std::string Serialize(const pugi::xml_node& node) {
  StringWriter writer;
  node.print(writer, "  ",
             pugi::format_indent | pugi::format_no_declaration |
                 pugi::format_attribute_single_quote,
             pugi::encoding_utf8);
  return std::move(writer.out);
}

Status CheckSpecText(const DomainSpec& spec) {
  GP_RETURN_IF_ERROR(CheckXmlText("name", spec.name));
  GP_RETURN_IF_ERROR(CheckXmlText("domain type", spec.domain_type));
  GP_RETURN_IF_ERROR(CheckXmlText("kernel path", spec.kernel_path));
  GP_RETURN_IF_ERROR(CheckXmlText("initrd path", spec.initrd_path));
  GP_RETURN_IF_ERROR(CheckXmlText("kernel command line", spec.kernel_cmdline));
  GP_RETURN_IF_ERROR(CheckXmlText("serial log path", spec.serial_log_path));
  for (const auto& disk : spec.disks) GP_RETURN_IF_ERROR(CheckDiskText(disk));
  for (const auto& [key, value] : spec.metadata) {
    GP_RETURN_IF_ERROR(CheckXmlText("metadata key", key));
    GP_RETURN_IF_ERROR(CheckXmlText("metadata value of '" + key + "'", value));
  }
  return OkStatus();
}

bool Parse(std::string_view xml, pugi::xml_document& doc) {
  return doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
}

}  // namespace

Result<std::string> BuildDomainXml(const DomainSpec& spec) {
  GP_RETURN_IF_ERROR(ValidateDomainSpec(spec));
  GP_RETURN_IF_ERROR(CheckSpecText(spec));

  pugi::xml_document doc;
  pugi::xml_node domain = doc.append_child("domain");
  SetAttribute(domain, "type", spec.domain_type);
  AppendText(domain, "name", spec.name);
  AppendText(domain, "uuid", spec.uuid);

  const std::string prefix(kMetadataPrefix);
  pugi::xml_node instance =
      domain.append_child("metadata").append_child((prefix + ":instance").c_str());
  SetAttribute(instance, ("xmlns:" + prefix).c_str(), std::string(kMetadataNamespace));
  const std::string entry_name = prefix + ":entry";
  for (const auto& [key, value] : spec.metadata) {
    SetAttribute(AppendText(instance, entry_name.c_str(), value), "key", key);
  }

  SetAttribute(AppendText(domain, "memory", std::to_string(spec.memory_mib)), "unit", "MiB");
  SetAttribute(AppendText(domain, "currentMemory", std::to_string(spec.memory_mib)), "unit",
               "MiB");
  SetAttribute(AppendText(domain, "vcpu", std::to_string(spec.vcpus)), "placement", "static");

  pugi::xml_node os = domain.append_child("os");
  AppendText(os, "type", "hvm");  // the host's architecture
  if (!spec.kernel_path.empty()) {
    AppendText(os, "kernel", spec.kernel_path);
    if (!spec.initrd_path.empty()) AppendText(os, "initrd", spec.initrd_path);
    if (!spec.kernel_cmdline.empty()) AppendText(os, "cmdline", spec.kernel_cmdline);
  } else {
    SetAttribute(os.append_child("boot"), "dev", "hd");
  }
  // ACPI and APIC: graceful shutdown/reboot and disk/NIC hot-plug need them.
  pugi::xml_node features = domain.append_child("features");
  features.append_child("acpi");
  features.append_child("apic");
  AppendText(domain, "on_poweroff", "destroy");
  AppendText(domain, "on_reboot", "restart");
  AppendText(domain, "on_crash", "destroy");

  pugi::xml_node devices = domain.append_child("devices");
  for (const auto& disk : spec.disks) AppendDisk(devices, disk);
  for (const auto& nic : spec.nics) AppendNic(devices, nic);
  if (!spec.serial_log_path.empty()) {
    for (const char* kind : {"serial", "console"}) {
      pugi::xml_node chardev = devices.append_child(kind);
      SetAttribute(chardev, "type", "file");
      pugi::xml_node source = chardev.append_child("source");
      SetAttribute(source, "path", spec.serial_log_path);
      SetAttribute(source, "append", "on");
      pugi::xml_node target = chardev.append_child("target");
      if (std::strcmp(kind, "console") == 0) SetAttribute(target, "type", "serial");
      SetAttribute(target, "port", "0");
    }
  }

  StringWriter writer;
  doc.save(writer, "  ",
           pugi::format_indent | pugi::format_no_declaration |
               pugi::format_attribute_single_quote,
           pugi::encoding_utf8);
  return std::move(writer.out);
}

Result<std::string> BuildDiskXml(const DiskSpec& disk) {
  GP_RETURN_IF_ERROR(ValidateDiskSpec(disk));
  GP_RETURN_IF_ERROR(CheckDiskText(disk));
  pugi::xml_document doc;
  AppendDisk(doc, disk);
  return Serialize(doc.first_child());
}

Result<std::string> BuildNicXml(const NicSpec& nic) {
  GP_RETURN_IF_ERROR(ValidateNicSpec(nic));
  pugi::xml_document doc;
  AppendNic(doc, nic);
  return Serialize(doc.first_child());
}

std::vector<NicElement> ParseNicElements(std::string_view domain_xml) {
  std::vector<NicElement> out;
  pugi::xml_document doc;
  if (!Parse(domain_xml, doc)) return out;
  for (const pugi::xml_node n : doc.child("domain").child("devices").children("interface")) {
    NicElement e;
    e.xml = Serialize(n);
    NicSpec& spec = e.spec;
    spec.mac = n.child("mac").attribute("address").value();
    spec.bridge = n.child("source").attribute("bridge").value();
    const pugi::xml_node virtualport = n.child("virtualport");
    spec.port_id = virtualport.child("parameters").attribute("interfaceid").value();
    spec.mtu = n.child("mtu").attribute("size").as_int(0);
    e.tap = n.child("target").attribute("dev").value();
    e.known = std::string_view(n.attribute("type").value()) == "bridge" &&
              std::string_view(virtualport.attribute("type").value()) == "openvswitch" &&
              !spec.port_id.empty();
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<NicSpec> ParseDomainNics(std::string_view domain_xml) {
  std::vector<NicSpec> nics;
  for (NicElement& e : ParseNicElements(domain_xml)) {
    if (e.known) nics.push_back(std::move(e.spec));
  }
  return nics;
}

std::vector<DiskElement> ParseDiskElements(std::string_view domain_xml) {
  std::vector<DiskElement> out;
  pugi::xml_document doc;
  if (!Parse(domain_xml, doc)) return out;
  for (const pugi::xml_node d : doc.child("domain").child("devices").children("disk")) {
    DiskElement e;
    e.device = d.attribute("device").as_string("disk");
    e.target_dev = d.child("target").attribute("dev").value();
    e.xml = Serialize(d);
    const std::string type = d.attribute("type").value();
    const pugi::xml_node source = d.child("source");
    DiskSpec& spec = e.spec;
    spec.target_dev = e.target_dev;
    spec.format = d.child("driver").attribute("type").as_string("raw");
    spec.serial = d.child_value("serial");
    spec.read_only = static_cast<bool>(d.child("readonly"));
    if (type == "file" || type == "block") {
      spec.path = source.attribute(type == "file" ? "file" : "dev").value();
      e.known = !spec.path.empty();
    } else if (type == "network" && std::string_view(source.attribute("protocol").value()) ==
                                        "rbd") {
      const std::string name = source.attribute("name").value();
      const size_t slash = name.find('/');
      if (slash != std::string::npos) {
        spec.rbd_pool = name.substr(0, slash);
        spec.rbd_image = name.substr(slash + 1);
      }
      for (const pugi::xml_node h : source.children("host")) {
        std::string host = h.attribute("name").value();
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        spec.rbd_hosts.push_back(host + ":" + h.attribute("port").as_string("6789"));
      }
      // libvirt keeps <auth> where it was written: under <disk> (ours) or <source>.
      pugi::xml_node auth = d.child("auth");
      if (!auth) auth = source.child("auth");
      spec.auth_user = auth.attribute("username").value();
      spec.secret_uuid = auth.child("secret").attribute("uuid").value();
      e.known = !spec.rbd_pool.empty() && !spec.rbd_image.empty();
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<DiskSpec> ParseDomainDisks(std::string_view domain_xml) {
  std::vector<DiskSpec> disks;
  for (DiskElement& e : ParseDiskElements(domain_xml)) {
    if (e.known && e.device == "disk") disks.push_back(std::move(e.spec));
  }
  return disks;
}

Result<std::string> BuildCephSecretXml(const std::string& uuid, const std::string& usage_name) {
  if (!IsUuid(uuid)) return InvalidArgument("bad secret uuid '" + uuid + "'");
  if (usage_name.empty()) return InvalidArgument("empty secret usage name");
  GP_RETURN_IF_ERROR(CheckXmlText("secret usage name", usage_name));
  pugi::xml_document doc;
  pugi::xml_node secret = doc.append_child("secret");
  SetAttribute(secret, "ephemeral", "no");
  SetAttribute(secret, "private", "yes");
  AppendText(secret, "uuid", uuid);
  pugi::xml_node usage = secret.append_child("usage");
  SetAttribute(usage, "type", "ceph");
  AppendText(usage, "name", usage_name);
  return Serialize(secret);
}

SecretUsage ParseSecretUsage(std::string_view secret_xml) {
  SecretUsage u;
  pugi::xml_document doc;
  if (!Parse(secret_xml, doc)) return u;
  const pugi::xml_node usage = doc.child("secret").child("usage");
  u.type = usage.attribute("type").value();
  u.name = usage.child("name") ? usage.child_value("name")
                               : usage.child(u.type == "volume" ? "volume" : "target").text().get();
  return u;
}

Result<std::string> DecodeBase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return InvalidArgument("not base64: bad length");
  std::string out;
  std::uint32_t bits = 0;
  int nbits = 0;
  for (const char c : text) {
    const int v = value(c);
    if (v < 0) return InvalidArgument("not base64: unexpected character");
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  return out;
}

std::map<std::string, std::string> ParseMetadataEntries(std::string_view xml) {
  std::map<std::string, std::string> entries;
  pugi::xml_document doc;
  if (!Parse(xml, doc)) return entries;
  // virDomainGetMetadata returns govpool's element as the root, its namespace stripped
  // ("<instance><entry key=...>"): libvirt already selected it by namespace. In a full domain
  // definition it sits under <metadata> with its namespace declared, under any prefix.
  const pugi::xml_node root = doc.document_element();
  const bool root_is_ours = LocalName(root.name()) == "instance" &&
                            (NamespaceOf(root).empty() || NamespaceOf(root) == kMetadataNamespace);
  const pugi::xpath_node_set instances =
      root_is_ours ? pugi::xpath_node_set() : doc.select_nodes("//*[local-name()='instance']");
  std::vector<pugi::xml_node> ours;
  if (root_is_ours) ours.push_back(root);
  for (const pugi::xpath_node& found : instances) {
    if (NamespaceOf(found.node()) == kMetadataNamespace) ours.push_back(found.node());
  }
  for (const pugi::xml_node& instance : ours) {
    for (const pugi::xml_node entry : instance.children()) {
      if (entry.type() != pugi::node_element || LocalName(entry.name()) != "entry") continue;
      const pugi::xml_attribute key = entry.attribute("key");
      if (!key) continue;
      entries[key.value()] = entry.text().get();
    }
  }
  return entries;
}

CapabilitiesFacts ParseCapabilities(std::string_view xml) {
  CapabilitiesFacts facts;
  pugi::xml_document doc;
  if (!Parse(xml, doc)) return facts;
  const pugi::xml_node capabilities = doc.child("capabilities");
  const pugi::xml_node host = capabilities.child("host");
  const pugi::xml_node cpu = host.child("cpu");
  facts.host_arch = cpu.child_value("arch");
  facts.cpu_model = cpu.child_value("model");

  for (const pugi::xml_node cell : host.child("topology").child("cells").children("cell")) {
    NumaCellFacts c;
    c.id = cell.attribute("id").as_int();
    if (const pugi::xml_node memory = cell.child("memory")) {
      c.memory_mib = KibToMib(memory.text().as_llong(), memory.attribute("unit").as_string("KiB"));
    }
    c.cpus = cell.child("cpus").attribute("num").as_llong();
    facts.numa_cells.push_back(c);
  }

  std::vector<std::string> all_types;
  auto add = [](std::vector<std::string>& types, const std::string& type) {
    for (const auto& t : types) {
      if (t == type) return;
    }
    types.push_back(type);
  };
  for (const pugi::xml_node guest : capabilities.children("guest")) {
    const pugi::xml_node arch = guest.child("arch");
    for (const pugi::xml_node domain : arch.children("domain")) {
      const std::string type = domain.attribute("type").value();
      if (type.empty()) continue;
      add(all_types, type);
      if (facts.host_arch == arch.attribute("name").value()) add(facts.domain_types, type);
    }
  }
  if (facts.domain_types.empty()) facts.domain_types = all_types;
  return facts;
}

}  // namespace govpool::agent::libvirt
