// Capacity-request webhooks end to end (docs/departments.md, "Notifications"): the real
// controller POSTs signed notifications to a receiver on loopback, a requester webhook hears of
// its department's request and the platform's approver webhook of what waits for it; a retried
// approve with the same Idempotency-Key replays its answer instead of approving twice.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/server/http_server.h"
#include "common/crypto.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

// Keeps every request it gets; answers 204.
class Receiver {
 public:
  Receiver() {
    api::ServerOptions o;
    o.threads = 1;
    auto server = api::HttpServer::Start(o, [this](api::HttpRequest req, api::Responder respond) {
      {
        std::lock_guard lock(mu_);
        got_.push_back(std::move(req));
      }
      cv_.notify_all();
      api::HttpResponse answer;
      answer.status = 204;
      respond(std::move(answer));
    });
    if (!server.ok()) std::abort();
    server_ = std::move(server).value();
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  // The first request to `path` whose X-Govpool-Event is `event`, waiting up to 20 s.
  std::optional<api::HttpRequest> Await(const std::string& path, const std::string& event) {
    std::unique_lock lock(mu_);
    std::optional<api::HttpRequest> found;
    cv_.wait_for(lock, std::chrono::seconds(20), [&] {
      for (const api::HttpRequest& r : got_) {
        const std::string* e = r.Header("X-Govpool-Event");
        if (r.path == path && e && *e == event) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::size_t Count(const std::string& path) {
    std::lock_guard lock(mu_);
    return std::count_if(got_.begin(), got_.end(), [&](const api::HttpRequest& r) { return r.path == path; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<api::HttpRequest> got_;
  std::unique_ptr<api::HttpServer> server_;
};

// The signature a receiver checks: HMAC-SHA256 of "<timestamp>.<body>" with the secret.
void ExpectSigned(const api::HttpRequest& r, const std::string& secret) {
  const std::string* ts = r.Header("X-Govpool-Timestamp");
  const std::string* sig = r.Header("X-Govpool-Signature");
  ASSERT_NE(ts, nullptr);
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(*sig, "sha256=" + HmacSha256Hex(secret, *ts + "." + r.body));
  EXPECT_NE(*sig, "sha256=" + HmacSha256Hex("not-the-secret", *ts + "." + r.body));
  const std::string* id = r.Header("X-Govpool-Delivery");
  ASSERT_NE(id, nullptr);
  const json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("id").as_string(), *id);
}

class WebhooksHttpTest : public ControllerTest {};

TEST_F(WebhooksHttpTest, SignedNotificationsReachRequesterAndPlatformAndApproveReplays) {
  Receiver receiver;
  const auto dept = CreateDepartment("wh", {.instances = 1});
  Api dept_admin = NewClient(CreateUserToken("wh-admin", api::Role::kDeptAdmin, dept.meta.id));
  Api member = NewClient(CreateUserToken("wh-member", api::Role::kDeptMember, dept.meta.id));

  // Refusals first: plain HTTP off loopback, an unknown event, a member, the platform's by a
  // dept-admin.
  Reply off_loopback = dept_admin.Post("/v1/webhooks", {{"name", "x"}, {"department_id", "wh"}, {"role", "requester"},
                                                        {"url", "http://example.org/hook"}});
  EXPECT_EQ(off_loopback.status, 400) << off_loopback.Describe();
  EXPECT_EQ(off_loopback.ErrorCode(), "INVALID_ARGUMENT");
  Reply unknown = dept_admin.Post("/v1/webhooks", {{"name", "x"}, {"department_id", "wh"}, {"role", "requester"},
                                                   {"url", receiver.Url("/hook")}, {"events", json::array{"granted"}}});
  EXPECT_EQ(unknown.status, 400) << unknown.Describe();
  Reply by_member = member.Post("/v1/webhooks", {{"name", "x"}, {"department_id", "wh"}, {"role", "requester"},
                                                 {"url", receiver.Url("/hook")}});
  EXPECT_EQ(by_member.status, 403) << by_member.Describe();
  Reply platform_by_dept = dept_admin.Post("/v1/webhooks", {{"name", "x"}, {"role", "approver"}, {"url", receiver.Url("/hook")}});
  EXPECT_EQ(platform_by_dept.status, 403) << platform_by_dept.Describe();

  Reply mine = dept_admin.Post("/v1/webhooks", {{"name", "chat"}, {"department_id", "wh"}, {"role", "requester"},
                                                {"url", receiver.Url("/department")}});
  ASSERT_EQ(mine.status, 201) << mine.Describe();
  const std::string secret = mine.Str("new_secret");
  ASSERT_GE(secret.size(), 32u);
  Reply platform = admin_->Post("/v1/webhooks", {{"name", "ops"}, {"role", "approver"}, {"url", receiver.Url("/platform")},
                                                 {"events", json::array{"submitted"}}});
  ASSERT_EQ(platform.status, 201) << platform.Describe();
  // The secret is shown once.
  Reply shown = dept_admin.Get("/v1/webhooks/" + mine.Str("id"));
  ASSERT_EQ(shown.status, 200) << shown.Describe();
  EXPECT_EQ(shown.Str("new_secret"), "");
  EXPECT_EQ(shown.body.find(secret), std::string::npos);

  Reply filed = member.Post("/v1/capacity-requests", {{"department_id", "wh"}, {"reason", "a second VM"},
                                                      {"quota", {{"instances", 1}}}});
  ASSERT_EQ(filed.status, 201) << filed.Describe();
  const std::string id = filed.Str("id");

  auto submitted = receiver.Await("/department", "submitted");
  ASSERT_TRUE(submitted) << "the department's webhook heard nothing";
  ExpectSigned(*submitted, secret);
  const json::value note = json::parse(submitted->body);
  EXPECT_EQ(note.at("capacity_request").at("id").as_string(), id);
  EXPECT_EQ(note.at("awaiting_level").as_string(), "platform");
  auto waiting = receiver.Await("/platform", "submitted");
  ASSERT_TRUE(waiting) << "the platform's webhook heard nothing";
  EXPECT_EQ(json::parse(waiting->body).at("capacity_request").at("id").as_string(), id);

  // Approve, then the same approve again (a lost answer retried): replayed, not a second one.
  Reply approved = admin_->Post("/v1/capacity-requests/" + id + "/approve", json::object{}, {{"Idempotency-Key", "approve-wh-1"}});
  ASSERT_EQ(approved.status, 200) << approved.Describe();
  EXPECT_EQ(approved.Str("state"), "fulfilled");
  Reply again = admin_->Post("/v1/capacity-requests/" + id + "/approve", json::object{}, {{"Idempotency-Key", "approve-wh-1"}});
  ASSERT_EQ(again.status, 200) << again.Describe();
  ASSERT_NE(again.Header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(again.body, approved.body);
  Reply unkeyed = admin_->Post("/v1/capacity-requests/" + id + "/approve", json::object{});
  EXPECT_EQ(unkeyed.status, 409) << unkeyed.Describe();
  EXPECT_EQ(unkeyed.ErrorCode(), "REQUEST_NOT_PENDING");
  Reply department = admin_->Get("/v1/departments/" + dept.meta.id);
  EXPECT_EQ(department.json.at("quota").at("instances").as_int64(), 2) << "approved once: 1 + 1";

  auto fulfilled = receiver.Await("/department", "fulfilled");
  ASSERT_TRUE(fulfilled) << "the department's webhook did not hear of the grant";
  ExpectSigned(*fulfilled, secret);
  // The platform's webhook asked for "submitted" only.
  EXPECT_EQ(receiver.Count("/platform"), 1u);

  // What came of each delivery, as its owner sees it (the outcome is written just after the
  // receiver answered: wait for it).
  std::size_t delivered = 0;
  for (int i = 0; i < 100 && delivered < 2; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Reply deliveries = dept_admin.Get("/v1/webhooks/" + mine.Str("id") + "/deliveries");
    ASSERT_EQ(deliveries.status, 200) << deliveries.Describe();
    delivered = 0;
    for (const auto& d : deliveries.json.at("items").as_array()) delivered += d.at("state").as_string() == "delivered";
  }
  EXPECT_EQ(delivered, 2u) << "submitted and fulfilled";
  Reply ping = dept_admin.Post("/v1/webhooks/" + mine.Str("id") + "/ping", json::object{});
  EXPECT_EQ(ping.status, 202) << ping.Describe();
  EXPECT_TRUE(receiver.Await("/department", "ping"));
  Reply metrics = admin_->Get("/metrics");
  EXPECT_NE(metrics.body.find("govpool_webhook_deliveries{state=\"delivered\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("govpool_capacity_grants_expiring"), std::string::npos);
}

}  // namespace
}  // namespace govpool::testing
