// Behaviour of the real controller over HTTP: Idempotency-Key replays, RBAC between
// departments, If-Match, and hosts that stop heartbeating.
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

class ApiBehaviourTest : public ControllerTest {
 protected:
  std::vector<std::string> ExtraArgs() override { return {"--heartbeat-timeout-seconds", "3"}; }
};

TEST_F(ApiBehaviourTest, IdempotencyKeyReplaysTheFirstCreate) {
  const auto dept = CreateDepartment("idem", {.instances = 10});
  CreateFlavor("tiny", 1, 256, 1);
  RegisterHost("idem-h", 8, 8192, 100);
  const std::string token = CreateUserToken("idem-admin", api::Role::kDeptAdmin, dept.meta.id);
  Api api = NewClient(token);
  const json::object body{{"name", "web-1"}, {"department_id", dept.meta.id}, {"flavor", "tiny"}};

  Reply first = api.Post("/v1/vms", body, {{"Idempotency-Key", "create-web-1"}});
  ASSERT_EQ(first.status, 201) << first.Describe();
  EXPECT_EQ(first.Header("Idempotent-Replayed"), nullptr);
  Reply second = api.Post("/v1/vms", body, {{"Idempotency-Key", "create-web-1"}});
  ASSERT_EQ(second.status, 201) << second.Describe();
  EXPECT_EQ(second.Str("id"), first.Str("id"));
  ASSERT_NE(second.Header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(*second.Header("Idempotent-Replayed"), "true");

  // A replay also survives a crash (the key's record commits with the VM).
  controller_->Kill(SIGKILL);
  Restart();
  Api api2 = NewClient(token);
  Reply third = api2.Post("/v1/vms", body, {{"Idempotency-Key", "create-web-1"}});
  ASSERT_EQ(third.status, 201) << third.Describe();
  EXPECT_EQ(third.Str("id"), first.Str("id"));
  EXPECT_NE(third.Header("Idempotent-Replayed"), nullptr);

  // Same key, different body: refused; no key: an ordinary create that collides on the name.
  Reply reused = api2.Post("/v1/vms", {{"name", "web-2"}, {"department_id", dept.meta.id}, {"flavor", "tiny"}},
                           {{"Idempotency-Key", "create-web-1"}});
  EXPECT_EQ(reused.status, 422) << reused.Describe();
  EXPECT_EQ(reused.ErrorCode(), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_TRUE(HasErrorShape(reused));
  Reply plain = api2.Post("/v1/vms", body);
  EXPECT_EQ(plain.status, 409) << plain.Describe();
  EXPECT_EQ(plain.ErrorCode(), "ALREADY_EXISTS");

  // Keys are per user: another user's identical key is a fresh request.
  Api admin2 = NewClient(controller_->admin_token());
  Reply other = admin2.Post("/v1/vms", {{"name", "web-3"}, {"department_id", dept.meta.id}, {"flavor", "tiny"}},
                            {{"Idempotency-Key", "create-web-1"}});
  EXPECT_EQ(other.status, 201) << other.Describe();
  EXPECT_NE(other.Str("id"), first.Str("id"));

  Reply list = admin2.Get("/v1/vms?department_id=" + dept.meta.id);
  ASSERT_EQ(list.status, 200);
  int web1 = 0;
  for (const auto& v : list.json.at("items").as_array()) web1 += v.at("name").as_string() == "web-1";
  EXPECT_EQ(web1, 1);
  Reply usage = admin2.Get("/v1/departments/" + dept.meta.id + "/usage");
  EXPECT_EQ(usage.json.at("usage").at("instances").at("used").as_int64(), 2);
}

TEST_F(ApiBehaviourTest, DepartmentsSeeOnlyTheirOwnObjects) {
  const auto a = CreateDepartment("rbac-a", {.instances = 10});
  const auto b = CreateDepartment("rbac-b", {.instances = 10});
  CreateFlavor("tiny", 1, 256, 1);
  RegisterHost("rbac-h", 8, 8192, 100);
  Reply vm_b = admin_->Post("/v1/vms", {{"name", "b-vm"}, {"department_id", b.meta.id}, {"flavor", "tiny"}});
  ASSERT_EQ(vm_b.status, 201) << vm_b.Describe();
  Api a_admin = NewClient(CreateUserToken("a-admin", api::Role::kDeptAdmin, a.meta.id));
  Api a_member = NewClient(CreateUserToken("a-member", api::Role::kDeptMember, a.meta.id));

  Reply vm_a = a_admin.Post("/v1/vms", {{"name", "a-vm"}, {"department_id", a.meta.id}, {"flavor", "tiny"}});
  ASSERT_EQ(vm_a.status, 201) << vm_a.Describe();

  // Department B's objects do not exist for A's users.
  for (Api* api : {&a_admin, &a_member}) {
    Reply r = api->Get("/v1/vms/" + vm_b.Str("id"));
    EXPECT_EQ(r.status, 404) << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "NOT_FOUND");
    r = api->Get("/v1/departments/" + b.meta.id);
    EXPECT_EQ(r.status, 404) << r.Describe();
    r = api->Get("/v1/departments/" + b.meta.id + "/usage");
    EXPECT_EQ(r.status, 404) << r.Describe();
    r = api->Get("/v1/vms");
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.json.at("items").as_array().size(), 1u) << r.body;
    EXPECT_EQ(r.json.at("items").as_array()[0].at("id").as_string(), vm_a.Str("id"));
    r = api->Get("/v1/vms?department_id=" + b.meta.id);
    EXPECT_TRUE(r.json.at("items").as_array().empty()) << r.body;
    r = api->Get("/v1/departments");
    ASSERT_EQ(r.json.at("items").as_array().size(), 1u) << r.body;
    EXPECT_EQ(r.json.at("items").as_array()[0].at("id").as_string(), a.meta.id);
  }
  Reply del = a_admin.Send("DELETE", "/v1/vms/" + vm_b.Str("id"));
  EXPECT_EQ(del.status, 404) << del.Describe();
  Reply act = a_admin.Send("POST", "/v1/vms/" + vm_b.Str("id") + "/stop");
  EXPECT_EQ(act.status, 404) << act.Describe();
  Reply create_b = a_admin.Post("/v1/vms", {{"name", "x"}, {"department_id", b.meta.id}, {"flavor", "tiny"}});
  EXPECT_EQ(create_b.status, 404) << create_b.Describe();

  // A member reads its department but cannot create or delete VMs.
  Reply member_create = a_member.Post("/v1/vms", {{"name", "m-vm"}, {"department_id", a.meta.id}, {"flavor", "tiny"}});
  EXPECT_EQ(member_create.status, 403) << member_create.Describe();
  EXPECT_EQ(member_create.ErrorCode(), "PERMISSION_DENIED");
  EXPECT_EQ(a_member.Get("/v1/vms/" + vm_a.Str("id")).status, 200);
  EXPECT_EQ(a_member.Send("DELETE", "/v1/vms/" + vm_a.Str("id")).status, 403);
  // Flavors are readable by all; hosts by the system-admin (and agents) only.
  EXPECT_EQ(a_member.Get("/v1/flavors/tiny").status, 200);
  EXPECT_EQ(a_member.Get("/v1/hosts").status, 403);
  // Department users cannot change their quota.
  Reply patch = a_admin.Send("PATCH", "/v1/departments/" + a.meta.id, R"({"quota":{"instances":100}})");
  EXPECT_EQ(patch.status, 403) << patch.Describe();
  // The VM count of B is untouched.
  Reply usage_b = admin_->Get("/v1/departments/" + b.meta.id + "/usage");
  EXPECT_EQ(usage_b.json.at("usage").at("instances").at("used").as_int64(), 1);
}

TEST_F(ApiBehaviourTest, IfMatchGuardsUpdates) {
  const auto d = CreateDepartment("ifm", {.instances = 10});
  const std::int64_t rev = d.meta.revision;
  Reply ok = admin_->Send("PATCH", "/v1/departments/" + d.meta.id, R"({"quota":{"instances":20}})",
                          {{"If-Match", "\"" + std::to_string(rev) + "\""}});
  ASSERT_EQ(ok.status, 200) << ok.Describe();
  EXPECT_GT(ok.Int("revision"), rev);
  EXPECT_EQ(ok.json.at("quota").at("instances").as_int64(), 20);
  Reply stale = admin_->Send("PATCH", "/v1/departments/" + d.meta.id, R"({"quota":{"instances":30}})",
                             {{"If-Match", std::to_string(rev)}});
  EXPECT_EQ(stale.status, 409) << stale.Describe();
  EXPECT_EQ(stale.ErrorCode(), "CONFLICT");
  EXPECT_EQ(stale.json.at("error").at("details").at("current_revision").as_int64(), ok.Int("revision"));
  Reply del_stale = admin_->Send("DELETE", "/v1/departments/" + d.meta.id, "", {{"If-Match", std::to_string(rev)}});
  EXPECT_EQ(del_stale.status, 409);
  Reply del = admin_->Send("DELETE", "/v1/departments/" + d.meta.id, "",
                           {{"If-Match", std::to_string(ok.Int("revision"))}});
  EXPECT_EQ(del.status, 204) << del.Describe();
  EXPECT_EQ(admin_->Get("/v1/departments/" + d.meta.id).status, 404);
}

TEST_F(ApiBehaviourTest, SilentHostGoesDownAndItsVmsRenderUnknown) {
  const auto dept = CreateDepartment("hb", {.instances = 10});
  CreateFlavor("tiny", 1, 256, 1);
  Api agent = NewClient(CreateUserToken("agent-1", api::Role::kAgent, ""));
  const json::object host_body{{"name", "agent-host"},
                               {"capacity", {{"cpus", 8}, {"memory_mib", 8192}, {"disk_gib", 100}}}};
  // Pre-registered by the system-admin, so its token agent's host takes VMs (not pending).
  ASSERT_EQ(admin_->Post("/v1/hosts/register", host_body).status, 200);
  Reply host = agent.Post("/v1/hosts/register", host_body);
  ASSERT_EQ(host.status, 200) << host.Describe();
  EXPECT_EQ(host.body.find("\"pending\":true"), std::string::npos) << host.body;
  // A fresh heartbeat gives a 3 s window to place the VM while the host is up.
  ASSERT_EQ(agent.Send("POST", "/v1/hosts/" + host.Str("id") + "/heartbeat").status, 200);
  Reply vm = admin_->Post("/v1/vms", {{"name", "hb-vm"}, {"department_id", dept.meta.id}, {"flavor", "tiny"}});
  ASSERT_EQ(vm.status, 201) << vm.Describe();
  EXPECT_EQ(vm.Str("host_id"), host.Str("id"));

  // The agent stays silent; with --heartbeat-timeout-seconds 3 the host goes down.
  ASSERT_TRUE(PollUntil([&] { return admin_->Get("/v1/hosts/" + host.Str("id")).Str("status") == "down"; },
                        std::chrono::seconds(15)));
  Reply v = admin_->Get("/v1/vms/" + vm.Str("id"));
  EXPECT_EQ(v.Str("state"), "unknown") << v.body;
  // A down host gets no new VMs.
  Reply refused = admin_->Post("/v1/vms", {{"name", "hb-vm-2"}, {"department_id", dept.meta.id}, {"flavor", "tiny"}});
  EXPECT_EQ(refused.status, 409) << refused.Describe();
  EXPECT_EQ(refused.ErrorCode(), "NO_VALID_HOST");
  // A heartbeat brings it back.
  Reply hb = agent.Send("POST", "/v1/hosts/" + host.Str("id") + "/heartbeat");
  EXPECT_EQ(hb.status, 200) << hb.Describe();
  EXPECT_EQ(hb.Str("status"), "up");
  EXPECT_EQ(admin_->Get("/v1/vms/" + vm.Str("id")).Str("state"), "scheduled");
  // An agent sees only its own hosts.
  Reply other = admin_->Post("/v1/hosts/register",
                             {{"name", "admin-host"}, {"capacity", {{"cpus", 8}, {"memory_mib", 8192}, {"disk_gib", 100}}}});
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(agent.Get("/v1/hosts/" + other.Str("id")).status, 404);
  EXPECT_EQ(agent.Send("POST", "/v1/hosts/" + other.Str("id") + "/heartbeat").status, 404);
  // Nor takes over another agent's host.
  Api agent2 = NewClient(CreateUserToken("agent-2", api::Role::kAgent, ""));
  const json::object other_body{{"name", "agent-2-host"},
                                {"capacity", {{"cpus", 8}, {"memory_mib", 8192}, {"disk_gib", 100}}}};
  Reply theirs = agent2.Post("/v1/hosts/register", other_body);
  ASSERT_EQ(theirs.status, 200) << theirs.Describe();
  EXPECT_NE(theirs.body.find("\"pending\":true"), std::string::npos) << "nobody named it: " << theirs.body;
  Reply hijack = agent.Post("/v1/hosts/register", other_body);
  EXPECT_EQ(hijack.status, 403) << hijack.Describe();
}

// The review's attack as black-box requests: an agent token registers a host into the pool a
// department is confined to. It joins pending and takes none of that department's VMs until
// the system-admin approves it.
TEST_F(ApiBehaviourTest, ATokenAgentsHostNobodyNamedTakesNoVmUntilApproved) {
  api::CreateDepartmentRequest confined;
  confined.name = "classified";
  confined.quota.instances = 5;
  confined.allowed_pools = {"secure"};
  auto created = client_->CreateDepartment(confined);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const api::Department dept = *created;
  CreateFlavor("tiny", 1, 256, 1);
  Api agent = NewClient(CreateUserToken("rogue-agent", api::Role::kAgent, ""));
  Reply rogue = agent.Post("/v1/hosts/register",
                           {{"name", "rogue"}, {"pool", "secure"},
                            {"capacity", {{"cpus", 64}, {"memory_mib", 262144}, {"disk_gib", 1000}}}});
  ASSERT_EQ(rogue.status, 200) << rogue.Describe();
  EXPECT_TRUE(rogue.json.at("pending").as_bool()) << rogue.body;
  EXPECT_FALSE(rogue.json.at("enabled").as_bool()) << rogue.body;
  const json::object vm{{"name", "secret-1"}, {"department_id", dept.meta.id}, {"flavor", "tiny"}};
  Reply refused = admin_->Post("/v1/vms", vm);
  EXPECT_EQ(refused.status, 409) << refused.Describe();
  EXPECT_EQ(refused.ErrorCode(), "NO_VALID_HOST");
  // The agent cannot approve itself; the system-admin can.
  EXPECT_EQ(agent.Send("PATCH", "/v1/hosts/" + rogue.Str("id"), R"({"enabled":true})").status, 403);
  Reply approved = admin_->Send("PATCH", "/v1/hosts/" + rogue.Str("id"), R"({"enabled":true})");
  ASSERT_EQ(approved.status, 200) << approved.Describe();
  EXPECT_FALSE(approved.json.at("pending").as_bool());
  Reply placed = admin_->Post("/v1/vms", vm);
  ASSERT_EQ(placed.status, 201) << placed.Describe();
  EXPECT_EQ(placed.Str("host_id"), rogue.Str("id"));
}

TEST_F(ApiBehaviourTest, ServesItsOpenApiDocumentAndHealth) {
  Api anonymous(controller_->base_url(), "");
  Reply doc = anonymous.Get("/v1/openapi.yaml");
  EXPECT_EQ(doc.status, 200);
  EXPECT_EQ(doc.body.rfind("openapi: 3", 0), 0u) << doc.body.substr(0, 100);
  EXPECT_NE(doc.body.find("\n  /v1/vms:\n"), std::string::npos);
  EXPECT_EQ(anonymous.Get("/healthz").status, 200);
  // The metrics name departments and hosts: the system-admin's (docs/security.md).
  EXPECT_EQ(anonymous.Get("/metrics").status, 401);
  Reply metrics = admin_->Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("govpool_"), std::string::npos);
}

}  // namespace
}  // namespace govpool::testing
