// govpoolctl's storage commands (storage-pool, volume, snapshot, image, vm create --image)
// against a scripted controller: names in tables (each collection listed once), --wide ids,
// request bodies and query parameters built from the options, the 202/204 delete answers,
// snapshot names resolved within their volume, and usage errors caught before any request;
// image upload (the file streamed, progress on stderr, formats checked), image create --file
// and image wait (polling until available, error or timeout).
#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/cli/fake_controller.h"

namespace govpool::cli {
namespace {

using namespace testing;  // NOLINT: the fake controller and CtlTest

constexpr const char* kDeptId = "11111111-1111-4111-8111-111111111111";
constexpr const char* kHostId = "22222222-2222-4222-8222-222222222222";
constexpr const char* kVmId = "33333333-3333-4333-8333-333333333331";
constexpr const char* kPoolId = "55555555-5555-4555-8555-555555555555";
constexpr const char* kVol1Id = "66666666-6666-4666-8666-666666666661";
constexpr const char* kVol2Id = "66666666-6666-4666-8666-666666666662";
constexpr const char* kSnapId = "77777777-7777-4777-8777-777777777777";
constexpr const char* kImageId = "88888888-8888-4888-8888-888888888888";

api::Department Finance() {
  api::Department d;
  d.meta = MetaOf(kDeptId);
  d.name = "finance";
  return d;
}

api::Host HostA() {
  api::Host h;
  h.meta = MetaOf(kHostId);
  h.name = "host-a";
  h.capacity = {16, 65536, 1000, {}};
  return h;
}

api::Vm Web1() {
  api::Vm v;
  v.meta = MetaOf(kVmId);
  v.name = "web-1";
  v.department_id = kDeptId;
  v.host_id = kHostId;
  return v;
}

api::StoragePool CephSsd() {
  api::StoragePool p;
  p.meta = MetaOf(kPoolId);
  p.name = "ceph-ssd";
  p.cluster = "ceph";
  p.ceph_pool = "rbd-ssd";
  p.tiers = {"ssd"};
  p.status = "ok";
  p.stats.capacity_bytes = 100LL * 1024 * 1024 * 1024;
  p.stats.used_ratio = 0.125;
  p.stats.reported_at_ms = 1'700'000'000'000;
  p.allocated_gib = 30;
  p.volumes = 2;
  p.hosts = 1;
  return p;
}

api::Volume MakeVolume(const std::string& id, const std::string& name, const std::string& vm_id) {
  api::Volume v;
  v.meta = MetaOf(id);
  v.name = name;
  v.department_id = kDeptId;
  v.pool_id = kPoolId;
  v.size_gib = 10;
  v.host_id = kHostId;
  v.vm_id = vm_id;
  v.device = vm_id.empty() ? "" : "vdb";
  v.state = vm_id.empty() ? api::VolumeState::kAvailable : api::VolumeState::kInUse;
  return v;
}

api::VolumeSnapshot Snap() {
  api::VolumeSnapshot s;
  s.meta = MetaOf(kSnapId);
  s.name = "before-upgrade";
  s.volume_id = kVol1Id;
  s.department_id = kDeptId;
  s.pool_id = kPoolId;
  s.size_gib = 10;
  s.state = api::SnapshotState::kAvailable;
  return s;
}

api::Image Debian() {
  api::Image i;
  i.meta = MetaOf(kImageId);
  i.name = "debian-12";
  i.visibility = api::Visibility::kPublic;
  i.format = api::ImageFormat::kQcow2;
  i.pool_id = kPoolId;
  i.size_bytes = 300 * 1024 * 1024 + 1;
  i.state = api::ImageState::kAvailable;
  return i;
}

class StorageCommandsTest : public CtlTest {
 protected:
  void ServeStorage() {
    server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
    server_.OnJson("GET /v1/hosts", Page(std::vector<api::Host>{HostA()}));
    server_.OnJson("GET /v1/vms", Page(std::vector<api::Vm>{Web1()}));
    server_.OnJson("GET /v1/storage-pools", Page(std::vector<api::StoragePool>{CephSsd()}));
    server_.OnJson("GET /v1/volumes", Page(std::vector<api::Volume>{MakeVolume(kVol1Id, "data-1", kVmId),
                                                                    MakeVolume(kVol2Id, "data-2", "")}));
    server_.OnJson("GET /v1/images", Page(std::vector<api::Image>{Debian()}));
  }
  // The body of the last request.
  const std::string& LastBody() const { return server_.requests.back().body; }
};

TEST_F(StorageCommandsTest, VolumeListShowsNamesListingEachCollectionOnce) {
  ServeStorage();
  CtlRun r = Ctl({"volume", "list"});
  EXPECT_OK(r);
  EXPECT_EQ(r.out,
            "ID                                    NAME    DEPARTMENT  POOL      SIZE_GIB  STATE      VM     DEVICE\n"
            "66666666-6666-4666-8666-666666666661  data-1  finance     ceph-ssd  10        in-use     web-1  vdb\n"
            "66666666-6666-4666-8666-666666666662  data-2  finance     ceph-ssd  10        available\n");
  EXPECT_EQ(server_.Count("GET /v1/departments"), 1);
  EXPECT_EQ(server_.Count("GET /v1/storage-pools"), 1);
  EXPECT_EQ(server_.Count("GET /v1/vms"), 1);
  EXPECT_EQ(server_.Count("GET /v1/hosts"), 0);  // the host shows only with --wide
  EXPECT_EQ(server_.requests.front().target, "/v1/volumes?limit=500");
}

TEST_F(StorageCommandsTest, VolumeListWideAddsIdsHostAndSource) {
  ServeStorage();
  api::Volume clone = MakeVolume(kVol2Id, "root", "");
  clone.source_image_id = kImageId;
  server_.OnJson("GET /v1/volumes", Page(std::vector<api::Volume>{clone}));
  CtlRun r = Ctl({"volume", "list", "--wide"});
  EXPECT_OK(r);
  for (const char* column : {"DEPARTMENT_ID", "POOL_ID", "VM_ID", "HOST", "HOST_ID", "SOURCE"}) {
    EXPECT_NE(r.out.find(column), std::string::npos) << column << "\n" << r.out;
  }
  EXPECT_NE(r.out.find(std::string("host-a  ") + kHostId + "  image debian-12\n"), std::string::npos) << r.out;
}

TEST_F(StorageCommandsTest, VolumeListFiltersByNames) {
  ServeStorage();
  CtlRun r = Ctl({"volume", "list", "--department", "finance", "--vm", "web-1", "--pool", "ceph-ssd"});
  EXPECT_OK(r);
  const Request* list = nullptr;
  for (const Request& q : server_.requests) {
    if (q.Path() == "/v1/volumes") list = &q;
  }
  ASSERT_NE(list, nullptr);
  EXPECT_NE(list->target.find(std::string("department_id=") + kDeptId), std::string::npos) << list->target;
  EXPECT_NE(list->target.find(std::string("vm_id=") + kVmId), std::string::npos) << list->target;
  EXPECT_NE(list->target.find(std::string("pool_id=") + kPoolId), std::string::npos) << list->target;
  EXPECT_EQ(server_.Count("GET /v1/departments"), 1);  // the filter's list serves the table too
  EXPECT_EQ(server_.Count("GET /v1/storage-pools"), 1);
}

TEST_F(StorageCommandsTest, VolumeCreateSendsTheRequestWithAnIdempotencyKey) {
  ServeStorage();
  server_.On("POST /v1/volumes", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateVolumeRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return api::JsonResponse(201, api::Encode(MakeVolume(kVol1Id, req->name, "")));
  });
  CtlRun r = Ctl({"volume", "create", "data-1", "--department", "finance", "--size-gib", "10", "--pool",
                  "ceph-ssd", "--tier", "ssd"});
  EXPECT_OK(r);
  auto body = api::Parse<api::CreateVolumeRequest>(LastBody());
  ASSERT_TRUE(body.ok()) << LastBody();
  EXPECT_EQ(body->department_id, kDeptId);
  EXPECT_EQ(body->size_gib, 10);
  EXPECT_EQ(body->pool, "ceph-ssd");  // the server resolves pool names
  EXPECT_EQ(body->tier, "ssd");
  EXPECT_EQ(server_.requests.back().Header("Idempotency-Key").size(), 36u);
  EXPECT_EQ(Field(r.out, "name"), "data-1");
  EXPECT_EQ(Field(r.out, "state"), "available");
}

TEST_F(StorageCommandsTest, VolumeCreateNeedsASizeOrASource) {
  CtlRun empty = Ctl({"volume", "create", "data-1", "--department", kDeptId});
  EXPECT_EQ(empty.exit_code, kExitUsage);
  EXPECT_NE(empty.err.find("--size-gib"), std::string::npos) << empty.err;
  CtlRun both = Ctl({"volume", "create", "c", "--department", kDeptId, "--image", "x", "--snapshot", kSnapId});
  EXPECT_EQ(both.exit_code, kExitUsage);
  EXPECT_TRUE(server_.requests.empty());
  server_.OnJson("POST /v1/volumes", api::Encode(MakeVolume(kVol1Id, "c", "")), 201);
  CtlRun clone = Ctl({"volume", "create", "c", "--department", kDeptId, "--image", "debian-12"});
  EXPECT_OK(clone);
  // A clone's size defaults to its source's: the CLI sends none of its own.
  EXPECT_NE(LastBody().find("\"image\":\"debian-12\""), std::string::npos) << LastBody();
  EXPECT_NE(LastBody().find("\"size_gib\":0"), std::string::npos) << LastBody();
}

TEST_F(StorageCommandsTest, CapacityRefusalsKeepTheirReason) {
  server_.OnError("POST /v1/volumes", ResourceExhausted("no storage pool can take 10 GiB")
                                          .WithReason("NO_VALID_STORAGE_POOL")
                                          .WithDetail("pools_total", std::int64_t{1}));
  CtlRun r = Ctl({"volume", "create", "data-1", "--department", kDeptId, "--size-gib", "10"});
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(r.err, "error: NO_VALID_STORAGE_POOL: no storage pool can take 10 GiB (pools_total=1)\n");
}

TEST_F(StorageCommandsTest, VolumeDeleteSaysTheAgentRemovesIt) {
  api::Volume deleting = MakeVolume(kVol1Id, "data-1", "");
  deleting.deleting = true;
  deleting.state = api::VolumeState::kDeleting;
  server_.OnJson("DELETE /v1/volumes/" + std::string(kVol1Id), api::Encode(deleting), 202);
  server_.On("DELETE /v1/volumes/" + std::string(kVol2Id), [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun r1 = Ctl({"volume", "delete", kVol1Id, "--flatten", "--if-match", "4"});
  EXPECT_OK(r1);
  EXPECT_EQ(r1.out, std::string("deleting volume ") + kVol1Id + " (its storage agent removes it)\n");
  EXPECT_NE(server_.requests.back().target.find("flatten=true"), std::string::npos);
  EXPECT_EQ(server_.requests.back().Header("If-Match"), "4");
  CtlRun r2 = Ctl({"volume", "delete", kVol2Id});
  EXPECT_OK(r2);
  EXPECT_EQ(r2.out, std::string("deleted volume ") + kVol2Id + "\n");
  EXPECT_EQ(server_.requests.back().target, std::string("/v1/volumes/") + kVol2Id);
  CtlRun json = Ctl({"volume", "delete", kVol1Id, "--json"});
  EXPECT_OK(json);
  auto shown = api::Decode<api::Volume>(json.out);
  ASSERT_TRUE(shown.ok()) << json.out;
  EXPECT_TRUE(shown->deleting);
}

TEST_F(StorageCommandsTest, VolumeAttachResolvesVolumeAndVmNames) {
  ServeStorage();
  server_.On("POST /v1/volumes/" + std::string(kVol2Id) + "/attach", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::AttachVolumeRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return api::JsonResponse(202, api::Encode(MakeVolume(kVol2Id, "data-2", req->vm_id)));
  });
  CtlRun r = Ctl({"volume", "attach", "data-2", "--vm", "web-1"});
  EXPECT_OK(r);
  const Request* post = nullptr;
  for (const Request& q : server_.requests) {
    if (q.method == "POST") post = &q;
  }
  ASSERT_NE(post, nullptr);
  auto body = api::Parse<api::AttachVolumeRequest>(post->body);
  ASSERT_TRUE(body.ok()) << post->body;
  EXPECT_EQ(body->vm_id, kVmId);
  EXPECT_NE(r.out.find("data-2  finance     ceph-ssd  10        in-use  web-1  vdb\n"), std::string::npos) << r.out;
  EXPECT_EQ(server_.Count("GET /v1/vms"), 1);
  EXPECT_EQ(server_.Count("GET /v1/volumes"), 1);
}

TEST_F(StorageCommandsTest, VolumeResizeAndDetachAreNotRetried) {
  server_.On("POST /v1/volumes/" + std::string(kVol1Id) + "/resize", [](const Request&) -> Result<api::HttpResponse> {
    return Unavailable("connection reset");
  });
  CtlRun r = Ctl({"volume", "resize", kVol1Id, "--size-gib", "20"});
  EXPECT_EQ(r.exit_code, kExitUnreachable);
  ASSERT_EQ(server_.requests.size(), 1u);
  auto body = api::Parse<api::ResizeVolumeRequest>(LastBody());
  ASSERT_TRUE(body.ok()) << LastBody();
  EXPECT_EQ(body->size_gib, 20);
  server_.OnJson("POST /v1/volumes/" + std::string(kVol1Id) + "/detach",
                 api::Encode(MakeVolume(kVol1Id, "data-1", "")), 202);
  CtlRun d = Ctl({"volume", "detach", kVol1Id, "--json"});
  EXPECT_OK(d);
  EXPECT_TRUE(LastBody().empty());
  CtlRun missing = Ctl({"volume", "resize", kVol1Id});
  EXPECT_EQ(missing.exit_code, kExitUsage);
}

TEST_F(StorageCommandsTest, StoragePoolListShowsStatusAndUsage) {
  ServeStorage();
  api::StoragePool fresh = CephSsd();
  fresh.meta.id = "55555555-5555-4555-8555-555555555556";
  fresh.name = "ceph-hdd";
  fresh.tiers = {"hdd"};
  fresh.status = "unknown";
  fresh.stats = {};
  fresh.allocated_gib = fresh.volumes = fresh.hosts = 0;
  server_.OnJson("GET /v1/storage-pools", Page(std::vector<api::StoragePool>{CephSsd(), fresh}));
  CtlRun r = Ctl({"storage-pool", "list"});
  EXPECT_OK(r);
  EXPECT_EQ(r.out,
            "ID                                    NAME      CLUSTER  TIERS  STATUS   ENABLED  USED   "
            "CAPACITY_GIB  ALLOCATED_GIB  VOLUMES  HOSTS\n"
            "55555555-5555-4555-8555-555555555555  ceph-ssd  ceph     ssd    ok       true     12.5%  "
            "100           30             2        1\n"
            "55555555-5555-4555-8555-555555555556  ceph-hdd  ceph     hdd    unknown  true            "
            "0             0              0        0\n");
}

TEST_F(StorageCommandsTest, StoragePoolCreateAndUpdate) {
  ServeStorage();
  server_.On("POST /v1/storage-pools", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateStoragePoolRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return api::JsonResponse(201, api::Encode(CephSsd()));
  });
  CtlRun c = Ctl({"storage-pool", "create", "ceph-ssd", "--cluster", "ceph", "--ceph-pool", "rbd-ssd",
                  "--tiers", "ssd,fast", "--provisioning-ratio", "2"});
  EXPECT_OK(c);
  auto create = api::Parse<api::CreateStoragePoolRequest>(LastBody());
  ASSERT_TRUE(create.ok()) << LastBody();
  EXPECT_EQ(create->cluster, "ceph");
  EXPECT_EQ(create->ceph_pool, "rbd-ssd");
  EXPECT_EQ(create->tiers, (std::vector<std::string>{"ssd", "fast"}));
  EXPECT_EQ(create->provisioning_ratio, 2.0);
  EXPECT_EQ(create->nearfull_ratio, 0.85);  // the default, sent as is
  EXPECT_EQ(Field(c.out, "stats.used_ratio"), "0.125");

  server_.OnJson("PATCH /v1/storage-pools/" + std::string(kPoolId), api::Encode(CephSsd()));
  CtlRun u = Ctl({"storage-pool", "update", "ceph-ssd", "--disable", "--nearfull-ratio", "0.9"});
  EXPECT_OK(u);
  auto patch = api::Parse<api::PatchStoragePoolRequest>(LastBody());
  ASSERT_TRUE(patch.ok()) << LastBody();
  EXPECT_EQ(patch->enabled, false);
  EXPECT_EQ(patch->nearfull_ratio, 0.9);
  EXPECT_FALSE(patch->tiers.has_value());
  CtlRun nothing = Ctl({"storage-pool", "update", "ceph-ssd"});
  EXPECT_EQ(nothing.exit_code, kExitUsage);
  CtlRun bad = Ctl({"storage-pool", "update", "ceph-ssd", "--nearfull-ratio", "1.5"});
  EXPECT_EQ(bad.exit_code, kExitUsage);

  server_.On("DELETE /v1/storage-pools/" + std::string(kPoolId), [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun d = Ctl({"storage-pool", "delete", "ceph-ssd"});
  EXPECT_OK(d);
  EXPECT_EQ(d.out, std::string("deleted storage-pool ") + kPoolId + "\n");
}

TEST_F(StorageCommandsTest, SnapshotsAreFoundByNameWithinTheirVolume) {
  ServeStorage();
  const std::string base = "/v1/volumes/" + std::string(kVol1Id) + "/snapshots";
  server_.OnJson("GET " + base, Page(std::vector<api::VolumeSnapshot>{Snap()}));
  CtlRun list = Ctl({"snapshot", "list", "--volume", "data-1"});
  EXPECT_OK(list);
  EXPECT_EQ(list.out,
            "ID                                    NAME            VOLUME  SIZE_GIB  STATE\n"
            "77777777-7777-4777-8777-777777777777  before-upgrade  data-1  10        available\n");

  server_.OnJson("POST " + base + "/" + kSnapId + "/rollback", api::Encode(MakeVolume(kVol1Id, "data-1", "")), 202);
  CtlRun rollback = Ctl({"snapshot", "rollback", "before-upgrade", "--volume", "data-1"});
  EXPECT_OK(rollback);
  EXPECT_EQ(rollback.out,
            std::string("rolling volume ") + kVol1Id + " back to snapshot " + kSnapId + "\n");

  api::VolumeSnapshot deleting = Snap();
  deleting.deleting = true;
  deleting.state = api::SnapshotState::kDeleting;
  server_.OnJson("DELETE " + base + "/" + kSnapId, api::Encode(deleting), 202);
  CtlRun del = Ctl({"snapshot", "delete", "before-upgrade", "--volume", kVol1Id, "--flatten"});
  EXPECT_OK(del);
  EXPECT_EQ(del.out, std::string("deleting snapshot ") + kSnapId + " (its storage agent removes it)\n");
  EXPECT_NE(server_.requests.back().target.find("flatten=true"), std::string::npos);

  CtlRun none = Ctl({"snapshot", "delete", "nightly", "--volume", kVol1Id});
  EXPECT_EQ(none.exit_code, kExitApiError);
  EXPECT_NE(none.err.find("no snapshot named 'nightly'"), std::string::npos) << none.err;
  CtlRun no_volume = Ctl({"snapshot", "list"});
  EXPECT_EQ(no_volume.exit_code, kExitUsage);
  EXPECT_NE(no_volume.err.find("--volume is required"), std::string::npos) << no_volume.err;
}

TEST_F(StorageCommandsTest, SnapshotCreateIsRetriedWithTheSameKey) {
  const std::string path = "/v1/volumes/" + std::string(kVol1Id) + "/snapshots";
  int posts = 0;
  server_.On("POST " + path, [&posts](const Request&) -> Result<api::HttpResponse> {
    if (++posts == 1) return Unavailable("connection reset");
    return api::JsonResponse(201, api::Encode(Snap()));
  });
  CtlRun r = Ctl({"snapshot", "create", "before-upgrade", "--volume", kVol1Id});
  EXPECT_OK(r);
  ASSERT_EQ(server_.requests.size(), 2u);
  EXPECT_EQ(server_.requests[0].Header("Idempotency-Key"), server_.requests[1].Header("Idempotency-Key"));
  auto body = api::Parse<api::CreateSnapshotRequest>(LastBody());
  ASSERT_TRUE(body.ok()) << LastBody();
  EXPECT_EQ(body->name, "before-upgrade");
}

TEST_F(StorageCommandsTest, ImagesListCreateVerifyDelete) {
  ServeStorage();
  CtlRun list = Ctl({"image", "list"});
  EXPECT_OK(list);
  EXPECT_EQ(list.out,
            "ID                                    NAME       DEPARTMENT  VISIBILITY  FORMAT  SIZE_MIB  POOL      STATE\n"
            "88888888-8888-4888-8888-888888888888  debian-12              public      qcow2   301       ceph-ssd  available\n");
  EXPECT_EQ(server_.Count("GET /v1/departments"), 0);  // a public image names no department

  api::Image queued = Debian();
  queued.state = api::ImageState::kQueued;
  server_.OnJson("POST /v1/images", api::Encode(queued), 201);
  const std::string sha(64, 'a');
  CtlRun create = Ctl({"image", "create", "debian-12", "--department", "finance", "--format", "qcow2",
                       "--sha256", sha});
  EXPECT_OK(create);
  auto body = api::Parse<api::CreateImageRequest>(LastBody());
  ASSERT_TRUE(body.ok()) << LastBody();
  EXPECT_EQ(body->department_id, kDeptId);
  EXPECT_EQ(body->format, api::ImageFormat::kQcow2);
  EXPECT_EQ(body->sha256, sha);
  EXPECT_EQ(Field(create.out, "state"), "queued");
  CtlRun bad_format = Ctl({"image", "create", "x", "--format", "vmdk"});
  EXPECT_EQ(bad_format.exit_code, kExitUsage);

  server_.OnJson("POST /v1/images/" + std::string(kImageId) + "/verify", api::Encode(Debian()), 202);
  CtlRun verify = Ctl({"image", "verify", "debian-12"});
  EXPECT_OK(verify);
  EXPECT_EQ(verify.out.rfind(std::string("verifying image ") + kImageId, 0), 0u) << verify.out;

  server_.On("DELETE /v1/images/" + std::string(kImageId), [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun del = Ctl({"image", "delete", "debian-12"});
  EXPECT_OK(del);
  EXPECT_EQ(del.out, std::string("deleted image ") + kImageId + "\n");

  server_.OnJson("GET /v1/images/debian-12", api::Encode(Debian()));
  CtlRun show = Ctl({"image", "show", "debian-12"});
  EXPECT_OK(show);
  EXPECT_EQ(Field(show.out, "format"), "qcow2");
  EXPECT_EQ(server_.requests.back().target, "/v1/images/debian-12");  // the server resolves names
}

TEST_F(StorageCommandsTest, VmCreateFromAnImage) {
  server_.On("POST /v1/vms", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateVmRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    api::Vm v = Web1();
    v.image_id = kImageId;
    v.root_volume_id = kVol1Id;
    return api::JsonResponse(201, api::Encode(v));
  });
  CtlRun r = Ctl({"vm", "create", "web-1", "--department", kDeptId, "--flavor", "small", "--image",
                  "debian-12", "--storage-pool", "ceph-ssd", "--root-gib", "20"});
  EXPECT_OK(r);
  auto body = api::Parse<api::CreateVmRequest>(LastBody());
  ASSERT_TRUE(body.ok()) << LastBody();
  EXPECT_EQ(body->image, "debian-12");
  EXPECT_EQ(body->storage_pool, "ceph-ssd");
  EXPECT_EQ(body->root_gib, 20);
  EXPECT_EQ(Field(r.out, "root_volume_id"), kVol1Id);
  const size_t before = server_.requests.size();
  CtlRun alone = Ctl({"vm", "create", "web-2", "--department", kDeptId, "--flavor", "small", "--root-gib", "20"});
  EXPECT_EQ(alone.exit_code, kExitUsage);
  EXPECT_NE(alone.err.find("need --image"), std::string::npos) << alone.err;
  EXPECT_EQ(server_.requests.size(), before);
}

// A file of `size` bytes starting with `head` (then 'x's) in the test's temporary folder.
std::string WriteFile(const std::string& name, const std::string& head, size_t size) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::string data = head + std::string(size > head.size() ? size - head.size() : 0, 'x');
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

class ImageDataTest : public StorageCommandsTest {
 protected:
  // GET /v1/images/debian-12 answers `image`; PUT .../data records the body and answers the
  // image importing with its size.
  void ServeUpload(api::Image image) {
    server_.OnJson("GET /v1/images/debian-12", api::Encode(image));
    server_.On("PUT /v1/images/" + std::string(kImageId) + "/data",
               [image](const Request& q) mutable -> Result<api::HttpResponse> {
                 image.state = api::ImageState::kImporting;
                 image.size_bytes = image.uploaded_bytes = static_cast<std::int64_t>(q.body.size());
                 return api::JsonResponse(200, api::Encode(image));
               });
  }
  static api::Image Queued(api::ImageFormat format) {
    api::Image i = Debian();
    i.format = format;
    i.size_bytes = 0;
    i.state = api::ImageState::kQueued;
    return i;
  }
};

TEST_F(ImageDataTest, UploadStreamsTheFileAndPrintsTheImageImporting) {
  ServeUpload(Queued(api::ImageFormat::kRaw));
  const std::string path = WriteFile("disk.raw", "GOVPOOL-DEMO-DISK", 1 << 20);
  CtlRun r = Ctl({"image", "upload", "debian-12", path});
  EXPECT_OK(r);
  const Request& put = server_.requests.back();
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.target, std::string("/v1/images/") + kImageId + "/data");  // by id, from the GET
  EXPECT_EQ(put.Header("Content-Type"), "application/octet-stream");
  ASSERT_EQ(put.body.size(), 1u << 20);
  EXPECT_EQ(put.body.substr(0, 17), "GOVPOOL-DEMO-DISK");
  EXPECT_EQ(Field(r.out, "state"), "importing");
  EXPECT_EQ(Field(r.out, "uploaded_bytes"), "1048576");
  // Off a terminal: a line per tenth (the fake client reports every 4 KiB), the last at 100%.
  std::istringstream err(r.err);
  std::vector<std::string> lines;
  for (std::string l; std::getline(err, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 10u) << r.err;
  EXPECT_EQ(lines.front(), "uploading disk.raw: 104 KiB of 1.00 MiB (10%)");
  EXPECT_EQ(lines.back(), "uploading disk.raw: 1.00 MiB of 1.00 MiB (100%)");
}

TEST_F(ImageDataTest, UploadProgressOnATerminalIsOneLineAndNoProgressIsQuiet) {
  ServeUpload(Queued(api::ImageFormat::kRaw));
  const std::string path = WriteFile("disk.raw", "DISK", 1 << 20);
  err_terminal_ = true;
  CtlRun tty = Ctl({"image", "upload", "debian-12", path});
  EXPECT_OK(tty);
  // The clock does not move here: the first update and the last are drawn.
  EXPECT_EQ(tty.err,
            "\ruploading disk.raw: 4.00 KiB of 1.00 MiB (0%)\033[K"
            "\ruploading disk.raw: 1.00 MiB of 1.00 MiB (100%)\033[K\n");
  CtlRun quiet = Ctl({"image", "upload", "debian-12", path, "--no-progress"});
  EXPECT_OK(quiet);
  EXPECT_EQ(quiet.err, "");
  CtlRun json = Ctl({"--json", "image", "upload", "debian-12", path, "--no-progress"});
  EXPECT_OK(json);
  auto image = api::Parse<api::Image>(json.out);
  ASSERT_TRUE(image.ok()) << json.out;
  EXPECT_EQ(image->state, api::ImageState::kImporting);
}

TEST_F(ImageDataTest, UploadChecksTheFileBeforeSendingAnything) {
  ServeUpload(Queued(api::ImageFormat::kQcow2));
  CtlRun missing = Ctl({"image", "upload", "debian-12", ::testing::TempDir() + "/no-such-file"});
  EXPECT_EQ(missing.exit_code, kExitUsage);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;
  EXPECT_TRUE(server_.requests.empty());
  CtlRun dir = Ctl({"image", "upload", "debian-12", ::testing::TempDir()});
  EXPECT_EQ(dir.exit_code, kExitUsage);
  EXPECT_NE(dir.err.find("not a regular file"), std::string::npos) << dir.err;

  // A qcow2 image needs a qcow2 file.
  const std::string raw = WriteFile("plain.raw", "DISK", 4096);
  CtlRun not_qcow2 = Ctl({"image", "upload", "debian-12", raw});
  EXPECT_EQ(not_qcow2.exit_code, kExitUsage);
  EXPECT_NE(not_qcow2.err.find("is not a qcow2 file"), std::string::npos) << not_qcow2.err;
  EXPECT_EQ(server_.Count("PUT /v1/images/" + std::string(kImageId) + "/data"), 0);
  const std::string qcow2 = WriteFile("d.qcow2", std::string("QFI\xfb", 4), 4096);
  EXPECT_OK(Ctl({"image", "upload", "debian-12", qcow2, "--no-progress"}));

  // A raw image of a qcow2-looking file is uploaded, with a warning.
  ServeUpload(Queued(api::ImageFormat::kRaw));
  CtlRun warned = Ctl({"image", "upload", "debian-12", qcow2});
  EXPECT_OK(warned);
  EXPECT_EQ(warned.err.rfind("warning: " + qcow2 + " looks like qcow2", 0), 0u) << warned.err;
}

TEST_F(ImageDataTest, UploadRefusedByTheServer) {
  ServeUpload(Queued(api::ImageFormat::kRaw));
  server_.OnError("PUT /v1/images/" + std::string(kImageId) + "/data",
                  FailedPrecondition("image is available").WithReason("IMAGE_NOT_QUEUED"));
  CtlRun r = Ctl({"image", "upload", "debian-12", WriteFile("d.raw", "D", 4096), "--no-progress"});
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(r.err, "error: IMAGE_NOT_QUEUED: image is available\n");
}

TEST_F(ImageDataTest, CreateWithFileDetectsTheFormatThenUploads) {
  ServeStorage();
  server_.On("POST /v1/images", [](const Request& q) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateImageRequest>(q.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    api::Image i = Queued(req->format);
    return api::JsonResponse(201, api::Encode(i));
  });
  ServeUpload(Queued(api::ImageFormat::kQcow2));
  const std::string qcow2 = WriteFile("c.qcow2", std::string("QFI\xfb", 4), 8192);
  CtlRun r = Ctl({"image", "create", "debian-12", "--file", qcow2, "--no-progress"});
  EXPECT_OK(r);
  ASSERT_EQ(server_.requests.size(), 2u);
  auto body = api::Parse<api::CreateImageRequest>(server_.requests[0].body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->format, api::ImageFormat::kQcow2);  // from the file's header
  EXPECT_EQ(server_.requests[1].method, "PUT");
  EXPECT_EQ(server_.requests[1].body.size(), 8192u);
  EXPECT_EQ(Field(r.out, "state"), "importing");

  // A file that does not open makes no record; --format qcow2 of a raw file neither.
  server_.requests.clear();
  EXPECT_EQ(Ctl({"image", "create", "x", "--file", "/nonexistent/d.raw"}).exit_code, kExitUsage);
  EXPECT_EQ(Ctl({"image", "create", "x", "--format", "qcow2", "--file", WriteFile("r", "R", 10)}).exit_code,
            kExitUsage);
  EXPECT_TRUE(server_.requests.empty());

  // A failed upload names the record it left queued.
  server_.OnError("PUT /v1/images/" + std::string(kImageId) + "/data", Internal("disk full"));
  CtlRun failed = Ctl({"image", "create", "debian-12", "--file", qcow2, "--no-progress"});
  EXPECT_EQ(failed.exit_code, kExitApiError);
  EXPECT_NE(failed.err.find(std::string("image ") + kImageId + " was created (queued) but its upload failed"),
            std::string::npos) << failed.err;
}

TEST_F(ImageDataTest, ShowHasTheUploadAndImportProgress) {
  api::Image i = Debian();
  i.state = api::ImageState::kImporting;
  i.uploaded_bytes = i.size_bytes;
  i.imported_bytes = 100 << 20;
  server_.OnJson("GET /v1/images/debian-12", api::Encode(i));
  CtlRun r = Ctl({"image", "show", "debian-12"});
  EXPECT_OK(r);
  EXPECT_EQ(Field(r.out, "uploaded_bytes"), std::to_string(i.size_bytes));
  EXPECT_EQ(Field(r.out, "imported_bytes"), "104857600");
  EXPECT_EQ(Field(r.out, "state"), "importing");
}

// GET /v1/images/debian-12 and /v1/images/ID answer the images of `states` in turn (the last
// one for ever). `image wait` asks by name first, then by the id of the answer.
void ServeSequence(FakeServer& server, std::vector<api::Image> states) {
  auto n = std::make_shared<size_t>(0);
  Route next = [states, n](const Request&) -> Result<api::HttpResponse> {
    const api::Image& i = states[std::min(*n, states.size() - 1)];
    ++*n;
    return api::JsonResponse(200, api::Encode(i));
  };
  server.On("GET /v1/images/debian-12", next);
  server.On("GET /v1/images/" + std::string(kImageId), next);
}

api::Image InState(api::ImageState state, std::int64_t imported = 0) {
  api::Image i = Debian();
  i.format = api::ImageFormat::kRaw;
  i.size_bytes = 64 << 20;
  i.state = state;
  i.imported_bytes = imported;
  i.observed_generation = state == api::ImageState::kAvailable ? 1 : 0;
  return i;
}

TEST_F(ImageDataTest, WaitPollsUntilAvailable) {
  ServeSequence(server_, {InState(api::ImageState::kQueued), InState(api::ImageState::kImporting),
                          InState(api::ImageState::kImporting, 32 << 20),
                          InState(api::ImageState::kImporting, 64 << 20),
                          InState(api::ImageState::kAvailable, 64 << 20)});
  CtlRun r = Ctl({"image", "wait", "debian-12"});
  EXPECT_OK(r);
  EXPECT_EQ(server_.Count("GET /v1/images/debian-12"), 1);
  EXPECT_EQ(server_.Count("GET /v1/images/" + std::string(kImageId)), 4);
  EXPECT_EQ(slept_, std::chrono::seconds(4));
  EXPECT_EQ(Field(r.out, "state"), "available");
  EXPECT_EQ(r.err,
            "image debian-12: queued\n"
            "importing debian-12: 32.0 MiB of 64.0 MiB (50%), 32.0 MiB/s\n"
            "importing debian-12: 64.0 MiB of 64.0 MiB (100%), 32.0 MiB/s\n"
            "image debian-12: available\n");

  // An import that ends between two polls shows its last bytes.
  ServeSequence(server_, {InState(api::ImageState::kImporting),
                          InState(api::ImageState::kAvailable, 64 << 20)});
  slept_ = {};
  CtlRun quick = Ctl({"image", "wait", "debian-12"});
  EXPECT_OK(quick);
  EXPECT_EQ(quick.err,
            "importing debian-12: 64.0 MiB of 64.0 MiB (100%), 64.0 MiB/s\n"
            "image debian-12: available\n");

  // A verify in progress (generation ahead of observed_generation) is waited for too.
  api::Image verifying = InState(api::ImageState::kAvailable, 64 << 20);
  verifying.generation = 2;
  ServeSequence(server_, {verifying, InState(api::ImageState::kAvailable, 64 << 20)});
  slept_ = {};
  EXPECT_OK(Ctl({"image", "wait", "debian-12", "--no-progress"}));
  EXPECT_EQ(slept_, std::chrono::seconds(1));
}

TEST_F(ImageDataTest, ANameTheServerDoesNotFindIsLookedUpInTheList) {
  // The server resolves names in the caller's department, then among public images: an admin
  // naming a department's private image gets NOT_FOUND, and govpoolctl looks in the list.
  api::Image mine = InState(api::ImageState::kAvailable, 64 << 20);
  mine.name = "demo-disk";
  mine.department_id = kDeptId;
  mine.visibility = api::Visibility::kPrivate;
  server_.OnError("GET /v1/images/demo-disk", NotFound("image demo-disk not found"));
  server_.OnJson("GET /v1/images", Page(std::vector<api::Image>{Debian(), mine}));
  server_.OnJson("GET /v1/images/" + std::string(kImageId), api::Encode(mine));
  CtlRun show = Ctl({"image", "show", "demo-disk"});
  EXPECT_OK(show);
  EXPECT_EQ(Field(show.out, "department_id"), kDeptId);
  EXPECT_EQ(server_.requests.back().target, std::string("/v1/images/") + kImageId);
  EXPECT_OK(Ctl({"image", "wait", "demo-disk", "--no-progress"}));
  CtlRun none = Ctl({"image", "show", "other"});
  EXPECT_EQ(none.exit_code, kExitApiError);
  EXPECT_NE(none.err.find("no image named 'other'"), std::string::npos) << none.err;
}

TEST_F(ImageDataTest, WaitFailsOnErrorDeletingAndTimeout) {
  api::Image bad = InState(api::ImageState::kError);
  bad.state_reason = "SHA-256 mismatch: expected aa, got bb";
  ServeSequence(server_, {InState(api::ImageState::kImporting), bad});
  CtlRun error = Ctl({"image", "wait", "debian-12", "--no-progress"});
  EXPECT_EQ(error.exit_code, kExitApiError);
  EXPECT_EQ(error.err, "error: IMAGE_ERROR: image debian-12 is in state error: SHA-256 mismatch: expected aa, got bb\n");

  ServeSequence(server_, {InState(api::ImageState::kDeleting)});
  EXPECT_EQ(Ctl({"image", "wait", "debian-12", "--no-progress"}).exit_code, kExitApiError);

  ServeSequence(server_, {InState(api::ImageState::kQueued)});
  slept_ = {};
  CtlRun timeout = Ctl({"image", "wait", "debian-12", "--timeout", "5", "--no-progress"});
  EXPECT_EQ(timeout.exit_code, kExitApiError);
  EXPECT_EQ(timeout.err, "error: TIMEOUT: image debian-12 is still queued after 5 s\n");
  EXPECT_EQ(slept_, std::chrono::seconds(5));

  server_.OnError("GET /v1/images/debian-12", NotFound("no image debian-12"));
  EXPECT_EQ(Ctl({"image", "wait", "debian-12"}).exit_code, kExitApiError);
}

}  // namespace
}  // namespace govpool::cli
