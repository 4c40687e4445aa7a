// The REST API as a client reaches it, minus the socket: routing (404/405), query strings,
// authentication, the access policy, body validation and the routes themselves, through
// ApiHandler over a real Db (in-memory store) holding two departments and a caller of every
// role. Input:
//   byte 0        who calls: anonymous or one of the roles (a bearer token of theirs)
//   "METHOD TARGET\n"
//   "Name: value\n" ...   headers, up to an empty line
//   the rest      the body
// Besides crashes, leaks and undefined behaviour, it fails on any 500 (a route that threw or
// broke an invariant: the API promises a clear 4xx for bad input) and on an error answer that
// is not the API's JSON error body.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_message.h"
#include "controller/db.h"
#include "controller/http/api_handler.h"
#include "controller/http/policy.h"
#include "controller/metrics.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/fakes/controller/saved_callers.h"

namespace govpool::controller::http {
namespace {

struct Platform {
  Platform() {
    db = std::move(testing::OpenFakeDb(data, clock)).value();
    handler = std::make_unique<ApiHandler>(*db, metrics);
    handler->RegisterAllRoutes();
    db->Write([&](State& s, Txn& t) {
      const std::string department_a = testing::SaveDepartment(s, t, "dept-a");
      const std::string department_b = testing::SaveDepartment(s, t, "dept-b");
      for (api::Role role : kAllRoles) {
        const bool in_department = role == api::Role::kDeptAdmin || role == api::Role::kDeptMember;
        tokens.push_back(testing::SaveUserWithToken(s, t, std::string(api::ToString(role)) + "-user",
                                                    role, in_department ? department_a : ""));
      }
      tokens.push_back(testing::SaveUserWithToken(s, t, "member-of-b", api::Role::kDeptMember, department_b));
      return 0;
    });
    if (!db->Sync().ok()) std::abort();
  }

  govpool::testing::FakeClock clock;
  std::shared_ptr<testing::FakeStoreData> data = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db;
  ControllerMetrics metrics;
  std::unique_ptr<ApiHandler> handler;
  std::vector<std::string> tokens;  // one per role, then a member of the other department
};

// Splits `text` at the first '\n' (or its end).
std::string_view TakeLine(std::string_view& text) {
  const size_t end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

[[noreturn]] void Broken(const api::HttpRequest& req, const api::HttpResponse& resp, const char* what) {
  std::fprintf(stderr, "%s: %s %s -> %d %s\n", what, req.method.c_str(), req.target.c_str(), resp.status,
               resp.body.c_str());
  std::abort();
}

}  // namespace
}  // namespace govpool::controller::http

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace govpool;
  using namespace govpool::controller::http;
  static Platform* const platform = new Platform();  // lives for the whole run, by design
  if (size == 0) return 0;
  const std::size_t who = data[0] % (platform->tokens.size() + 1);
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  api::HttpRequest req;
  std::string_view request_line = TakeLine(text);
  const size_t space = request_line.find(' ');
  if (space == std::string_view::npos) return 0;
  req.method = std::string(request_line.substr(0, space));
  req.target = std::string(request_line.substr(space + 1));
  if (!api::ParseTarget(req.target, req.path, req.query)) return 0;  // the server answers 400 itself
  for (std::string_view line = TakeLine(text); !line.empty(); line = TakeLine(text)) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  if (who > 0) req.headers.emplace_back("Authorization", "Bearer " + platform->tokens[who - 1]);
  req.body = std::string(text);
  req.remote_address = "192.0.2.7";

  api::HttpResponse resp;
  if (auto upload = platform->handler->StartUpload(req)) {
    if (upload->sink) {
      upload->sink->Abort(Unavailable("the fuzzer streams no body"));
      return 0;
    }
    resp = upload->refusal;
  } else {
    // Shared with the responder: a long-poll watch may answer after this input is done.
    auto answered = std::make_shared<std::promise<api::HttpResponse>>();
    auto answer = answered->get_future();
    platform->handler->Handle(req, [answered](api::HttpResponse r) { answered->set_value(std::move(r)); });
    if (answer.wait_for(std::chrono::seconds(2)) != std::future_status::ready) return 0;
    resp = answer.get();
  }
  if (resp.status == 500) Broken(req, resp, "500 from the API");
  if (resp.status < 100 || resp.status > 599) Broken(req, resp, "status out of range");
  if (resp.status >= 400 && resp.body.find("{\"error\":{\"code\":\"") != 0) {
    Broken(req, resp, "error answer without the API's error body");
  }
  return 0;
}
