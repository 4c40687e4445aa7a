#include "agent/drivers/libvirt/domain_xml.h"

#include <gtest/gtest.h>

namespace govpool::agent::libvirt {
namespace {

TEST(DomainXmlTest, EscapesAndUnescapes) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlUnescape("a&lt;b&gt;&amp;&quot;c&apos;"), "a<b>&\"c'");
  EXPECT_EQ(XmlUnescape("&#65;&#x42;&#xe9;"), "AB\xc3\xa9");
}

TEST(DomainXmlTest, BuildsDomainWithEscapedValuesAndMetadata) {
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
  Result<std::string> xml = BuildDomainXml(spec);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_NE(xml->find("<domain type='qemu'>"), std::string::npos);
  EXPECT_NE(xml->find("<vcpu placement='static'>2</vcpu>"), std::string::npos);
  EXPECT_NE(xml->find("<memory unit='MiB'>256</memory>"), std::string::npos);
  EXPECT_NE(xml->find("<acpi/>"), std::string::npos);
  EXPECT_NE(xml->find("<apic/>"), std::string::npos);
  EXPECT_NE(xml->find("/d/root&apos;s.qcow2"), std::string::npos);
  EXPECT_NE(xml->find("<cmdline>console=ttyS0 panic=-1</cmdline>"), std::string::npos);
  EXPECT_NE(xml->find("&lt;eng &amp; ops&gt;"), std::string::npos);
  auto entries = ParseMetadataEntries(*xml);
  EXPECT_EQ(entries, spec.metadata);
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
}

TEST(DomainXmlTest, ParsesMetadataAsLibvirtReturnsIt) {
  const char* xml =
      "<instance xmlns=\"https://govpool.org/xmlns/instance/1\">\n"
      "  <entry key=\"a&amp;b\">1 &lt; 2</entry>\n"
      "  <entry key=\"empty\"/>\n"
      "</instance>";
  auto entries = ParseMetadataEntries(xml);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries["a&b"], "1 < 2");
  EXPECT_EQ(entries["empty"], "");
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
