// The audit trail of the real controller over HTTP (docs/security.md, "Audit trail"): every
// API request leaves exactly one "request" record naming who, from where, which route
// pattern, the status and the outcome; only the audit administrator reads it; and a kill -9
// in the middle of a burst loses no record of a request that got its answer, nor breaks the
// hash chain.
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "api/codec.h"
#include "common/crypto.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

class AuditHttpTest : public ControllerTest {
 protected:
  // Every record of the trail, through the paged list (GET /v1/audit) as the audit-admin.
  std::vector<api::AuditRecord> ListAll() {
    auto auditor = NewTypedClient(controller_->audit_token());
    std::vector<api::AuditRecord> all;
    api::AuditQuery q;
    q.limit = 100;
    while (true) {
      auto page = auditor->ListAudit(q);
      if (!page.ok()) {
        ADD_FAILURE() << "GET /v1/audit: " << page.status().ToString();
        return all;
      }
      all.insert(all.end(), page->items.begin(), page->items.end());
      if (page->next_page_token.empty()) return all;
      q.page_token = page->next_page_token;
    }
  }

  // Every record of the trail, through the JSON-lines export as the audit-admin.
  std::vector<api::AuditRecord> ExportAll() {
    auto auditor = NewTypedClient(controller_->audit_token());
    std::string body;
    Status s = auditor->ExportAudit({}, "jsonl", [&](std::string_view chunk) {
      body.append(chunk);
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << "export: " << s.ToString();
    std::vector<api::AuditRecord> all;
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      auto rec = api::Decode<api::AuditRecord>(line);
      if (!rec.ok()) {
        ADD_FAILURE() << "export line does not decode: " << rec.status().ToString() << ": " << line;
        continue;
      }
      all.push_back(std::move(rec).value());
    }
    return all;
  }

  void ExpectVerifies() {
    auto auditor = NewTypedClient(controller_->audit_token());
    auto v = auditor->VerifyAudit();
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok) << "problem " << v->problem << " at seq " << v->first_bad_seq << ": "
                       << v->message;
    EXPECT_GT(v->records, 0);
  }
};

// A well-formed VM id no VM has (ids are UUIDs; `n` makes it unique).
std::string MissingVmId(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012x", n);
  return buf;
}

// The "request" records matching method, route and status, and (when not empty) the body's
// digest or the object id.
std::vector<api::AuditRecord> Matching(const std::vector<api::AuditRecord>& trail,
                                       const std::string& method, const std::string& route,
                                       int status, const std::string& body_sha256,
                                       const std::string& object_id) {
  std::vector<api::AuditRecord> out;
  for (const auto& r : trail) {
    if (r.kind != "request" || r.method != method || r.route != route || r.status != status) continue;
    if (!body_sha256.empty() && r.body_sha256 != body_sha256) continue;
    if (!object_id.empty() && r.object_id != object_id) continue;
    out.push_back(r);
  }
  return out;
}

TEST_F(AuditHttpTest, EveryRequestLeavesOneRecordReadableOnlyByTheAuditAdmin) {
  ASSERT_FALSE(controller_->audit_token().empty()) << "no audit-admin-token in the state dir";
  const std::string dept_body = R"({"name":"audit-dept","quota":{"instances":5}})";
  Reply dept = admin_->Send("POST", "/v1/departments", dept_body);
  ASSERT_EQ(dept.status, 201) << dept.Describe();
  const std::string flavor_body = R"({"name":"audit-tiny","vcpus":1,"memory_mib":256,"disk_gib":1})";
  Reply flavor = admin_->Send("POST", "/v1/flavors", flavor_body);
  ASSERT_EQ(flavor.status, 201) << flavor.Describe();
  const std::string missing_id = MissingVmId(1);
  Reply missing = admin_->Get("/v1/vms/" + missing_id);
  ASSERT_EQ(missing.status, 404) << missing.Describe();

  const std::string member_token = CreateUserToken("audit-member", api::Role::kDeptMember, dept.Str("id"));
  ASSERT_FALSE(member_token.empty());
  Api member = NewClient(member_token);
  const std::string denied_body = R"({"name":"not-allowed"})";
  Reply denied = member.Send("POST", "/v1/departments", denied_body);
  ASSERT_EQ(denied.status, 403) << denied.Describe();
  Api anonymous = NewClient("");
  Reply unauthenticated = anonymous.Get("/v1/departments");
  ASSERT_EQ(unauthenticated.status, 401) << unauthenticated.Describe();
  // Only the audit-admin reads the trail: not the system-admin, not a department member.
  Reply admin_reads = admin_->Get("/v1/audit");
  EXPECT_EQ(admin_reads.status, 403) << admin_reads.Describe();
  Reply member_reads = member.Get("/v1/audit");
  EXPECT_EQ(member_reads.status, 403) << member_reads.Describe();
  Reply admin_exports = admin_->Get("/v1/audit/export?format=jsonl");
  EXPECT_EQ(admin_exports.status, 403) << admin_exports.Describe();

  const auto trail = ListAll();
  struct Expected {
    std::string what, method, route;
    int status;
    std::string body_sha256, object_id, outcome, user;
  };
  const std::vector<Expected> expected = {
      {"create department", "POST", "/v1/departments", 201, Sha256Hex(dept_body), "", "allowed", "sysadmin"},
      {"create flavor", "POST", "/v1/flavors", 201, Sha256Hex(flavor_body), "", "allowed", "sysadmin"},
      {"missing VM", "GET", "/v1/vms/{id}", 404, "", missing_id, "failed", "sysadmin"},
      {"member creates department", "POST", "/v1/departments", 403, Sha256Hex(denied_body), "", "denied",
       "audit-member"},
      {"no token", "GET", "/v1/departments", 401, "", "", "denied", "anonymous"},
      {"system-admin reads the trail", "GET", "/v1/audit", 403, "", "", "denied", "sysadmin"},
      {"member reads the trail", "GET", "/v1/audit", 403, "", "", "denied", "audit-member"},
      {"system-admin exports the trail", "GET", "/v1/audit/export", 403, "", "", "denied", "sysadmin"},
  };
  for (const Expected& e : expected) {
    auto found = Matching(trail, e.method, e.route, e.status, e.body_sha256, e.object_id);
    // The two denied GET /v1/audit calls differ only by who made them.
    std::erase_if(found, [&](const api::AuditRecord& r) { return r.user != e.user; });
    ASSERT_EQ(found.size(), 1u) << e.what << ": expected exactly one record of " << e.method << " "
                                << e.route << " " << e.status << " by " << e.user << ", found "
                                << found.size();
    const api::AuditRecord& r = found.front();
    EXPECT_EQ(r.outcome, e.outcome) << e.what;
    EXPECT_EQ(r.source, "127.0.0.1") << e.what;
    if (e.user == "sysadmin") {
      EXPECT_EQ(r.role, "system-admin") << e.what;
      EXPECT_FALSE(r.user_id.empty()) << e.what;
    } else if (e.user == "audit-member") {
      EXPECT_EQ(r.role, "dept-member") << e.what;
      EXPECT_FALSE(r.user_id.empty()) << e.what;
      EXPECT_EQ(r.department_id, dept.Str("id")) << e.what;
    } else {
      EXPECT_EQ(r.user_id, "") << e.what;
    }
    if (e.method == "GET") {
      EXPECT_EQ(r.body_sha256, "") << e.what;
    }
  }
  // Records are numbered 1, 2, 3... and chained, and the audit-admin's own reads are recorded.
  for (size_t i = 0; i < trail.size(); ++i) {
    EXPECT_EQ(trail[i].seq, static_cast<std::int64_t>(i + 1));
    if (i > 0) {
      EXPECT_EQ(trail[i].prev_hash, trail[i - 1].hash) << "seq " << trail[i].seq;
      EXPECT_GE(trail[i].time_ms, trail[i - 1].time_ms) << "seq " << trail[i].seq;
    }
  }
  const auto later = ListAll();
  EXPECT_FALSE(Matching(later, "GET", "/v1/audit", 200, "", "").empty())
      << "the audit-admin's own listing left no record";
  for (const auto& r : Matching(later, "GET", "/v1/audit", 200, "", "")) {
    EXPECT_EQ(r.role, "audit-admin");
    EXPECT_EQ(r.outcome, "allowed");
  }
  // Filters: outcome=denied gives only denied records, and all of the ones above.
  auto auditor = NewTypedClient(controller_->audit_token());
  api::AuditQuery q;
  q.outcome = "denied";
  q.limit = 1000;
  auto denied_page = auditor->ListAudit(q);
  ASSERT_TRUE(denied_page.ok()) << denied_page.status().ToString();
  EXPECT_GE(denied_page->items.size(), 4u);
  for (const auto& r : denied_page->items) EXPECT_EQ(r.outcome, "denied") << "seq " << r.seq;
  q = {};
  q.user = "anonymous";
  q.kind = "request";  // the bootstrap's own records (user_changed, token_created) have no user
  q.limit = 1000;
  auto anonymous_page = auditor->ListAudit(q);
  ASSERT_TRUE(anonymous_page.ok()) << anonymous_page.status().ToString();
  std::string anonymous_records;
  for (const auto& r : anonymous_page->items) {
    anonymous_records += "\n  seq " + std::to_string(r.seq) + " " + r.kind + " " + r.method + " " + r.route +
                         " " + std::to_string(r.status) + " role=" + r.role + " detail=" + r.detail;
  }
  ASSERT_EQ(anonymous_page->items.size(), 1u) << "records of user anonymous:" << anonymous_records;
  EXPECT_EQ(anonymous_page->items[0].status, 401);
  ExpectVerifies();
  // Paging: the next_page_token of a page fetches the records right after it.
  {
    auto pager = NewTypedClient(controller_->audit_token());
    api::AuditQuery first;
    first.limit = 2;
    auto page1 = pager->ListAudit(first);
    ASSERT_TRUE(page1.ok()) << page1.status().ToString();
    ASSERT_EQ(page1->items.size(), 2u);
    ASSERT_FALSE(page1->next_page_token.empty());
    api::AuditQuery second = first;
    second.page_token = page1->next_page_token;
    auto page2 = pager->ListAudit(second);
    ASSERT_TRUE(page2.ok()) << "GET /v1/audit?page_token=" << page1->next_page_token
                            << " (the token the server gave): " << page2.status().ToString();
    ASSERT_EQ(page2->items.size(), 2u);
    EXPECT_EQ(page2->items[0].seq, page1->items[1].seq + 1);
  }
}

// What a client thread knows about one answered request: enough to find its record.
struct Answered {
  std::string method, route;
  int status = 0;
  std::string body_sha256, object_id;
};

TEST_F(AuditHttpTest, AnsweredRequestsKeepTheirRecordsAcrossSigkillMidBurst) {
  const auto home = CreateDepartment("burst-home", {.instances = 5});
  const std::string member_token = CreateUserToken("burst-member", api::Role::kDeptMember, home.meta.id);
  ASSERT_FALSE(member_token.empty());
  const std::string admin_token = controller_->admin_token();

  constexpr int kThreads = 4;
  std::mutex mu;
  std::vector<Answered> answered;
  std::atomic<int> answered_count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Api admin = NewClient(admin_token);
      Api member = NewClient(member_token);
      std::vector<Answered> mine;
      // Each request is unique: a create by its body, a read by the id it names.
      auto keep = [&](const Reply& r, Answered a) {
        if (r.status == 0) return false;  // no answer: the controller is gone
        a.status = r.status;
        mine.push_back(std::move(a));
        ++answered_count;
        return true;
      };
      for (int i = 0; !stop; ++i) {
        const std::string marker = "burst-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string create = R"({"name":")" + marker + R"("})";
        Reply created = admin.Send("POST", "/v1/departments", create);
        if (!keep(created, {"POST", "/v1/departments", 0, Sha256Hex(create), ""})) break;
        if (created.status != 201) {
          ADD_FAILURE() << marker << ": " << created.Describe();
          break;
        }
        Reply read = admin.Get("/v1/departments/" + created.Str("id"));
        if (!keep(read, {"GET", "/v1/departments/{id}", 0, "", created.Str("id")})) break;
        const std::string refused = R"({"name":")" + marker + R"(-denied"})";
        Reply denied = member.Send("POST", "/v1/departments", refused);
        if (!keep(denied, {"POST", "/v1/departments", 0, Sha256Hex(refused), ""})) break;
        const std::string missing = MissingVmId(1000 + t * 100000 + i);
        Reply gone = admin.Get("/v1/vms/" + missing);
        if (!keep(gone, {"GET", "/v1/vms/{id}", 0, "", missing})) break;
      }
      std::lock_guard lock(mu);
      answered.insert(answered.end(), mine.begin(), mine.end());
    });
  }
  ASSERT_TRUE(PollUntil([&] { return answered_count >= 120; })) << "burst made no progress";
  controller_->Kill(SIGKILL);
  stop = true;
  for (auto& th : threads) th.join();
  std::cerr << "answered before kill: " << answered.size() << " requests\n";

  Restart();
  const auto trail = ExportAll();
  std::map<std::string, int> answered_per_kind;
  std::map<std::string, int> recorded_per_kind;
  // Each answered request (creates, reads, denials and 404s alike) has exactly one record with
  // the status it was answered.
  std::vector<std::string> unrecorded;
  for (const Answered& a : answered) {
    const auto found = Matching(trail, a.method, a.route, a.status, a.body_sha256, a.object_id);
    if (found.size() != 1) {
      unrecorded.push_back(a.method + " " + a.route + " " + std::to_string(a.status) + " (" +
                           a.body_sha256 + a.object_id + "): " + std::to_string(found.size()) + " records");
    }
    ++answered_per_kind[a.method + " " + a.route + " " + std::to_string(a.status)];
  }
  EXPECT_TRUE(unrecorded.empty()) << unrecorded.size() << " of " << answered.size()
                                  << " answered requests without exactly one record after kill -9, e.g. "
                                  << (unrecorded.empty() ? "" : unrecorded.front());
  for (const auto& r : trail) {
    if (r.kind == "request") ++recorded_per_kind[r.method + " " + r.route + " " + std::to_string(r.status)];
  }
  for (const auto& [kind, count] : answered_per_kind) {
    EXPECT_GE(recorded_per_kind[kind], count) << kind;
    std::cerr << kind << ": answered " << count << ", recorded " << recorded_per_kind[kind] << "\n";
  }
  // The statuses are the ones the burst expects: nothing else crept in.
  for (const Answered& a : answered) {
    const bool ok = (a.route == "/v1/departments" && (a.status == 201 || a.status == 403)) ||
                    (a.route == "/v1/departments/{id}" && a.status == 200) ||
                    (a.route == "/v1/vms/{id}" && a.status == 404);
    EXPECT_TRUE(ok) << a.method << " " << a.route << " answered " << a.status;
  }
  // The export and the paged list agree, and the chain (with its checkpoints) still verifies.
  const auto listed = ListAll();
  EXPECT_GE(listed.size(), trail.size());
  for (size_t i = 0; i < trail.size() && i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].hash, trail[i].hash) << "seq " << trail[i].seq;
  }
  ExpectVerifies();
  // The restarted controller keeps appending to the same chain.
  Reply after = admin_->Get("/v1/vms/" + MissingVmId(2));
  EXPECT_EQ(after.status, 404);
  const auto final_trail = ExportAll();
  EXPECT_EQ(Matching(final_trail, "GET", "/v1/vms/{id}", 404, "", MissingVmId(2)).size(), 1u);
  ExpectVerifies();
}

}  // namespace
}  // namespace govpool::testing
