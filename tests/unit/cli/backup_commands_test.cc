// govpoolctl's backup commands (backup-policy, backup) against a scripted controller: the runs
// table (state, incremental, bytes transferred, size, completion, attempts, reason) read in one
// request, filters and names resolved to ids, request bodies built from the options, --wait
// polling a backup (its retried attempts on stderr) or a restored volume until available, and
// usage errors caught before any request.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/cli/fake_controller.h"

namespace govpool::cli {
namespace {

using namespace testing;  // NOLINT: the fake controller and CtlTest

constexpr const char* kDeptId = "11111111-1111-4111-8111-111111111111";
constexpr const char* kPoolId = "55555555-5555-4555-8555-555555555555";
constexpr const char* kBackupPoolId = "55555555-5555-4555-8555-555555555556";
constexpr const char* kVolId = "66666666-6666-4666-8666-666666666661";
constexpr const char* kRestoredId = "66666666-6666-4666-8666-666666666662";
constexpr const char* kPolicyId = "99999999-9999-4999-8999-999999999990";
constexpr const char* kBackup1Id = "99999999-9999-4999-8999-999999999991";
constexpr const char* kBackup2Id = "99999999-9999-4999-8999-999999999992";
constexpr const char* kBackup3Id = "99999999-9999-4999-8999-999999999993";

// 2023-11-14T22:13:20Z, and an hour later.
constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kT1 = kT0 + 3'600'000;

api::Department Finance() {
  api::Department d;
  d.meta = MetaOf(kDeptId);
  d.name = "finance";
  return d;
}

api::StoragePool Pool(const std::string& id, const std::string& name) {
  api::StoragePool p;
  p.meta = MetaOf(id);
  p.name = name;
  p.cluster = "ceph";
  return p;
}

api::Volume Data1() {
  api::Volume v;
  v.meta = MetaOf(kVolId);
  v.name = "data-1";
  v.department_id = kDeptId;
  v.pool_id = kPoolId;
  v.size_gib = 10;
  v.state = api::VolumeState::kAvailable;
  return v;
}

api::BackupPolicy Nightly() {
  api::BackupPolicy p;
  p.meta = MetaOf(kPolicyId);
  p.name = "nightly";
  p.department_id = kDeptId;
  p.schedule = "daily 02:00";
  p.keep = 7;
  p.target_pool_id = kBackupPoolId;
  p.enabled = true;
  p.next_run_at_ms = kT1;
  return p;
}

api::Backup MakeBackup(const std::string& id, const std::string& name, api::BackupState state) {
  api::Backup b;
  b.meta = MetaOf(id);
  b.name = name;
  b.department_id = kDeptId;
  b.volume_id = kVolId;
  b.volume_name = "data-1";
  b.source_pool_id = kPoolId;
  b.target_pool_id = kBackupPoolId;
  b.size_gib = 10;
  b.state = state;
  return b;
}

// A full backup, an incremental one (both by the policy), one retrying and one that failed.
std::vector<api::Backup> Runs() {
  api::Backup full = MakeBackup(kBackup1Id, "data-1-a", api::BackupState::kAvailable);
  full.policy_id = kPolicyId;
  full.transferred_bytes = 10LL << 30;
  full.completed_at_ms = kT0;
  api::Backup incremental = MakeBackup(kBackup2Id, "data-1-b", api::BackupState::kAvailable);
  incremental.policy_id = kPolicyId;
  incremental.parent_backup_id = kBackup1Id;
  incremental.incremental = true;
  incremental.transferred_bytes = 3 << 20;
  incremental.completed_at_ms = kT1;
  api::Backup retrying = MakeBackup(kBackup3Id, "data-1-c", api::BackupState::kCreating);
  retrying.attempts = 1;
  retrying.state_reason = "attempt 1 of 3 failed, retrying: rbd: timed out";
  return {full, incremental, retrying};
}

class BackupCommandsTest : public CtlTest {
 protected:
  void ServeCollections() {
    server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
    server_.OnJson("GET /v1/storage-pools",
                   Page(std::vector<api::StoragePool>{Pool(kPoolId, "ceph-ssd"), Pool(kBackupPoolId, "backup-hdd")}));
    server_.OnJson("GET /v1/volumes", Page(std::vector<api::Volume>{Data1()}));
    server_.OnJson("GET /v1/backup-policies", Page(std::vector<api::BackupPolicy>{Nightly()}));
    server_.OnJson("GET /v1/backups", Page(Runs()));
  }
  const Request* Last(const std::string& method, const std::string& path) const {
    const Request* found = nullptr;
    for (const Request& q : server_.requests) {
      if (q.method == method && q.Path() == path) found = &q;
    }
    return found;
  }
};

TEST_F(BackupCommandsTest, ListShowsEachRunInOneRequest) {
  ServeCollections();
  CtlRun r = Ctl({"backup", "list"});
  EXPECT_OK(r);
  EXPECT_EQ(r.out,
            "ID                                    NAME      VOLUME  STATE      INCREMENTAL  TRANSFERRED  "
            "SIZE_GIB  COMPLETED                 ATTEMPTS  STATE_REASON\n"
            "99999999-9999-4999-8999-999999999991  data-1-a  data-1  available  false        10.0 GiB     "
            "10        2023-11-14T22:13:20.000Z  0\n"
            "99999999-9999-4999-8999-999999999992  data-1-b  data-1  available  true         3.00 MiB     "
            "10        2023-11-14T23:13:20.000Z  0\n"
            "99999999-9999-4999-8999-999999999993  data-1-c  data-1  creating                             "
            "10                                  1         attempt 1 of 3 failed, retrying: rbd: timed out\n");
  ASSERT_EQ(server_.requests.size(), 1u);  // the volume's name is the backup's own
  EXPECT_EQ(server_.requests.front().target, "/v1/backups?limit=500");
}

TEST_F(BackupCommandsTest, ListWideNamesPoolPolicyAndParent) {
  ServeCollections();
  CtlRun r = Ctl({"backup", "list", "--wide"});
  EXPECT_OK(r);
  for (const char* column : {"VOLUME_ID", "DEPARTMENT", "TARGET_POOL", "POLICY", "PARENT_ID", "HOST"}) {
    EXPECT_NE(r.out.find(column), std::string::npos) << column << "\n" << r.out;
  }
  EXPECT_NE(r.out.find(std::string("backup-hdd   nightly  ") + kBackup1Id), std::string::npos) << r.out;
}

TEST_F(BackupCommandsTest, ListFiltersByNames) {
  ServeCollections();
  CtlRun r = Ctl({"backup", "list", "--volume", "data-1", "--policy", "nightly", "--department", "finance"});
  EXPECT_OK(r);
  const Request* list = Last("GET", "/v1/backups");
  ASSERT_NE(list, nullptr);
  EXPECT_NE(list->target.find(std::string("volume_id=") + kVolId), std::string::npos) << list->target;
  EXPECT_NE(list->target.find(std::string("policy_id=") + kPolicyId), std::string::npos) << list->target;
  EXPECT_NE(list->target.find(std::string("department_id=") + kDeptId), std::string::npos) << list->target;
  CtlRun json = Ctl({"backup", "list", "--json"});
  EXPECT_OK(json);
  auto page = api::Decode<api::ListPage<api::Backup>>(json.out);
  ASSERT_TRUE(page.ok()) << json.out;
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[1].transferred_bytes, 3 << 20);
}

TEST_F(BackupCommandsTest, CreateSendsTheVolumeAndTargetPool) {
  ServeCollections();
  server_.On("POST /v1/backups", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateBackupRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return api::JsonResponse(201, api::Encode(MakeBackup(kBackup3Id, "before-upgrade", api::BackupState::kCreating)));
  });
  // With --department the server finds the volume's name in it.
  CtlRun r = Ctl({"backup", "create", "--volume", "data-1", "--department", "finance", "--target-pool",
                  "backup-hdd", "--name", "before-upgrade"});
  EXPECT_OK(r);
  auto body = api::Parse<api::CreateBackupRequest>(server_.requests.back().body);
  ASSERT_TRUE(body.ok()) << server_.requests.back().body;
  EXPECT_EQ(body->volume, "data-1");
  EXPECT_EQ(body->department_id, kDeptId);
  EXPECT_EQ(body->target_pool, "backup-hdd");  // the server resolves pool names
  EXPECT_EQ(body->name, "before-upgrade");
  EXPECT_EQ(server_.requests.back().Header("Idempotency-Key").size(), 36u);
  EXPECT_EQ(Field(r.out, "state"), "creating");
  EXPECT_EQ(server_.Count("GET /v1/volumes"), 0);
  // Without it, the name is resolved here.
  CtlRun alone = Ctl({"backup", "create", "--volume", "data-1", "--target-pool", kBackupPoolId});
  EXPECT_OK(alone);
  body = api::Parse<api::CreateBackupRequest>(server_.requests.back().body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->volume, kVolId);
  EXPECT_EQ(body->department_id, "");
  EXPECT_EQ(body->name, "");
}

TEST_F(BackupCommandsTest, CreateRefusalsKeepTheirReason) {
  server_.OnError("POST /v1/backups", FailedPrecondition("volume 'data-1' has a backup in progress")
                                          .WithReason("BACKUP_IN_PROGRESS")
                                          .WithDetail("backup_id", std::string(kBackup3Id)));
  CtlRun r = Ctl({"backup", "create", "--volume", kVolId, "--target-pool", "backup-hdd"});
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(r.err, std::string("error: BACKUP_IN_PROGRESS: volume 'data-1' has a backup in progress (backup_id=") +
                       kBackup3Id + ")\n");
}

// GET /v1/backups/ID answers `states` in turn (the last one for ever).
void ServeBackupSequence(FakeServer& server, std::vector<api::Backup> states) {
  auto n = std::make_shared<size_t>(0);
  server.On("GET /v1/backups/" + std::string(kBackup3Id), [states, n](const Request&) -> Result<api::HttpResponse> {
    const api::Backup& b = states[std::min(*n, states.size() - 1)];
    ++*n;
    return api::JsonResponse(200, api::Encode(b));
  });
}

TEST_F(BackupCommandsTest, CreateWaitShowsRetriesUntilAvailable) {
  api::Backup creating = MakeBackup(kBackup3Id, "b", api::BackupState::kCreating);
  server_.OnJson("POST /v1/backups", api::Encode(creating), 201);
  api::Backup retrying = creating;
  retrying.attempts = 1;
  retrying.generation = 2;
  retrying.state_reason = "attempt 1 of 3 failed, retrying: rbd: timed out";
  api::Backup done = retrying;
  done.state = api::BackupState::kAvailable;
  done.state_reason.clear();
  done.incremental = true;
  done.transferred_bytes = 3 << 20;
  done.completed_at_ms = kT1;
  ServeBackupSequence(server_, {creating, retrying, retrying, done});
  CtlRun r = Ctl({"backup", "create", "--volume", kVolId, "--target-pool", "backup-hdd", "--wait"});
  EXPECT_OK(r);
  EXPECT_EQ(r.err,
            "backup b: creating\n"
            "backup b: creating: attempt 1 of 3 failed, retrying: rbd: timed out\n"
            "backup b: available (incremental, 3.00 MiB transferred)\n");
  EXPECT_EQ(server_.Count("GET /v1/backups/" + std::string(kBackup3Id)), 4);
  EXPECT_EQ(slept_, std::chrono::seconds(4));
  EXPECT_EQ(Field(r.out, "state"), "available");
  EXPECT_EQ(Field(r.out, "transferred_bytes"), "3145728");
  EXPECT_EQ(Field(r.out, "completed_at"), "2023-11-14T23:13:20.000Z");
}

TEST_F(BackupCommandsTest, CreateWaitFailsOnErrorAndTimeout) {
  api::Backup creating = MakeBackup(kBackup3Id, "b", api::BackupState::kCreating);
  server_.OnJson("POST /v1/backups", api::Encode(creating), 201);
  api::Backup failed = creating;
  failed.state = api::BackupState::kError;
  failed.attempts = 3;
  failed.state_reason = "failed after 3 attempts: rbd: no space";
  ServeBackupSequence(server_, {failed});
  CtlRun error = Ctl({"backup", "create", "--volume", kVolId, "--target-pool", "backup-hdd", "--wait"});
  EXPECT_EQ(error.exit_code, kExitApiError);
  EXPECT_NE(error.err.find("error: BACKUP_ERROR: backup b failed: failed after 3 attempts: rbd: no space\n"),
            std::string::npos) << error.err;
  EXPECT_EQ(error.out, "");

  ServeBackupSequence(server_, {creating});
  slept_ = {};
  CtlRun timeout = Ctl({"backup", "create", "--volume", kVolId, "--target-pool", "backup-hdd", "--wait",
                        "--timeout", "3"});
  EXPECT_EQ(timeout.exit_code, kExitApiError);
  EXPECT_EQ(timeout.err,
            "backup b: creating\n"
            "error: TIMEOUT: backup b is still not available after 3 s\n");
  EXPECT_EQ(slept_, std::chrono::seconds(3));
}

TEST_F(BackupCommandsTest, ShowAndDeleteResolveNames) {
  ServeCollections();
  api::Backup b = Runs()[0];
  server_.OnJson("GET /v1/backups/" + std::string(kBackup1Id), api::Encode(b));
  CtlRun show = Ctl({"backup", "show", "data-1-a"});
  EXPECT_OK(show);
  EXPECT_EQ(Field(show.out, "incremental"), "false");
  EXPECT_EQ(Field(show.out, "policy_id"), kPolicyId);
  EXPECT_EQ(server_.requests.back().target, std::string("/v1/backups/") + kBackup1Id);

  b.deleting = true;
  b.state = api::BackupState::kDeleting;
  server_.OnJson("DELETE /v1/backups/" + std::string(kBackup1Id), api::Encode(b), 202);
  CtlRun deleting = Ctl({"backup", "delete", "data-1-a"});
  EXPECT_OK(deleting);
  EXPECT_EQ(deleting.out, std::string("deleting backup ") + kBackup1Id + " (its storage agent removes it)\n");
  server_.On("DELETE /v1/backups/" + std::string(kBackup2Id), [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun gone = Ctl({"backup", "delete", kBackup2Id});
  EXPECT_OK(gone);
  EXPECT_EQ(gone.out, std::string("deleted backup ") + kBackup2Id + "\n");
  server_.OnError("DELETE /v1/backups/" + std::string(kBackup2Id),
                  FailedPrecondition("backup 'data-1-b' is being restored into 1 volume(s)").WithReason("HAS_DEPENDENTS"));
  CtlRun refused = Ctl({"backup", "delete", kBackup2Id});
  EXPECT_EQ(refused.exit_code, kExitApiError);
  EXPECT_EQ(refused.err, "error: HAS_DEPENDENTS: backup 'data-1-b' is being restored into 1 volume(s)\n");
  CtlRun none = Ctl({"backup", "show", "nope"});
  EXPECT_EQ(none.exit_code, kExitApiError);
  EXPECT_NE(none.err.find("no backup named 'nope'"), std::string::npos) << none.err;
}

api::Volume Restored(api::VolumeState state) {
  api::Volume v = Data1();
  v.meta = MetaOf(kRestoredId);
  v.name = "data-1-restored";
  v.source_backup_id = kBackup2Id;
  v.state = state;
  return v;
}

TEST_F(BackupCommandsTest, RestoreCreatesAVolumeAndWaitsForIt) {
  ServeCollections();
  const std::string restore = "/v1/backups/" + std::string(kBackup2Id) + "/restore";
  server_.On("POST " + restore, [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::RestoreBackupRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return api::JsonResponse(201, api::Encode(Restored(api::VolumeState::kCreating)));
  });
  CtlRun r = Ctl({"backup", "restore", "data-1-b", "--name", "data-1-restored", "--pool", "ceph-ssd", "--tier", "ssd"});
  EXPECT_OK(r);
  const Request* post = Last("POST", restore);
  ASSERT_NE(post, nullptr);
  auto body = api::Parse<api::RestoreBackupRequest>(post->body);
  ASSERT_TRUE(body.ok()) << post->body;
  EXPECT_EQ(body->name, "data-1-restored");
  EXPECT_EQ(body->pool, "ceph-ssd");
  EXPECT_EQ(body->tier, "ssd");
  EXPECT_EQ(post->Header("Idempotency-Key").size(), 36u);
  EXPECT_EQ(Field(r.out, "source_backup_id"), kBackup2Id);
  EXPECT_EQ(Field(r.out, "state"), "creating");

  auto n = std::make_shared<int>(0);
  server_.On("GET /v1/volumes/" + std::string(kRestoredId), [n](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(200, api::Encode(Restored(++*n < 2 ? api::VolumeState::kCreating
                                                                 : api::VolumeState::kAvailable)));
  });
  slept_ = {};
  CtlRun waited = Ctl({"backup", "restore", kBackup2Id, "--name", "data-1-restored", "--wait"});
  EXPECT_OK(waited);
  EXPECT_EQ(waited.err, "volume data-1-restored: creating\nvolume data-1-restored: available\n");
  EXPECT_EQ(Field(waited.out, "state"), "available");
  EXPECT_EQ(slept_, std::chrono::seconds(2));

  server_.OnError("POST " + restore, FailedPrecondition("backup 'data-1-b' is error, not available")
                                         .WithReason("BACKUP_NOT_READY"));
  CtlRun refused = Ctl({"backup", "restore", kBackup2Id, "--name", "x"});
  EXPECT_EQ(refused.exit_code, kExitApiError);
  EXPECT_EQ(refused.err, "error: BACKUP_NOT_READY: backup 'data-1-b' is error, not available\n");
}

TEST_F(BackupCommandsTest, VolumeListWideShowsARestoresSource) {
  ServeCollections();
  server_.OnJson("GET /v1/volumes", Page(std::vector<api::Volume>{Restored(api::VolumeState::kAvailable)}));
  server_.OnJson("GET /v1/hosts", Page(std::vector<api::Host>{}));
  server_.OnJson("GET /v1/vms", Page(std::vector<api::Vm>{}));
  CtlRun r = Ctl({"volume", "list", "--wide"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find(std::string("backup ") + kBackup2Id + "\n"), std::string::npos) << r.out;
}

TEST_F(BackupCommandsTest, PolicyCreateListUpdateDelete) {
  ServeCollections();
  server_.On("POST /v1/backup-policies", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateBackupPolicyRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    api::BackupPolicy p = Nightly();
    p.enabled = req->enabled;
    return api::JsonResponse(201, api::Encode(p));
  });
  CtlRun c = Ctl({"backup-policy", "create", "nightly", "--department", "finance", "--volume", "data-1",
                  "--schedule", "daily 02:00", "--keep", "14", "--target-pool", "backup-hdd", "--disabled"});
  EXPECT_OK(c);
  auto create = api::Parse<api::CreateBackupPolicyRequest>(server_.requests.back().body);
  ASSERT_TRUE(create.ok()) << server_.requests.back().body;
  EXPECT_EQ(create->name, "nightly");
  EXPECT_EQ(create->department_id, kDeptId);
  EXPECT_EQ(create->volume, "data-1");  // the server finds it in the department
  EXPECT_EQ(create->schedule, "daily 02:00");
  EXPECT_EQ(create->keep, 14);
  EXPECT_EQ(create->target_pool, "backup-hdd");
  EXPECT_FALSE(create->enabled);
  EXPECT_EQ(server_.requests.back().Header("Idempotency-Key").size(), 36u);
  EXPECT_EQ(Field(c.out, "enabled"), "false");
  CtlRun defaults = Ctl({"backup-policy", "create", "all", "--department", kDeptId, "--schedule", "every 6h",
                         "--target-pool", "backup-hdd"});
  EXPECT_OK(defaults);
  create = api::Parse<api::CreateBackupPolicyRequest>(server_.requests.back().body);
  ASSERT_TRUE(create.ok());
  EXPECT_EQ(create->volume, "");
  EXPECT_EQ(create->keep, 7);
  EXPECT_TRUE(create->enabled);

  api::BackupPolicy all = Nightly();
  all.meta.id = "99999999-9999-4999-8999-99999999999a";
  all.name = "all";
  all.schedule = "every 6h";
  all.enabled = false;
  all.next_run_at_ms = 0;
  api::BackupPolicy one = Nightly();
  one.volume_id = kVolId;
  one.last_run_at_ms = kT0;
  server_.OnJson("GET /v1/backup-policies", Page(std::vector<api::BackupPolicy>{one, all}));
  CtlRun list = Ctl({"backup-policy", "list", "--department", "finance"});
  EXPECT_OK(list);
  EXPECT_EQ(list.out,
            "ID                                    NAME     DEPARTMENT  VOLUME  SCHEDULE     KEEP  TARGET_POOL  "
            "ENABLED  LAST_RUN                  NEXT_RUN\n"
            "99999999-9999-4999-8999-999999999990  nightly  finance     data-1  daily 02:00  7     backup-hdd   "
            "true     2023-11-14T22:13:20.000Z  2023-11-14T23:13:20.000Z\n"
            "99999999-9999-4999-8999-99999999999a  all      finance     (all)   every 6h     7     backup-hdd   "
            "false\n");
  EXPECT_NE(Last("GET", "/v1/backup-policies")->target.find(std::string("department_id=") + kDeptId),
            std::string::npos);

  server_.OnJson("PATCH /v1/backup-policies/" + std::string(kPolicyId), api::Encode(Nightly()));
  CtlRun u = Ctl({"backup-policy", "update", "nightly", "--enabled", "off", "--keep", "3"});
  EXPECT_OK(u);
  auto patch = api::Parse<api::PatchBackupPolicyRequest>(server_.requests.back().body);
  ASSERT_TRUE(patch.ok()) << server_.requests.back().body;
  EXPECT_EQ(patch->enabled, false);
  EXPECT_EQ(patch->keep, 3);
  EXPECT_FALSE(patch->schedule.has_value());
  const size_t before = server_.requests.size();
  EXPECT_EQ(Ctl({"backup-policy", "update", "nightly"}).exit_code, kExitUsage);
  EXPECT_EQ(Ctl({"backup-policy", "update", "nightly", "--enabled", "maybe"}).exit_code, kExitUsage);
  EXPECT_EQ(Ctl({"backup-policy", "update", "nightly", "--keep", "0"}).exit_code, kExitUsage);
  EXPECT_EQ(server_.requests.size(), before);

  server_.OnError("PATCH /v1/backup-policies/" + std::string(kPolicyId),
                  InvalidArgument("schedule 'daily 25:00': a daily schedule takes a time as \"HH:MM\"")
                      .WithDetail("field", "schedule"));
  CtlRun bad = Ctl({"backup-policy", "update", kPolicyId, "--schedule", "daily 25:00"});
  EXPECT_EQ(bad.exit_code, kExitApiError);
  EXPECT_NE(bad.err.find("field=schedule"), std::string::npos) << bad.err;

  server_.On("DELETE /v1/backup-policies/" + std::string(kPolicyId), [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun d = Ctl({"backup-policy", "delete", "nightly"});
  EXPECT_OK(d);
  EXPECT_EQ(d.out, std::string("deleted backup-policy ") + kPolicyId + "\n");
}

TEST_F(BackupCommandsTest, UsageErrorsSendNothing) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"backup", "create", "--volume", kVolId},
           {"backup", "create", "--target-pool", "p"},
           {"backup", "create", "--volume", kVolId, "--target-pool", "p", "--timeout", "-1"},
           {"backup", "restore", kBackup1Id},
           {"backup-policy", "create", "p", "--department", kDeptId, "--target-pool", "x"},
           {"backup-policy", "create", "p", "--department", kDeptId, "--schedule", "hourly", "--target-pool",
            "x", "--keep", "1001"},
       }) {
    CtlRun r = Ctl(argv);
    EXPECT_EQ(r.exit_code, kExitUsage) << argv[0] << " " << argv[1] << "\n" << r.err;
  }
  EXPECT_TRUE(server_.requests.empty());
}

}  // namespace
}  // namespace govpool::cli
