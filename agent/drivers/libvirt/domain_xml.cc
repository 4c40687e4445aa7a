#include "agent/drivers/libvirt/domain_xml.h"

#include <charconv>
#include <cstdint>
#include <string>

#include "common/ids.h"

namespace govpool::agent::libvirt {
namespace {

// The body between the first `open` at or after `from` and the next `close`; empty if absent.
// `*next` (when given) is set just past `close`, or to npos.
std::string_view Between(std::string_view xml, std::string_view open, std::string_view close,
                         size_t from = 0, size_t* next = nullptr) {
  if (next != nullptr) *next = std::string_view::npos;
  const size_t a = xml.find(open, from);
  if (a == std::string_view::npos) return {};
  const size_t body = a + open.size();
  const size_t b = xml.find(close, body);
  if (b == std::string_view::npos) return {};
  if (next != nullptr) *next = b + close.size();
  return xml.substr(body, b - body);
}

// The value of attribute `name` in the start tag that begins at `tag` (quotes ' or ").
std::string_view Attribute(std::string_view tag, std::string_view name) {
  const size_t end = tag.find('>');
  const std::string_view head = tag.substr(0, end);
  size_t pos = 0;
  while (true) {
    pos = head.find(name, pos);
    if (pos == std::string_view::npos) return {};
    const bool starts_word = pos == 0 || head[pos - 1] == ' ' || head[pos - 1] == '\t' ||
                             head[pos - 1] == '\n';
    const size_t eq = pos + name.size();
    if (starts_word && eq + 1 < head.size() && head[eq] == '=' &&
        (head[eq + 1] == '\'' || head[eq + 1] == '"')) {
      const char quote = head[eq + 1];
      const size_t close = head.find(quote, eq + 2);
      if (close == std::string_view::npos) return {};
      return head.substr(eq + 2, close - eq - 2);
    }
    pos = eq;
  }
}

std::int64_t ToInt(std::string_view s) {
  std::int64_t v = 0;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.remove_prefix(1);
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::int64_t KibToMib(std::int64_t value, std::string_view unit) {
  if (unit == "MiB" || unit == "M") return value;
  if (unit == "GiB" || unit == "G") return value * 1024;
  if (unit == "bytes" || unit == "b") return value / (1024 * 1024);
  return value / 1024;  // KiB, libvirt's default
}


}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const size_t semi = text.find(';', i);
    if (semi == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp") out += '&';
    else if (entity == "lt") out += '<';
    else if (entity == "gt") out += '>';
    else if (entity == "quot") out += '"';
    else if (entity == "apos") out += '\'';
    else if (entity.size() > 1 && entity[0] == '#') {
      std::uint32_t cp = 0;
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      // UTF-8 encode.
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      out += text.substr(i, semi - i + 1);  // unknown entity: keep as is
    }
    i = semi;
  }
  return out;
}

Result<std::string> BuildDomainXml(const DomainSpec& spec) {
  GP_RETURN_IF_ERROR(ValidateDomainSpec(spec));

  std::string x;
  x.reserve(2048);
  x += "<domain type='" + XmlEscape(spec.domain_type) + "'>\n";
  x += "  <name>" + XmlEscape(spec.name) + "</name>\n";
  x += "  <uuid>" + XmlEscape(spec.uuid) + "</uuid>\n";
  x += "  <metadata>\n";
  x += "    <" + std::string(kMetadataPrefix) + ":instance xmlns:" +
       std::string(kMetadataPrefix) + "=\"" + std::string(kMetadataNamespace) + "\">\n";
  for (const auto& [key, value] : spec.metadata) {
    x += "      <" + std::string(kMetadataPrefix) + ":entry key=\"" + XmlEscape(key) + "\">" +
         XmlEscape(value) + "</" + std::string(kMetadataPrefix) + ":entry>\n";
  }
  x += "    </" + std::string(kMetadataPrefix) + ":instance>\n";
  x += "  </metadata>\n";
  x += "  <memory unit='MiB'>" + std::to_string(spec.memory_mib) + "</memory>\n";
  x += "  <currentMemory unit='MiB'>" + std::to_string(spec.memory_mib) + "</currentMemory>\n";
  x += "  <vcpu placement='static'>" + std::to_string(spec.vcpus) + "</vcpu>\n";
  x += "  <os>\n    <type>hvm</type>\n";  // the host's architecture
  if (!spec.kernel_path.empty()) {
    x += "    <kernel>" + XmlEscape(spec.kernel_path) + "</kernel>\n";
    if (!spec.initrd_path.empty()) {
      x += "    <initrd>" + XmlEscape(spec.initrd_path) + "</initrd>\n";
    }
    if (!spec.kernel_cmdline.empty()) {
      x += "    <cmdline>" + XmlEscape(spec.kernel_cmdline) + "</cmdline>\n";
    }
  } else {
    x += "    <boot dev='hd'/>\n";
  }
  x += "  </os>\n";
  // ACPI and APIC: graceful shutdown/reboot and disk/NIC hot-plug need them.
  x += "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n";
  x += "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n";
  x += "  <on_crash>destroy</on_crash>\n";
  x += "  <devices>\n";
  for (const auto& disk : spec.disks) {
    x += "    <disk type='file' device='disk'>\n";
    x += "      <driver name='qemu' type='" + XmlEscape(disk.format) + "'/>\n";
    x += "      <source file='" + XmlEscape(disk.path) + "'/>\n";
    x += "      <target dev='" + XmlEscape(disk.target_dev) + "' bus='virtio'/>\n";
    x += "    </disk>\n";
  }
  if (!spec.serial_log_path.empty()) {
    x += "    <serial type='file'>\n";
    x += "      <source path='" + XmlEscape(spec.serial_log_path) + "' append='on'/>\n";
    x += "      <target port='0'/>\n";
    x += "    </serial>\n";
    x += "    <console type='file'>\n";
    x += "      <source path='" + XmlEscape(spec.serial_log_path) + "' append='on'/>\n";
    x += "      <target type='serial' port='0'/>\n";
    x += "    </console>\n";
  }
  x += "  </devices>\n";
  x += "</domain>\n";
  return x;
}

std::map<std::string, std::string> ParseMetadataEntries(std::string_view xml) {
  std::map<std::string, std::string> entries;
  size_t pos = 0;
  while (true) {
    // Find "<PREFIX:entry " for any prefix, or an unprefixed "<entry ".
    const size_t tag = xml.find("entry", pos);
    if (tag == std::string_view::npos) break;
    pos = tag + 5;
    if (tag == 0) continue;
    // Walk back over the prefix to the '<'.
    size_t lt = tag;
    if (xml[tag - 1] == ':') {
      lt = tag - 1;
      while (lt > 0 && xml[lt - 1] != '<' && xml[lt - 1] != ' ' && xml[lt - 1] != '>') --lt;
    }
    if (lt == 0 || xml[lt - 1] != '<') continue;
    if (pos >= xml.size() || (xml[pos] != ' ' && xml[pos] != '\t' && xml[pos] != '\n')) {
      continue;  // e.g. "<govpool:entryx" or "</govpool:entry>"
    }
    const std::string_view start = xml.substr(lt - 1);
    const std::string_view key = Attribute(start, "key");
    const size_t gt = start.find('>');
    if (gt == std::string_view::npos) break;
    if (start[gt - 1] == '/') {  // <entry key="k"/>: empty value
      entries[XmlUnescape(key)] = "";
      pos = lt - 1 + gt + 1;
      continue;
    }
    const size_t close = start.find("</", gt);
    if (close == std::string_view::npos) break;
    entries[XmlUnescape(key)] = XmlUnescape(start.substr(gt + 1, close - gt - 1));
    pos = lt - 1 + close + 2;
  }
  return entries;
}

CapabilitiesFacts ParseCapabilities(std::string_view xml) {
  CapabilitiesFacts facts;
  const std::string_view host = Between(xml, "<host>", "</host>");
  const std::string_view cpu = Between(host, "<cpu>", "</cpu>");
  facts.host_arch = std::string(Between(cpu, "<arch>", "</arch>"));
  facts.cpu_model = std::string(Between(cpu, "<model>", "</model>"));

  const std::string_view cells = Between(host, "<cells", "</cells>");
  size_t pos = 0;
  while (true) {
    const size_t at = cells.find("<cell ", pos);
    if (at == std::string_view::npos) break;
    size_t next = 0;
    const std::string_view cell = Between(cells, "<cell ", "</cell>", at, &next);
    if (next == std::string_view::npos) break;
    NumaCellFacts c;
    c.id = static_cast<std::int32_t>(ToInt(Attribute(cell, "id")));
    const size_t mem = cell.find("<memory");
    if (mem != std::string_view::npos) {
      const std::string_view mem_tag = cell.substr(mem);
      const size_t gt = mem_tag.find('>');
      std::string_view unit = Attribute(mem_tag, "unit");
      if (unit.empty()) unit = "KiB";
      c.memory_mib = KibToMib(ToInt(mem_tag.substr(gt + 1)), unit);
    }
    const size_t cpus = cell.find("<cpus ");
    if (cpus != std::string_view::npos) c.cpus = ToInt(Attribute(cell.substr(cpus), "num"));
    facts.numa_cells.push_back(c);
    pos = next;
  }

  std::vector<std::string> all_types;
  pos = 0;
  while (true) {
    size_t next = 0;
    const std::string_view guest = Between(xml, "<guest>", "</guest>", pos, &next);
    if (next == std::string_view::npos) break;
    pos = next;
    const size_t arch_at = guest.find("<arch ");
    const std::string_view arch =
        arch_at == std::string_view::npos ? std::string_view() : Attribute(guest.substr(arch_at),
                                                                           "name");
    size_t dpos = 0;
    while (true) {
      const size_t d = guest.find("<domain ", dpos);
      if (d == std::string_view::npos) break;
      dpos = d + 8;
      const std::string type(Attribute(guest.substr(d), "type"));
      if (type.empty()) continue;
      auto add = [&](std::vector<std::string>& v) {
        for (const auto& t : v) {
          if (t == type) return;
        }
        v.push_back(type);
      };
      add(all_types);
      if (arch == facts.host_arch) add(facts.domain_types);
    }
  }
  if (facts.domain_types.empty()) facts.domain_types = all_types;
  return facts;
}

}  // namespace govpool::agent::libvirt
