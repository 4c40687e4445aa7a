// api/codec: strict request parsing (malformed JSON, unknown fields, wrong types, ranges,
// missing fields, names) with the offending field named; round trips of every Encode/Decode;
// the list, usage, error and new-token bodies.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/codec.h"
#include "api/errors.h"

namespace govpool::api {
namespace {

namespace json = boost::json;

std::string FieldOf(const Status& s) {
  for (const auto& [k, v] : s.details()) {
    if (k == "field" && std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  }
  return "";
}

// ---------------- Strict request parsing ----------------

struct BadBody {
  std::string body;
  std::string field;   // expected details.field ("" when none is expected)
  std::string reason;  // expected reason
};

template <typename Parse>
void ExpectAllRejected(Parse parse, const std::vector<BadBody>& cases) {
  for (const BadBody& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 200));
    auto r = parse(c.body);
    ASSERT_FALSE(r.ok()) << "accepted";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().reason(), c.reason);
    EXPECT_EQ(FieldOf(r.status()), c.field) << r.status().ToString();
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(CodecTest, CreateDepartmentRejectsBadBodies) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  ExpectAllRejected(Parse<CreateDepartmentRequest>, {
      {"", "", "INVALID_ARGUMENT"},
      {"{", "", "MALFORMED_JSON"},
      {"{\"name\":\"a\",}", "", "MALFORMED_JSON"},
      {"{\"name\":\"a\"} {}", "", "MALFORMED_JSON"},
      {"{'name':'a'}", "", "MALFORMED_JSON"},
      {"\xff\xfe", "", "MALFORMED_JSON"},
      {deep, "", "MALFORMED_JSON"},
      {"[]", "", "INVALID_ARGUMENT"},
      {"null", "", "INVALID_ARGUMENT"},
      {"42", "", "INVALID_ARGUMENT"},
      {"{}", "name", "INVALID_ARGUMENT"},
      {R"({"name":null})", "name", "INVALID_ARGUMENT"},
      {R"({"name":7})", "name", "INVALID_ARGUMENT"},
      {R"({"name":["a"]})", "name", "INVALID_ARGUMENT"},
      {R"({"name":""})", "name", "INVALID_ARGUMENT"},
      {R"({"name":"has space"})", "name", "INVALID_ARGUMENT"},
      {R"({"name":"_leading"})", "name", "INVALID_ARGUMENT"},
      {R"({"name":"ünïcode"})", "name", "INVALID_ARGUMENT"},
      {"{\"name\":\"" + std::string(64, 'a') + "\"}", "name", "INVALID_ARGUMENT"},
      {R"({"name":"a","extra":1})", "extra", "INVALID_ARGUMENT"},
      {R"({"name":"a","Name":"b"})", "Name", "INVALID_ARGUMENT"},
      {R"({"name":"a","description":5})", "description", "INVALID_ARGUMENT"},
      {"{\"name\":\"a\",\"description\":\"" + std::string(1025, 'd') + "\"}", "description", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":5})", "quota", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"cpus":1}})", "quota.cpus", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":-2}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":1000000001}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":9223372036854775808}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":1e3}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":2.5}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":"3"}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"name":"a","quota":{"instances":true}})", "quota.instances", "INVALID_ARGUMENT"},
  });
}

TEST(CodecTest, CreateDepartmentAcceptsEdgesAndDefaults) {
  auto r = Parse<CreateDepartmentRequest>(R"({"name":"a"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->quota.instances, Quota{}.instances) << "missing quota fields keep their defaults";
  r = Parse<CreateDepartmentRequest>(
      "{\"name\":\"" + std::string(63, 'z') + R"(","quota":{"instances":-1,"vcpus":0,"memory_mib":1000000000,"networks":null}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->quota.instances, -1);
  EXPECT_EQ(r->quota.vcpus, 0);
  EXPECT_EQ(r->quota.memory_mib, 1'000'000'000);
  EXPECT_EQ(r->quota.networks, Quota{}.networks);
  r = Parse<CreateDepartmentRequest>(R"({"name":"a.b_c-9","description":null})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "a.b_c-9");
}

TEST(CodecTest, PatchDepartmentTakesOnlyWhatIsGiven) {
  auto r = Parse<PatchDepartmentRequest>(R"({"quota":{"instances":3,"vcpus":-1}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->name.has_value());
  EXPECT_FALSE(r->description.has_value());
  ASSERT_TRUE(r->quota.has_value());
  EXPECT_EQ(r->quota->instances, 3);
  EXPECT_EQ(r->quota->vcpus, -1);
  EXPECT_FALSE(r->quota->memory_mib.has_value()) << "only what the patch names";
  r = Parse<PatchDepartmentRequest>(R"({"name":"new","description":""})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->name, "new");
  EXPECT_EQ(*r->description, "");
  EXPECT_TRUE(Parse<PatchDepartmentRequest>("{}").ok());
  ExpectAllRejected(Parse<PatchDepartmentRequest>, {
      {R"({"quota":{"instances":-5}})", "quota.instances", "INVALID_ARGUMENT"},
      {R"({"quota":{"gpus":1}})", "quota.gpus", "INVALID_ARGUMENT"},
      {R"({"name":"bad name"})", "name", "INVALID_ARGUMENT"},
      {R"({"id":"x"})", "id", "INVALID_ARGUMENT"},
      {R"({"revision":3})", "revision", "INVALID_ARGUMENT"},
  });
}

TEST(CodecTest, CreateFlavorRanges) {
  auto ok = Parse<CreateFlavorRequest>(R"({"name":"f","vcpus":4096,"memory_mib":64,"disk_gib":0})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->vcpus, kMaxVcpus);
  ExpectAllRejected(Parse<CreateFlavorRequest>, {
      {R"({"name":"f","vcpus":0,"memory_mib":64,"disk_gib":0})", "vcpus", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":4097,"memory_mib":64,"disk_gib":0})", "vcpus", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":-1,"memory_mib":64,"disk_gib":0})", "vcpus", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":1,"memory_mib":63,"disk_gib":0})", "memory_mib", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":1,"memory_mib":68719476737,"disk_gib":0})", "memory_mib", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":1,"memory_mib":64,"disk_gib":-1})", "disk_gib", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":1,"memory_mib":64,"disk_gib":1048577})", "disk_gib", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":1,"memory_mib":64})", "disk_gib", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":"1","memory_mib":64,"disk_gib":0})", "vcpus", "INVALID_ARGUMENT"},
      {R"({"name":"f","vcpus":1,"memory_mib":64,"disk_gib":0,"gpu":1})", "gpu", "INVALID_ARGUMENT"},
  });
}

TEST(CodecTest, RegisterHostValidatesCapacityAndNuma) {
  auto ok = Parse<RegisterHostRequest>(
      R"({"name":"h1","pool":"az1","capacity":{"cpus":8,"memory_mib":4096,"disk_gib":10,)"
      R"("numa_cells":[{"id":0,"cpus":4,"memory_mib":2048},{"id":1,"cpus":4,"memory_mib":2048}]},"traits":["ssd","ssd","gpu"]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->pool, "az1");
  EXPECT_EQ(ok->capacity.numa_cells.size(), 2u);
  EXPECT_EQ(ok->traits, (std::vector<std::string>{"ssd", "gpu"})) << "duplicates dropped";
  const std::string cap = R"("capacity":{"cpus":8,"memory_mib":4096,"disk_gib":10)";
  ExpectAllRejected(Parse<RegisterHostRequest>, {
      {R"({"name":"h"})", "capacity", "INVALID_ARGUMENT"},
      {R"({"name":"h","capacity":{"cpus":0,"memory_mib":4096,"disk_gib":10}})", "capacity.cpus", "INVALID_ARGUMENT"},
      {R"({"name":"h","capacity":{"cpus":8,"disk_gib":10}})", "capacity.memory_mib", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(,"gpus":1}})", "capacity.gpus", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(,"numa_cells":{}}})", "capacity.numa_cells", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(,"numa_cells":[{"id":0,"cpus":8,"memory_mib":1}]}})", "capacity.numa_cells", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(,"numa_cells":[{"id":0,"cpus":4,"memory_mib":2048},{"id":0,"cpus":4,"memory_mib":2048}]}})", "capacity.numa_cells[1].id", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(,"numa_cells":[5]}})", "capacity.numa_cells[0]", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(,"numa_cells":[{"id":0,"cpus":8,"memory_mib":4096,"x":1}]}})", "capacity.numa_cells[0].x", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(},"traits":"ssd"})", "traits", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(},"traits":["bad trait"]})", "traits", "INVALID_ARGUMENT"},
      {R"({"name":"h",)" + cap + R"(},"pool":"bad pool"})", "pool", "INVALID_ARGUMENT"},
  });
}

TEST(CodecTest, PatchHostRatiosAndFlags) {
  auto ok = Parse<PatchHostRequest>(R"({"enabled":false,"cpu_allocation_ratio":16,"memory_allocation_ratio":1.5,"aggregates":["a"]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok->enabled, false);
  EXPECT_FALSE(ok->maintenance.has_value());
  EXPECT_DOUBLE_EQ(*ok->cpu_allocation_ratio, 16.0);
  EXPECT_DOUBLE_EQ(*ok->memory_allocation_ratio, 1.5);
  EXPECT_FALSE(ok->disk_allocation_ratio.has_value());
  ExpectAllRejected(Parse<PatchHostRequest>, {
      {R"({"enabled":"no"})", "enabled", "INVALID_ARGUMENT"},
      {R"({"maintenance":1})", "maintenance", "INVALID_ARGUMENT"},
      {R"({"cpu_allocation_ratio":0})", "cpu_allocation_ratio", "INVALID_ARGUMENT"},
      {R"({"cpu_allocation_ratio":65})", "cpu_allocation_ratio", "INVALID_ARGUMENT"},
      {R"({"disk_allocation_ratio":-1})", "disk_allocation_ratio", "INVALID_ARGUMENT"},
      {R"({"memory_allocation_ratio":"2"})", "memory_allocation_ratio", "INVALID_ARGUMENT"},
      {R"({"capacity":{}})", "capacity", "INVALID_ARGUMENT"},
      {R"({"status":"down"})", "status", "INVALID_ARGUMENT"},
  });
}

TEST(CodecTest, CreateVmFields) {
  auto ok = Parse<CreateVmRequest>(R"({"name":"web-1","department_id":"d","flavor":"small","pool":"az1","power":"stopped"})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->power, PowerState::kStopped);
  auto dflt = Parse<CreateVmRequest>(R"({"name":"web-1","department_id":"d","flavor":"small"})");
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(dflt->power, PowerState::kRunning);
  ExpectAllRejected(Parse<CreateVmRequest>, {
      {R"({"department_id":"d","flavor":"small"})", "name", "INVALID_ARGUMENT"},
      {R"({"name":"v","flavor":"small"})", "department_id", "INVALID_ARGUMENT"},
      {R"({"name":"v","department_id":"d"})", "flavor", "INVALID_ARGUMENT"},
      {R"({"name":"v","department_id":"d","flavor":3})", "flavor", "INVALID_ARGUMENT"},
      {R"({"name":"v","department_id":"d","flavor":"s","power":"paused"})", "power", "INVALID_ARGUMENT"},
      {R"({"name":"v","department_id":"d","flavor":"s","host_id":"h"})", "host_id", "INVALID_ARGUMENT"},
      {R"({"name":"v","department_id":")" + std::string(65, 'x') + R"(","flavor":"s"})", "department_id", "INVALID_ARGUMENT"},
  });
}

TEST(CodecTest, UsersTokensStatusReportsAndEmptyBodies) {
  EXPECT_TRUE(Parse<CreateUserRequest>(R"({"name":"u","role":"agent"})").ok());
  ExpectAllRejected(Parse<CreateUserRequest>, {
      {R"({"name":"u","role":"root"})", "role", "INVALID_ARGUMENT"},
      {R"({"name":"u"})", "role", "INVALID_ARGUMENT"},
      {R"({"name":"u","role":"system-admin","password":"x"})", "password", "INVALID_ARGUMENT"},
  });
  // A token's expiry is required; its scope defaults to the user's own.
  // Tokens are listed: the wire form (without the storage-only digest) decodes.
  ListPage<Token> listed;
  listed.items.push_back(Token{Meta{"7d444840-9dc0-11d1-b245-5ffdce74fad2", 1, 0, 0}, "user-1", "ci", std::string(64, 'a')});
  auto listed_back = Decode<ListPage<Token>>(Encode(listed));
  ASSERT_TRUE(listed_back.ok()) << listed_back.status().ToString();
  EXPECT_EQ(listed_back->items.at(0).secret_sha256, "") << "never on the wire";
  auto token = Parse<CreateTokenRequest>(R"({"name":"ci","expires_at":"2026-01-02T03:04:05Z","role":"dept-member"})");
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(token->name, "ci");
  EXPECT_EQ(token->expires_at_ms, 1767323045000);
  EXPECT_EQ(token->role, Role::kDeptMember);
  ExpectAllRejected(Parse<CreateTokenRequest>, {
      {R"({"name":"ci"})", "expires_at", "INVALID_ARGUMENT"},
      {R"({"expires_at":"tomorrow"})", "expires_at", "INVALID_ARGUMENT"},
      {R"({"expires_at":"2026-01-02T03:04:05Z","secret":"x"})", "secret", "INVALID_ARGUMENT"},
  });
  EXPECT_TRUE(Parse<LoginRequest>(R"({"user":"u","password":"p","totp_code":"123456"})").ok());
  ExpectAllRejected(Parse<LoginRequest>, {
      {R"({"user":"u"})", "password", "INVALID_ARGUMENT"},
      {R"({"user":"u","password":"p","remember":true})", "remember", "INVALID_ARGUMENT"},
  });

  auto rep = Parse<VmStatusReport>(R"({"state":"running","state_reason":"ok","observed_generation":3})");
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->observed_generation, 3);
  ExpectAllRejected(Parse<VmStatusReport>, {
      {R"({"state":"flying","observed_generation":1})", "state", "INVALID_ARGUMENT"},
      {R"({"state":"running"})", "observed_generation", "INVALID_ARGUMENT"},
      {R"({"state":"running","observed_generation":-1})", "observed_generation", "INVALID_ARGUMENT"},
  });

  EXPECT_TRUE(ParseEmptyBody("").ok());
  EXPECT_TRUE(ParseEmptyBody("{}").ok());
  EXPECT_TRUE(ParseEmptyBody(" { } ").ok());
  EXPECT_EQ(ParseEmptyBody("{\"a\":1}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEmptyBody("[]").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEmptyBody("{").reason(), "MALFORMED_JSON");
}

// ---------------- Round trips ----------------

Meta SampleMeta() { return {"7d444840-9dc0-11d1-b245-5ffdce74fad2", 42, 1'700'000'000'123, 1'700'000'555'456}; }

void ExpectMeta(const Meta& a, const Meta& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.revision, b.revision);
  EXPECT_EQ(a.created_at_ms, b.created_at_ms);
  EXPECT_EQ(a.updated_at_ms, b.updated_at_ms);
}

TEST(CodecRoundTripTest, Department) {
  Department d;
  d.meta = SampleMeta();
  d.name = "dept";
  d.description = "desc \"quoted\" ü";
  d.allowed_pools = {"secret-az", "az2"};
  d.quota = {-1, 0, 1, 2, 3, 4, 1'000'000'000};
  auto back = Decode<Department>(Encode(d));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectMeta(back->meta, d.meta);
  EXPECT_EQ(back->name, d.name);
  EXPECT_EQ(back->description, d.description);
  EXPECT_EQ(back->allowed_pools, d.allowed_pools);
  for (const QuotaResource& r : kQuotaResources) {
    EXPECT_EQ(back->quota.*(r.limit), d.quota.*(r.limit)) << r.name;
  }
}

TEST(CodecRoundTripTest, Flavor) {
  Flavor f;
  f.meta = SampleMeta();
  f.name = "m1.large";
  f.description = "big";
  f.vcpus = 8;
  f.memory_mib = 16384;
  f.disk_gib = 160;
  f.required_traits = {"ssd"};
  f.forbidden_traits = {"gpu", "slow"};
  auto back = Decode<Flavor>(Encode(f));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectMeta(back->meta, f.meta);
  EXPECT_EQ(back->name, f.name);
  EXPECT_EQ(back->description, f.description);
  EXPECT_EQ(back->vcpus, 8);
  EXPECT_EQ(back->memory_mib, 16384);
  EXPECT_EQ(back->disk_gib, 160);
  EXPECT_EQ(back->required_traits, f.required_traits);
  EXPECT_EQ(back->forbidden_traits, f.forbidden_traits);
}

TEST(CodecRoundTripTest, Host) {
  Host h;
  h.meta = SampleMeta();
  h.name = "compute-1";
  h.pool = "az1";
  h.status = HostStatus::kDown;
  h.enabled = false;
  h.maintenance = true;
  h.capacity = {16, 65536, 500, {{0, 8, 32768}, {1, 8, 32768}}};
  h.cpu_allocation_ratio = 2.5;
  h.memory_allocation_ratio = 1.25;
  h.disk_allocation_ratio = 3.0;
  h.traits = {"ssd", "avx512"};
  h.aggregates = {"fast"};
  h.dedicated_departments = {"7d444840-9dc0-11d1-b245-5ffdce74fad2"};
  h.max_instances = 12;
  h.last_heartbeat_ms = 1'700'000'000'999;
  h.agent_user_id = "agent-user";
  auto back = Decode<Host>(Encode(h));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectMeta(back->meta, h.meta);
  EXPECT_EQ(back->name, h.name);
  EXPECT_EQ(back->pool, h.pool);
  EXPECT_EQ(back->status, h.status);
  EXPECT_EQ(back->enabled, h.enabled);
  EXPECT_EQ(back->maintenance, h.maintenance);
  EXPECT_EQ(back->capacity.cpus, 16);
  EXPECT_EQ(back->capacity.memory_mib, 65536);
  EXPECT_EQ(back->capacity.disk_gib, 500);
  ASSERT_EQ(back->capacity.numa_cells.size(), 2u);
  EXPECT_EQ(back->capacity.numa_cells[1].id, 1);
  EXPECT_EQ(back->capacity.numa_cells[1].cpus, 8);
  EXPECT_DOUBLE_EQ(back->cpu_allocation_ratio, 2.5);
  EXPECT_DOUBLE_EQ(back->memory_allocation_ratio, 1.25);
  EXPECT_DOUBLE_EQ(back->disk_allocation_ratio, 3.0);
  EXPECT_EQ(back->traits, h.traits);
  EXPECT_EQ(back->aggregates, h.aggregates);
  EXPECT_EQ(back->dedicated_departments, h.dedicated_departments);
  EXPECT_EQ(back->max_instances, 12);
  EXPECT_EQ(back->last_heartbeat_ms, h.last_heartbeat_ms);
  EXPECT_EQ(back->agent_user_id, h.agent_user_id);
}

TEST(CodecRoundTripTest, Vm) {
  Vm v;
  v.meta = SampleMeta();
  v.name = "web-1";
  v.department_id = "d";
  v.flavor_id = "f";
  v.flavor_name = "small";
  v.vcpus = 2;
  v.memory_mib = 2048;
  v.disk_gib = 20;
  v.pool = "az1";
  v.host_id = "h";
  v.server_group_id = "g";
  v.numa = {{0, {1, 1024, 0}}, {1, {1, 1024, 0}}};
  v.power = PowerState::kStopped;
  v.deleting = true;
  v.generation = 7;
  v.reboot_count = 2;
  v.state = VmState::kError;
  v.state_reason = "disk full";
  v.observed_generation = 6;
  auto back = Decode<Vm>(Encode(v));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectMeta(back->meta, v.meta);
  EXPECT_EQ(back->name, v.name);
  EXPECT_EQ(back->department_id, v.department_id);
  EXPECT_EQ(back->flavor_id, v.flavor_id);
  EXPECT_EQ(back->flavor_name, v.flavor_name);
  EXPECT_EQ(back->vcpus, 2);
  EXPECT_EQ(back->memory_mib, 2048);
  EXPECT_EQ(back->disk_gib, 20);
  EXPECT_EQ(back->pool, v.pool);
  EXPECT_EQ(back->host_id, v.host_id);
  EXPECT_EQ(back->server_group_id, v.server_group_id);
  ASSERT_EQ(back->numa.size(), 2u);
  EXPECT_EQ(back->numa[1].cell, 1);
  EXPECT_EQ(back->numa[1].resources.memory_mib, 1024);
  EXPECT_EQ(back->power, v.power);
  EXPECT_EQ(back->deleting, v.deleting);
  EXPECT_EQ(back->generation, 7);
  EXPECT_EQ(back->reboot_count, 2);
  EXPECT_EQ(back->state, v.state);
  EXPECT_EQ(back->state_reason, v.state_reason);
  EXPECT_EQ(back->observed_generation, 6);
}

TEST(CodecRoundTripTest, ServerGroup) {
  ServerGroup g;
  g.meta = SampleMeta();
  g.name = "web";
  g.department_id = "d";
  g.policy = GroupPolicy::kAntiAffinity;
  g.hard = false;
  auto back = Decode<ServerGroup>(Encode(g));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectMeta(back->meta, g.meta);
  EXPECT_EQ(back->name, g.name);
  EXPECT_EQ(back->department_id, g.department_id);
  EXPECT_EQ(back->policy, g.policy);
  EXPECT_EQ(back->hard, false);
}

TEST(CodecTest, ServerGroupAndPreviewRequests) {
  auto g = Parse<CreateServerGroupRequest>(R"({"name":"g","department_id":"d","policy":"affinity"})");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->hard);
  ExpectAllRejected(Parse<CreateServerGroupRequest>, {
      {R"({"name":"g","department_id":"d","policy":"spread"})", "policy", "INVALID_ARGUMENT"},
      {R"({"name":"g","department_id":"d","policy":"affinity","hard":"yes"})", "hard", "INVALID_ARGUMENT"},
      {R"({"name":"g","policy":"affinity"})", "department_id", "INVALID_ARGUMENT"},
      {R"({"name":"g","department_id":"d","policy":"affinity","members":[]})", "members", "INVALID_ARGUMENT"},
  });
  auto p = Parse<PreviewRequest>(R"({"department_id":"d","flavor":"small","count":3})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->count, 3);
  ExpectAllRejected(Parse<PreviewRequest>, {
      {R"({"department_id":"d","flavor":"small","count":0})", "count", "INVALID_ARGUMENT"},
      {R"({"department_id":"d","flavor":"small","count":101})", "count", "INVALID_ARGUMENT"},
      {R"({"department_id":"d"})", "flavor", "INVALID_ARGUMENT"},
  });
  ExpectAllRejected(Parse<CreateVmRequest>, {
      {R"({"name":"v","department_id":"d","flavor":"s","count":0})", "count", "INVALID_ARGUMENT"},
      {R"({"name":"v","department_id":"d","flavor":"s","count":1000})", "count", "INVALID_ARGUMENT"},
  });
  ExpectAllRejected(Parse<CreateFlavorRequest>, {
      {R"({"name":"f","vcpus":1,"memory_mib":64,"disk_gib":0,"required_traits":["ssd"],"forbidden_traits":["ssd"]})", "forbidden_traits", "INVALID_ARGUMENT"},
  });
  ExpectAllRejected(Parse<PatchHostRequest>, {
      {R"({"max_instances":-1})", "max_instances", "INVALID_ARGUMENT"},
      {R"({"dedicated_departments":"d"})", "dedicated_departments", "INVALID_ARGUMENT"},
  });
}

TEST(CodecRoundTripTest, UserTokenAndIdempotencyRecord) {
  User u{SampleMeta(), "alice", Role::kDeptAdmin, "d"};
  auto ub = Decode<User>(Encode(u));
  ASSERT_TRUE(ub.ok()) << ub.status().ToString();
  ExpectMeta(ub->meta, u.meta);
  EXPECT_EQ(ub->name, u.name);
  EXPECT_EQ(ub->role, u.role);
  EXPECT_EQ(ub->department_id, u.department_id);

  Token t{SampleMeta(), "user-1", "laptop", std::string(64, 'a')};
  auto tb = Decode<Token>(EncodeRecord(t));
  ASSERT_TRUE(tb.ok()) << tb.status().ToString();
  ExpectMeta(tb->meta, t.meta);
  EXPECT_EQ(tb->user_id, t.user_id);
  EXPECT_EQ(tb->name, t.name);
  EXPECT_EQ(tb->secret_sha256, t.secret_sha256);
  EXPECT_EQ(Encode(u).find("secret"), std::string::npos);

  IdempotencyRecord r{std::string(64, 'b'), std::string(64, 'c'), 201, R"({"id":"x","name":"\"q\""})", 1'700'000'000'000};
  auto rb = Decode<IdempotencyRecord>(EncodeRecord(r));
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->id, r.id);
  EXPECT_EQ(rb->request_hash, r.request_hash);
  EXPECT_EQ(rb->status, 201);
  EXPECT_EQ(rb->body, r.body);
  EXPECT_EQ(rb->created_at_ms, r.created_at_ms);
}

TEST(CodecRoundTripTest, DecodersTolerateUnknownFieldsButNotGarbage) {
  auto d = Decode<Department>(R"({"id":"x","name":"a","added_in_v2":{"x":1},"quota":{"instances":3,"gpus":2}})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->quota.instances, 3);
  EXPECT_FALSE(Decode<Department>("{").ok());
  EXPECT_FALSE(Decode<Department>(R"({"id":"x"})").ok()) << "name is required";
  EXPECT_FALSE(Decode<Vm>(R"({"id":"x","name":"v"})").ok()) << "department_id and sizes are required";
  EXPECT_FALSE(Decode<IdempotencyRecord>(R"({"id":"a","request_hash":"b","status":42})").ok());
}

// ---------------- Other bodies ----------------

TEST(CodecTest, ErrorBodyHasCodeMessageAndDetails) {
  Status s = ResourceExhausted("quota exceeded for instances")
                 .WithReason("QUOTA_EXCEEDED")
                 .WithDetail("resource", std::string("instances"))
                 .WithDetail("used", std::int64_t{10})
                 .WithDetail("ratio", 1.5)
                 .WithDetail("retry", false)
                 .WithDetail("rejected", std::map<std::string, std::int64_t>{{"insufficient_memory", 9}})
                 .WithDetail("allow", std::vector<std::string>{"GET", "POST"});
  json::value v = json::parse(EncodeError(s));
  const auto& e = v.at("error").as_object();
  EXPECT_EQ(e.at("code").as_string(), "QUOTA_EXCEEDED");
  EXPECT_EQ(e.at("message").as_string(), "quota exceeded for instances");
  const auto& d = e.at("details").as_object();
  EXPECT_EQ(d.at("resource").as_string(), "instances");
  EXPECT_EQ(d.at("used").as_int64(), 10);
  EXPECT_DOUBLE_EQ(d.at("ratio").as_double(), 1.5);
  EXPECT_EQ(d.at("retry").as_bool(), false);
  EXPECT_EQ(d.at("rejected").at("insufficient_memory").as_int64(), 9);
  EXPECT_EQ(d.at("allow").as_array().size(), 2u);
  EXPECT_EQ(v.as_object().size(), 1u);

  // No reason: the code's canonical name; no details: an empty object, never missing.
  json::value plain = json::parse(EncodeError(NotFound("vm x not found")));
  EXPECT_EQ(plain.at("error").at("code").as_string(), "NOT_FOUND");
  EXPECT_TRUE(plain.at("error").at("details").is_object());
  EXPECT_TRUE(plain.at("error").at("details").as_object().empty());
  // Messages with quotes and control characters stay valid JSON.
  EXPECT_NO_THROW(json::parse(EncodeError(InvalidArgument("bad \"x\"\n\t\x01"))));
}

TEST(CodecTest, ListUsageAndNewTokenBodies) {
  Flavor f;
  f.meta = SampleMeta();
  f.name = "a";
  f.vcpus = 1;
  f.memory_mib = 64;
  json::value list = json::parse(Encode(ListPage<Flavor>{{f, f}, "tok"}));
  EXPECT_EQ(list.at("items").as_array().size(), 2u);
  EXPECT_EQ(list.at("items").as_array()[0].at("name").as_string(), "a");
  EXPECT_EQ(list.at("next_page_token").as_string(), "tok");
  json::value empty = json::parse(Encode(ListPage<Flavor>{}));
  EXPECT_TRUE(empty.at("items").as_array().empty());
  EXPECT_EQ(empty.at("next_page_token").as_string(), "");

  DepartmentUsage du{"d1", {{"instances", {3, 10, true}}, {"volumes", {0, 1, false}}}};
  json::value usage = json::parse(Encode(du));
  EXPECT_EQ(usage.at("department_id").as_string(), "d1");
  EXPECT_EQ(usage.at("usage").at("instances").at("used").as_int64(), 3);
  EXPECT_EQ(usage.at("usage").at("instances").at("limit").as_int64(), 10);
  EXPECT_FALSE(usage.at("usage").at("volumes").at("enforced").as_bool());
  auto du_back = Decode<DepartmentUsage>(Encode(du));
  ASSERT_TRUE(du_back.ok()) << du_back.status().ToString();
  EXPECT_EQ(du_back->usage.at("instances").limit, 10);

  User u{SampleMeta(), "bob", Role::kDeptMember, "d"};
  Token t{SampleMeta(), "user-1", "ci", std::string(64, 'a')};
  const std::string nt_text = Encode(NewTokenAnswer{u, t.meta.id, t.name, "s3cret"});
  json::value nt = json::parse(nt_text);
  EXPECT_EQ(nt.at("token").as_string(), "s3cret");
  EXPECT_EQ(nt.at("user").at("name").as_string(), "bob");
  EXPECT_EQ(nt.at("token_id").as_string(), t.meta.id);
  EXPECT_EQ(Encode(t).find(t.secret_sha256), std::string::npos) << "the digest is never shown";
  EXPECT_NE(EncodeRecord(t).find(t.secret_sha256), std::string::npos) << "but it is stored";
}

TEST(CodecTest, QuotaResourcesNameEveryQuotaField) {
  Quota q;
  for (const QuotaResource& r : kQuotaResources) {
    ASSERT_EQ(FindQuotaResource(r.name), &r) << r.name;
    q.*(r.limit) = 77;
  }
  EXPECT_EQ(Encode(q), Encode(Quota{77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77})) << "every field is in the table";
  EXPECT_EQ(FindQuotaResource("gpus"), nullptr);
}

TEST(CodecTest, DerivedFieldsAreShownButNotStored) {
  Host h;
  h.meta = SampleMeta();
  h.name = "h1";
  h.capacity = {4, 1024, 10, {}};
  h.instances = 3;
  h.actual.domains = 2;
  EXPECT_NE(Encode(h).find("\"actual_usage\""), std::string::npos);
  EXPECT_EQ(EncodeRecord(h).find("\"actual_usage\""), std::string::npos);
  EXPECT_EQ(EncodeRecord(h).find("\"instances\""), std::string::npos);
  EXPECT_EQ(EncodeRecord(h).find("\"allocated\""), std::string::npos);
}

TEST(CodecTest, ErrorsSurviveTheTripThroughHttp) {
  const Status sent = ResourceExhausted("quota exceeded")
                          .WithReason("QUOTA_EXCEEDED")
                          .WithDetail("resource", std::string("instances"))
                          .WithDetail("limit", std::int64_t{10});
  const Status got = StatusFromResponse(ErrorResponse(sent));
  EXPECT_EQ(got.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(got.reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(got.message(), "quota exceeded");
  ASSERT_EQ(got.details().size(), 2u);
  EXPECT_EQ(std::get<std::string>(got.details()[0].second), "instances");
  for (const Status& s : {NotFound("x"), AlreadyExists("x"), Conflict("x"), FailedPrecondition("x"),
                          ResourceExhausted("x").WithReason("NO_VALID_HOST"), PermissionDenied("x"),
                          Unauthenticated("x"), InvalidArgument("x").WithReason("MALFORMED_JSON")}) {
    const Status back = StatusFromResponse(ErrorResponse(s));
    EXPECT_EQ(back.code(), s.code()) << s.ToString();
    EXPECT_EQ(back.reason(), s.reason()) << s.ToString();
  }
  HttpResponse proxy;
  proxy.status = 502;
  proxy.body = "<html>bad gateway</html>";
  EXPECT_EQ(StatusFromResponse(proxy).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace govpool::api
