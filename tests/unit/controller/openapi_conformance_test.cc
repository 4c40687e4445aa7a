// The OpenAPI document is the contract: every route the server registers must be in
// api/openapi/govpool.yaml, and every path + method the document names must be served.
// The document is read from the source tree (GOVPOOL_OPENAPI_FILE) with a small line-based
// reader of its layout: path keys indented 2 spaces under `paths:`, methods 4 spaces.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "controller/db.h"
#include "controller/http/api_handler.h"
#include "controller/http/routes.h"
#include "controller/metrics.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"

#ifndef GOVPOOL_OPENAPI_FILE
#error "GOVPOOL_OPENAPI_FILE must name api/openapi/govpool.yaml"
#endif

namespace govpool::controller {
namespace {

using RouteSet = std::set<std::pair<std::string, std::string>>;

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// (METHOD, path) pairs of the document's `paths:` section.
RouteSet ParsePaths(std::istream& in, std::vector<std::string>* problems) {
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
  RouteSet out;
  std::string line, current;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos) continue;
    const size_t indent = line.find_first_not_of(' ');
    if (line[indent] == '#') continue;
    if (indent == 0) {
      in_paths = line == "paths:";
      continue;
    }
    if (!in_paths) continue;
    const std::string key = line.substr(indent, line.find(':', indent) - indent);
    if (indent == 2) {
      if (key.empty() || key[0] != '/') problems->push_back("path key not starting with '/': " + line);
      current = key;
    } else if (indent == 4 && kMethods.count(key)) {
      out.emplace(Upper(key), current);
    }
  }
  return out;
}

TEST(OpenApiReaderTest, ReadsPathsAndMethods) {
  std::istringstream doc(
      "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      summary: x\n    post:\n      responses: {}\n"
      "  /a/{id}:\n    parameters: []\n    delete:\n      x: y\ncomponents:\n  schemas:\n    get:\n");
  std::vector<std::string> problems;
  RouteSet got = ParsePaths(doc, &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(got, (RouteSet{{"GET", "/a"}, {"POST", "/a"}, {"DELETE", "/a/{id}"}}));
}

TEST(OpenApiConformanceTest, DocumentAndRouterNameTheSameRoutes) {
  std::ifstream file(GOVPOOL_OPENAPI_FILE);
  ASSERT_TRUE(file) << "cannot read " << GOVPOOL_OPENAPI_FILE;
  std::vector<std::string> problems;
  const RouteSet documented = ParsePaths(file, &problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  ASSERT_GE(documented.size(), 20u) << "the reader found too few routes; has the layout changed?";

  auto data = std::make_shared<testing::FakeStoreData>();
  testing::FakeClock clock;
  auto db = testing::OpenFakeDb(data, clock);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ControllerMetrics metrics;
  http::ApiHandler handler(**db, metrics);
  handler.RegisterAllRoutes();
  RouteSet served;
  for (const auto& [method, pattern] : handler.router().Routes()) {
    EXPECT_TRUE(served.emplace(method, pattern).second) << "registered twice: " << method << " " << pattern;
  }

  for (const auto& r : served) {
    EXPECT_TRUE(documented.count(r)) << "served but missing from the OpenAPI document: " << r.first << " " << r.second;
  }
  for (const auto& r : documented) {
    EXPECT_TRUE(served.count(r)) << "in the OpenAPI document but not served: " << r.first << " " << r.second;
  }
  // The embedded copy served at /v1/openapi.yaml is this same file.
  std::ifstream again(GOVPOOL_OPENAPI_FILE);
  std::stringstream ss;
  ss << again.rdbuf();
  EXPECT_EQ(std::string(http::OpenApiDocument()), ss.str());
}

}  // namespace
}  // namespace govpool::controller
