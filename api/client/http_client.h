// HttpClient: a small HTTP/1.1 (and HTTPS) client on Boost.Beast for the CLI, the agent and
// tests. Keeps one keep-alive connection and reconnects transparently when the server closed
// it: when a reused connection fails before any byte of the response has arrived, the request
// is sent once more on a new connection (the server cannot have answered it). A timeout or a
// failure after part of the response arrived is never retried.
// Not thread-safe: use one client per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/http_message.h"
#include "common/result.h"

namespace govpool::api {

struct ClientOptions {
  std::string base_url = "http://127.0.0.1:8080";  // http:// or https://, no path
  std::string bearer_token;                         // sent as Authorization: Bearer ...
  std::string ca_file;            // HTTPS: trust this CA bundle (empty: system default)
  bool insecure_skip_verify = false;
  int timeout_ms = 30'000;        // per request, connect included
};

class HttpClient {
 public:
  // InvalidArgument for a malformed base_url.
  static Result<std::unique_ptr<HttpClient>> Create(const ClientOptions& options);
  virtual ~HttpClient() = default;
  // Sends one request (target like "/v1/vms?limit=10") and returns the response whatever its
  // status. Adds Host, Authorization (bearer_token) and, when `body` is not empty,
  // Content-Type: application/json; extra_headers are set last and override these.
  // Unavailable when the server cannot be reached (connect, TLS verification, reset);
  // DeadlineExceeded when timeout_ms passed; InvalidArgument for a bad target or header.
  virtual Result<HttpResponse> Send(std::string_view method, std::string_view target,
                                    std::string_view body = {},
                                    const HeaderList& extra_headers = {}) = 0;
};

}  // namespace govpool::api
