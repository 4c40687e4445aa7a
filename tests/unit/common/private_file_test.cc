// WritePrivateFile: mode 0600 whatever the umask, whole replacement, no leftovers, errors.
#include "common/private_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace govpool {
namespace {

namespace fs = std::filesystem;

class PrivateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("govpool-private-file-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(PrivateFileTest, WritesOnlyForTheOwnerWhateverTheUmaskAndReplacesWhole) {
  const fs::path path = dir_ / "secret";
  const mode_t old = ::umask(0);
  Status first = WritePrivateFile(path.string(), "one-time password\n");
  ::umask(old);
  ASSERT_TRUE(first.ok()) << first.ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Read(path), "one-time password\n");

  ASSERT_TRUE(WritePrivateFile(path.string(), "b").ok());
  EXPECT_EQ(Read(path), "b");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1) << "no temporary file is left behind";
}

TEST_F(PrivateFileTest, AFolderThatIsNotThereIsUnavailableWithTheReason) {
  Status s = WritePrivateFile((dir_ / "missing" / "secret").string(), "x");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace govpool
