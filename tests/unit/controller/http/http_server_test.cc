// Tests for controller/http (HttpServer) and api/client (HttpClient), against each other and
// against raw sockets for malformed input. Hermetic: port 0, temp directories.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/client/http_client.h"
#include "controller/http/server.h"

namespace govpool::controller::http {
namespace {

using api::ClientOptions;
using api::HttpClient;
using api::HttpRequest;
using api::HttpResponse;

// Echoes method, path, query and body back, as text lines.
void EchoHandler(HttpRequest request, Responder respond) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = request.method + " " + request.path;
  for (const auto& [k, v] : request.query) response.body += " " + k + "=" + v;
  response.body += "\n" + request.body;
  response.headers.emplace_back("X-Echo-Remote", request.remote_address);
  if (const std::string* auth = request.Header("authorization")) {
    response.headers.emplace_back("X-Echo-Auth", *auth);
  }
  if (const std::string* type = request.Header("content-type")) {
    response.headers.emplace_back("X-Echo-Content-Type", *type);
  }
  respond(std::move(response));
}

std::unique_ptr<HttpServer> StartServer(Handler handler, ServerOptions options = {}) {
  auto server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return std::move(server).value();
}

std::unique_ptr<HttpClient> MakeClient(const HttpServer& server, ClientOptions options = {}) {
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port());
  auto client = HttpClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(client).value();
}

TEST(HttpServerTest, RoundTrip) {
  auto server = StartServer(EchoHandler);
  ClientOptions options;
  options.bearer_token = "t0k";
  auto client = MakeClient(*server, options);
  auto response = client->Send("POST", "/v1/vms?limit=10&name=a%20b", R"({"x":1})");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->content_type, "text/plain");
  EXPECT_EQ(response->body, "POST /v1/vms limit=10 name=a b\n{\"x\":1}");
  ASSERT_NE(response->Header("server"), nullptr);
  EXPECT_EQ(*response->Header("server"), "govpool");
  ASSERT_NE(response->Header("x-echo-auth"), nullptr);
  EXPECT_EQ(*response->Header("x-echo-auth"), "Bearer t0k");
  ASSERT_NE(response->Header("x-echo-content-type"), nullptr);
  EXPECT_EQ(*response->Header("x-echo-content-type"), "application/json");
  ASSERT_NE(response->Header("x-echo-remote"), nullptr);
  EXPECT_EQ(*response->Header("x-echo-remote"), "127.0.0.1");
  server->Stop();
  server->Stop();  // idempotent
}

}  // namespace
}  // namespace govpool::controller::http
