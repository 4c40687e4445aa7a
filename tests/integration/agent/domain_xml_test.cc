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

DiskSpec RbdDisk() {
  DiskSpec d = DiskSpec::Rbd("volumes", "vol-7f3a", {"127.0.0.1:6789", "[::1]:3300"}, "govpool",
                             "0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d", "vdb");
  d.serial = "7f3a0c4e-1b2d-4e5f";
  return d;
}

TEST(DomainXmlTest, BuildsRbdDisk) {
  DiskSpec disk = RbdDisk();
  disk.read_only = true;
  Result<std::string> xml = BuildDiskXml(disk);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str())) << *xml;
  EXPECT_EQ(At(doc, "/disk[@type='network'][@device='disk']/source/@protocol"), "rbd");
  EXPECT_EQ(At(doc, "/disk/source/@name"), "volumes/vol-7f3a");
  EXPECT_EQ(At(doc, "/disk/source/host[1]/@name"), "127.0.0.1");
  EXPECT_EQ(At(doc, "/disk/source/host[1]/@port"), "6789");
  EXPECT_EQ(At(doc, "/disk/source/host[2]/@name"), "::1");
  EXPECT_EQ(At(doc, "/disk/source/host[2]/@port"), "3300");
  EXPECT_EQ(At(doc, "/disk/driver[@name='qemu'][@cache='none'][@discard='unmap']/@type"), "raw");
  EXPECT_EQ(At(doc, "/disk/auth/@username"), "govpool");
  EXPECT_EQ(At(doc, "/disk/auth/secret[@type='ceph']/@uuid"), disk.secret_uuid);
  EXPECT_EQ(At(doc, "/disk/target[@bus='virtio']/@dev"), "vdb");
  EXPECT_EQ(At(doc, "/disk/serial"), disk.serial);
  EXPECT_EQ(doc.select_nodes("/disk/readonly").size(), 1u);

  // Without cephx: no <auth>; a file disk stays as before, with no cache or discard setting.
  disk.auth_user.clear();
  disk.secret_uuid.clear();
  xml = BuildDiskXml(disk);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_EQ(xml->find("<auth"), std::string::npos) << *xml;
  xml = BuildDiskXml(DiskSpec::File("/d/data.raw", "raw", "vdc"));
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  ASSERT_TRUE(doc.load_string(xml->c_str())) << *xml;
  EXPECT_EQ(At(doc, "/disk[@type='file']/source/@file"), "/d/data.raw");
  EXPECT_EQ(At(doc, "/disk/driver/@type"), "raw");
  EXPECT_EQ(doc.select_nodes("/disk/driver/@cache | /disk/serial | /disk/readonly").size(), 0u);
}

TEST(DomainXmlTest, DisksRoundTripThroughTheDomainXml) {
  DomainSpec spec = FullSpec();
  spec.disks[0].serial = "root-1";
  spec.disks.push_back(RbdDisk());
  DiskSpec no_auth = RbdDisk();
  no_auth.rbd_image = "vol-2";
  no_auth.target_dev = "vdc";
  no_auth.auth_user.clear();
  no_auth.secret_uuid.clear();
  no_auth.serial.clear();
  no_auth.read_only = true;
  spec.disks.push_back(no_auth);
  Result<std::string> xml = BuildDomainXml(spec);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_EQ(ParseDomainDisks(*xml), spec.disks) << *xml;
}

TEST(DomainXmlTest, ParsesDisksAsLibvirtReportsThemLive) {
  // A live definition: libvirt's aliases, addresses, backing stores and indexes; <auth> inside
  // <source>; a block device; a CD-ROM and an iSCSI disk (left out of DomainInfo's disks).
  const char* xml = R"(<domain type='qemu' id='3'><name>x</name><devices>
  <disk type="file" device="disk">
    <driver name="qemu" type="qcow2"/>
    <source file="/d/root.qcow2" index="2"/>
    <backingStore/>
    <target dev="vda" bus="virtio"/>
    <alias name="virtio-disk0"/>
    <address type="pci" domain="0x0000" bus="0x00" slot="0x04" function="0x0"/>
  </disk>
  <disk type='network' device='disk'>
    <driver name='qemu' type='raw' cache='none' discard='unmap'/>
    <source protocol='rbd' name='volumes/vol-7f3a' index='1'>
      <host name='127.0.0.1' port='6789'/>
      <auth username='govpool'><secret type='ceph' uuid='0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d'/></auth>
    </source>
    <target dev='vdb' bus='virtio'/>
    <serial>vol-7f3a</serial>
    <alias name='virtio-disk1'/>
  </disk>
  <disk type='block' device='disk'><driver name='qemu' type='raw'/>
    <source dev='/dev/sdz'/><target dev='vdc' bus='virtio'/><readonly/></disk>
  <disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda' bus='sata'/></disk>
  <disk type='network' device='disk'><source protocol='iscsi' name='iqn.x/1'/>
    <target dev='vdd' bus='virtio'/></disk>
</devices></domain>)";
  std::vector<DiskSpec> disks = ParseDomainDisks(xml);
  ASSERT_EQ(disks.size(), 3u);
  EXPECT_EQ(disks[0], DiskSpec::File("/d/root.qcow2", "qcow2", "vda"));
  DiskSpec rbd = DiskSpec::Rbd("volumes", "vol-7f3a", {"127.0.0.1:6789"}, "govpool",
                               "0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d", "vdb");
  rbd.serial = "vol-7f3a";
  EXPECT_EQ(disks[1], rbd);
  EXPECT_EQ(disks[1].kind(), DiskSourceKind::kRbd);
  DiskSpec block = DiskSpec::File("/dev/sdz", "raw", "vdc");
  block.read_only = true;
  EXPECT_EQ(disks[2], block);

  // Every element, with its own XML for detaching.
  std::vector<DiskElement> all = ParseDiskElements(xml);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].device, "cdrom");
  EXPECT_EQ(all[3].target_dev, "sda");
  EXPECT_FALSE(all[4].known);
  EXPECT_EQ(all[4].target_dev, "vdd");
  EXPECT_NE(all[1].xml.find("virtio-disk1"), std::string::npos) << all[1].xml;
  EXPECT_EQ(all[1].xml.rfind("<disk", 0), 0u) << all[1].xml;
  EXPECT_TRUE(ParseDomainDisks("<domain><devices><disk").empty());
}

NicSpec Nic(const std::string& port_id, const std::string& mac) {
  NicSpec nic;
  nic.port_id = port_id;
  nic.mac = mac;
  return nic;
}

// A NIC on OVN's integration bridge: libvirt plugs the tap into br-int with iface-id = port id
// (ovn-controller binds the logical port by it); every checksum/segmentation offload is off,
// as OVS's userspace datapath forwards partial checksums unfinished.
TEST(DomainXmlTest, BuildsOvsNicsWithOffloadsOffAndReadsThemBack) {
  DomainSpec spec = FullSpec();
  spec.nics.push_back(Nic("0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d", "02:aa:bb:cc:dd:01"));
  NicSpec second = Nic("9f8e7d6c-5b4a-4321-8fed-cba987654321", "0a:00:00:00:00:02");
  second.bridge = "br-other";
  second.mtu = 1400;
  spec.nics.push_back(second);
  Result<std::string> xml = BuildDomainXml(spec);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str())) << *xml;
  ASSERT_EQ(doc.select_nodes("/domain/devices/interface").size(), 2u);
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/@type"), "bridge");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/mac/@address"), "02:aa:bb:cc:dd:01");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/source/@bridge"), "br-int");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/virtualport/@type"), "openvswitch");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/virtualport/parameters/@interfaceid"),
            "0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/target/@dev"), "tap0a1b2c3d4e5");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/model/@type"), "virtio");
  EXPECT_EQ(At(doc, "/domain/devices/interface[1]/driver/@name"), "qemu");
  for (const char* f : {"csum", "gso", "tso4", "tso6", "ecn", "ufo"}) {
    EXPECT_EQ(At(doc, ("/domain/devices/interface[1]/driver/host/@" + std::string(f)).c_str()), "off");
  }
  for (const char* f : {"csum", "tso4", "tso6", "ecn", "ufo"}) {
    EXPECT_EQ(At(doc, ("/domain/devices/interface[1]/driver/guest/@" + std::string(f)).c_str()), "off");
  }
  EXPECT_EQ(doc.select_nodes("/domain/devices/interface[1]/mtu").size(), 0u);
  EXPECT_EQ(At(doc, "/domain/devices/interface[2]/mtu/@size"), "1400");
  EXPECT_EQ(ParseDomainNics(*xml), spec.nics) << *xml;

  Result<std::string> one = BuildNicXml(second);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->rfind("<interface", 0), 0u) << *one;
  EXPECT_EQ(ParseDomainNics("<domain><devices>" + *one + "</devices></domain>"),
            std::vector<NicSpec>{second});
}

TEST(DomainXmlTest, ParsesNicsAsLibvirtReportsThemLive) {
  // Live XML: alias, address, libvirt's own target; a NAT-network NIC (not govpool's) is left
  // out of DomainInfo's NICs but listed as an element.
  const char* xml = R"(<domain type='qemu' id='4'><name>x</name><devices>
  <interface type="bridge">
    <mac address="02:aa:bb:cc:dd:01"/>
    <source bridge="br-int"/>
    <virtualport type="openvswitch">
      <parameters interfaceid="0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d"/>
    </virtualport>
    <target dev="tap0a1b2c3d4e5"/>
    <model type="virtio"/>
    <driver name="qemu"><host csum="off"/></driver>
    <alias name="net0"/>
    <address type="pci" domain="0x0000" bus="0x00" slot="0x02" function="0x0"/>
  </interface>
  <interface type='network'><mac address='52:54:00:00:00:09'/><source network='default'/>
    <model type='virtio'/></interface>
</devices></domain>)";
  EXPECT_EQ(ParseDomainNics(xml),
            std::vector<NicSpec>{Nic("0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d", "02:aa:bb:cc:dd:01")});
  std::vector<NicElement> all = ParseNicElements(xml);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].known);
  EXPECT_EQ(all[0].tap, "tap0a1b2c3d4e5");
  EXPECT_NE(all[0].xml.find("net0"), std::string::npos) << all[0].xml;
  EXPECT_FALSE(all[1].known);
  EXPECT_EQ(all[1].spec.mac, "52:54:00:00:00:09");
  EXPECT_TRUE(ParseDomainNics("<domain><devices><interface").empty());
}

TEST(DomainXmlTest, RejectsMalformedNics) {
  const std::string port = "0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
  auto refused = [](const NicSpec& nic) {
    DomainSpec spec = FullSpec();
    spec.nics.push_back(nic);
    return ValidateDomainSpec(spec).code() == StatusCode::kInvalidArgument &&
           BuildNicXml(nic).status().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(ValidateNicSpec(Nic(port, "02:aa:bb:cc:dd:01")).ok());
  EXPECT_TRUE(refused(Nic("", "02:aa:bb:cc:dd:01")));
  EXPECT_TRUE(refused(Nic("port-1", "02:aa:bb:cc:dd:01"))) << "libvirt wants a UUID";
  EXPECT_TRUE(refused(Nic("0A1B2C3D-4E5F-4A6B-8C9D-0E1F2A3B4C5D", "02:aa:bb:cc:dd:01")));
  EXPECT_TRUE(refused(Nic(port, "")));
  EXPECT_TRUE(refused(Nic(port, "02:AA:BB:CC:DD:01"))) << "reads back in lower case";
  EXPECT_TRUE(refused(Nic(port, "02:aa:bb:cc:dd")));
  EXPECT_TRUE(refused(Nic(port, "02-aa-bb-cc-dd-01")));
  EXPECT_TRUE(refused(Nic(port, "01:aa:bb:cc:dd:01"))) << "multicast";
  NicSpec bridge = Nic(port, "02:aa:bb:cc:dd:01");
  bridge.bridge = "";
  EXPECT_TRUE(refused(bridge));
  bridge.bridge = "br int";
  EXPECT_TRUE(refused(bridge));
  bridge.bridge = "a-very-long-bridge-name";
  EXPECT_TRUE(refused(bridge));
  NicSpec mtu = Nic(port, "02:aa:bb:cc:dd:01");
  mtu.mtu = 67;
  EXPECT_TRUE(refused(mtu));
  mtu.mtu = 65536;
  EXPECT_TRUE(refused(mtu));

  // Within one domain: no port, MAC or tap name twice.
  DomainSpec spec = FullSpec();
  spec.nics = {Nic(port, "02:aa:bb:cc:dd:01"), Nic(port, "02:aa:bb:cc:dd:02")};
  EXPECT_EQ(ValidateDomainSpec(spec).code(), StatusCode::kInvalidArgument);
  spec.nics = {Nic(port, "02:aa:bb:cc:dd:01"),
               Nic("1a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d", "02:aa:bb:cc:dd:01")};
  EXPECT_EQ(ValidateDomainSpec(spec).code(), StatusCode::kInvalidArgument);
  spec.nics = {Nic(port, "02:aa:bb:cc:dd:01"),
               Nic("0a1b2c3d-4e5f-4a6b-8c9d-ffffffffffff", "02:aa:bb:cc:dd:02")};
  EXPECT_EQ(ValidateDomainSpec(spec).code(), StatusCode::kInvalidArgument) << "same tap name";
  EXPECT_EQ(NicTapName(port), "tap0a1b2c3d4e5");
}

TEST(DomainXmlTest, RejectsMalformedDisks) {
  auto code = [](const DiskSpec& d) {
    DomainSpec spec = FullSpec();
    spec.disks.push_back(d);
    const StatusCode via_domain = BuildDomainXml(spec).status().code();
    EXPECT_EQ(BuildDiskXml(d).status().code(), via_domain) << d.target_dev;
    EXPECT_EQ(ValidateDomainSpec(spec).code(), via_domain);
    return via_domain;
  };
  EXPECT_EQ(code(RbdDisk()), StatusCode::kOk);
  DiskSpec d = RbdDisk();
  d.path = "/d/also-a-file.raw";  // two sources
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument);
  d = DiskSpec::File("", "raw", "vdb");  // none
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument);
  for (const char* bad : {"a/b", "snap@1", "two words", "tab\there", "", "nl\n"}) {
    const std::string name = bad;
    d = RbdDisk();
    d.rbd_pool = name;
    EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "pool " << name;
    d = RbdDisk();
    d.rbd_image = name;
    EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "image " << name;
  }
  d = RbdDisk();
  d.rbd_hosts.clear();
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "no monitor";
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":6789", "::1:6789", "h:99999", "h:6x",
                          "a b:6789", "h'x:1"}) {
    d = RbdDisk();
    d.rbd_hosts = {bad};
    EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << bad;
  }
  d = RbdDisk();
  d.secret_uuid.clear();
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "user without secret";
  d = RbdDisk();
  d.secret_uuid = "not-a-uuid";
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument);
  d = RbdDisk();
  d.format = "qcow2";
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "RBD images are raw";
  d = DiskSpec::File("/d/x.raw", "raw", "vdb");
  d.rbd_hosts = {"127.0.0.1:6789"};
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "monitors on a file disk";
  for (const char* bad : {"", "sda", "vd", "vdB", "vd1", "vdabcde"}) {
    d = RbdDisk();
    d.target_dev = bad;
    EXPECT_EQ(code(d), StatusCode::kInvalidArgument) << "target " << bad;
  }
  d = RbdDisk();
  d.serial = "has space";
  EXPECT_EQ(code(d), StatusCode::kInvalidArgument);
  d = RbdDisk();
  d.target_dev = "vda";  // FullSpec's root disk is there already
  EXPECT_EQ(ValidateDomainSpec([&] {
              DomainSpec spec = FullSpec();
              spec.disks.push_back(d);
              return spec;
            }())
                .code(),
            StatusCode::kInvalidArgument)
      << "two disks at one target";
}

TEST(DomainXmlTest, SameDiskSourceComparesWhereTheBytesAre) {
  DiskSpec a = RbdDisk();
  DiskSpec b = RbdDisk();
  b.target_dev = "vdz";
  b.serial = "other";
  b.rbd_hosts = {"10.0.0.1:6789"};
  EXPECT_TRUE(SameDiskSource(a, b));
  b.rbd_image = "vol-other";
  EXPECT_FALSE(SameDiskSource(a, b));
  EXPECT_TRUE(SameDiskSource(DiskSpec::File("/a", "raw", "vdb"), DiskSpec::File("/a", "qcow2", "vdc")));
  EXPECT_FALSE(SameDiskSource(DiskSpec::File("/a", "raw", "vdb"), a));
}

TEST(DomainXmlTest, CephSecretXmlAndBase64) {
  Result<std::string> xml = BuildCephSecretXml("0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d", "client.gp <x>");
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str())) << *xml;
  EXPECT_EQ(At(doc, "/secret/@ephemeral"), "no");
  EXPECT_EQ(At(doc, "/secret/@private"), "yes");
  EXPECT_EQ(At(doc, "/secret/uuid"), "0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d");
  EXPECT_EQ(At(doc, "/secret/usage[@type='ceph']/name"), "client.gp <x>");
  SecretUsage usage = ParseSecretUsage(*xml);
  EXPECT_EQ(usage.type, "ceph");
  EXPECT_EQ(usage.name, "client.gp <x>");
  usage = ParseSecretUsage("<secret><usage type='volume'><volume>/v/1</volume></usage></secret>");
  EXPECT_EQ(usage.type, "volume");
  EXPECT_EQ(usage.name, "/v/1");
  EXPECT_EQ(BuildCephSecretXml("nope", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildCephSecretXml("0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d", "").status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(*DecodeBase64("QUJD"), "ABC");
  EXPECT_EQ(*DecodeBase64("QUI="), "AB");
  EXPECT_EQ(*DecodeBase64("QQ=="), "A");
  EXPECT_EQ(*DecodeBase64("QQ"), "A");
  // A cephx key as `ceph auth get-key` prints it: 28 bytes (2 type, 8 created, 2 length, 16 key).
  EXPECT_EQ(DecodeBase64("AQDr1mtlAAAAABAAbTPy8Eb1DF2Vq0cJvzjhyw==")->size(), 28u);
  EXPECT_EQ(DecodeBase64("QUJ").value(), "AB");
  EXPECT_FALSE(DecodeBase64("Q").ok());
  EXPECT_FALSE(DecodeBase64("QU J").ok());
  EXPECT_FALSE(DecodeBase64("QU-_").ok());
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
