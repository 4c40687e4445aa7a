// Webhooks (docs/departments.md, "Notifications"): who hears of which step of a capacity
// request, what is refused at registration, and the dispatcher: signed POSTs, the doubling
// back-off on a fake clock, giving up, the queue surviving a restart, pruning, the backlog bound.
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "api/codec.h"
#include "common/crypto.h"
#include "controller/db.h"
#include "controller/services/services.h"
#include "controller/webhook_dispatcher.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/unit/controller/instances_departments.h"

namespace govpool::controller {
namespace {

using api::WebhookDeliveryState;
using api::WebhookRole;

// Answers each POST with the next scripted answer (200 once the script is done) and keeps what
// it was sent.
class ScriptedSender final : public WebhookSender {
 public:
  struct Sent {
    std::string url;
    std::string body;
    api::HeaderList headers;
  };
  Result<int> Post(const std::string& url, const std::string& body, const api::HeaderList& headers) override {
    sent.push_back({url, body, headers});
    if (script.empty()) return 200;
    Result<int> next = script.front();
    script.pop_front();
    return next;
  }
  std::deque<Result<int>> script;
  std::vector<Sent> sent;
};

class WebhooksTest : public ::testing::Test {
 protected:
  // Each write a millisecond after the previous one, so that notifications order by time.
  template <typename Fn>
  auto W(Fn fn) {
    clock_.Advance(std::chrono::milliseconds(1));
    return db_->Write([&](State& s, Txn& t) { return fn(s, t); });
  }
  WebhooksTest() {
    Open();
    platform_ = Caller{"u-admin", "admin", api::Role::kSystemAdmin, ""};
    bureau_ = Department("bureau", "", 60);
    tax_ = Department("tax", "bureau", 30);
    bureau_admin_ = Caller{"u-b", "bureau-admin", api::Role::kDeptAdmin, bureau_};
    tax_admin_ = Caller{"u-ta", "tax-admin", api::Role::kDeptAdmin, tax_};
    tax_member_ = Caller{"u-t", "tax-member", api::Role::kDeptMember, tax_};
  }
  void Open() {
    db_.reset();
    auto db = testing::OpenFakeDb(data_, clock_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  std::string Department(const std::string& name, const std::string& parent, std::int64_t instances) {
    return testing::CreateInstancesOnlyDepartment(*db_, name, parent, instances);
  }
  Result<api::Webhook> Hook(const Caller& by, const std::string& name, const std::string& department, WebhookRole role,
                            std::vector<std::string> events = {}, std::string url = "https://hooks.example.org/in") {
    api::CreateWebhookRequest req{name, department, role, std::move(url), std::move(events)};
    return W([&](State& s, Txn& t) { return CreateWebhook(s, t, by, req); });
  }
  Result<api::CapacityRequest> Ask(std::int64_t end_at_ms = 0) {
    api::CreateCapacityRequest req;
    req.department_id = "tax";
    req.reason = "the tax season";
    req.quota = api::QuotaPatch{};
    req.quota->instances = 2;
    req.end_at_ms = end_at_ms;
    return W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, tax_member_, req); });
  }
  // The events queued for webhook `id`, oldest first.
  std::vector<std::string> Heard(const std::string& id) {
    return db_->Read([&](const State& s) {
      std::vector<std::pair<std::int64_t, std::string>> out;
      for (const std::string& d : s.DeliveriesOfWebhook(id)) {
        const api::WebhookDelivery* delivery = s.FindWebhookDelivery(d);
        out.emplace_back(delivery->created_at_ms, delivery->event);
      }
      std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<std::string> events;
      for (auto& [at, e] : out) events.push_back(e);
      return events;
    });
  }
  std::vector<api::WebhookDelivery> Deliveries(const std::string& webhook_id) {
    return db_->Read([&](const State& s) {
      std::vector<api::WebhookDelivery> out;
      for (const std::string& d : s.DeliveriesOfWebhook(webhook_id)) out.push_back(*s.FindWebhookDelivery(d));
      return out;
    });
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller platform_, bureau_admin_, tax_admin_, tax_member_;
  std::string bureau_, tax_;
};

TEST_F(WebhooksTest, EachAudienceHearsItsStepsOfTheWalk) {
  auto requester = Hook(tax_admin_, "tax-chat", "tax", WebhookRole::kRequester);
  ASSERT_TRUE(requester.ok()) << requester.status().ToString();
  EXPECT_GE(requester->new_secret.size(), 32u) << "the secret is shown in the create's answer";
  auto bureau = Hook(bureau_admin_, "bureau-desk", "bureau", WebhookRole::kApprover);
  ASSERT_TRUE(bureau.ok()) << bureau.status().ToString();
  auto platform = Hook(platform_, "ops", "", WebhookRole::kApprover);
  ASSERT_TRUE(platform.ok()) << platform.status().ToString();
  auto only_rejections = Hook(tax_admin_, "tax-rejections", "tax", WebhookRole::kRequester, {"rejected"});
  ASSERT_TRUE(only_rejections.ok());

  auto r = Ask();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Heard(requester->meta.id), (std::vector<std::string>{"submitted"}));
  EXPECT_EQ(Heard(bureau->meta.id), (std::vector<std::string>{"submitted"})) << "the bureau decides first";
  EXPECT_TRUE(Heard(platform->meta.id).empty()) << "not the platform's turn yet";

  ASSERT_TRUE(W([&](State& s, Txn& t) { return ApproveCapacityRequest(s, t, bureau_admin_, r->meta.id); }).ok());
  EXPECT_EQ(Heard(requester->meta.id), (std::vector<std::string>{"submitted", "approved"}));
  EXPECT_EQ(Heard(platform->meta.id), (std::vector<std::string>{"submitted"})) << "now it waits for the platform";
  EXPECT_EQ(Heard(bureau->meta.id).size(), 1u);

  ASSERT_TRUE(W([&](State& s, Txn& t) { return ApproveCapacityRequest(s, t, platform_, r->meta.id); }).ok());
  EXPECT_EQ(Heard(requester->meta.id), (std::vector<std::string>{"submitted", "approved", "fulfilled"}));
  EXPECT_TRUE(Heard(only_rejections->meta.id).empty());

  // A rejection reaches the department and the level that was to decide.
  auto second = Ask();
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RejectCapacityRequest(s, t, bureau_admin_, second->meta.id, "not now"); }).ok());
  EXPECT_EQ(Heard(only_rejections->meta.id), (std::vector<std::string>{"rejected"}));
  EXPECT_EQ(Heard(bureau->meta.id), (std::vector<std::string>{"submitted", "submitted", "rejected"}));

  // The body: the notification, naming the request and who decides now.
  const std::vector<api::WebhookDelivery> platform_deliveries = Deliveries(platform->meta.id);
  ASSERT_EQ(platform_deliveries.size(), 1u);
  auto note = api::Decode<api::WebhookNotification>(platform_deliveries[0].body);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(note->id, platform_deliveries[0].id);
  EXPECT_EQ(note->event, "submitted");
  EXPECT_EQ(note->awaiting_level, "platform");
  ASSERT_TRUE(note->capacity_request.has_value());
  EXPECT_EQ(note->capacity_request->meta.id, r->meta.id);
}

TEST_F(WebhooksTest, AGrantsEndIsTheDepartmentsNewsNotTheApprovers) {
  auto requester = Hook(tax_admin_, "tax-chat", "tax", WebhookRole::kRequester);
  auto platform = Hook(platform_, "ops", "", WebhookRole::kApprover);
  ASSERT_TRUE(requester.ok() && platform.ok());
  auto r = Ask(clock_.now_ms() + std::chrono::milliseconds(std::chrono::hours(24 * 10)).count());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(W([&](State& s, Txn& t) { return ApproveCapacityRequest(s, t, bureau_admin_, r->meta.id); }).ok());
  ASSERT_TRUE(W([&](State& s, Txn& t) { return ApproveCapacityRequest(s, t, platform_, r->meta.id); }).ok());
  const std::int64_t warn_ahead_ms = std::chrono::milliseconds(std::chrono::hours(72)).count();
  clock_.Advance(std::chrono::hours(24 * 8));
  EXPECT_EQ(W([&](State& s, Txn& t) { return ExpireCapacityGrants(s, t, warn_ahead_ms); }).warned, 1);
  clock_.Advance(std::chrono::hours(24 * 3));
  EXPECT_EQ(W([&](State& s, Txn& t) { return ExpireCapacityGrants(s, t, warn_ahead_ms); }).expired, 1);
  EXPECT_EQ(Heard(requester->meta.id),
            (std::vector<std::string>{"submitted", "approved", "fulfilled", "expiring", "expired"}));
  EXPECT_EQ(Heard(platform->meta.id), (std::vector<std::string>{"submitted"}));
}

TEST_F(WebhooksTest, RegistrationIsRefusedWithAReason) {
  auto code = [](const Result<api::Webhook>& r) { return r.status().code(); };
  EXPECT_EQ(code(Hook(tax_member_, "m", "tax", WebhookRole::kRequester)), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(Hook(tax_admin_, "p", "", WebhookRole::kApprover)), StatusCode::kPermissionDenied)
      << "the platform's are the system-admin's";
  EXPECT_EQ(code(Hook(tax_admin_, "b", "bureau", WebhookRole::kApprover)), StatusCode::kNotFound)
      << "the bureau is above tax, not below";
  EXPECT_TRUE(Hook(bureau_admin_, "below", "tax", WebhookRole::kRequester).ok()) << "a bureau manages those below";
  EXPECT_EQ(code(Hook(platform_, "r", "", WebhookRole::kRequester)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hook(tax_admin_, "plain", "tax", WebhookRole::kRequester, {}, "http://hooks.example.org/in")),
            StatusCode::kInvalidArgument)
      << "plain http leaves only to loopback";
  EXPECT_TRUE(Hook(tax_admin_, "relay", "tax", WebhookRole::kRequester, {}, "http://127.0.0.1:9000/in").ok());
  EXPECT_EQ(code(Hook(tax_admin_, "creds", "tax", WebhookRole::kRequester, {}, "https://u:p@hooks.example.org/")),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hook(tax_admin_, "odd", "tax", WebhookRole::kRequester, {"granted"})), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hook(tax_admin_, "relay", "tax", WebhookRole::kApprover)), StatusCode::kAlreadyExists);
  // The secret never leaves again.
  auto listed = db_->Read([&](const State& s) { return ListWebhooks(s, tax_member_, {}); });
  ASSERT_EQ(listed.items.size(), 2u) << "a member reads its department's";
  for (const api::Webhook& w : listed.items) {
    EXPECT_TRUE(w.secret.empty());
    EXPECT_TRUE(w.new_secret.empty());
    EXPECT_EQ(api::Encode(w).find("\"secret\""), std::string::npos);
  }
}

TEST_F(WebhooksTest, TheDispatcherSignsRetriesWithBackOffAndGivesUp) {
  auto hook = Hook(tax_admin_, "tax-chat", "tax", WebhookRole::kRequester);
  ASSERT_TRUE(hook.ok());
  ASSERT_TRUE(Ask().ok());
  // Queued in the request's own transaction: a restart before any attempt loses nothing.
  Open();
  ASSERT_EQ(Deliveries(hook->meta.id).size(), 1u);

  ScriptedSender sender;
  sender.script = {503, Unavailable("connection refused")};
  WebhookDispatcherOptions options;
  options.retry.max_attempts = 4;
  WebhookDispatcher dispatcher(*db_, sender, options);

  auto pass = dispatcher.RunOnce();
  EXPECT_EQ(pass.attempted, 1);
  EXPECT_EQ(pass.delivered, 0);
  ASSERT_EQ(sender.sent.size(), 1u);
  const ScriptedSender::Sent& first = sender.sent[0];
  EXPECT_EQ(first.url, "https://hooks.example.org/in");
  const std::string* ts = api::FindHeader(first.headers, "X-Govpool-Timestamp");
  const std::string* sig = api::FindHeader(first.headers, "X-Govpool-Signature");
  ASSERT_TRUE(ts && sig);
  EXPECT_EQ(*sig, "sha256=" + HmacSha256Hex(hook->new_secret, *ts + "." + first.body));
  EXPECT_EQ(*api::FindHeader(first.headers, "X-Govpool-Event"), "submitted");

  api::WebhookDelivery d = Deliveries(hook->meta.id)[0];
  EXPECT_EQ(d.state, WebhookDeliveryState::kPending);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_status, 503);
  const std::int64_t wait1 = d.next_attempt_at_ms - clock_.now_ms();
  EXPECT_GE(wait1, 10'000);
  EXPECT_LE(wait1, 12'500);
  // Not due yet: nothing is sent.
  EXPECT_EQ(dispatcher.RunOnce().attempted, 0);
  clock_.Advance(std::chrono::milliseconds(wait1));
  EXPECT_EQ(dispatcher.RunOnce().attempted, 1);
  d = Deliveries(hook->meta.id)[0];
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.last_status, 0);
  EXPECT_NE(d.last_error.find("connection refused"), std::string::npos);
  const std::int64_t wait2 = d.next_attempt_at_ms - clock_.now_ms();
  EXPECT_GE(wait2, 20'000) << "doubled";
  EXPECT_LE(wait2, 25'000);
  clock_.Advance(std::chrono::milliseconds(wait2));
  pass = dispatcher.RunOnce();
  EXPECT_EQ(pass.delivered, 1);
  d = Deliveries(hook->meta.id)[0];
  EXPECT_EQ(d.state, WebhookDeliveryState::kDelivered);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(sender.sent[2].body, sender.sent[0].body) << "the same notification, the same delivery id";
  auto w = db_->Read([&](const State& s) { return *s.FindWebhook(hook->meta.id); });
  EXPECT_EQ(w.last_delivered_at_ms, clock_.now_ms());
  EXPECT_FALSE(w.last_error.empty()) << "the last failure stays visible";

  // A receiver that never answers: given up after max_attempts, with an event.
  auto ping = W([&](State& s, Txn& t) { return PingWebhook(s, t, tax_admin_, hook->meta.id); });
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  sender.script = {500, 500, 500, 500};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(dispatcher.RunOnce().attempted, 1) << "attempt " << i + 1;
    clock_.Advance(std::chrono::hours(2));
  }
  EXPECT_EQ(dispatcher.RunOnce().attempted, 0);
  auto failed = db_->Read([&](const State& s) { return *s.FindWebhookDelivery(ping->id); });
  EXPECT_EQ(failed.state, WebhookDeliveryState::kFailed);
  EXPECT_EQ(failed.attempts, 4);
  EXPECT_EQ(db_->Read([&](const State& s) { return s.event_counts().at("webhook-delivery-failed"); }), 1);

  // Done deliveries are pruned after the retention (7 days).
  clock_.Advance(std::chrono::hours(24 * 8));
  pass = dispatcher.RunOnce();
  EXPECT_EQ(pass.pruned, 2);
  EXPECT_TRUE(Deliveries(hook->meta.id).empty());
}

TEST_F(WebhooksTest, TheBacklogIsBoundedAndDeletingTakesTheQueueAlong) {
  auto hook = Hook(tax_admin_, "tax-chat", "tax", WebhookRole::kRequester);
  ASSERT_TRUE(hook.ok());
  for (std::int64_t i = 0; i < kMaxPendingDeliveriesPerWebhook; ++i) {
    ASSERT_TRUE(W([&](State& s, Txn& t) { return PingWebhook(s, t, tax_admin_, hook->meta.id); }).ok()) << i;
  }
  auto refused = W([&](State& s, Txn& t) { return PingWebhook(s, t, tax_admin_, hook->meta.id); });
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(Ask().ok()) << "a full backlog never blocks the request itself";
  EXPECT_EQ(db_->Read([&](const State& s) { return s.event_counts().at("webhook-backlog-full"); }), 1);
  EXPECT_EQ(Deliveries(hook->meta.id).size(), static_cast<std::size_t>(kMaxPendingDeliveriesPerWebhook));

  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteWebhook(s, t, tax_member_, hook->meta.id); }).code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteWebhook(s, t, tax_admin_, hook->meta.id); }).ok());
  EXPECT_TRUE(db_->Read([&](const State& s) { return s.webhook_deliveries().empty(); }));
  Open();
  EXPECT_TRUE(db_->Read([&](const State& s) { return s.webhooks().empty() && s.webhook_deliveries().empty(); }));
}

TEST_F(WebhooksTest, ADeletedDepartmentTakesItsWebhooksAlong) {
  const std::string lone = Department("lone", "", 5);
  const Caller lone_admin{"u-l", "lone-admin", api::Role::kDeptAdmin, lone};
  auto hook = Hook(lone_admin, "chat", "lone", WebhookRole::kRequester);
  ASSERT_TRUE(hook.ok());
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PingWebhook(s, t, lone_admin, hook->meta.id); }).ok());
  auto kept = Hook(tax_admin_, "tax-chat", "tax", WebhookRole::kRequester);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteDepartment(s, t, platform_, lone, std::nullopt); }).ok());
  db_->Read([&](const State& s) {
    EXPECT_EQ(s.FindWebhook(hook->meta.id), nullptr);
    EXPECT_TRUE(s.DeliveriesOfWebhook(hook->meta.id).empty());
    EXPECT_NE(s.FindWebhook(kept->meta.id), nullptr) << "another department's stays";
    return 0;
  });
}

}  // namespace
}  // namespace govpool::controller
