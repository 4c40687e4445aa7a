// Backup and restore of the controller's state through the real binary (docs/operations.md,
// "Backup and restore"): a backup taken online during a burst of writes is one consistent
// snapshot; a controller started with --restore serves exactly that snapshot, its audit chain
// verifies, and the database it replaced is kept; a damaged backup is refused.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

namespace fs = std::filesystem;

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("govpool-backup-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    controller_ = std::make_unique<ControllerProcess>((dir_ / "state").string());
    ASSERT_EQ(controller_->Start(), "");
  }
  void TearDown() override {
    controller_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::set<std::string> DepartmentNames() {
    Reply r = Api(controller_->base_url(), controller_->admin_token()).Get("/v1/departments?limit=1000");
    std::set<std::string> names;
    if (r.status != 200) return names;
    for (const auto& d : r.json.at("items").as_array()) names.insert(std::string(d.at("name").as_string()));
    return names;
  }

  fs::path dir_;
  std::unique_ptr<ControllerProcess> controller_;
};

TEST_F(BackupRestoreTest, ABackupDuringAWriteBurstRestoresOneConsistentSnapshot) {
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::thread writer([&] {
    Api api(controller_->base_url(), controller_->admin_token());
    for (int i = 0; !stop && i < 400; ++i) {
      Reply r = api.Post("/v1/departments", json::object{{"name", "d-" + std::to_string(i)}});
      if (r.status != 201) {
        ADD_FAILURE() << r.Describe();
        return;
      }
      created = i + 1;
    }
  });
  while (created < 30) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int created_before = created;  // the snapshot holds at least these...
  Reply backup = Api(controller_->base_url(), controller_->admin_token()).Get("/v1/system/backup");
  const int created_by_then = created;  // ...and at most these (one more may be in flight)
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  ASSERT_EQ(backup.status, 200) << backup.Describe();
  ASSERT_EQ(backup.body.rfind(std::string("SQLite format 3\0", 16), 0), 0u) << "an SQLite database file";
  const std::string backup_path = (dir_ / "backup.db").string();
  std::ofstream(backup_path, std::ios::binary) << backup.body;
  const int total = created;
  ASSERT_GT(total, created_by_then) << "writes went on after the backup";
  EXPECT_EQ(DepartmentNames().size(), static_cast<size_t>(total));
  // Not a path into the state directory: the copy was removed once opened.
  EXPECT_TRUE(fs::is_empty(dir_ / "state" / "backup-tmp"));
  // Only the system-admin may take one.
  EXPECT_EQ(Api(controller_->base_url(), controller_->audit_token()).Get("/v1/system/backup").status, 403);

  // The controller starts from the backup: the departments are exactly a prefix of the burst
  // (one snapshot), at least those created before the backup was asked for.
  controller_->Kill(SIGKILL);
  ASSERT_EQ(controller_->Start({"--restore", backup_path}), "");
  const std::set<std::string> restored = DepartmentNames();
  std::cout << "created " << total << " departments; the backup holds " << restored.size() << "\n";
  EXPECT_GE(restored.size(), static_cast<size_t>(created_before));
  EXPECT_LE(restored.size(), static_cast<size_t>(created_by_then) + 1);
  for (size_t i = 0; i < restored.size(); ++i) {
    EXPECT_EQ(restored.count("d-" + std::to_string(i)), 1u) << "d-" << i << " missing: not one snapshot";
  }
  Reply verify = Api(controller_->base_url(), controller_->audit_token()).Post("/v1/audit/verify", json::object{});
  ASSERT_EQ(verify.status, 200) << verify.Describe();
  EXPECT_TRUE(verify.json.at("ok").as_bool()) << verify.body;
  // Writes go on from there.
  EXPECT_EQ(Api(controller_->base_url(), controller_->admin_token())
                .Post("/v1/departments", json::object{{"name", "after-restore"}})
                .status,
            201);
  int kept = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "state")) {
    if (entry.path().filename().string().rfind("state.db.before-restore-", 0) == 0) ++kept;
  }
  EXPECT_GE(kept, 1) << "the replaced database is kept beside it";
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "state" / "state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(BackupRestoreTest, ADamagedBackupIsRefusedAndNothingIsReplaced) {
  Reply backup = Api(controller_->base_url(), controller_->admin_token()).Get("/v1/system/backup");
  ASSERT_EQ(backup.status, 200);
  const std::string damaged = (dir_ / "damaged.db").string();
  std::ofstream(damaged, std::ios::binary) << backup.body.substr(0, backup.body.size() / 2);
  const std::string not_sqlite = (dir_ / "notes.txt").string();
  std::ofstream(not_sqlite) << "not a database\n";
  controller_->Kill(SIGTERM);
  for (const std::string& bad : {damaged, not_sqlite}) {
    const std::string failure = controller_->Start({"--restore", bad});
    EXPECT_NE(failure.find("cannot restore the backup"), std::string::npos) << failure;
  }
  // The original database is untouched and serves as before.
  ASSERT_EQ(controller_->Start(), "");
  EXPECT_EQ(Api(controller_->base_url(), controller_->admin_token()).Get("/v1/departments").status, 200);
  for (const auto& entry : fs::directory_iterator(dir_ / "state")) {
    EXPECT_EQ(entry.path().filename().string().find("before-restore"), std::string::npos);
  }
}

}  // namespace
}  // namespace govpool::testing
