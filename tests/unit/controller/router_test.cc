// Router: path parameters, 404 ROUTE_NOT_FOUND vs 405 METHOD_NOT_ALLOWED (with the allowed
// methods), literal segments before parameters.
#include <gtest/gtest.h>

#include <algorithm>

#include "controller/http/router.h"

namespace govpool::controller::http {
namespace {

RouteHandler Named(std::string name) {
  return [name](RouteContext&) {
    api::HttpResponse r;
    r.body = name;
    return r;
  };
}

std::vector<std::string> Allow(const Status& s) {
  for (const auto& [k, v] : s.details()) {
    if (k == "allow") return std::get<std::vector<std::string>>(v);
  }
  return {};
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("POST", "/v1/hosts/register", Named("register"));
    router_.Add("GET", "/v1/hosts", Named("list-hosts"));
    router_.Add("GET", "/v1/hosts/{id}", Named("get-host"));
    router_.Add("PATCH", "/v1/hosts/{id}", Named("patch-host"));
    router_.Add("POST", "/v1/vms/{id}/start", Named("start"));
    router_.Add("GET", "/v1/departments/{id}/usage", Named("usage"));
    router_.AddPublic("GET", "/healthz", Named("healthz"));
  }
  const Route* Find(const std::string& method, const std::string& path,
                    std::map<std::string, std::string>* params = nullptr) {
    auto m = router_.Find(method, path);
    if (!m.ok()) return nullptr;
    if (params) *params = m->params;
    return m->route;
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralsAndCapturesParameters) {
  std::map<std::string, std::string> params;
  const Route* r = Find("GET", "/v1/hosts/abc-123", &params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->pattern, "/v1/hosts/{id}");
  EXPECT_EQ(params.at("id"), "abc-123");
  r = Find("POST", "/v1/vms/42/start", &params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->pattern, "/v1/vms/{id}/start");
  EXPECT_EQ(params.at("id"), "42");
  r = Find("GET", "/v1/departments/d1/usage", &params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(params.at("id"), "d1");
  r = Find("GET", "/v1/hosts", &params);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(params.empty());
  EXPECT_TRUE(r->authenticated);
  r = Find("GET", "/healthz");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->authenticated);
}

TEST_F(RouterTest, LiteralSegmentBeatsParameter) {
  const Route* r = Find("POST", "/v1/hosts/register");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->pattern, "/v1/hosts/register");
  // A GET on the literal path still finds the parameter route (id "register").
  std::map<std::string, std::string> params;
  r = Find("GET", "/v1/hosts/register", &params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->pattern, "/v1/hosts/{id}");
  EXPECT_EQ(params.at("id"), "register");
}

TEST(RouterOrderTest, LiteralBeatsParameterWhateverTheRegistrationOrder) {
  Router router;
  router.Add("POST", "/v1/hosts/{id}", Named("param"));
  router.Add("POST", "/v1/hosts/register", Named("literal"));
  auto m = router.Find("POST", "/v1/hosts/register");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->route->pattern, "/v1/hosts/register");
  m = router.Find("POST", "/v1/hosts/h-1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->route->pattern, "/v1/hosts/{id}");
}

TEST_F(RouterTest, UnknownPathIsRouteNotFound) {
  for (const char* path : {"/v1/nothing", "/v1/hosts/a/b/c", "/v2/hosts", "/", "", "/v1/hosts/",
                           "/v1/vms/42/start/now", "/v1//start"}) {
    auto m = router_.Find("GET", path);
    ASSERT_FALSE(m.ok()) << path;
    EXPECT_EQ(m.status().code(), StatusCode::kNotFound) << path;
    EXPECT_EQ(m.status().reason(), "ROUTE_NOT_FOUND") << path;
  }
}

TEST_F(RouterTest, KnownPathWrongMethodIsMethodNotAllowedWithAllow) {
  auto m = router_.Find("DELETE", "/v1/hosts/abc");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().reason(), "METHOD_NOT_ALLOWED");
  auto allow = Allow(m.status());
  std::sort(allow.begin(), allow.end());
  EXPECT_EQ(allow, (std::vector<std::string>{"GET", "PATCH"}));
  m = router_.Find("GET", "/v1/vms/1/start");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().reason(), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(Allow(m.status()), std::vector<std::string>{"POST"});
  m = router_.Find("POST", "/v1/hosts");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(Allow(m.status()), std::vector<std::string>{"GET"});
  // Methods are case-sensitive tokens.
  m = router_.Find("get", "/v1/hosts");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().reason(), "METHOD_NOT_ALLOWED");
}

TEST_F(RouterTest, RoutesListsEveryRegistration) {
  auto routes = router_.Routes();
  EXPECT_EQ(routes.size(), 7u);
  EXPECT_NE(std::find(routes.begin(), routes.end(), std::make_pair(std::string("PATCH"), std::string("/v1/hosts/{id}"))),
            routes.end());
}

}  // namespace
}  // namespace govpool::controller::http
