#include "agent/drivers/libvirt/domain_xml.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <pugixml.hpp>

namespace govpool::agent::libvirt {
namespace {

// The text of the single node `xpath` selects in `doc` (an element's text, an attribute's value).
std::string At(const pugi::xml_document& doc, const char* xpath) {
  const pugi::xpath_node_set found = doc.select_nodes(xpath);
  EXPECT_EQ(found.size(), 1u) << xpath;
  if (found.empty()) return "<none>";
  const pugi::xpath_node& n = found.first();
  return n.attribute() ? n.attribute().value() : n.node().text().get();
}

DomainSpec FullSpec() {
  DomainSpec spec;
  spec.uuid = "6f1b6c1e-8d2a-4b59-9a3e-0d6c4b1f2a33";
  spec.name = "govpool-x";
  spec.domain_type = "qemu";
  spec.vcpus = 2;
  spec.memory_mib = 256;
  spec.disks.push_back({"/d/root's.qcow2", "qcow2", "vda"});
  spec.kernel_path = "/k/vmlinuz";
  spec.initrd_path = "/k/initrd.img";
  spec.kernel_cmdline = "console=ttyS0 panic=-1";
  spec.serial_log_path = "/l/console.log";
  spec.metadata = {{"dept", "<eng & ops>"}, {"gen", "7"}};
  return spec;
}

TEST(DomainXmlTest, BuildsDomainWithEscapedValuesAndMetadata) {
  const DomainSpec spec = FullSpec();
  Result<std::string> xml = BuildDomainXml(spec);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str())) << *xml;
  EXPECT_EQ(At(doc, "/domain/@type"), "qemu");
  EXPECT_EQ(At(doc, "/domain/name"), "govpool-x");
  EXPECT_EQ(At(doc, "/domain/uuid"), spec.uuid);
  EXPECT_EQ(At(doc, "/domain/vcpu"), "2");
  EXPECT_EQ(At(doc, "/domain/vcpu/@placement"), "static");
  EXPECT_EQ(At(doc, "/domain/memory"), "256");
  EXPECT_EQ(At(doc, "/domain/memory/@unit"), "MiB");
  EXPECT_EQ(At(doc, "/domain/currentMemory"), "256");
  EXPECT_EQ(doc.select_nodes("/domain/features/acpi").size(), 1u);
  EXPECT_EQ(doc.select_nodes("/domain/features/apic").size(), 1u);
  EXPECT_EQ(At(doc, "/domain/os/type"), "hvm");
  EXPECT_EQ(At(doc, "/domain/os/kernel"), "/k/vmlinuz");
  EXPECT_EQ(At(doc, "/domain/os/initrd"), "/k/initrd.img");
  EXPECT_EQ(At(doc, "/domain/os/cmdline"), "console=ttyS0 panic=-1");
  EXPECT_EQ(doc.select_nodes("/domain/os/boot").size(), 0u);
  EXPECT_EQ(At(doc, "/domain/on_poweroff"), "destroy");
  EXPECT_EQ(At(doc, "/domain/on_reboot"), "restart");
  EXPECT_EQ(At(doc, "/domain/devices/disk[@type='file'][@device='disk']/source/@file"),
            "/d/root's.qcow2");
  EXPECT_EQ(At(doc, "/domain/devices/disk/driver/@type"), "qcow2");
  EXPECT_EQ(At(doc, "/domain/devices/disk/target[@bus='virtio']/@dev"), "vda");
  EXPECT_EQ(At(doc, "/domain/devices/serial[@type='file']/source/@path"), "/l/console.log");
  EXPECT_EQ(At(doc, "/domain/devices/console/target/@type"), "serial");
  // (XPath does not show namespace declarations as attributes.)
  EXPECT_EQ(std::string(doc.child("domain")
                            .child("metadata")
                            .child("govpool:instance")
                            .attribute("xmlns:govpool")
                            .value()),
            std::string(kMetadataNamespace));
  EXPECT_EQ(At(doc, "/domain/metadata/govpool:instance/govpool:entry[@key='dept']"),
            "<eng & ops>");
  // The escaping is the library's: libvirt reads what was meant.
  EXPECT_NE(xml->find("/d/root&apos;s.qcow2"), std::string::npos) << *xml;
  EXPECT_NE(xml->find("&lt;eng &amp; ops&gt;"), std::string::npos) << *xml;
  EXPECT_NE(xml->find("<domain type='qemu'>"), std::string::npos) << "libvirt's quote style";
  auto entries = ParseMetadataEntries(*xml);
  EXPECT_EQ(entries, spec.metadata);
}

TEST(DomainXmlTest, WithoutKernelBootsFromTheDiskAndWithoutLogHasNoConsole) {
  DomainSpec spec = FullSpec();
  spec.kernel_path.clear();
  spec.initrd_path.clear();
  spec.kernel_cmdline.clear();
  spec.serial_log_path.clear();
  Result<std::string> xml = BuildDomainXml(spec);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str())) << *xml;
  EXPECT_EQ(At(doc, "/domain/os/boot/@dev"), "hd");
  EXPECT_EQ(doc.select_nodes("/domain/os/kernel").size(), 0u);
  EXPECT_EQ(doc.select_nodes("/domain/devices/serial | /domain/devices/console").size(), 0u);
}

TEST(DomainXmlTest, MetadataOfEveryKindRoundTrips) {
  DomainSpec spec = FullSpec();
  spec.metadata = {{"quote\"s", "it's \xc3\xa9"},
                   {"amp&lt", "&amp; is not an entity here"},
                   {"cdata-like", "<![CDATA[x]]>"},
                   {"spaces", "  two  leading, two trailing  "},
                   {"newline", "a\nb\tc"},
                   {"key\nwith\ttabs", "v"},
                   {"empty", ""},
                   {"", "empty key"}};
  Result<std::string> xml = BuildDomainXml(spec);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_EQ(ParseMetadataEntries(*xml), spec.metadata) << *xml;
}

TEST(DomainXmlTest, RejectsMalformedSpecs) {
  DomainSpec spec;
  spec.uuid = "nope";
  spec.name = "x";
  EXPECT_EQ(BuildDomainXml(spec).status().code(), StatusCode::kInvalidArgument);
  spec.uuid = "6f1b6c1e-8d2a-4b59-9a3e-0d6c4b1f2a33";
  spec.vcpus = 0;
  EXPECT_EQ(BuildDomainXml(spec).status().code(), StatusCode::kInvalidArgument);
  spec.vcpus = 1;
  spec.disks.push_back({"relative.qcow2", "qcow2", "vda"});
  EXPECT_EQ(BuildDomainXml(spec).status().code(), StatusCode::kInvalidArgument);
  // Text XML 1.0 cannot carry.
  spec = FullSpec();
  spec.metadata["bell"] = "\a";
  EXPECT_EQ(BuildDomainXml(spec).status().code(), StatusCode::kInvalidArgument);
  spec = FullSpec();
  spec.kernel_cmdline = std::string("a\0b", 3);
  EXPECT_EQ(BuildDomainXml(spec).status().code(), StatusCode::kInvalidArgument);
}

TEST(DomainXmlTest, ParsesMetadataAsLibvirtReturnsIt) {
  // virDomainGetMetadata (libvirt 9) returns the element without its namespace.
  const char* xml =
      "<instance>\n"
      "  <entry key=\"a&amp;b\">1 &lt; 2</entry>\n"
      "  <entry key=\"empty\"/>\n"
      "</instance>";
  auto entries = ParseMetadataEntries(xml);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries["a&b"], "1 < 2");
  EXPECT_EQ(entries["empty"], "");
  // With the namespace as the default one, the same.
  EXPECT_EQ(ParseMetadataEntries("<instance xmlns=\"https://govpool.org/xmlns/instance/1\">"
                                 "<entry key=\"a&amp;b\">1 &lt; 2</entry></instance>"),
            (std::map<std::string, std::string>{{"a&b", "1 < 2"}}));
}

TEST(DomainXmlTest, ParsesMetadataInAnyWellFormedSpelling) {
  // Another prefix, single quotes, character references, CDATA and a comment.
  const char* xml =
      "<gp:instance xmlns:gp='https://govpool.org/xmlns/instance/1'>"
      "<!-- written by hand -->"
      "<gp:entry key='a'>&#65;&#x42;&#xe9;</gp:entry>"
      "<gp:entry key=\"b\"><![CDATA[<raw & text>]]></gp:entry>"
      "<gp:entry\n  key='c'\n>three</gp:entry>"
      "</gp:instance>";
  auto entries = ParseMetadataEntries(xml);
  EXPECT_EQ(entries, (std::map<std::string, std::string>{
                         {"a", "AB\xc3\xa9"}, {"b", "<raw & text>"}, {"c", "three"}}));
}

TEST(DomainXmlTest, IgnoresWhatIsNotGovpoolMetadata) {
  // A full domain definition with other tools' metadata, sysinfo entries and entries without
  // a key: only govpool's keyed entries count.
  const char* xml = R"(<domain type='kvm'>
  <name>x</name>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
    <other:instance xmlns:other="https://example.org/other">
      <other:entry key="foreign">no</other:entry>
    </other:instance>
    <govpool:instance xmlns:govpool="https://govpool.org/xmlns/instance/1">
      <govpool:entry key="vm_id">v1</govpool:entry>
      <govpool:entry>no key</govpool:entry>
      <govpool:entryx key="near-miss">no</govpool:entryx>
    </govpool:instance>
  </metadata>
  <sysinfo type='smbios'><system><entry name='manufacturer'>ACME</entry></system></sysinfo>
</domain>)";
  EXPECT_EQ(ParseMetadataEntries(xml), (std::map<std::string, std::string>{{"vm_id", "v1"}}));
  EXPECT_TRUE(ParseMetadataEntries("").empty());
  EXPECT_TRUE(ParseMetadataEntries("<instance xmlns='https://govpool.org/xmlns/instance/1'>"
                                   "<entry key='a'>1</entry>")
                  .empty())
      << "unterminated XML yields nothing";
  EXPECT_TRUE(ParseMetadataEntries("<instance xmlns='https://example.org/other'>"
                                   "<entry key='a'>1</entry></instance>")
                  .empty())
      << "another namespace";
  EXPECT_TRUE(ParseMetadataEntries("<domain><metadata><instance><entry key='a'>1</entry>"
                                   "</instance></metadata></domain>")
                  .empty())
      << "no namespace inside a domain";
}

TEST(DomainXmlTest, ParsesCapabilities) {
  const char* xml = R"(<capabilities>
  <host>
    <uuid>x</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model>kvm64</model>
    </cpu>
    <topology>
      <cells num='2'>
        <cell id='0'>
          <memory unit='KiB'>2097152</memory>
          <cpus num='2'>
            <cpu id='0'/><cpu id='1'/>
          </cpus>
        </cell>
        <cell id='1'>
          <memory unit='KiB'>1048576</memory>
          <cpus num='1'><cpu id='2'/></cpus>
        </cell>
      </cells>
    </topology>
    <secmodel><model>none</model></secmodel>
  </host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'><domain type='qemu'/></arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
  </guest>
</capabilities>)";
  CapabilitiesFacts f = ParseCapabilities(xml);
  EXPECT_EQ(f.cpu_model, "kvm64");
  EXPECT_EQ(f.host_arch, "x86_64");
  ASSERT_EQ(f.numa_cells.size(), 2u);
  EXPECT_EQ(f.numa_cells[0].id, 0);
  EXPECT_EQ(f.numa_cells[0].cpus, 2);
  EXPECT_EQ(f.numa_cells[0].memory_mib, 2048);
  EXPECT_EQ(f.numa_cells[1].id, 1);
  EXPECT_EQ(f.numa_cells[1].cpus, 1);
  EXPECT_EQ(f.numa_cells[1].memory_mib, 1024);
  EXPECT_EQ(f.domain_types, (std::vector<std::string>{"qemu", "kvm"}));
}

TEST(DomainXmlTest, ParsesCapabilitiesInAnyQuoteStyleAndToleratesGaps) {
  // Double quotes, other units, no NUMA topology, no host arch (all guests' types count).
  const char* xml = R"(<capabilities>
  <host>
    <cpu><model>EPYC</model></cpu>
    <topology><cells num="1"><cell id="3"><memory unit="GiB">2</memory>
      <cpus num="4"/></cell></cells></topology>
  </host>
  <guest><arch name="aarch64"><domain type="qemu"/></arch></guest>
  <guest><arch name="x86_64"><domain type="kvm"/><domain type="qemu"/></arch></guest>
</capabilities>)";
  CapabilitiesFacts f = ParseCapabilities(xml);
  EXPECT_EQ(f.cpu_model, "EPYC");
  EXPECT_EQ(f.host_arch, "");
  ASSERT_EQ(f.numa_cells.size(), 1u);
  EXPECT_EQ(f.numa_cells[0].id, 3);
  EXPECT_EQ(f.numa_cells[0].cpus, 4);
  EXPECT_EQ(f.numa_cells[0].memory_mib, 2048);
  EXPECT_EQ(f.domain_types, (std::vector<std::string>{"qemu", "kvm"}));

  CapabilitiesFacts none = ParseCapabilities("<capabilities><host>");
  EXPECT_TRUE(none.cpu_model.empty());
  EXPECT_TRUE(none.numa_cells.empty());
  EXPECT_TRUE(none.domain_types.empty());
}

TEST(ChooseDomainTypeTest, PrefersConfiguredThenKvmThenQemu) {
  HostFacts f;
  f.domain_types = {"qemu", "kvm"};
  f.kvm_usable = false;
  EXPECT_EQ(*ChooseDomainType(f, ""), "qemu");
  f.kvm_usable = true;
  EXPECT_EQ(*ChooseDomainType(f, ""), "kvm");
  EXPECT_EQ(*ChooseDomainType(f, "qemu"), "qemu");
  EXPECT_EQ(ChooseDomainType(f, "xen").status().code(), StatusCode::kInvalidArgument);
  f.domain_types = {"test"};
  EXPECT_EQ(*ChooseDomainType(f, ""), "test");
  f.domain_types.clear();
  EXPECT_EQ(ChooseDomainType(f, "").status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace govpool::agent::libvirt
