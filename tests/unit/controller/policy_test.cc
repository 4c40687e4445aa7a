// The access policy (controller/http/policy.h): the table and the router name the same routes,
// its public rows are the router's public routes, the administrator roles are separated,
// Authorize's answers (fail closed, restricted callers, the roles named), and docs/security.md
// shows exactly this table.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "controller/db.h"
#include "controller/http/api_handler.h"
#include "controller/http/policy.h"
#include "controller/metrics.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"

#ifndef GOVPOOL_SECURITY_DOC
#error "GOVPOOL_SECURITY_DOC must name docs/security.md"
#endif

namespace govpool::controller::http {
namespace {

using api::Role;
using RouteSet = std::set<std::pair<std::string, std::string>>;


class PolicyTest : public ::testing::Test {
 protected:
  PolicyTest() {
    auto db = testing::OpenFakeDb(std::make_shared<testing::FakeStoreData>(), clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    handler_ = std::make_unique<ApiHandler>(*db_, metrics_);
    handler_->RegisterAllRoutes();
  }

  govpool::testing::FakeClock clock_;
  std::unique_ptr<Db> db_;
  ControllerMetrics metrics_;
  std::unique_ptr<ApiHandler> handler_;
};

TEST_F(PolicyTest, TableAndRouterNameTheSameRoutes) {
  RouteSet served;
  for (const auto& r : handler_->router().Routes()) served.insert(r);
  RouteSet rows;
  for (const RoutePolicy& p : PolicyTable()) {
    EXPECT_TRUE(rows.emplace(std::string(p.method), std::string(p.pattern)).second)
        << "two rows for " << p.method << " " << p.pattern;
  }
  for (const auto& r : served) {
    EXPECT_TRUE(rows.count(r)) << "served but in no row of the policy (so denied to everyone): "
                               << r.first << " " << r.second;
  }
  for (const auto& r : rows) {
    EXPECT_TRUE(served.count(r))
        << "a policy row for a route the router does not serve: " << r.first << " " << r.second;
  }
  ASSERT_GE(served.size(), 100u) << "fewer routes than expected: is RegisterAllRoutes complete?";
}

TEST_F(PolicyTest, PublicRowsAreTheRoutesServedWithoutAuthentication) {
  for (const RoutePolicy& p : PolicyTable()) {
    auto found = handler_->router().Find(std::string(p.method), std::string(p.pattern));
    ASSERT_TRUE(found.ok()) << p.method << " " << p.pattern;
    EXPECT_EQ(p.access == Access::kPublic, !found->route->authenticated) << p.method << " " << p.pattern;
  }
}

TEST(PolicyTableTest, EveryRoleRowNamesARoleAndNoRowJoinsTwoAdministrators) {
  // The rows where more than one administrator role is allowed on purpose: a user's own tokens.
  const RouteSet kShared = {{"POST", "/v1/users/{id}/tokens"},
                            {"GET", "/v1/users/{id}/tokens"},
                            {"DELETE", "/v1/users/{id}/tokens/{token_id}"}};
  for (const RoutePolicy& p : PolicyTable()) {
    const std::string route = std::string(p.method) + " " + std::string(p.pattern);
    if (p.access != Access::kRoles) {
      EXPECT_TRUE(p.roles.empty()) << route;
      continue;
    }
    EXPECT_FALSE(p.roles.empty()) << route << " allows nobody: remove the route instead";
    const int admins = p.roles.Has(Role::kSystemAdmin) + p.roles.Has(Role::kSecurityAdmin) +
                       p.roles.Has(Role::kAuditAdmin);
    if (!kShared.count({std::string(p.method), std::string(p.pattern)})) {
      EXPECT_LE(admins, 1) << route << " is open to more than one administrator role";
    }
    if (p.pattern.starts_with("/v1/audit")) {
      EXPECT_EQ(p.roles.ToString(), "audit-admin") << route;
    }
    if (p.roles.Has(Role::kAuditAdmin)) {
      EXPECT_TRUE(p.pattern.starts_with("/v1/audit") || kShared.count({std::string(p.method), std::string(p.pattern)}))
          << route << ": the audit-admin reads the audit trail, nothing else";
    }
  }
}

TEST(PolicyTableTest, SelfServiceRowsAreTheAuthRoutesOfTheContract) {
  RouteSet self;
  for (const RoutePolicy& p : PolicyTable()) {
    if (p.access == Access::kSelfService) self.emplace(std::string(p.method), std::string(p.pattern));
  }
  EXPECT_EQ(self, (RouteSet{{"POST", "/v1/auth/logout"},
                            {"GET", "/v1/auth/session"},
                            {"POST", "/v1/auth/password"},
                            {"POST", "/v1/auth/totp"},
                            {"POST", "/v1/auth/totp/confirm"}}));
}

Caller As(Role role, Restriction restriction = Restriction::kNone) {
  Caller c;
  c.user_id = "u-1";
  c.name = "someone";
  c.role = role;
  c.restriction = restriction;
  return c;
}

std::vector<std::string> AllowedRoles(const Status& s) {
  for (const auto& [k, v] : s.details()) {
    if (k == "allowed_roles") return std::get<std::vector<std::string>>(v);
  }
  return {};
}

TEST(AuthorizeTest, AllowsTheRolesOfTheRowAndNamesThemWhenDenying) {
  EXPECT_TRUE(Authorize(As(Role::kSystemAdmin), "POST", "/v1/flavors").ok());
  EXPECT_TRUE(Authorize(As(Role::kDeptMember), "GET", "/v1/vms").ok());
  EXPECT_TRUE(Authorize(As(Role::kAuditAdmin), "GET", "/v1/audit").ok());
  EXPECT_TRUE(Authorize(As(Role::kSecurityAdmin), "PUT", "/v1/auth/policy").ok());

  const Status denied = Authorize(As(Role::kDeptMember), "POST", "/v1/vms");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("POST /v1/vms"), std::string::npos) << denied.message();
  EXPECT_NE(denied.message().find("system-admin, dept-admin"), std::string::npos) << denied.message();
  EXPECT_EQ(AllowedRoles(denied), (std::vector<std::string>{"system-admin", "dept-admin"}));

  // The separation: each administrator is refused the others' routes.
  EXPECT_FALSE(Authorize(As(Role::kSystemAdmin), "GET", "/v1/audit").ok());
  EXPECT_FALSE(Authorize(As(Role::kSystemAdmin), "PUT", "/v1/auth/policy").ok());
  EXPECT_FALSE(Authorize(As(Role::kSecurityAdmin), "POST", "/v1/vms").ok());
  EXPECT_FALSE(Authorize(As(Role::kSecurityAdmin), "GET", "/v1/audit").ok());
  EXPECT_FALSE(Authorize(As(Role::kAuditAdmin), "GET", "/v1/users").ok());
  EXPECT_FALSE(Authorize(As(Role::kAuditAdmin), "GET", "/v1/hosts").ok());
  EXPECT_FALSE(Authorize(As(Role::kAgent), "GET", "/v1/vms").ok());
}

TEST(AuthorizeTest, DeniesARouteWithoutARow) {
  const Status s = Authorize(As(Role::kSystemAdmin), "GET", "/v1/not-in-the-table");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("no row"), std::string::npos) << s.message();
}

TEST(AuthorizeTest, ARestrictedCallerMayUseTheSelfServiceRoutesOnly) {
  const Caller must_change = As(Role::kSystemAdmin, Restriction::kChangePassword);
  const Caller must_enrol = As(Role::kAuditAdmin, Restriction::kEnrolFactor);
  for (const Caller& c : {must_change, must_enrol}) {
    EXPECT_TRUE(Authorize(c, "POST", "/v1/auth/password").ok());
    EXPECT_TRUE(Authorize(c, "POST", "/v1/auth/totp").ok());
    EXPECT_TRUE(Authorize(c, "POST", "/v1/auth/totp/confirm").ok());
    EXPECT_TRUE(Authorize(c, "GET", "/v1/auth/session").ok());
    EXPECT_TRUE(Authorize(c, "POST", "/v1/auth/logout").ok());
  }
  const Status a = Authorize(must_change, "GET", "/v1/vms");
  EXPECT_EQ(a.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.reason(), "PASSWORD_CHANGE_REQUIRED");
  const Status b = Authorize(must_enrol, "GET", "/v1/audit");
  EXPECT_EQ(b.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(b.reason(), "FACTOR_ENROLMENT_REQUIRED");
  // Unrestricted, the same callers pass.
  EXPECT_TRUE(Authorize(As(Role::kSystemAdmin), "GET", "/v1/vms").ok());
  EXPECT_TRUE(Authorize(As(Role::kAuditAdmin), "GET", "/v1/audit").ok());
}

// What a scrape needs: the metrics, and where the agents' metrics are (http_sd_configs).
TEST(AuthorizeTest, AMetricsReaderReadsTheMetricsAndNothingElse) {
  EXPECT_TRUE(Authorize(As(Role::kMetricsReader), "GET", "/metrics").ok());
  EXPECT_TRUE(Authorize(As(Role::kMetricsReader), "GET", "/v1/metrics/targets").ok());
  std::set<std::string> open_to_it;
  for (const RoutePolicy& row : PolicyTable()) {
    if (row.access == Access::kRoles && row.roles.Has(Role::kMetricsReader)) {
      open_to_it.insert(std::string(row.method) + " " + std::string(row.pattern));
    }
  }
  EXPECT_EQ(open_to_it, (std::set<std::string>{"GET /metrics", "GET /v1/metrics/targets"}));
  EXPECT_EQ(Authorize(As(Role::kMetricsReader), "GET", "/v1/vms").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(As(Role::kMetricsReader), "GET", "/v1/audit").code(), StatusCode::kPermissionDenied);
}

TEST(PolicyMarkdownTest, HasAHeaderAndOneLinePerRow) {
  const std::string md = PolicyMarkdown();
  EXPECT_EQ(md.rfind("| Route | system-admin | security-admin | audit-admin | dept-admin | dept-member | agent | metrics-reader |\n", 0), 0u)
      << md.substr(0, 200);
  EXPECT_NE(md.find("| `POST /v1/audit/verify` | | | yes | | | | |\n"), std::string::npos);
  EXPECT_NE(md.find("| `GET /metrics` | yes | | | | | | yes |\n"), std::string::npos);
  EXPECT_NE(md.find("| `GET /healthz` | public | public | public | public | public | public | public |\n"), std::string::npos);
  EXPECT_EQ(static_cast<std::size_t>(std::count(md.begin(), md.end(), '\n')), PolicyTable().size() + 2);
}

// docs/security.md carries the table between two markers, exactly as PolicyMarkdown() prints
// it: change the code and regenerate the doc's table (the failure message has the new one).
TEST(PolicyMarkdownTest, TheSecurityDocumentShowsThisTable) {
  std::ifstream file(GOVPOOL_SECURITY_DOC);
  ASSERT_TRUE(file) << "cannot read " << GOVPOOL_SECURITY_DOC;
  std::stringstream ss;
  ss << file.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- policy-table:begin (generated: PolicyMarkdown, controller/http/policy.cc) -->\n";
  const std::string end = "<!-- policy-table:end -->";
  const size_t b = doc.find(begin);
  const size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "docs/security.md lacks the line " << begin;
  ASSERT_NE(e, std::string::npos) << "docs/security.md lacks the line " << end;
  ASSERT_LT(b, e);
  const std::string shown = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(shown, PolicyMarkdown()) << "docs/security.md's table differs from the code's; the code's is:\n"
                                     << PolicyMarkdown();
}

}  // namespace
}  // namespace govpool::controller::http
