// Deleted disks leave no data in the freed blocks (MLPS 8.1.4.9): libvirt::RemoveFile
// overwrites every data extent with zeros and syncs before the unlink, walks only the
// allocated extents of a sparse file, and never follows a symlink put in place of a disk. The
// cost is printed (throughput of the overwrite), not asserted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "agent/drivers/libvirt/qemu_img.h"

namespace govpool::agent::libvirt {
namespace {

namespace fs = std::filesystem;

class DiskWipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("disk-wipe-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(DiskWipeTest, OnlyTheDataExtentsAreOverwrittenThenTheFileGoes) {
  const std::string path = (dir_ / "disk.qcow2").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  // 1 GiB, sparse: two written regions, 64 MiB of tenant data in all.
  ASSERT_EQ(::ftruncate(fd, 1LL << 30), 0);
  std::string secret(32 << 20, 'S');
  ASSERT_EQ(::pwrite(fd, secret.data(), secret.size(), 0), static_cast<ssize_t>(secret.size()));
  ASSERT_EQ(::pwrite(fd, secret.data(), secret.size(), 512LL << 20), static_cast<ssize_t>(secret.size()));
  ASSERT_EQ(::fsync(fd), 0);

  const auto start = std::chrono::steady_clock::now();
  auto written = ZeroDataExtents(fd);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_GE(*written, 64LL << 20);
  EXPECT_LT(*written, 1LL << 30) << "the holes are not written";
  std::cout << "overwrote " << (*written >> 20) << " MiB of a 1 GiB sparse disk in " << seconds << " s ("
            << static_cast<int>((*written >> 20) / std::max(seconds, 1e-6)) << " MiB/s, fdatasync included)\n";
  char buf[4096];
  for (off_t at : {0LL, 512LL << 20, (512LL << 20) + (32LL << 20) - 4096}) {
    ASSERT_EQ(::pread(fd, buf, sizeof buf, at), static_cast<ssize_t>(sizeof buf));
    EXPECT_EQ(std::string(buf, sizeof buf), std::string(sizeof buf, '\0')) << "at " << at;
  }
  ::close(fd);
  ASSERT_TRUE(RemoveFile(path).ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(RemoveFile(path).ok()) << "absent is fine";
}

TEST_F(DiskWipeTest, ASymlinkInPlaceOfADiskIsRemovedNotFollowed) {
  const std::string victim = (dir_ / "someone-elses-file").string();
  std::ofstream(victim) << "precious";
  const std::string disk = (dir_ / "disk.qcow2").string();
  fs::create_symlink(victim, disk);
  ASSERT_TRUE(RemoveFile(disk).ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(disk)));
  std::ifstream in(victim);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

}  // namespace
}  // namespace govpool::agent::libvirt
