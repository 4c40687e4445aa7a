// An in-process controller for agent-protocol tests: Db on SQLite in a temp directory,
// ApiHandler with every route, HttpServer on a free port, and helpers to make users, tokens,
// departments, flavors and VMs through the REST API. Not thread-safe (its admin client).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "api/client/http_client.h"
#include "common/clock.h"
#include "controller/db.h"
#include "controller/http/api_handler.h"
#include "api/server/http_server.h"
#include "controller/metrics.h"
#include "controller/services/services.h"
#include "controller/store/sqlite_state_store.h"

namespace govpool::testing {

class TestController {
 public:
  TestController() {
    dir_ = std::filesystem::temp_directory_path() /
           ("govpool-agent-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    auto store = controller::SqliteStateStore::Open((dir_ / "state.db").string());
    EXPECT_TRUE(store.ok());
    auto db = controller::Db::Open(std::move(store).value(), SystemClock(), [] {
      return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value();
    });
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto boot = db_->Write([](controller::State& s, controller::Txn& t) {
      return controller::BootstrapAdministrators(s, t, /*issue_tokens=*/true, 24 * 3600 * 1000);
    });
    EXPECT_TRUE(db_->Sync().ok());
    admin_token_ = boot->administrators[0].token;     // system-admin
    security_token_ = boot->administrators[1].token;  // security-admin: users and tokens
    api_ = std::make_unique<controller::http::ApiHandler>(*db_, metrics_);
    api_->RegisterAllRoutes();
    auto server = api::HttpServer::Start(
        {}, [this](api::HttpRequest req, api::Responder respond) {
          api_->Handle(std::move(req), std::move(respond));
        });
    EXPECT_TRUE(server.ok());
    server_ = std::move(server).value();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
    admin_ = Client(admin_token_);
    security_ = Client(security_token_);
  }
  ~TestController() {
    server_->Stop();
    api_.reset();
    server_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& url() const { return url_; }
  controller::Db& db() { return *db_; }

  std::unique_ptr<api::HttpClient> Client(const std::string& token, int timeout_ms = 30'000) {
    api::ClientOptions o;
    o.base_url = url_;
    o.bearer_token = token;
    o.timeout_ms = timeout_ms;
    return std::move(api::HttpClient::Create(o)).value();
  }

  // Sends as the system-admin; expects `want` and returns the parsed body (null for empty bodies).
  boost::json::value Admin(const std::string& method, const std::string& target,
                           const std::string& body = "", int want = 0) {
    return Send(*admin_, method, target, body, want);
  }
  // The same as the security-admin (users and tokens).
  boost::json::value Security(const std::string& method, const std::string& target,
                              const std::string& body = "", int want = 0) {
    return Send(*security_, method, target, body, want);
  }
  boost::json::value Send(api::HttpClient& client, const std::string& method, const std::string& target,
                          const std::string& body, int want) {
    auto resp = client.Send(method, target, body, {{"Content-Type", "application/json"}});
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok()) return nullptr;
    if (want) {
      EXPECT_EQ(resp->status, want) << method << " " << target << ": " << resp->body;
    }
    if (resp->body.empty()) return nullptr;
    return boost::json::parse(resp->body);
  }

  // A user with `role` and a token; returns {user id, secret}.
  std::pair<std::string, std::string> MakeUser(const std::string& name, const std::string& role,
                                               const std::string& department_id = "") {
    std::string body = "{\"name\":\"" + name + "\",\"role\":\"" + role + "\"";
    if (!department_id.empty()) body += ",\"department_id\":\"" + department_id + "\"";
    body += "}";
    auto user = Security("POST", "/v1/users", body, 201);
    const std::string id(user.at("id").as_string());
    const std::string expires = FormatRfc3339(SystemClock().Now() + std::chrono::hours(24));
    auto tok = Security("POST", "/v1/users/" + id + "/tokens",
                        "{\"name\":\"t\",\"expires_at\":\"" + expires + "\"}", 201);
    return {id, std::string(tok.at("token").as_string())};
  }

  std::string MakeDepartment(const std::string& name, std::int64_t instances = -1) {
    auto d = Admin("POST", "/v1/departments",
                   "{\"name\":\"" + name + "\",\"quota\":{\"instances\":" + std::to_string(instances) +
                       ",\"vcpus\":-1,\"memory_mib\":-1}}",
                   201);
    return std::string(d.at("id").as_string());
  }

  void MakeFlavor(const std::string& name, int vcpus, int memory_mib, int disk_gib) {
    Admin("POST", "/v1/flavors",
          "{\"name\":\"" + name + "\",\"vcpus\":" + std::to_string(vcpus) + ",\"memory_mib\":" +
              std::to_string(memory_mib) + ",\"disk_gib\":" + std::to_string(disk_gib) + "}",
          201);
  }

  std::string MakeVm(const std::string& name, const std::string& department_id,
                     const std::string& flavor) {
    auto v = Admin("POST", "/v1/vms",
                   "{\"name\":\"" + name + "\",\"department_id\":\"" + department_id +
                       "\",\"flavor\":\"" + flavor + "\"}",
                   201);
    return std::string(v.at("id").as_string());
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<controller::Db> db_;
  controller::ControllerMetrics metrics_;
  std::unique_ptr<controller::http::ApiHandler> api_;
  std::unique_ptr<api::HttpServer> server_;
  std::string url_;
  std::string admin_token_;
  std::string security_token_;
  std::unique_ptr<api::HttpClient> admin_;
  std::unique_ptr<api::HttpClient> security_;
};

}  // namespace govpool::testing
