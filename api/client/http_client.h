// HttpClient: a small HTTP/1.1 (and HTTPS) client on Boost.Beast for the CLI, the agent and
// tests. Keeps one keep-alive connection and reconnects transparently when the server closed
// it: when a reused connection fails before any byte of the response has arrived, the request
// is sent once more on a new connection (the server cannot have answered it). A timeout or a
// failure after part of the response arrived is never retried.
// Upload and Download stream a body through one fixed buffer (kStreamChunkBytes), for bodies
// too large to hold in memory (GiB-sized images).
// Not thread-safe: use one client per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  // HTTPS: present this client certificate (PEM chain) with its key (PEM), mutual TLS; both or
  // neither. Held in memory, so a renewed one is used by a new client without touching files.
  std::string client_certificate_pem = {};
  std::string client_key_pem = {};
};

// Fills up to `n` bytes of `buf` with the next bytes of an upload's body; 0 at the end.
using BodyReader = std::function<Result<std::size_t>(char* buf, std::size_t n)>;
// Takes the next bytes of a downloaded body, in order.
using BodyWriter = std::function<Status(std::string_view chunk)>;
// Bytes of the body sent so far; called after each buffer written.
using ProgressCallback = std::function<void(std::uint64_t bytes_sent)>;

// Bytes of a streamed body the client holds in memory at a time.
inline constexpr std::size_t kStreamChunkBytes = 128 * 1024;

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

  // Sends a request whose body is read from `source` as it is sent: exactly `length` bytes
  // with Content-Length, or chunked transfer encoding when nullopt. Content-Type defaults to
  // application/octet-stream. Asks `Expect: 100-continue` and sends no body byte before the
  // server agreed, so a refusal (401, 403, 404, 413 for a declared length) costs no upload;
  // when the server answers while the body is still being sent (an error: 413 on a chunked
  // body), the upload stops and that answer is returned. Returns the answer whatever its
  // status, read whole as Send does. timeout_ms bounds each step (connecting, each buffer
  // written, the wait for the answer), not the whole upload. InvalidArgument when `source`
  // yields more or fewer than `length` bytes; `source`'s own error as it is. Retried on a new
  // connection, like Send, only when a reused connection failed before `source` was read.
  virtual Result<HttpResponse> Upload(std::string_view method, std::string_view target,
                                      BodyReader source, std::optional<std::uint64_t> length,
                                      ProgressCallback on_progress = {},
                                      const HeaderList& extra_headers = {}) = 0;

  // GET `target`. A 2xx answer's body is passed to `sink` as it arrives (the returned
  // response has the status and headers, and an empty body); any other answer is returned
  // whole, as Send does (the error JSON). `sink`'s error stops the download and is returned
  // as it is. timeout_ms bounds each step, not the whole download.
  virtual Result<HttpResponse> Download(std::string_view target, BodyWriter sink,
                                        const HeaderList& extra_headers = {}) = 0;
};

}  // namespace govpool::api
