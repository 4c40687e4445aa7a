// 200 concurrent VM creates against the real controller: the quota check, placement and record
// creation are one transaction, so exactly as many creates succeed as the quota (or the hosts'
// capacity) allows, usage matches, and no host is ever allocated beyond capacity x ratio.
#include <atomic>
#include <barrier>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/controller/controller_fixture.h"
#include "tests/unit/controller/instances_quota.h"

namespace govpool::testing {
namespace {

constexpr int kThreads = 50;
constexpr int kCreatesPerThread = 4;
constexpr int kTotal = kThreads * kCreatesPerThread;

struct Outcome {
  int created = 0;
  std::map<std::string, int> by_code;  // "<status> <error.code>" -> count
  std::vector<Reply> refusals;         // one sample per kind
  std::vector<std::string> vm_ids;
};

class ConcurrentCreateTest : public ControllerTest {
 protected:
  struct Creator {
    std::string token;
    std::string department_id;
  };
  // Fires kTotal creates from kThreads threads, each with its own client, released together.
  Outcome FireCreates(const std::string& token, const std::string& department_id,
                      const std::string& flavor) {
    return FireCreates({{token, department_id}}, flavor);
  }
  // The same, thread t creating as creators[t % size] in its department.
  Outcome FireCreates(const std::vector<Creator>& creators, const std::string& flavor) {
    Outcome out;
    std::mutex mu;
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const Creator& who = creators[t % creators.size()];
        Api api = NewClient(who.token);
        start.arrive_and_wait();
        for (int i = 0; i < kCreatesPerThread; ++i) {
          const std::string name = "vm-" + std::to_string(t) + "-" + std::to_string(i);
          Reply r = api.Post("/v1/vms", {{"name", name},
                                         {"department_id", who.department_id},
                                         {"flavor", flavor}});
          std::lock_guard lock(mu);
          const std::string kind = std::to_string(r.status) + " " + r.ErrorCode();
          if (r.status == 201) {
            ++out.created;
            out.vm_ids.push_back(r.Str("id"));
          } else if (out.by_code[kind] == 0) {
            out.refusals.push_back(r);
          }
          ++out.by_code[kind];
        }
      });
    }
    for (auto& th : threads) th.join();
    return out;
  }

  // Asserts every host's allocation is within capacity x ratio; returns the totals.
  void CheckHosts(std::int64_t* vcpus, std::int64_t* memory_mib, std::int64_t* instances) {
    *vcpus = *memory_mib = *instances = 0;
    Reply hosts = admin_->Get("/v1/hosts?limit=1000");
    ASSERT_EQ(hosts.status, 200) << hosts.Describe();
    for (const auto& item : hosts.json.at("items").as_array()) {
      const auto& h = item.as_object();
      const auto& cap = h.at("capacity").as_object();
      const auto& alloc = h.at("allocated").as_object();
      const double cpu_limit = static_cast<double>(cap.at("cpus").as_int64()) *
                               h.at("cpu_allocation_ratio").to_number<double>();
      const double mem_limit = static_cast<double>(cap.at("memory_mib").as_int64()) *
                               h.at("memory_allocation_ratio").to_number<double>();
      const double disk_limit = static_cast<double>(cap.at("disk_gib").as_int64()) *
                                h.at("disk_allocation_ratio").to_number<double>();
      EXPECT_LE(static_cast<double>(alloc.at("vcpus").as_int64()), cpu_limit) << json::serialize(h);
      EXPECT_LE(static_cast<double>(alloc.at("memory_mib").as_int64()), mem_limit) << json::serialize(h);
      EXPECT_LE(static_cast<double>(alloc.at("disk_gib").as_int64()), disk_limit) << json::serialize(h);
      EXPECT_GE(h.at("free").as_object().at("memory_mib").as_int64(), 0) << json::serialize(h);
      *vcpus += alloc.at("vcpus").as_int64();
      *memory_mib += alloc.at("memory_mib").as_int64();
      *instances += h.at("instances").as_int64();
    }
  }

  std::int64_t UsedInstances(const std::string& department_id) {
    Reply u = admin_->Get("/v1/departments/" + department_id + "/usage");
    EXPECT_EQ(u.status, 200) << u.Describe();
    return u.json.at("usage").at("instances").at("used").as_int64();
  }

  std::int64_t ListedVms(const std::string& department_id) {
    Reply l = admin_->Get("/v1/vms?limit=1000&department_id=" + department_id);
    EXPECT_EQ(l.status, 200) << l.Describe();
    EXPECT_EQ(l.Str("next_page_token"), "");
    return static_cast<std::int64_t>(l.json.at("items").as_array().size());
  }
};

TEST_F(ConcurrentCreateTest, QuotaOfTenAdmitsExactlyTen) {
  const auto dept = CreateDepartment("team-a", {.instances = 10, .vcpus = -1, .memory_mib = -1});
  CreateFlavor("small", 1, 512, 1);
  RegisterHost("big-1", 64, 262144, 10000);
  RegisterHost("big-2", 64, 262144, 10000);
  const std::string token = CreateUserToken("alice", api::Role::kDeptAdmin, dept.meta.id);
  ASSERT_FALSE(token.empty());

  const auto start = std::chrono::steady_clock::now();
  Outcome out = FireCreates(token, dept.meta.id, "small");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "200 creates in " << seconds << " s\n";

  EXPECT_EQ(out.created, 10);
  EXPECT_EQ(out.by_code["403 QUOTA_EXCEEDED"], kTotal - 10);
  EXPECT_EQ(out.by_code.size(), 2u) << "unexpected answers";
  for (const Reply& r : out.refusals) {
    EXPECT_TRUE(HasErrorShape(r)) << r.Describe();
    if (r.ErrorCode() == "QUOTA_EXCEEDED") {
      const auto& d = r.json.at("error").at("details").as_object();
      EXPECT_EQ(d.at("resource").as_string(), "instances");
      EXPECT_EQ(d.at("limit").as_int64(), 10);
      EXPECT_EQ(d.at("used").as_int64(), 10);
      EXPECT_EQ(d.at("requested").as_int64(), 1);
    } else {
      ADD_FAILURE() << "unexpected answer: " << r.Describe();
    }
  }
  EXPECT_EQ(UsedInstances(dept.meta.id), 10);
  EXPECT_EQ(ListedVms(dept.meta.id), 10);
  std::int64_t vcpus = 0, memory = 0, instances = 0;
  CheckHosts(&vcpus, &memory, &instances);
  EXPECT_EQ(instances, 10);
  EXPECT_EQ(vcpus, 10);
  EXPECT_EQ(memory, 10 * 512);
}

TEST_F(ConcurrentCreateTest, HostsThatFitSevenAdmitExactlySeven) {
  const auto dept =
      CreateDepartment("team-b", {.instances = 1000, .vcpus = -1, .memory_mib = -1});
  CreateFlavor("medium", 2, 4096, 10);
  // Memory (ratio 1.0) is the limit: 4 VMs fit on the first host and 3 on the second.
  RegisterHost("fit-4", 4, 16384, 1000);
  RegisterHost("fit-3", 4, 12288, 1000);
  const std::string token = CreateUserToken("bob", api::Role::kDeptAdmin, dept.meta.id);
  ASSERT_FALSE(token.empty());

  Outcome out = FireCreates(token, dept.meta.id, "medium");

  EXPECT_EQ(out.created, 7);
  EXPECT_EQ(out.by_code["409 NO_VALID_HOST"], kTotal - 7);
  EXPECT_EQ(out.by_code.size(), 2u) << "unexpected answers";
  for (const Reply& r : out.refusals) {
    EXPECT_TRUE(HasErrorShape(r)) << r.Describe();
    if (r.ErrorCode() != "NO_VALID_HOST") {
      ADD_FAILURE() << "unexpected answer: " << r.Describe();
      continue;
    }
    const auto& d = r.json.at("error").at("details").as_object();
    ASSERT_TRUE(d.contains("hosts_total")) << r.body;
    EXPECT_EQ(d.at("hosts_total").as_int64(), 2);
    ASSERT_TRUE(d.contains("rejected") && d.at("rejected").is_object()) << r.body;
    std::int64_t rejected = 0;
    for (const auto& kv : d.at("rejected").as_object()) rejected += kv.value().as_int64();
    EXPECT_EQ(rejected, 2) << "every host rejected for some reason: " << r.body;
  }
  EXPECT_EQ(UsedInstances(dept.meta.id), 7);
  EXPECT_EQ(ListedVms(dept.meta.id), 7);
  std::int64_t vcpus = 0, memory = 0, instances = 0;
  CheckHosts(&vcpus, &memory, &instances);
  EXPECT_EQ(instances, 7);
  EXPECT_EQ(vcpus, 14);
  EXPECT_EQ(memory, 7 * 4096);

  // Deleting a VM frees its room: exactly one more create fits afterwards.
  ASSERT_FALSE(out.vm_ids.empty());
  Api api = NewClient(token);
  Reply del = api.Send("DELETE", "/v1/vms/" + out.vm_ids.front());
  EXPECT_EQ(del.status, 204) << del.Describe();
  Reply again = api.Post("/v1/vms", {{"name", "after-delete"},
                                     {"department_id", dept.meta.id},
                                     {"flavor", "medium"}});
  EXPECT_EQ(again.status, 201) << again.Describe();
  Reply full = api.Post("/v1/vms", {{"name", "one-too-many"},
                                    {"department_id", dept.meta.id},
                                    {"flavor", "medium"}});
  EXPECT_EQ(full.status, 409) << full.Describe();
  EXPECT_EQ(UsedInstances(dept.meta.id), 7);
}

// The organisation tree (docs/departments.md): a bureau and its two departments create at once;
// every create checks the bureau's subtree in its own transaction, so together they never pass
// the bureau's limit, and each department stays within its own.
TEST_F(ConcurrentCreateTest, SiblingsAndTheirBureauNeverPassTheBureau) {
  using controller::testing::InstancesOnly;
  const auto province = CreateDepartment("province", InstancesOnly(100));
  auto child = [&](const std::string& name, const std::string& parent, std::int64_t instances) {
    api::CreateDepartmentRequest req;
    req.name = name;
    req.parent = parent;
    req.quota = InstancesOnly(instances);
    auto d = client_->CreateDepartment(req);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : api::Department{};
  };
  const api::Department bureau = child("bureau", province.meta.id, 12);
  const api::Department tax = child("tax", bureau.meta.id, 5);
  const api::Department health = child("health", bureau.meta.id, 5);
  CreateFlavor("small", 1, 512, 1);
  RegisterHost("tree-1", 64, 262144, 10000);
  const std::vector<Creator> creators = {
      {CreateUserToken("bureau-admin", api::Role::kDeptAdmin, bureau.meta.id), bureau.meta.id},
      {CreateUserToken("tax-admin", api::Role::kDeptAdmin, tax.meta.id), tax.meta.id},
      {CreateUserToken("health-admin", api::Role::kDeptAdmin, health.meta.id), health.meta.id}};

  Outcome out = FireCreates(creators, "small");

  EXPECT_EQ(out.created, 12) << "the bureau's limit, shared by the three";
  EXPECT_EQ(out.by_code["403 QUOTA_EXCEEDED"], kTotal - 12);
  EXPECT_EQ(out.by_code.size(), 2u) << "unexpected answers";
  EXPECT_LE(UsedInstances(tax.meta.id), 5);
  EXPECT_LE(UsedInstances(health.meta.id), 5);
  EXPECT_EQ(UsedInstances(bureau.meta.id) + UsedInstances(tax.meta.id) + UsedInstances(health.meta.id), 12);
  Reply usage = admin_->Get("/v1/departments/" + bureau.meta.id + "/usage");
  EXPECT_EQ(usage.json.at("usage").at("instances").at("subtree_used").as_int64(), 12) << usage.Describe();
  std::int64_t vcpus = 0, memory = 0, instances = 0;
  CheckHosts(&vcpus, &memory, &instances);
  EXPECT_EQ(instances, 12);
}

}  // namespace
}  // namespace govpool::testing
