// kill -9 durability of the real controller: every acknowledged write survives a SIGKILL at any
// moment (here: in the middle of a burst of creates from several threads), with the same
// revision, and quota usage after the restart equals the VMs that survived (no drift).
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

struct Acked {
  std::string path;  // e.g. /v1/vms/<id>
  std::int64_t revision = 0;
  std::string name;
};

class DurabilityTest : public ControllerTest {
 protected:
  void Remember(const std::string& collection, const std::string& id, std::int64_t revision,
                const std::string& name) {
    ASSERT_FALSE(id.empty());
    acked_.push_back({collection + "/" + id, revision, name});
  }
  // A department, flavor or host as the typed client returned it.
  template <class T>
  void Remember(const std::string& collection, const T& o) {
    Remember(collection, o.meta.id, o.meta.revision, o.name);
  }

  // Every acknowledged object is there with the same revision and name.
  void ExpectAllAckedPresent() {
    for (const Acked& a : acked_) {
      Reply r = admin_->Get(a.path);
      ASSERT_EQ(r.status, 200) << a.path << " lost after kill -9: " << r.Describe();
      EXPECT_EQ(r.Int("revision"), a.revision) << a.path;
      EXPECT_EQ(r.Str("name"), a.name) << a.path;
    }
  }

  // Usage equals the surviving VMs, and hosts' allocations equal their VMs.
  void ExpectNoQuotaDrift(const std::string& department_id, std::int64_t memory_per_vm) {
    Reply vms = admin_->Get("/v1/vms?limit=1000&department_id=" + department_id);
    ASSERT_EQ(vms.status, 200) << vms.Describe();
    const auto count = static_cast<std::int64_t>(vms.json.at("items").as_array().size());
    Reply usage = admin_->Get("/v1/departments/" + department_id + "/usage");
    ASSERT_EQ(usage.status, 200) << usage.Describe();
    EXPECT_EQ(usage.json.at("usage").at("instances").at("used").as_int64(), count);
    EXPECT_EQ(usage.json.at("usage").at("memory_mib").at("used").as_int64(), count * memory_per_vm);
    std::map<std::string, std::int64_t> per_host;
    for (const auto& v : vms.json.at("items").as_array()) ++per_host[std::string(v.at("host_id").as_string())];
    Reply hosts = admin_->Get("/v1/hosts?limit=1000");
    ASSERT_EQ(hosts.status, 200);
    for (const auto& h : hosts.json.at("items").as_array()) {
      const std::string id(h.at("id").as_string());
      EXPECT_EQ(h.at("instances").as_int64(), per_host[id]) << id;
      EXPECT_EQ(h.at("allocated").at("memory_mib").as_int64(), per_host[id] * memory_per_vm) << id;
    }
  }

  std::vector<Acked> acked_;
};

TEST_F(DurabilityTest, AcknowledgedWritesSurviveSigkillMidBurst) {
  const auto dept_a = CreateDepartment("dur-a", {.instances = 500, .vcpus = -1, .memory_mib = -1});
  const auto dept_b = CreateDepartment("dur-b", {.instances = 3});
  Remember("/v1/departments", dept_a);
  Remember("/v1/departments", dept_b);
  Remember("/v1/flavors", CreateFlavor("tiny", 1, 256, 1));
  Remember("/v1/flavors", CreateFlavor("other", 2, 1024, 5));
  Remember("/v1/hosts", RegisterHost("dur-h1", 64, 262144, 10000));
  Remember("/v1/hosts", RegisterHost("dur-h2", 64, 262144, 10000));
  for (int i = 0; i < 5; ++i) {
    Reply r = admin_->Post("/v1/vms", {{"name", "seq-" + std::to_string(i)},
                                       {"department_id", dept_a.meta.id},
                                       {"flavor", "tiny"}});
    ASSERT_EQ(r.status, 201) << r.Describe();
    Remember("/v1/vms", r.Str("id"), r.Int("revision"), r.Str("name"));
  }
  // An update is acknowledged too: its new revision must survive.
  Reply patched = admin_->Send("PATCH", "/v1/departments/" + dept_b.meta.id, R"({"description":"patched"})",
                               {{"If-Match", std::to_string(dept_b.meta.revision)}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  acked_[1].revision = patched.Int("revision");
  ASSERT_GT(acked_[1].revision, dept_b.meta.revision);

  // A burst of creates from several threads; SIGKILL lands in the middle of it.
  constexpr int kThreads = 8;
  std::mutex mu;
  std::atomic<int> acked_in_burst{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const std::string token = controller_->admin_token();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Api api = NewClient(token);
      for (int i = 0; !stop; ++i) {
        Reply r = api.Post("/v1/vms", {{"name", "burst-" + std::to_string(t) + "-" + std::to_string(i)},
                                       {"department_id", dept_a.meta.id},
                                       {"flavor", "tiny"}});
        if (r.status == 0) return;  // the controller is gone
        if (r.status != 201) {
          ADD_FAILURE() << r.Describe();
          return;
        }
        std::lock_guard lock(mu);
        acked_.push_back({"/v1/vms/" + r.Str("id"), r.Int("revision"), r.Str("name")});
        ++acked_in_burst;
      }
    });
  }
  ASSERT_TRUE(PollUntil([&] { return acked_in_burst >= 40; })) << "burst made no progress";
  controller_->Kill(SIGKILL);
  stop = true;
  for (auto& th : threads) th.join();
  std::cerr << "acknowledged before kill: " << acked_.size() << " objects, " << acked_in_burst
            << " in the burst\n";

  Restart();
  ExpectAllAckedPresent();
  ExpectNoQuotaDrift(dept_a.meta.id, 256);
  Reply b = admin_->Get("/v1/departments/" + dept_b.meta.id);
  EXPECT_EQ(b.Str("description"), "patched");

  // The restarted controller keeps working on the same state: a second kill -9 right after an
  // acknowledged write still keeps it.
  Reply more = admin_->Post("/v1/vms", {{"name", "after-restart"},
                                        {"department_id", dept_a.meta.id},
                                        {"flavor", "tiny"}});
  ASSERT_EQ(more.status, 201) << more.Describe();
  Remember("/v1/vms", more.Str("id"), more.Int("revision"), more.Str("name"));
  controller_->Kill(SIGKILL);
  Restart();
  ExpectAllAckedPresent();
  ExpectNoQuotaDrift(dept_a.meta.id, 256);
  // The first admin token still works (it was not re-created), and the quota still holds.
  for (int i = 0; i < 3; ++i) {
    Reply r = admin_->Post("/v1/vms", {{"name", "b-" + std::to_string(i)},
                                       {"department_id", dept_b.meta.id},
                                       {"flavor", "tiny"}});
    EXPECT_EQ(r.status, 201) << r.Describe();
  }
  Reply over = admin_->Post("/v1/vms", {{"name", "b-over"}, {"department_id", dept_b.meta.id}, {"flavor", "tiny"}});
  EXPECT_EQ(over.status, 403) << over.Describe();
  EXPECT_EQ(over.ErrorCode(), "QUOTA_EXCEEDED");
}

TEST_F(DurabilityTest, DeletesSurviveSigkill) {
  const auto dept = CreateDepartment("del-a", {.instances = 10});
  CreateFlavor("tiny", 1, 256, 1);
  RegisterHost("del-h1", 8, 8192, 100);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    Reply r = admin_->Post("/v1/vms", {{"name", "v" + std::to_string(i)}, {"department_id", dept.meta.id}, {"flavor", "tiny"}});
    ASSERT_EQ(r.status, 201) << r.Describe();
    ids.push_back(r.Str("id"));
  }
  Reply del = admin_->Send("DELETE", "/v1/vms/" + ids[0]);
  ASSERT_EQ(del.status, 204) << del.Describe();
  Reply flavor_del = admin_->Send("POST", "/v1/flavors", R"({"name":"gone","vcpus":1,"memory_mib":128,"disk_gib":0})");
  ASSERT_EQ(flavor_del.status, 201);
  ASSERT_EQ(admin_->Send("DELETE", "/v1/flavors/" + flavor_del.Str("id")).status, 204);
  controller_->Kill(SIGKILL);
  Restart();
  EXPECT_EQ(admin_->Get("/v1/vms/" + ids[0]).status, 404);
  EXPECT_EQ(admin_->Get("/v1/flavors/gone").status, 404);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(admin_->Get("/v1/vms/" + ids[i]).status, 200);
  ExpectNoQuotaDrift(dept.meta.id, 256);
}

}  // namespace
}  // namespace govpool::testing
