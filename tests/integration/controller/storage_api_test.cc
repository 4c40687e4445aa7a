// The storage routes end to end through the real controller (docs/storage.md): storage pools,
// agents reporting them with heartbeats, volumes placed in a reported pool within quota and
// the pool's nearfull ratio, agents' status reports, attach/detach, snapshots, images, and
// deletes that wait for the storage agent. No Ceph here: the test plays the agent over HTTP.
#include <algorithm>
#include <cstring>

#include "agent/http_controller_client.h"
#include "common/crypto.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;

class StorageApiTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    if (HasFatalFailure()) return;
    api::CreateStoragePoolRequest pool;
    pool.name = "ceph-ssd";
    pool.cluster = "ceph";
    pool.tiers = {"ssd"};
    auto created = client_->CreateStoragePool(pool);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    pool_ = *created;
  }

  // An agent user with a host that reaches cluster "ceph" (registered, not yet reporting).
  void StartAgent() {
    agent_token_ = CreateUserToken("storage-agent", api::Role::kAgent, "");
    agent_ = NewTypedClient(agent_token_);
    api::RegisterHostRequest req;
    req.name = "ceph-node-1";
    req.capacity = {16, 65536, 100, {}};
    req.storage_clusters = {"ceph"};
    // Pre-registered by the system-admin, so its token agent's host takes work (not pending).
    ASSERT_TRUE(client_->RegisterHost(req).ok());
    auto host = agent_->RegisterHost(req);
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
  }

  // The agent's heartbeat reporting the pool reachable at `used_ratio` of 100 GiB.
  api::Host ReportPool(double used_ratio) {
    api::StoragePoolReport report;
    report.pool_id = pool_.meta.id;
    report.reachable = true;
    report.stats.capacity_bytes = 100 * kGiB;
    report.stats.used_bytes = static_cast<std::int64_t>(used_ratio * 100 * kGiB);
    report.stats.available_bytes = report.stats.capacity_bytes - report.stats.used_bytes;
    report.stats.used_ratio = used_ratio;
    api::HeartbeatRequest hb;
    hb.storage_pools = std::vector<api::StoragePoolReport>{report};
    auto host = agent_->Heartbeat(host_.meta.id, hb);
    EXPECT_TRUE(host.ok()) << host.status().ToString();
    return host.ok() ? *host : api::Host{};
  }

  json::object VolumeBody(const std::string& name, std::int64_t size_gib) const {
    return {{"name", name}, {"department_id", dept_.meta.id}, {"size_gib", size_gib}};
  }

  // A department with a dept-admin (raw client `member_`).
  void MakeDepartment(const api::Quota& quota) {
    dept_ = CreateDepartment("storage", quota);
    member_ = std::make_unique<Api>(NewClient(CreateUserToken("st-admin", api::Role::kDeptAdmin, dept_.meta.id)));
  }

  api::StoragePool pool_;
  api::Department dept_;
  api::Host host_;
  std::string agent_token_;
  std::unique_ptr<api::Client> agent_;
  std::unique_ptr<Api> member_;
};

TEST_F(StorageApiTest, VolumeLifecycleThroughAgentReports) {
  MakeDepartment({.volumes = 1, .volume_gib = 100});

  // No agent has reported the pool yet: nowhere to put a volume.
  Reply early = member_->Post("/v1/volumes", VolumeBody("data-1", 10));
  EXPECT_EQ(early.status, 409) << early.Describe();
  EXPECT_EQ(early.ErrorCode(), "NO_VALID_STORAGE_POOL");
  EXPECT_TRUE(HasErrorShape(early));

  ASSERT_NO_FATAL_FAILURE(StartAgent());
  const api::Host reported = ReportPool(0.1);
  EXPECT_EQ(reported.storage_pools, std::vector<std::string>{pool_.meta.id});
  auto pool = client_->GetStoragePool("ceph-ssd");  // by name
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  EXPECT_EQ(pool->meta.id, pool_.meta.id);
  EXPECT_EQ(pool->status, "ok");
  EXPECT_EQ(pool->hosts, 1);
  EXPECT_EQ(pool->stats.capacity_bytes, 100 * kGiB);
  EXPECT_GT(pool->stats.reported_at_ms, 0);

  Reply created = member_->Post("/v1/volumes", VolumeBody("data-1", 10));
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string vol = created.Str("id");
  EXPECT_EQ(created.Str("state"), "creating");
  EXPECT_EQ(created.Str("host_id"), host_.meta.id);
  EXPECT_EQ(created.Str("pool_id"), pool_.meta.id);
  EXPECT_EQ(created.Int("size_gib"), 10);

  // The agent creates it and says so.
  api::VolumeStatusReport available;
  available.state = api::VolumeState::kAvailable;
  available.observed_generation = created.Int("generation");
  auto after = agent_->ReportVolumeStatus(vol, available);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->state, api::VolumeState::kAvailable);
  EXPECT_EQ(member_->Get("/v1/volumes/" + vol).Str("state"), "available");

  // Quota volumes = 1.
  Reply second = member_->Post("/v1/volumes", VolumeBody("data-2", 10));
  EXPECT_EQ(second.status, 403) << second.Describe();
  EXPECT_EQ(second.ErrorCode(), "QUOTA_EXCEEDED");
  Reply usage = admin_->Get("/v1/departments/" + dept_.meta.id + "/usage");
  EXPECT_EQ(usage.json.at("usage").at("volumes").at("used").as_int64(), 1) << usage.body;
  EXPECT_EQ(usage.json.at("usage").at("volume_gib").at("used").as_int64(), 10) << usage.body;

  // With room in the quota, a pool reported nearly full still takes nothing.
  api::PatchDepartmentRequest more;
  more.quota.emplace();
  more.quota->volumes = 5;
  ASSERT_TRUE(client_->PatchDepartment(dept_.meta.id, more).ok());
  ReportPool(0.9);
  Reply nearfull = member_->Post("/v1/volumes", VolumeBody("data-2", 10));
  EXPECT_EQ(nearfull.status, 409) << nearfull.Describe();
  EXPECT_EQ(nearfull.ErrorCode(), "STORAGE_POOL_NEARFULL");
  EXPECT_EQ(client_->GetStoragePool(pool_.meta.id)->status, "nearfull");
  ReportPool(0.1);

  // Listing with filters.
  Reply by_pool = member_->Get("/v1/volumes?pool_id=" + pool_.meta.id + "&limit=10");
  ASSERT_EQ(by_pool.status, 200) << by_pool.Describe();
  EXPECT_EQ(by_pool.json.at("items").as_array().size(), 1u);
  Reply by_dept = admin_->Get("/v1/volumes?department_id=" + dept_.meta.id);
  EXPECT_EQ(by_dept.json.at("items").as_array().size(), 1u);
  EXPECT_EQ(member_->Get("/v1/volumes?color=red").status, 400);

  // Growing it within quota; shrinking is refused.
  Reply grown = member_->Post("/v1/volumes/" + vol + "/resize", json::object{{"size_gib", 20}});
  EXPECT_EQ(grown.status, 202) << grown.Describe();
  EXPECT_EQ(grown.Int("size_gib"), 20);
  Reply shrunk = member_->Post("/v1/volumes/" + vol + "/resize", json::object{{"size_gib", 5}});
  EXPECT_EQ(shrunk.status, 400) << shrunk.Describe();

  // Snapshots.
  Reply snap = member_->Post("/v1/volumes/" + vol + "/snapshots", json::object{{"name", "before"}});
  ASSERT_EQ(snap.status, 201) << snap.Describe();
  EXPECT_EQ(snap.Str("state"), "creating");
  EXPECT_EQ(snap.Str("volume_id"), vol);
  const std::string sid = snap.Str("id");
  Reply snaps = member_->Get("/v1/volumes/" + vol + "/snapshots");
  ASSERT_EQ(snaps.status, 200) << snaps.Describe();
  ASSERT_EQ(snaps.json.at("items").as_array().size(), 1u);
  EXPECT_EQ(snaps.json.at("items").as_array()[0].at("name").as_string(), "before");
  api::SnapshotStatusReport snap_ok;
  snap_ok.state = api::SnapshotState::kAvailable;
  auto snap_after = agent_->ReportSnapshotStatus(vol, sid, snap_ok);
  ASSERT_TRUE(snap_after.ok()) << snap_after.status().ToString();
  EXPECT_EQ(member_->Get("/v1/volumes/" + vol + "/snapshots/" + sid).Str("state"), "available");
  EXPECT_EQ(member_->Get("/v1/volumes/" + vol + "/snapshots/not-a-uuid").status, 404);

  // Delete: deleting until the agent confirms, then gone (with its snapshots).
  Reply bad_flag = member_->Send("DELETE", "/v1/volumes/" + vol + "?flatten=maybe");
  EXPECT_EQ(bad_flag.status, 400) << bad_flag.Describe();
  Reply stale = member_->Send("DELETE", "/v1/volumes/" + vol, {}, {{"If-Match", "1"}});
  EXPECT_EQ(stale.status, 409) << stale.Describe();
  EXPECT_EQ(stale.ErrorCode(), "CONFLICT");
  Reply deleting = member_->Send("DELETE", "/v1/volumes/" + vol);
  ASSERT_EQ(deleting.status, 202) << deleting.Describe();
  EXPECT_EQ(deleting.Str("state"), "deleting");
  EXPECT_TRUE(deleting.json.at("deleting").as_bool()) << deleting.body;
  api::VolumeStatusReport gone;
  gone.state = api::VolumeState::kDeleted;
  gone.observed_generation = deleting.Int("generation");
  auto confirmed = agent_->ReportVolumeStatus(vol, gone);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status().ToString();
  EXPECT_FALSE(confirmed->has_value());  // 204: the record is gone
  EXPECT_EQ(member_->Get("/v1/volumes/" + vol).status, 404);
  EXPECT_EQ(member_->Get("/v1/volumes/" + vol + "/snapshots/" + sid).status, 404);
}

TEST_F(StorageApiTest, AttachedVolumesCannotBeDeleted) {
  MakeDepartment({});
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ReportPool(0.1);
  CreateFlavor("tiny", 1, 256, 1);
  Reply vm = member_->Post("/v1/vms", {{"name", "app"}, {"department_id", dept_.meta.id}, {"flavor", "tiny"}});
  ASSERT_EQ(vm.status, 201) << vm.Describe();
  ASSERT_EQ(vm.Str("host_id"), host_.meta.id);
  Reply created = member_->Post("/v1/volumes", VolumeBody("data", 10));
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string vol = created.Str("id");
  api::VolumeStatusReport available;
  available.state = api::VolumeState::kAvailable;
  available.observed_generation = created.Int("generation");
  ASSERT_TRUE(agent_->ReportVolumeStatus(vol, available).ok());

  Reply attached = member_->Post("/v1/volumes/" + vol + "/attach", json::object{{"vm_id", vm.Str("id")}});
  ASSERT_EQ(attached.status, 202) << attached.Describe();
  EXPECT_EQ(attached.Str("vm_id"), vm.Str("id"));
  EXPECT_EQ(attached.Str("device"), "vdb");
  Reply by_vm = member_->Get("/v1/volumes?vm_id=" + vm.Str("id"));
  ASSERT_EQ(by_vm.status, 200);
  EXPECT_EQ(by_vm.json.at("items").as_array().size(), 1u);

  Reply refused = member_->Send("DELETE", "/v1/volumes/" + vol);
  EXPECT_EQ(refused.status, 409) << refused.Describe();
  EXPECT_EQ(refused.ErrorCode(), "VOLUME_IN_USE");
  EXPECT_TRUE(HasErrorShape(refused));
  Reply rollback = member_->Post("/v1/volumes/" + vol + "/snapshots/" + vol + "/rollback", json::object{});
  EXPECT_NE(rollback.status, 202) << rollback.Describe();

  Reply detached = member_->Send("POST", "/v1/volumes/" + vol + "/detach");
  ASSERT_EQ(detached.status, 202) << detached.Describe();
  // Once the VM's host reports the unplug, the volume may go.
  available.observed_generation = detached.Int("generation");
  ASSERT_TRUE(agent_->ReportVolumeStatus(vol, available).ok());
  EXPECT_EQ(member_->Get("/v1/volumes/" + vol).Str("vm_id"), "");
  Reply deleting = member_->Send("DELETE", "/v1/volumes/" + vol);
  EXPECT_EQ(deleting.status, 202) << deleting.Describe();
}

TEST_F(StorageApiTest, StoragePoolsAreAdminsToChange) {
  MakeDepartment({});
  // Everyone reads; only admins write.
  Reply list = member_->Get("/v1/storage-pools");
  ASSERT_EQ(list.status, 200) << list.Describe();
  Reply forbidden = member_->Post("/v1/storage-pools", json::object{{"name", "mine"}, {"cluster", "ceph"}});
  EXPECT_EQ(forbidden.status, 403) << forbidden.Describe();
  Reply dup = admin_->Post("/v1/storage-pools", json::object{{"name", "ceph-ssd"}, {"cluster", "ceph"}});
  EXPECT_EQ(dup.status, 409) << dup.Describe();
  EXPECT_EQ(dup.ErrorCode(), "ALREADY_EXISTS");
  Reply unknown_field = admin_->Post("/v1/storage-pools", json::object{{"name", "x"}, {"cluster", "ceph"}, {"size", 1}});
  EXPECT_EQ(unknown_field.status, 400) << unknown_field.Describe();

  // Unknown until an agent reports it.
  Reply fresh = admin_->Get("/v1/storage-pools/" + pool_.meta.id);
  EXPECT_EQ(fresh.Str("status"), "unknown") << fresh.body;

  // PATCH with If-Match.
  Reply stale = admin_->Send("PATCH", "/v1/storage-pools/" + pool_.meta.id, R"({"enabled":false})",
                             {{"If-Match", "1"}});
  EXPECT_EQ(stale.status, 409) << stale.Describe();
  Reply patched = admin_->Send("PATCH", "/v1/storage-pools/" + pool_.meta.id,
                               R"({"enabled":false,"nearfull_ratio":0.8})",
                               {{"If-Match", std::to_string(pool_.meta.revision)}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  EXPECT_FALSE(patched.json.at("enabled").as_bool());
  EXPECT_EQ(admin_->Send("PATCH", "/v1/storage-pools/ceph-ssd", R"({"enabled":true})").status, 404);

  // A pool holding a volume cannot go.
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  api::PatchStoragePoolRequest enable;
  enable.enabled = true;
  ASSERT_TRUE(client_->PatchStoragePool(pool_.meta.id, enable).ok());
  ReportPool(0.1);
  Reply vol = member_->Post("/v1/volumes", VolumeBody("keeper", 1));
  ASSERT_EQ(vol.status, 201) << vol.Describe();
  Reply busy = admin_->Send("DELETE", "/v1/storage-pools/" + pool_.meta.id);
  EXPECT_EQ(busy.status, 409) << busy.Describe();
  EXPECT_EQ(busy.ErrorCode(), "HAS_DEPENDENTS");

  api::CreateStoragePoolRequest spare;
  spare.name = "spare";
  spare.cluster = "ceph";
  auto created = client_->CreateStoragePool(spare);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->ceph_pool, "spare");  // defaults to the name
  EXPECT_TRUE(client_->DeleteStoragePool(created->meta.id).ok());
  EXPECT_EQ(admin_->Get("/v1/storage-pools/spare").status, 404);
}

TEST_F(StorageApiTest, ImagesAreRecordsUntilTheirDataArrives) {
  MakeDepartment({});
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ReportPool(0.1);
  Reply bad_sha = member_->Post("/v1/images", json::object{{"name", "deb"}, {"department_id", dept_.meta.id},
                                                           {"sha256", "abc"}});
  EXPECT_EQ(bad_sha.status, 400) << bad_sha.Describe();
  Reply pub = member_->Post("/v1/images", json::object{{"name", "public-deb"}});
  EXPECT_EQ(pub.status, 403) << pub.Describe();  // public images are admins'

  Reply image = member_->Post("/v1/images", json::object{{"name", "deb"}, {"department_id", dept_.meta.id},
                                                         {"format", "qcow2"}},
                              {{"Idempotency-Key", "img-deb"}});
  ASSERT_EQ(image.status, 201) << image.Describe();
  EXPECT_EQ(image.Str("state"), "queued");
  EXPECT_EQ(image.Str("visibility"), "private");
  Reply replay = member_->Post("/v1/images", json::object{{"name", "deb"}, {"department_id", dept_.meta.id},
                                                          {"format", "qcow2"}},
                               {{"Idempotency-Key", "img-deb"}});
  EXPECT_EQ(replay.Str("id"), image.Str("id"));
  const std::string id = image.Str("id");
  EXPECT_EQ(member_->Get("/v1/images/deb").Str("id"), id);  // by name
  Reply images = member_->Get("/v1/images");
  ASSERT_EQ(images.status, 200);
  EXPECT_EQ(images.json.at("items").as_array().size(), 1u);

  // Nothing to verify before it is imported; a clone of it must wait too.
  Reply verify = member_->Send("POST", "/v1/images/" + id + "/verify");
  EXPECT_EQ(verify.status, 409) << verify.Describe();
  EXPECT_TRUE(HasErrorShape(verify));
  Reply clone = member_->Post("/v1/volumes", json::object{{"name", "root"}, {"department_id", dept_.meta.id},
                                                          {"image", "deb"}});
  EXPECT_EQ(clone.status, 409) << clone.Describe();
  EXPECT_EQ(clone.ErrorCode(), "IMAGE_NOT_READY");

  Reply del = member_->Send("DELETE", "/v1/images/" + id);
  EXPECT_TRUE(del.status == 202 || del.status == 204) << del.Describe();
  if (del.status == 202) {
    api::ImageStatusReport gone;
    gone.state = api::ImageState::kDeleted;
    auto r = agent_->ReportImageStatus(id, gone);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->has_value());
  }
  EXPECT_EQ(member_->Get("/v1/images/" + id).status, 404);
}

TEST_F(StorageApiTest, AgentsOnlyReportTheirOwnWork) {
  MakeDepartment({});
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ReportPool(0.1);
  Reply created = member_->Post("/v1/volumes", VolumeBody("data", 1));
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string report = R"({"state":"available","observed_generation":1})";
  // A department user is not an agent.
  EXPECT_EQ(member_->Send("PUT", "/v1/volumes/" + created.Str("id") + "/status", report).status, 403);
  // Another agent's host does not do this volume's work.
  auto other = NewTypedClient(CreateUserToken("other-agent", api::Role::kAgent, ""));
  api::RegisterHostRequest req;
  req.name = "elsewhere";
  req.capacity = {4, 4096, 10, {}};
  ASSERT_TRUE(other->RegisterHost(req).ok());
  api::VolumeStatusReport r;
  r.state = api::VolumeState::kAvailable;
  r.observed_generation = 1;
  auto refused = other->ReportVolumeStatus(created.Str("id"), r);
  EXPECT_FALSE(refused.ok());
  // The heartbeat's storage report is the host's own agent's only.
  api::StoragePoolReport pool_report;
  pool_report.pool_id = pool_.meta.id;
  pool_report.reachable = true;
  api::HeartbeatRequest hb;
  hb.storage_pools = std::vector<api::StoragePoolReport>{pool_report};
  EXPECT_FALSE(other->Heartbeat(host_.meta.id, hb).ok());
  // A malformed storage report is refused as a whole.
  Api raw = NewClient(agent_token_);
  Reply bad = raw.Post("/v1/hosts/" + host_.meta.id + "/heartbeat",
                       json::object{{"storage_pools", json::array{json::object{{"reachable", true}}}}});
  EXPECT_EQ(bad.status, 400) << bad.Describe();
}

// An image's data streams in (uploaded_bytes, SHA-256), the import goes to the agent reaching
// the pool, which downloads exactly what was uploaded; a wrong expected SHA-256 is refused.
TEST_F(StorageApiTest, ImageDataStreamsInAndOutWithItsChecksum) {
  StartAgent();
  ReportPool(0.1);
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 5);
  const std::string sha = Sha256Hex(data);
  auto reader = [&data](std::size_t* offset) {
    return [&data, offset](char* buf, std::size_t n) -> Result<std::size_t> {
      const std::size_t k = std::min(n, data.size() - *offset);
      std::memcpy(buf, data.data() + *offset, k);
      *offset += k;
      return k;
    };
  };

  api::CreateImageRequest req;
  req.name = "marker-disk";
  req.sha256 = sha;
  auto image = client_->CreateImage(req);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  std::size_t offset = 0;
  std::uint64_t progress = 0;
  auto uploaded = client_->UploadImageData(image->meta.id, reader(&offset), data.size(),
                                           [&](std::uint64_t sent) { progress = sent; });
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(progress, data.size());
  EXPECT_EQ(uploaded->state, api::ImageState::kImporting);
  EXPECT_EQ(uploaded->sha256, sha);
  EXPECT_EQ(uploaded->size_bytes, static_cast<std::int64_t>(data.size()));
  EXPECT_EQ(uploaded->host_id, host_.meta.id);
  // Once is enough: a second upload is refused.
  offset = 0;
  EXPECT_EQ(client_->UploadImageData(image->meta.id, reader(&offset), data.size()).status().code(),
            StatusCode::kFailedPrecondition);

  // The agent that imports it reads back exactly the upload.
  std::string got;
  Status down = agent_->DownloadImageData(image->meta.id, [&](std::string_view chunk) {
    got.append(chunk);
    return OkStatus();
  });
  ASSERT_TRUE(down.ok()) << down.ToString();
  EXPECT_EQ(got.size(), data.size());
  EXPECT_EQ(Sha256Hex(got), sha);

  // An upload that does not match the SHA-256 given at creation is refused and recorded.
  req.name = "corrupt";
  req.sha256 = std::string(64, '0');
  auto corrupt = client_->CreateImage(req);
  ASSERT_TRUE(corrupt.ok());
  offset = 0;
  auto refused = client_->UploadImageData(corrupt->meta.id, reader(&offset), data.size());
  EXPECT_EQ(refused.status().reason(), "IMAGE_CHECKSUM_MISMATCH") << refused.status().ToString();
  auto after = client_->GetImage(corrupt->meta.id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, api::ImageState::kError);
  // No data to download for it.
  EXPECT_FALSE(agent_->DownloadImageData(corrupt->meta.id, [](std::string_view) { return OkStatus(); }).ok());
}

// The agent's HttpControllerClient reports import progress from inside its download's sink, as
// the storage reconciler does: the download streams over a connection of its own, so the
// reports and the download both succeed (on one connection each broke the other).
TEST_F(StorageApiTest, AnAgentReportsProgressWhileItsDownloadStreams) {
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ReportPool(0.1);
  const std::string data(8 * 1024 * 1024, 'd');
  api::CreateImageRequest req;
  req.name = "big";
  auto image = client_->CreateImage(req);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  const std::string id = image->meta.id;
  std::size_t offset = 0;
  auto uploaded = client_->UploadImageData(id, [&](char* buf, std::size_t n) -> Result<std::size_t> {
    const std::size_t k = std::min(n, data.size() - offset);
    std::memcpy(buf, data.data() + offset, k);
    offset += k;
    return k;
  }, data.size());
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();

  api::ClientOptions o;
  o.base_url = controller_->base_url();
  o.bearer_token = agent_token_;
  auto agent = agent::HttpControllerClient::Create(o);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  std::size_t got = 0;
  int reports = 0;
  Status down = (*agent)->DownloadImage(id, [&](std::string_view chunk) -> Status {
    got += chunk.size();
    if (reports < 3 && got < data.size()) {
      api::ImageStatusReport r;
      r.state = api::ImageState::kImporting;
      r.state_reason = "downloading the upload (" + std::to_string(got) + " bytes)";
      GP_RETURN_IF_ERROR((*agent)->ReportImageStatus(id, r));
      ++reports;
    }
    return OkStatus();
  });
  ASSERT_TRUE(down.ok()) << down.ToString();
  EXPECT_EQ(got, data.size());
  EXPECT_EQ(reports, 3);
  auto after = client_->GetImage(id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state_reason.rfind("downloading the upload", 0), 0u) << after->state_reason;
}

}  // namespace
}  // namespace govpool::testing
