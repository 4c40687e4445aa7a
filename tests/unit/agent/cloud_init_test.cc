// The cloud-init NoCloud seed: its files (agent/cloud_init.h) and its ISO image
// (agent/seed_iso.h), and the API's guest configuration rules (api/types.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "agent/cloud_init.h"
#include "agent/seed_iso.h"
#include "api/types.h"

namespace govpool::agent {
namespace {

// An ed25519 public key line: its blob names its type and holds 32 key bytes.
const std::string kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmP3bTRzJzK1iTb4tz9HkNmC6nY6c0u8C8s7rVYJjXh alice@laptop";

api::Vm SampleVm() {
  api::Vm v;
  v.meta.id = "6f1c2b8e-4a1d-4c3e-9b2a-7d5e8f0a1b2c";
  v.name = "web-01";
  v.hostname = "web-01";
  v.ssh_authorized_keys = {kEd25519};
  return v;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(CloudInitFilesTest, MetaDataNamesTheInstanceAndHost) {
  const CloudInitFiles f = BuildCloudInitFiles(SampleVm(), {});
  EXPECT_EQ(f.meta_data,
            "instance-id: \"6f1c2b8e-4a1d-4c3e-9b2a-7d5e8f0a1b2c\"\nlocal-hostname: \"web-01\"\n");
}

TEST(CloudInitFilesTest, UserDataIsACloudConfigWithHostnameAndKeys) {
  const CloudInitFiles f = BuildCloudInitFiles(SampleVm(), {});
  EXPECT_EQ(f.user_data, "#cloud-config\nhostname: \"web-01\"\nssh_authorized_keys:\n  - \"" + kEd25519 + "\"\n");
}

TEST(CloudInitFilesTest, NoKeysNoKeyList) {
  api::Vm v = SampleVm();
  v.ssh_authorized_keys.clear();
  EXPECT_EQ(BuildCloudInitFiles(v, {}).user_data, "#cloud-config\nhostname: \"web-01\"\n");
}

TEST(CloudInitFilesTest, AnOldRecordWithoutHostnameUsesItsName) {
  api::Vm v = SampleVm();
  v.hostname.clear();
  v.name = "Web_01.prod";
  EXPECT_NE(BuildCloudInitFiles(v, {}).meta_data.find("local-hostname: \"web-01-prod\"\n"), std::string::npos);
}

TEST(CloudInitFilesTest, QuotesKeepCommentsFromChangingTheDocument) {
  api::Vm v = SampleVm();
  v.ssh_authorized_keys = {"ssh-ed25519 AAAA x\"\n- evil: \\ \x7f"};
  EXPECT_NE(BuildCloudInitFiles(v, {}).user_data.find("  - \"ssh-ed25519 AAAA x\\\"\\x0a- evil: \\\\ \\x7f\"\n"),
            std::string::npos);
  EXPECT_EQ(YamlQuote("a\xc2\x85" "b\xc3\xa9"), "\"a\\x85b\xc3\xa9\"") << "C1 controls escaped, other UTF-8 kept";
}

TEST(CloudInitFilesTest, UserCloudConfigIsAMergedSecondPart) {
  api::Vm v = SampleVm();
  v.user_data = "#cloud-config\npackages: [nginx]\n";
  const std::string u = BuildCloudInitFiles(v, {}).user_data;
  ASSERT_EQ(u.rfind("Content-Type: multipart/mixed; boundary=\"==govpool-seed-boundary==\"\n", 0), 0u) << u;
  const size_t ours = u.find("#cloud-config\nhostname: \"web-01\"\n");
  const size_t merge = u.find("Merge-Type: list(append)+dict(no_replace,recurse_list)+str()\n");
  const size_t theirs = u.find("#cloud-config\npackages: [nginx]\n");
  ASSERT_NE(ours, std::string::npos) << u;
  ASSERT_NE(merge, std::string::npos) << u;
  ASSERT_NE(theirs, std::string::npos) << u;
  EXPECT_LT(ours, merge);
  EXPECT_LT(merge, theirs);
  EXPECT_EQ(u.substr(u.size() - 30), "--==govpool-seed-boundary==--\n");
}

TEST(CloudInitFilesTest, UserScriptIsAShellScriptPartAndTheBoundaryAvoidsItsText) {
  api::Vm v = SampleVm();
  v.user_data = "#!/bin/sh\necho ==govpool-seed-boundary==";  // no final newline
  const std::string u = BuildCloudInitFiles(v, {}).user_data;
  EXPECT_NE(u.find("boundary=\"==govpool-seed-boundary-1==\""), std::string::npos) << u;
  EXPECT_NE(u.find("Content-Type: text/x-shellscript"), std::string::npos) << u;
  EXPECT_EQ(u.find("Merge-Type"), std::string::npos) << u;
  EXPECT_NE(u.find("echo ==govpool-seed-boundary==\n--==govpool-seed-boundary-1==--\n"), std::string::npos) << u;
}

TEST(CloudInitFilesTest, NetworkConfigIsDhcpOnEveryNic) {
  EXPECT_EQ(BuildCloudInitFiles(SampleVm(), {}).network_config,
            "version: 2\nethernets:\n  all-ethernets:\n    match:\n      name: \"e*\"\n    dhcp4: true\n");
  EXPECT_EQ(BuildCloudInitFiles(SampleVm(), {"52:54:00:00:00:01", "52:54:00:00:00:02"}).network_config,
            "version: 2\nethernets:\n"
            "  nic0:\n    match:\n      macaddress: \"52:54:00:00:00:01\"\n    dhcp4: true\n"
            "  nic1:\n    match:\n      macaddress: \"52:54:00:00:00:02\"\n    dhcp4: true\n");
}

TEST(SeedIsoTest, IsAnIso9660VolumeLabelledCidataHoldingTheFiles) {
  const CloudInitFiles f = BuildCloudInitFiles(SampleVm(), {});
  auto iso = BuildSeedIso(f);
  ASSERT_TRUE(iso.ok()) << iso.status().ToString();
  ASSERT_GT(iso->size(), 32768u + 2048u);
  EXPECT_EQ(iso->size() % 2048, 0u);
  // The primary volume descriptor at sector 16: type 1, "CD001", volume id at byte 40.
  EXPECT_EQ((*iso)[32768], '\x01');
  EXPECT_EQ(iso->substr(32769, 5), "CD001");
  EXPECT_EQ(iso->substr(32768 + 40, 7), "cidata ");
  // The file data is stored as is; Rock Ridge (NM) keeps the exact names.
  EXPECT_NE(iso->find(f.meta_data), std::string::npos);
  EXPECT_NE(iso->find(f.user_data), std::string::npos);
  EXPECT_NE(iso->find(f.network_config), std::string::npos);
  EXPECT_NE(iso->find("network-config"), std::string::npos);
  EXPECT_NE(iso->find("IEEE_1282"), std::string::npos) << "Rock Ridge (RRIP 1.12)";
}

TEST(SeedIsoTest, SameFilesSameBytes) {
  const CloudInitFiles f = BuildCloudInitFiles(SampleVm(), {});
  auto a = BuildSeedIso(f);
  auto b = BuildSeedIso(f);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  api::Vm other = SampleVm();
  other.hostname = "web-02";
  auto c = BuildSeedIso(BuildCloudInitFiles(other, {}));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(*a, *c);
}

TEST(SeedIsoTest, EnsureWritesOnlyWhenTheContentChanges) {
  const std::string dir = ::testing::TempDir() + "/seed-iso-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  const std::string path = dir + "/seeds/vm-seed.iso";
  const CloudInitFiles f = BuildCloudInitFiles(SampleVm(), {});
  auto wrote = EnsureSeedIso(path, f);
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  EXPECT_TRUE(*wrote) << "missing parent directories are made";
  EXPECT_EQ(ReadAll(path), *BuildSeedIso(f));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  const ino_t inode = st.st_ino;

  wrote = EnsureSeedIso(path, f);
  ASSERT_TRUE(wrote.ok());
  EXPECT_FALSE(*wrote) << "same content: untouched";
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, inode);

  api::Vm changed = SampleVm();
  changed.ssh_authorized_keys.clear();
  wrote = EnsureSeedIso(path, BuildCloudInitFiles(changed, {}));
  ASSERT_TRUE(wrote.ok());
  EXPECT_TRUE(*wrote);
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_ino, inode) << "replaced by a rename: a running guest keeps the bytes it mounted";
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(EnsureSeedIso("relative.iso", f).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

TEST(GuestConfigRulesTest, HostnameLabels) {
  EXPECT_TRUE(api::IsHostnameLabel("web-01"));
  EXPECT_TRUE(api::IsHostnameLabel("A"));
  EXPECT_TRUE(api::IsHostnameLabel(std::string(63, 'a')));
  EXPECT_FALSE(api::IsHostnameLabel(std::string(64, 'a')));
  EXPECT_FALSE(api::IsHostnameLabel(""));
  EXPECT_FALSE(api::IsHostnameLabel("-web"));
  EXPECT_FALSE(api::IsHostnameLabel("web-"));
  EXPECT_FALSE(api::IsHostnameLabel("web.example"));
  EXPECT_FALSE(api::IsHostnameLabel("web_01"));
  EXPECT_EQ(api::HostnameFromName("Web_01"), "web-01");
  EXPECT_EQ(api::HostnameFromName("..a..b.."), "a-b");
  EXPECT_EQ(api::HostnameFromName("___"), "vm");
  EXPECT_EQ(api::HostnameFromName(std::string(62, 'a') + "_b"), std::string(62, 'a'));
}

TEST(GuestConfigRulesTest, SshKeys) {
  EXPECT_EQ(api::SshPublicKeyProblem(kEd25519), std::nullopt);
  EXPECT_EQ(api::SshPublicKeyProblem(kEd25519.substr(0, kEd25519.find(" alice"))), std::nullopt)
      << "the comment is optional";
  EXPECT_NE(api::SshPublicKeyProblem("ssh-ed25519"), std::nullopt);
  EXPECT_NE(api::SshPublicKeyProblem("ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIGmP3bTRzJzK1iTb4tz9HkNmC6nY6c0u8C8s7rVYJjXh"),
            std::nullopt);
  EXPECT_NE(api::SshPublicKeyProblem("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGmP3bTRzJzK1iTb4tz9HkNmC6nY6c0u8C8s7rVYJjXh"),
            std::nullopt)
      << "the blob names another type";
  EXPECT_NE(api::SshPublicKeyProblem("ssh-ed25519 not*base64"), std::nullopt);
  EXPECT_NE(api::SshPublicKeyProblem(kEd25519 + "\nssh-ed25519 AAAA"), std::nullopt) << "one key per item";
  EXPECT_NE(api::SshPublicKeyProblem("command=\"x\" " + kEd25519), std::nullopt) << "no options";
  EXPECT_NE(api::SshPublicKeyProblem(kEd25519 + " " + std::string(api::kMaxSshKeyBytes, 'x')), std::nullopt);
}

TEST(GuestConfigRulesTest, CreateRequests) {
  api::CreateVmRequest r;
  EXPECT_EQ(api::CheckGuestConfig(r), std::nullopt);
  r.hostname = "web_01";
  EXPECT_EQ(api::CheckGuestConfig(r)->field, "hostname");
  r.hostname = "web-01";
  r.ssh_authorized_keys = {kEd25519, "nonsense"};
  EXPECT_EQ(api::CheckGuestConfig(r)->field, "ssh_authorized_keys[1]");
  r.ssh_authorized_keys.assign(api::kMaxSshKeys + 1, kEd25519);
  EXPECT_EQ(api::CheckGuestConfig(r)->field, "ssh_authorized_keys");
  r.ssh_authorized_keys = {kEd25519};
  r.user_data = "packages: [nginx]\n";
  EXPECT_EQ(api::CheckGuestConfig(r)->field, "user_data");
  r.user_data = "#!/bin/sh\necho \x01\n";
  EXPECT_EQ(api::CheckGuestConfig(r)->field, "user_data");
  r.user_data = "#!/bin/sh\n\techo hi\r\n";
  EXPECT_EQ(api::CheckGuestConfig(r), std::nullopt);
  r.user_data = "#cloud-config\npackages: [nginx]\n";
  EXPECT_EQ(api::CheckGuestConfig(r), std::nullopt);
}

}  // namespace
}  // namespace govpool::agent
