// Whole govpoolctl commands against a fake controller (a scripted api::HttpClient): names in
// tables with each collection listed once, ids with --wide, graceful degradation when hosts may
// not be listed, paging, retries (reads; creates with the same Idempotency-Key; never updates),
// request bodies built from the options, and the error/exit-code contract.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/cli/fake_controller.h"

namespace govpool::cli {
namespace {

constexpr const char* kDeptId = "11111111-1111-4111-8111-111111111111";
constexpr const char* kHostId = "22222222-2222-4222-8222-222222222222";
constexpr const char* kVm1Id = "33333333-3333-4333-8333-333333333331";
constexpr const char* kVm2Id = "33333333-3333-4333-8333-333333333332";
constexpr const char* kFlavorId = "44444444-4444-4444-8444-444444444444";

using namespace testing;  // NOLINT: the fake controller and CtlTest

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

api::Vm MakeVm(const std::string& id, const std::string& name, const std::string& host_id) {
  api::Vm v;
  v.meta = MetaOf(id);
  v.name = name;
  v.department_id = kDeptId;
  v.flavor_id = kFlavorId;
  v.flavor_name = "small";
  v.vcpus = 1;
  v.memory_mib = 512;
  v.disk_gib = 10;
  v.host_id = host_id;
  v.state = host_id.empty() ? api::VmState::kScheduled : api::VmState::kRunning;
  return v;
}

class CommandsTest : public CtlTest {
 protected:
  void ServeFleet() {
    server_.OnJson("GET /v1/vms", Page(std::vector<api::Vm>{MakeVm(kVm1Id, "web-1", kHostId),
                                                            MakeVm(kVm2Id, "web-2", "")}));
    server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
    server_.OnJson("GET /v1/hosts", Page(std::vector<api::Host>{HostA()}));
  }
};

TEST_F(CommandsTest, VmListShowsNamesListingEachCollectionOnce) {
  ServeFleet();
  CtlRun r = Ctl({"vm", "list"});
  EXPECT_OK(r);
  EXPECT_EQ(r.out,
            "ID                                    NAME   DEPARTMENT  FLAVOR  HOST    STATE      POWER\n"
            "33333333-3333-4333-8333-333333333331  web-1  finance     small   host-a  running    running\n"
            "33333333-3333-4333-8333-333333333332  web-2  finance     small           scheduled  running\n");
  EXPECT_EQ(server_.Count("GET /v1/departments"), 1);
  EXPECT_EQ(server_.Count("GET /v1/hosts"), 1);
  EXPECT_EQ(server_.Count("GET /v1/vms"), 1);
  EXPECT_EQ(server_.requests.front().target, "/v1/vms?limit=500");
}

TEST_F(CommandsTest, VmListWideAddsTheIds) {
  ServeFleet();
  CtlRun r = Ctl({"vm", "list", "--wide"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("DEPARTMENT_ID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HOST_ID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::string("finance     ") + kDeptId), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::string("host-a  ") + kHostId), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(kFlavorId), std::string::npos) << r.out;
}

TEST_F(CommandsTest, VmListShowsHostIdsWhenTheCallerMayNotListHosts) {
  ServeFleet();
  server_.OnError("GET /v1/hosts", PermissionDenied("only admins list hosts"));
  CtlRun r = Ctl({"vm", "list"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find(std::string("finance     small   ") + kHostId), std::string::npos) << r.out;
  EXPECT_EQ(server_.Count("GET /v1/hosts"), 1);  // asked once, not per row
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(CommandsTest, VmListWithoutVmsListsNothingElse) {
  server_.OnJson("GET /v1/vms", Page(std::vector<api::Vm>{}));
  CtlRun r = Ctl({"vm", "list"});
  EXPECT_OK(r);
  EXPECT_EQ(server_.requests.size(), 1u);
}

TEST_F(CommandsTest, VmListByDepartmentNameReusesTheOneDepartmentList) {
  ServeFleet();
  CtlRun r = Ctl({"vm", "list", "--department", "finance", "--state", "running"});
  EXPECT_OK(r);
  EXPECT_EQ(server_.Count("GET /v1/departments"), 1);
  bool filtered = false;
  for (const Request& q : server_.requests) {
    if (q.Path() == "/v1/vms") {
      filtered = q.target.find(std::string("department_id=") + kDeptId) != std::string::npos &&
                 q.target.find("state=running") != std::string::npos;
    }
  }
  EXPECT_TRUE(filtered);
}

TEST_F(CommandsTest, VmListFollowsPageTokensAndPrintsOneJsonObject) {
  server_.On("GET /v1/vms", [](const Request& r) -> Result<api::HttpResponse> {
    EXPECT_NE(r.target.find("limit=1"), std::string::npos) << r.target;
    if (r.target.find("page_token=p2") != std::string::npos) {
      return api::JsonResponse(200, Page(std::vector<api::Vm>{MakeVm(kVm2Id, "web-2", "")}));
    }
    return api::JsonResponse(200, Page(std::vector<api::Vm>{MakeVm(kVm1Id, "web-1", kHostId)}, "p2"));
  });
  CtlRun r = Ctl({"vm", "list", "--page-size", "1", "--json"});
  EXPECT_OK(r);
  EXPECT_EQ(server_.Count("GET /v1/vms"), 2);
  EXPECT_EQ(server_.requests.size(), 2u);  // --json resolves no names
  auto page = api::Decode<api::ListPage<api::Vm>>(r.out);
  ASSERT_TRUE(page.ok()) << r.out;
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[1].name, "web-2");
  EXPECT_EQ(r.out.rfind("{\"items\":[", 0), 0u);
  EXPECT_NE(r.out.find("\"next_page_token\":\"\"}"), std::string::npos);
}

TEST_F(CommandsTest, APageTokenAnsweredWithItselfIsAnError) {
  server_.OnJson("GET /v1/vms", Page(std::vector<api::Vm>{}, "same"));
  CtlRun r = Ctl({"vm", "list"});
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(r.err.rfind("error: PAGINATION_LOOP: ", 0), 0u) << r.err;
}

TEST_F(CommandsTest, CreateIsRetriedWithTheSameIdempotencyKey) {
  server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
  int posts = 0;
  server_.On("POST /v1/vms", [&posts](const Request&) -> Result<api::HttpResponse> {
    if (++posts == 1) return Unavailable("connection reset");
    return api::JsonResponse(201, api::Encode(MakeVm(kVm1Id, "web-1", kHostId)));
  });
  CtlRun r = Ctl({"vm", "create", "web-1", "--department", "finance", "--flavor", "small", "--stopped"});
  EXPECT_OK(r);
  std::vector<std::string> keys;
  for (const Request& q : server_.requests) {
    if (q.method == "POST") keys.push_back(q.Header("Idempotency-Key"));
  }
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].size(), 36u);
  EXPECT_EQ(keys[0], keys[1]);
  EXPECT_EQ(slept_, std::chrono::milliseconds(200));
  auto body = api::Parse<api::CreateVmRequest>(server_.requests.back().body);
  ASSERT_TRUE(body.ok()) << server_.requests.back().body;
  EXPECT_EQ(body->department_id, kDeptId);
  EXPECT_EQ(body->flavor, "small");
  EXPECT_EQ(body->power, api::PowerState::kStopped);
  EXPECT_EQ(r.out.rfind("id ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nname                 web-1\n"), std::string::npos) << r.out;
}

TEST_F(CommandsTest, ReadsGiveUpAfterThreeTriesWithExitCode3) {
  server_.On("GET /v1/flavors", [](const Request&) -> Result<api::HttpResponse> {
    return Unavailable("connection refused");
  });
  CtlRun r = Ctl({"flavor", "list"});
  EXPECT_EQ(r.exit_code, kExitUnreachable);
  EXPECT_EQ(server_.Count("GET /v1/flavors"), 3);
  EXPECT_EQ(r.err, "error: UNAVAILABLE: cannot reach the controller at http://fake:1: connection refused\n");
}

TEST_F(CommandsTest, UpdatesAreNotRetried) {
  server_.On("PATCH /v1/departments/" + std::string(kDeptId), [](const Request&) -> Result<api::HttpResponse> {
    return Unavailable("connection reset");
  });
  CtlRun r = Ctl({"department", "update", kDeptId, "--quota", "instances=20", "--if-match", "7"});
  EXPECT_EQ(r.exit_code, kExitUnreachable);
  ASSERT_EQ(server_.requests.size(), 1u);
  EXPECT_EQ(server_.requests[0].Header("If-Match"), "7");
  auto body = api::Parse<api::PatchDepartmentRequest>(server_.requests[0].body);
  ASSERT_TRUE(body.ok()) << server_.requests[0].body;
  ASSERT_TRUE(body->quota.has_value());
  EXPECT_EQ(body->quota->instances, 20);
  EXPECT_FALSE(body->quota->vcpus.has_value());
  EXPECT_FALSE(body->name.has_value());
}

TEST_F(CommandsTest, AServerAnsweringUnavailableIsAnApiError) {
  server_.OnError("GET /v1/flavors", Unavailable("the store is read-only"));
  CtlRun r = Ctl({"flavor", "list"});
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(server_.Count("GET /v1/flavors"), 1);
  EXPECT_EQ(r.err, "error: UNAVAILABLE: the store is read-only\n");
}

TEST_F(CommandsTest, QuotaExceededKeepsItsCodeAndDetails) {
  server_.OnError("POST /v1/vms", ResourceExhausted("department finance has no instances left")
                                      .WithReason("QUOTA_EXCEEDED")
                                      .WithDetail("resource", "instances")
                                      .WithDetail("used", std::int64_t{10})
                                      .WithDetail("limit", std::int64_t{10}));
  CtlRun r = Ctl({"vm", "create", "web-11", "--department", kDeptId, "--flavor", "small"});
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(r.err,
            "error: QUOTA_EXCEEDED: department finance has no instances left (resource=instances, "
            "used=10, limit=10)\n");
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(server_.requests.size(), 1u);  // a UUID needs no department list
}

TEST_F(CommandsTest, UnauthenticatedWithoutATokenSaysHowToGiveOne) {
  server_.OnError("GET /v1/flavors", Unauthenticated("a bearer token is required"));
  CtlRun r = Ctl({"flavor", "list"}, /*with_token=*/false);
  EXPECT_EQ(r.exit_code, kExitApiError);
  EXPECT_EQ(r.err.rfind("error: UNAUTHENTICATED: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("no token is configured"), std::string::npos) << r.err;
}

TEST_F(CommandsTest, NamesThatDoNotResolve) {
  api::Department twin = Finance();
  twin.meta.id = "55555555-5555-4555-8555-555555555555";
  server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance(), twin}));
  CtlRun none = Ctl({"department", "show", "hr"});
  EXPECT_EQ(none.exit_code, kExitApiError);
  EXPECT_EQ(none.err, "error: NOT_FOUND: no department named 'hr' (or not visible to you)\n");
  CtlRun two = Ctl({"department", "show", "finance"});
  EXPECT_EQ(two.exit_code, kExitApiError);
  EXPECT_EQ(two.err, "error: AMBIGUOUS: 2 departments are named 'finance'; use an id\n");
}

TEST_F(CommandsTest, DepartmentCreateSendsTheQuotaAndShowsFields) {
  server_.On("POST /v1/departments", [](const Request& r) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateDepartmentRequest>(r.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    api::Department d = Finance();
    d.description = req->description;
    d.quota = req->quota;
    return api::JsonResponse(201, api::Encode(d));
  });
  CtlRun r = Ctl({"department", "create", "finance", "--description", "Finance dept", "--quota",
               "instances=10,memory_mib=unlimited"});
  EXPECT_OK(r);
  EXPECT_EQ(r.out.rfind("id ", 0), 0u) << r.out;
  EXPECT_EQ(Field(r.out, "id"), kDeptId);
  EXPECT_EQ(Field(r.out, "quota.instances"), "10");
  EXPECT_EQ(Field(r.out, "quota.memory_mib"), "-1");
  EXPECT_EQ(Field(r.out, "quota.vcpus"), "20");  // the default, kept
  EXPECT_EQ(Field(r.out, "created_at"), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(Field(r.out, "description"), "Finance dept");
  EXPECT_FALSE(server_.requests[0].Header("Idempotency-Key").empty());
}

TEST_F(CommandsTest, UsageTableInApiOrderWithLimits) {
  api::DepartmentUsage usage;
  usage.department_id = kDeptId;
  usage.usage["instances"] = {10, 10, true, 12, 0};
  usage.usage["memory_mib"] = {5120, -1, true, 5120, -1};
  usage.usage["volumes"] = {0, 10, false, 0, 0};
  server_.OnJson("GET /v1/departments/" + std::string(kDeptId) + "/usage", api::Encode(usage));
  CtlRun r = Ctl({"department", "usage", kDeptId});
  EXPECT_OK(r);
  EXPECT_EQ(r.out,
            "RESOURCE    USED  WITH_SUBTREE  LIMIT      CHILDREN_LIMITS  NOTE\n"
            "instances   10    12            10         0\n"
            "memory_mib  5120  5120          unlimited  unlimited\n"
            "volumes     0     0             10         0                not enforced yet\n");
}

TEST_F(CommandsTest, HostUpdateBuildsThePatch) {
  server_.OnJson("GET /v1/hosts", Page(std::vector<api::Host>{HostA()}));
  server_.OnJson("PATCH /v1/hosts/" + std::string(kHostId), api::Encode(HostA()));
  CtlRun r = Ctl({"host", "update", "host-a", "--maintenance", "on", "--cpu-ratio", "2", "--traits",
               "ssd,gpu", "--disable"});
  EXPECT_OK(r);
  auto body = api::Parse<api::PatchHostRequest>(server_.requests.back().body);
  ASSERT_TRUE(body.ok()) << server_.requests.back().body;
  EXPECT_EQ(body->maintenance, true);
  EXPECT_EQ(body->enabled, false);
  EXPECT_EQ(body->cpu_allocation_ratio, 2.0);
  EXPECT_EQ(body->traits, (std::vector<std::string>{"ssd", "gpu"}));
  EXPECT_FALSE(body->pool.has_value());
  CtlRun nothing = Ctl({"host", "update", "host-a"});
  EXPECT_EQ(nothing.exit_code, kExitUsage);
  EXPECT_NE(nothing.err.find("nothing to change"), std::string::npos);
}

TEST_F(CommandsTest, VmDeleteSaysWhetherTheHostStillCleansUp) {
  api::Vm deleting = MakeVm(kVm1Id, "web-1", kHostId);
  deleting.deleting = true;
  server_.OnJson("DELETE /v1/vms/" + std::string(kVm1Id), api::Encode(deleting), 202);
  server_.On("DELETE /v1/vms/" + std::string(kVm2Id), [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun r1 = Ctl({"vm", "delete", kVm1Id});
  EXPECT_OK(r1);
  EXPECT_EQ(r1.out, std::string("deleting vm ") + kVm1Id + " (its host cleans up)\n");
  CtlRun r2 = Ctl({"vm", "delete", kVm2Id, "--force"});
  EXPECT_OK(r2);
  EXPECT_EQ(r2.out, std::string("deleted vm ") + kVm2Id + "\n");
  EXPECT_NE(server_.requests.back().target.find("force=true"), std::string::npos);
}

TEST_F(CommandsTest, UserListShowsDepartmentNames) {
  api::User u;
  u.meta = MetaOf("66666666-6666-4666-8666-666666666666");
  u.name = "fin-admin";
  u.role = api::Role::kDeptAdmin;
  u.department_id = kDeptId;
  api::User admin;
  admin.meta = MetaOf("88888888-8888-4888-8888-888888888888");
  admin.name = "root";
  admin.role = api::Role::kSystemAdmin;
  server_.OnJson("GET /v1/users", Page(std::vector<api::User>{u, admin}));
  server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
  CtlRun r = Ctl({"user", "list"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("fin-admin  dept-admin    finance     false\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("root       system-admin              false\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace govpool::cli
