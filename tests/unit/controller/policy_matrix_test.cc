// The route x role matrix, generated from the router and the access policy (policy.h): every
// route the router serves is called by every role (and anonymously) through ApiHandler, with
// placeholder ids and empty bodies, and the answer must agree with the table: a denied role
// gets 403 PERMISSION_DENIED before the handler runs; an allowed one anything but 403 (400,
// 404, 2xx: its request is nonsense, but the policy let it through); anonymous 401 except on
// public routes. Then another department's objects: 404 for its neighbours, never 403.
// In-process (no HTTP): a real Db over the in-memory fake store; callers are users and tokens
// written into the State directly.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "controller/db.h"
#include "controller/http/api_handler.h"
#include "controller/http/policy.h"
#include "controller/metrics.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/fakes/controller/saved_callers.h"

namespace govpool::controller::http {
namespace {

using api::Role;
using testing::SaveDepartment;
using testing::SaveUserWithToken;

constexpr std::string_view kPlaceholderId = "7f3c2a10-0000-4000-8000-00000000c0de";

// Replaces every {param} of a pattern with the placeholder id.
std::string FillPattern(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      out += kPlaceholderId;
      i = pattern.find('}', i) + 1;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

std::string ErrorCode(const api::HttpResponse& r) {
  const size_t at = r.body.find("\"code\":\"");
  if (at == std::string::npos) return "";
  const size_t from = at + 8;
  return r.body.substr(from, r.body.find('"', from) - from);
}

class PolicyMatrixTest : public ::testing::Test {
 protected:
  PolicyMatrixTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    handler_ = std::make_unique<ApiHandler>(*db_, metrics_);
    handler_->RegisterAllRoutes();
    db_->Write([&](State& s, Txn& t) {
      department_a_ = SaveDepartment(s, t, "dept-a");
      department_b_ = SaveDepartment(s, t, "dept-b");
      for (Role role : kAllRoles) {
        const bool in_department = role == Role::kDeptAdmin || role == Role::kDeptMember;
        tokens_[role] = SaveUserWithToken(s, t, std::string(api::ToString(role)) + "-user", role,
                                          in_department ? department_a_ : "");
      }
      // A member of department B, to see its own objects (the 404s below are not for lack of
      // objects).
      member_b_token_ = SaveUserWithToken(s, t, "member-of-b", Role::kDeptMember, department_b_);
      api::Vm vm;
      vm.name = "vm-of-b";
      vm.department_id = department_b_;
      s.Save(t, vm);
      vm_b_ = vm.meta.id;
      api::Volume volume;
      volume.name = "volume-of-b";
      volume.department_id = department_b_;
      volume.size_gib = 1;
      s.Save(t, volume);
      volume_b_ = volume.meta.id;
      api::Network network;
      network.name = "network-of-b";
      network.department_id = department_b_;
      s.Save(t, network);
      network_b_ = network.meta.id;
      return 0;
    });
    EXPECT_TRUE(db_->Sync().ok());
  }

  // One request through ApiHandler (or its upload dispatch, for upload routes), as `token`
  // ("" for none); the answer.
  api::HttpResponse Send(const std::string& method, const std::string& path, const std::string& token) {
    api::HttpRequest req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.remote_address = "192.0.2.1";
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    if (auto upload = handler_->StartUpload(req)) {
      if (!upload->sink) return upload->refusal;
      upload->sink->Abort(Unavailable("the matrix test sends no body"));
      api::HttpResponse accepted;  // taken for streaming: the policy let it through
      accepted.status = 299;
      return accepted;
    }
    std::promise<api::HttpResponse> answered;
    auto answer = answered.get_future();
    handler_->Handle(std::move(req), [&answered](api::HttpResponse r) { answered.set_value(std::move(r)); });
    return answer.get();
  }

  govpool::testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  ControllerMetrics metrics_;
  std::unique_ptr<ApiHandler> handler_;
  std::map<Role, std::string> tokens_;
  std::string department_a_, department_b_, member_b_token_;
  std::string vm_b_, volume_b_, network_b_;
};

TEST_F(PolicyMatrixTest, ACredentialOverItsRateGets429WithRetryAfterAndOthersStillGetThrough) {
  // Three at once and practically no refill: the fourth request is over.
  handler_->SetCredentialRateLimit({.per_second = 0.001, .burst = 3, .max_keys = 100});
  const std::string& member = tokens_.at(Role::kDeptMember);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Send("GET", "/v1/vms", member).status, 200) << i;
  const api::HttpResponse over = Send("GET", "/v1/vms", member);
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(ErrorCode(over), "RESOURCE_EXHAUSTED") << over.body;
  const std::string* retry = over.Header("Retry-After");
  ASSERT_NE(retry, nullptr);
  EXPECT_GE(std::stoi(*retry), 1);
  // Streamed uploads count the same, refused before the body is read.
  const api::HttpResponse upload = Send("PUT", "/v1/images/" + std::string(kPlaceholderId) + "/data", member);
  EXPECT_EQ(upload.status, 429) << upload.body;
  EXPECT_NE(upload.Header("Retry-After"), nullptr);
  // Another credential, and a caller without one (401 first), are not held back.
  EXPECT_EQ(Send("GET", "/v1/vms", member_b_token_).status, 200);
  EXPECT_EQ(Send("GET", "/v1/vms", "").status, 401);
}

TEST_F(PolicyMatrixTest, EveryRouteWithEveryRoleAnswersAsTheTableSays) {
  int checked = 0;
  for (const auto& [method, pattern] : handler_->router().Routes()) {
    const RoutePolicy* row = FindPolicy(method, pattern);
    ASSERT_NE(row, nullptr) << method << " " << pattern << " has no row (PolicyTest says more)";
    // The watch's host does not exist either, so it answers before waiting.
    const std::string path = FillPattern(pattern);
    const std::string route = method + " " + pattern;

    const api::HttpResponse anonymous = Send(method, path, "");
    if (row->access == Access::kPublic) {
      // Answered on its merits (a login without a body is 400), never refused for want of a token.
      EXPECT_NE(anonymous.status, 401) << route << " is public: " << anonymous.body;
      EXPECT_NE(anonymous.status, 403) << route << " is public: " << anonymous.body;
    } else {
      EXPECT_EQ(anonymous.status, 401) << route << " without a token: " << anonymous.body;
    }

    for (Role role : kAllRoles) {
      const bool allowed = row->access != Access::kRoles || row->roles.Has(role);
      const api::HttpResponse r = Send(method, path, tokens_.at(role));
      ++checked;
      if (allowed) {
        EXPECT_NE(r.status, 403) << route << " as " << api::ToString(role)
                                 << ": the table allows it, the answer denies it: " << r.body;
        EXPECT_NE(r.status, 401) << route << " as " << api::ToString(role) << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << route << " as " << api::ToString(role) << ": " << r.body;
        EXPECT_EQ(ErrorCode(r), "PERMISSION_DENIED") << r.body;
        EXPECT_NE(r.body.find(route), std::string::npos) << "the refusal names the route: " << r.body;
      }
    }
  }
  EXPECT_GE(checked, 600) << "too few routes walked";
}

TEST_F(PolicyMatrixTest, TheRefusalComesBeforeTheHandlerLooksAtTheBody) {
  // A dept-member's malformed create is refused for its role, not for its body.
  const api::HttpResponse r = Send("POST", "/v1/flavors", tokens_.at(Role::kDeptMember));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("system-admin"), std::string::npos) << r.body;
  // The audit-admin's request for hosts is refused the same way whether or not the host exists.
  EXPECT_EQ(Send("GET", "/v1/hosts/" + std::string(kPlaceholderId), tokens_.at(Role::kAuditAdmin)).status, 403);
}

// Not the table's, but ApiHandler's answer path, which every row goes through: when the commit
// holding a request's record fails, the answer is that failure and its own record is committed
// (Db's committer thread calls back; nothing may wait for the committer there).
// The server's handler deadline (ServerOptions::handler_timeout_ms) comes from here: the
// configured bound, plus a long-poll's longest wait for the watch and a backup's copy time.
TEST_F(PolicyMatrixTest, AWatchMayTakeItsLongestWaitBeyondTheHandlerTimeout) {
  auto head = [](std::string method, std::string path) {
    api::HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
  };
  EXPECT_EQ(handler_->HandlerTimeoutMs(head("GET", "/v1/departments")), 0) << "not set: no bound";
  handler_->SetHandlerTimeout(60'000);
  EXPECT_EQ(handler_->HandlerTimeoutMs(head("GET", "/v1/departments")), 60'000);
  EXPECT_EQ(handler_->HandlerTimeoutMs(head("POST", "/v1/vms")), 60'000);
  EXPECT_EQ(handler_->HandlerTimeoutMs(head("GET", "/nowhere")), 60'000);
  EXPECT_EQ(handler_->HandlerTimeoutMs(head("GET", "/v1/hosts/h-1/vms")), 60'000 + 300'000);
  EXPECT_EQ(handler_->HandlerTimeoutMs(head("GET", "/v1/system/backup")), 60'000 + 3'600'000);
}

TEST_F(PolicyMatrixTest, AFailedCommitAnswers503AndRecordsThat) {
  // A store of its own: after the failed commit Db reloads the state, and the matrix's objects
  // are not complete records (a VM without a host would not load).
  handler_.reset();
  db_.reset();
  data_ = std::make_shared<testing::FakeStoreData>();
  db_ = std::move(testing::OpenFakeDb(data_, clock_)).value();
  handler_ = std::make_unique<ApiHandler>(*db_, metrics_);
  handler_->RegisterAllRoutes();
  const std::string token = db_->Write([](State& s, Txn& t) {
    return SaveUserWithToken(s, t, "sys", Role::kSystemAdmin, "");
  });
  ASSERT_TRUE(db_->Sync().ok());

  data_->fail_next_applies = 1;
  const api::HttpResponse r = Send("GET", "/v1/departments", token);
  EXPECT_EQ(r.status, 503) << r.body;
  ASSERT_TRUE(db_->Sync().ok());
  {
    std::lock_guard lock(data_->mu);
    ASSERT_FALSE(data_->audit.empty());
    EXPECT_EQ(data_->audit.back().status, 503);
    EXPECT_EQ(data_->audit.back().route, "/v1/departments");
  }
  // Not ready while the last commit failed (here the request's and its failure's record);
  // the probe's own record commits, so the next probe finds the store committing again.
  data_->fail_next_applies = 2;
  EXPECT_EQ(Send("GET", "/v1/departments", token).status, 503);
  EXPECT_EQ(Send("GET", "/readyz", "").status, 503);
  EXPECT_EQ(Send("GET", "/readyz", "").status, 200);
}

TEST_F(PolicyMatrixTest, ARefusedUploadIsAnsweredOnceItsRecordIsDurable) {
  api::HttpRequest req;
  req.method = "PUT";
  req.path = req.target = "/v1/images/" + std::string(kPlaceholderId) + "/data";
  req.remote_address = "192.0.2.1";
  req.headers.emplace_back("Authorization", "Bearer " + tokens_.at(Role::kDeptMember));
  auto upload = handler_->StartUpload(req);
  ASSERT_TRUE(upload.has_value());
  ASSERT_EQ(upload->sink, nullptr);
  ASSERT_TRUE(upload->on_finish) << "the refusal waits for its record";
  std::promise<api::HttpResponse> answered;
  upload->on_finish(upload->refusal, [&](api::HttpResponse r) { answered.set_value(std::move(r)); });
  EXPECT_EQ(answered.get_future().get().status, 403);
  std::lock_guard lock(data_->mu);
  ASSERT_FALSE(data_->audit.empty());
  EXPECT_EQ(data_->audit.back().status, 403);
  EXPECT_EQ(data_->audit.back().outcome, "denied");
}

TEST_F(PolicyMatrixTest, AnotherDepartmentsObjectsAnswer404NotFound) {
  // Department B's own member sees them: they exist.
  EXPECT_EQ(Send("GET", "/v1/vms/" + vm_b_, member_b_token_).status, 200);
  EXPECT_EQ(Send("GET", "/v1/volumes/" + volume_b_, member_b_token_).status, 200);
  EXPECT_EQ(Send("GET", "/v1/networks/" + network_b_, member_b_token_).status, 200);

  const std::map<std::string, std::string> objects = {
      {"/v1/vms/", vm_b_}, {"/v1/volumes/", volume_b_}, {"/v1/networks/", network_b_}};
  for (Role role : {Role::kDeptAdmin, Role::kDeptMember}) {
    const std::string& token = tokens_.at(role);
    for (const auto& [prefix, id] : objects) {
      const std::string who = std::string(api::ToString(role)) + " of department A, " + prefix + id;
      const api::HttpResponse get = Send("GET", prefix + id, token);
      EXPECT_EQ(get.status, 404) << who << ": " << get.body;
      const api::HttpResponse del = Send("DELETE", prefix + id, token);
      if (role == Role::kDeptAdmin) {
        EXPECT_EQ(del.status, 404) << who << ": " << del.body;
      } else {
        // dept-members may delete nothing: the table refuses the route itself, for any id, so
        // the answer is the same as for an object that does not exist.
        EXPECT_EQ(del.status, 403) << who << ": " << del.body;
        const api::HttpResponse missing = Send("DELETE", prefix + std::string(kPlaceholderId), token);
        EXPECT_EQ(missing.status, del.status);
        EXPECT_EQ(ErrorCode(missing), ErrorCode(del));
      }
    }
  }
  // Nothing was deleted.
  EXPECT_EQ(Send("GET", "/v1/vms/" + vm_b_, member_b_token_).status, 200);
  EXPECT_EQ(Send("GET", "/v1/volumes/" + volume_b_, member_b_token_).status, 200);
  EXPECT_EQ(Send("GET", "/v1/networks/" + network_b_, member_b_token_).status, 200);
}

}  // namespace
}  // namespace govpool::controller::http
