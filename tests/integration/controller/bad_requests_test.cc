// A catalogue of bad requests against the real controller. Each entry states the HTTP status
// and error.code it must get; every error body must have the one shape (code, message,
// details) and the server must still answer /healthz after each.
#include <map>
#include <set>

#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

enum class Auth { kAdmin, kSecurityAdmin, kDeptAdmin, kDeptMember, kNone, kWrongToken, kBasic };

struct BadRequest {
  std::string name;
  std::string method;
  std::string target;  // "{A}", "{B}", "{VM}", "{HOST}" are replaced by ids
  std::string body;
  Auth auth = Auth::kAdmin;
  api::HeaderList headers;
  int status = 400;
  std::string code = "INVALID_ARGUMENT";
};

std::string Replace(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [k, v] : vars) {
    for (size_t pos = s.find(k); pos != std::string::npos; pos = s.find(k, pos + v.size())) {
      s.replace(pos, k.size(), v);
    }
  }
  return s;
}

class BadRequestTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    if (HasFatalFailure()) return;
    vars_["{A}"] = CreateDepartment("dept-a", {.instances = 5}).meta.id;
    vars_["{B}"] = CreateDepartment("dept-b", {.instances = 5}).meta.id;
    CreateFlavor("small", 1, 512, 1);
    vars_["{HOST}"] = RegisterHost("host-1", 16, 65536, 500).meta.id;
    dept_admin_token_ = CreateUserToken("a-admin", api::Role::kDeptAdmin, vars_["{A}"]);
    dept_member_token_ = CreateUserToken("a-member", api::Role::kDeptMember, vars_["{A}"]);
    Reply vm = admin_->Post("/v1/vms", {{"name", "vm-1"}, {"department_id", vars_["{A}"]}, {"flavor", "small"}},
                            {{"Idempotency-Key", "key-1"}});
    ASSERT_EQ(vm.status, 201) << vm.Describe();
    vars_["{VM}"] = vm.Str("id");
    vars_["{UUID}"] = "7d444840-9dc0-11d1-b245-5ffdce74fad2";
  }

  std::string TokenFor(Auth a) {
    switch (a) {
      case Auth::kAdmin: return controller_->admin_token();
      case Auth::kSecurityAdmin: return controller_->security_token();
      case Auth::kDeptAdmin: return dept_admin_token_;
      case Auth::kDeptMember: return dept_member_token_;
      case Auth::kWrongToken: return "not-a-real-token";
      default: return "";
    }
  }

  void ExpectHealthy(const std::string& after) {
    Api probe(controller_->base_url(), "");
    Reply h = probe.Get("/healthz");
    EXPECT_EQ(h.status, 200) << "server unhealthy after '" << after << "': " << h.Describe();
  }

  std::map<std::string, std::string> vars_;
  std::string dept_admin_token_;
  std::string dept_member_token_;
};

std::vector<BadRequest> Catalogue() {
  const std::string long_name(64, 'a');
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  const std::string vm_a = R"(,"department_id":"{A}","flavor":"small"})";
  return {
      // Malformed or non-object bodies.
      {"malformed JSON", "POST", "/v1/departments", "{\"name\":", Auth::kAdmin, {}, 400, "MALFORMED_JSON"},
      {"trailing garbage", "POST", "/v1/departments", R"({"name":"x"} xyz)", Auth::kAdmin, {}, 400, "MALFORMED_JSON"},
      {"invalid UTF-8", "POST", "/v1/departments", "{\"name\":\"\xff\xfe\"}", Auth::kAdmin, {}, 400, "MALFORMED_JSON"},
      {"nesting too deep", "POST", "/v1/departments", deep, Auth::kAdmin, {}, 400, "MALFORMED_JSON"},
      {"array body", "POST", "/v1/departments", "[1,2]", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"string body", "POST", "/v1/departments", "\"dept\"", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"empty body", "POST", "/v1/departments", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      // Fields: unknown, wrong types, missing, bad names, ranges.
      {"unknown field", "POST", "/v1/departments", R"({"name":"x","colour":"red"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"unknown quota field", "POST", "/v1/departments", R"({"name":"x","quota":{"gpus":1}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"name of wrong type", "POST", "/v1/departments", R"({"name":5})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"name null", "POST", "/v1/departments", R"({"name":null})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"missing name", "POST", "/v1/departments", "{}", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"name with spaces", "POST", "/v1/departments", R"({"name":"bad name!"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"name starting with dash", "POST", "/v1/departments", R"({"name":"-x"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"name too long", "POST", "/v1/departments", "{\"name\":\"" + long_name + "\"}", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"quota below -1", "POST", "/v1/departments", R"({"name":"x","quota":{"instances":-2}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"absurd quota", "POST", "/v1/departments", R"({"name":"x","quota":{"vcpus":1000000000001}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"quota as string", "POST", "/v1/departments", R"({"name":"x","quota":{"instances":"ten"}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"fractional quota", "POST", "/v1/departments", R"({"name":"x","quota":{"instances":1.5}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"quota not an object", "POST", "/v1/departments", R"({"name":"x","quota":[1]})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"zero vcpus", "POST", "/v1/flavors", R"({"name":"f","vcpus":0,"memory_mib":512,"disk_gib":1})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"absurd vcpus", "POST", "/v1/flavors", R"({"name":"f","vcpus":100000,"memory_mib":512,"disk_gib":1})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"negative memory", "POST", "/v1/flavors", R"({"name":"f","vcpus":1,"memory_mib":-512,"disk_gib":1})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"uint64 overflow", "POST", "/v1/flavors", R"({"name":"f","vcpus":1,"memory_mib":18446744073709551615,"disk_gib":1})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"bool for integer", "POST", "/v1/flavors", R"({"name":"f","vcpus":true,"memory_mib":512,"disk_gib":1})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"missing disk", "POST", "/v1/flavors", R"({"name":"f","vcpus":1,"memory_mib":512})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"host without capacity", "POST", "/v1/hosts/register", R"({"name":"h"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"host cpus as string", "POST", "/v1/hosts/register", R"({"name":"h","capacity":{"cpus":"8","memory_mib":1024,"disk_gib":1}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"NUMA cells not adding up", "POST", "/v1/hosts/register", R"({"name":"h","capacity":{"cpus":8,"memory_mib":1024,"disk_gib":1,"numa_cells":[{"id":0,"cpus":2,"memory_mib":512}]}})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"absurd allocation ratio", "PATCH", "/v1/hosts/{HOST}", R"({"cpu_allocation_ratio":1000})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"enabled as string", "PATCH", "/v1/hosts/{HOST}", R"({"enabled":"yes"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"vm without flavor", "POST", "/v1/vms", R"({"name":"v","department_id":"{A}"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"vm with unknown flavor", "POST", "/v1/vms", R"({"name":"v","department_id":"{A}","flavor":"huge"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"vm with bad power", "POST", "/v1/vms", R"({"name":"v","power":"hibernating")" + vm_a, Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"vm with bad name", "POST", "/v1/vms", R"({"name":"a/b")" + vm_a, Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"user with unknown role", "POST", "/v1/users", R"({"name":"u","role":"superuser"})", Auth::kSecurityAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"action with a body", "POST", "/v1/vms/{VM}/start", R"({"force":true})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      // Conflicts.
      {"duplicate department", "POST", "/v1/departments", R"({"name":"dept-a"})", Auth::kAdmin, {}, 409, "ALREADY_EXISTS"},
      {"duplicate flavor", "POST", "/v1/flavors", R"({"name":"small","vcpus":1,"memory_mib":512,"disk_gib":1})", Auth::kAdmin, {}, 409, "ALREADY_EXISTS"},
      {"duplicate vm name", "POST", "/v1/vms", R"({"name":"vm-1")" + vm_a, Auth::kAdmin, {}, 409, "ALREADY_EXISTS"},
      {"delete department owning VMs", "DELETE", "/v1/departments/{A}", "", Auth::kAdmin, {}, 409, "DEPARTMENT_NOT_EMPTY"},
      {"stale If-Match", "PATCH", "/v1/departments/{A}", R"({"description":"x"})", Auth::kAdmin, {{"If-Match", "\"1\""}}, 409, "CONFLICT"},
      {"bad If-Match", "PATCH", "/v1/departments/{A}", R"({"description":"x"})", Auth::kAdmin, {{"If-Match", "abc"}}, 400, "INVALID_ARGUMENT"},
      {"negative If-Match", "DELETE", "/v1/vms/{VM}", "", Auth::kAdmin, {{"If-Match", "-3"}}, 400, "INVALID_ARGUMENT"},
      {"Idempotency-Key reused with another body", "POST", "/v1/vms", R"({"name":"vm-2")" + vm_a, Auth::kAdmin, {{"Idempotency-Key", "key-1"}}, 422, "IDEMPOTENCY_KEY_REUSED"},
      {"Idempotency-Key too long", "POST", "/v1/vms", R"({"name":"vm-3")" + vm_a, Auth::kAdmin, {{"Idempotency-Key", std::string(300, 'k')}}, 400, "INVALID_ARGUMENT"},
      // Query parameters.
      {"limit zero", "GET", "/v1/vms?limit=0", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"limit not a number", "GET", "/v1/vms?limit=ten", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"limit too large", "GET", "/v1/departments?limit=1001", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"bad page_token", "GET", "/v1/flavors?page_token=garbage", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"unknown query parameter", "GET", "/v1/vms?colour=red", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"query on a create", "POST", "/v1/departments?dry_run=true", R"({"name":"qq"})", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"bad host status filter", "GET", "/v1/hosts?status=sideways", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"bad force flag", "DELETE", "/v1/vms/{VM}?force=maybe", "", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      // Routes and methods.
      {"unknown route", "GET", "/v1/nothing-here", "", Auth::kAdmin, {}, 404, "ROUTE_NOT_FOUND"},
      {"unknown version", "GET", "/v2/departments", "", Auth::kAdmin, {}, 404, "ROUTE_NOT_FOUND"},
      {"unknown vm action", "POST", "/v1/vms/{VM}/explode", "", Auth::kAdmin, {}, 404, "ROUTE_NOT_FOUND"},
      {"wrong method on collection", "PUT", "/v1/departments", "{}", Auth::kAdmin, {}, 405, "METHOD_NOT_ALLOWED"},
      {"wrong method on object", "POST", "/v1/vms/{VM}", "{}", Auth::kAdmin, {}, 405, "METHOD_NOT_ALLOWED"},
      // Authentication and authorization.
      {"no token", "GET", "/v1/departments", "", Auth::kNone, {}, 401, "UNAUTHENTICATED"},
      {"unknown token", "GET", "/v1/departments", "", Auth::kWrongToken, {}, 401, "UNAUTHENTICATED"},
      {"basic auth", "GET", "/v1/vms", "", Auth::kBasic, {{"Authorization", "Basic YWRtaW46YWRtaW4="}}, 401, "UNAUTHENTICATED"},
      {"dept-admin creates a flavor", "POST", "/v1/flavors", R"({"name":"f2","vcpus":1,"memory_mib":512,"disk_gib":1})", Auth::kDeptAdmin, {}, 403, "PERMISSION_DENIED"},
      {"dept-admin lists users", "GET", "/v1/users", "", Auth::kDeptAdmin, {}, 403, "PERMISSION_DENIED"},
      {"dept-member creates a VM", "POST", "/v1/vms", R"({"name":"vm-m")" + vm_a, Auth::kDeptMember, {}, 403, "PERMISSION_DENIED"},
      {"dept-member heartbeats a host", "POST", "/v1/hosts/{HOST}/heartbeat", "", Auth::kDeptMember, {}, 403, "PERMISSION_DENIED"},
      {"dept-admin reports VM status", "PUT", "/v1/vms/{VM}/status", R"({"state":"running","observed_generation":1})", Auth::kDeptAdmin, {}, 403, "PERMISSION_DENIED"},
      {"other department's VM create", "POST", "/v1/vms", R"({"name":"v","department_id":"{B}","flavor":"small"})", Auth::kDeptAdmin, {}, 404, "NOT_FOUND"},
      {"other department", "GET", "/v1/departments/{B}", "", Auth::kDeptAdmin, {}, 404, "NOT_FOUND"},
      {"other department's usage", "GET", "/v1/departments/{B}/usage", "", Auth::kDeptMember, {}, 404, "NOT_FOUND"},
      // Ids.
      {"non-UUID vm id", "GET", "/v1/vms/not-a-uuid", "", Auth::kAdmin, {}, 404, "NOT_FOUND"},
      {"non-UUID department id", "DELETE", "/v1/departments/12345", "", Auth::kAdmin, {}, 404, "NOT_FOUND"},
      {"unknown vm id", "GET", "/v1/vms/{UUID}", "", Auth::kAdmin, {}, 404, "NOT_FOUND"},
      {"unknown flavor", "GET", "/v1/flavors/no-such-flavor", "", Auth::kAdmin, {}, 404, "NOT_FOUND"},
      {"token without an expiry", "POST", "/v1/users/{UUID}/tokens", "{}", Auth::kAdmin, {}, 400, "INVALID_ARGUMENT"},
      {"token for unknown user", "POST", "/v1/users/{UUID}/tokens", R"({"expires_at":"2099-01-01T00:00:00Z"})", Auth::kAdmin, {}, 404, "NOT_FOUND"},
  };
}

TEST_F(BadRequestTest, EveryBadRequestGetsItsFourHundredAndTheServerKeepsServing) {
  const auto catalogue = Catalogue();
  ASSERT_GE(catalogue.size(), 40u);
  std::set<std::string> names;
  for (const BadRequest& c : catalogue) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate catalogue entry";
    Api api(controller_->base_url(), TokenFor(c.auth));
    Reply r = api.Send(c.method, Replace(c.target, vars_), Replace(c.body, vars_), c.headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " -> " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), c.code) << r.Describe();
    EXPECT_TRUE(HasErrorShape(r)) << r.Describe();
    if (c.status == 405) {
      const std::string* allow = r.Header("Allow");
      ASSERT_NE(allow, nullptr) << "405 without an Allow header";
      EXPECT_FALSE(allow->empty());
      EXPECT_EQ(allow->find(c.method), std::string::npos) << *allow;
    }
    if (c.status == 401) {
      EXPECT_NE(r.Header("WWW-Authenticate"), nullptr);
    }
    if (c.status == 400 && c.code == "INVALID_ARGUMENT" && c.body.find('{') == 0 &&
        c.name.find("If-Match") == std::string::npos && c.name.find("Idempotency") == std::string::npos &&
        c.name != "action with a body") {
      // Field errors name the offending field.
      const auto& details = r.json.at("error").at("details").as_object();
      EXPECT_TRUE(details.contains("field")) << r.body;
    }
    ExpectHealthy(c.name);
  }
  // Nothing in the catalogue changed state: dept-a still has its one VM, no extra objects.
  Reply usage = admin_->Get("/v1/departments/" + vars_["{A}"] + "/usage");
  ASSERT_EQ(usage.status, 200) << usage.Describe();
  EXPECT_EQ(usage.json.at("usage").at("instances").at("used").as_int64(), 1);
  Reply departments = admin_->Get("/v1/departments");
  EXPECT_EQ(departments.json.at("items").as_array().size(), 2u) << departments.body;
  Reply flavors = admin_->Get("/v1/flavors");
  EXPECT_EQ(flavors.json.at("items").as_array().size(), 1u) << flavors.body;
}

// Requests the client library will not build: oversize bodies and headers, raw garbage.
TEST_F(BadRequestTest, MalformedHttpIsRefusedAndTheServerKeepsServing) {
  const std::string token = controller_->admin_token();
  struct Raw {
    std::string name;
    std::string bytes;
    int status;
    std::string code;
  };
  const std::string big_body = "{\"name\":\"x\",\"description\":\"" + std::string(1536 * 1024, 'a') + "\"}";
  const std::vector<Raw> cases = {
      {"body over 1 MiB",
       "POST /v1/departments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(big_body.size()) +
           "\r\n\r\n" + big_body,
       413, "PAYLOAD_TOO_LARGE"},
      {"declared body over 1 MiB",
       "POST /v1/departments HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n{", 413,
       "PAYLOAD_TOO_LARGE"},
      {"headers over the limit",
       "GET /v1/departments HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(64 * 1024, 'p') +
           "\r\n\r\n",
       431, "HEADERS_TOO_LARGE"},
      {"garbage bytes", std::string("\x16\x03\x01\x02\x00garbage\x00\xff\r\n\r\n", 19), 400,
       "MALFORMED_REQUEST"},
      {"not HTTP", "HELLO THERE\r\n\r\n", 400, "MALFORMED_REQUEST"},
      {"bad Content-Length", "POST /v1/departments HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
       400, "MALFORMED_REQUEST"},
  };
  for (const Raw& c : cases) {
    SCOPED_TRACE(c.name);
    Reply r = ParseRawResponse(RawExchange(controller_->port(), c.bytes));
    EXPECT_EQ(r.status, c.status) << r.Describe();
    EXPECT_EQ(r.ErrorCode(), c.code) << r.Describe();
    EXPECT_TRUE(HasErrorShape(r)) << r.Describe();
    ExpectHealthy(c.name);
  }
  // The oversize create did not happen.
  Reply departments = admin_->Get("/v1/departments?limit=1000");
  for (const auto& d : departments.json.at("items").as_array()) {
    EXPECT_NE(d.at("name").as_string(), "x");
  }
}

}  // namespace
}  // namespace govpool::testing
