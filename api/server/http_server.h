// HttpServer: HTTP/1.1 (optionally TLS) on Boost.Beast/Asio with a pool of I/O threads,
// keep-alive, and hard limits on header size, body size and idle time. It is the only
// translation unit that includes Beast; handlers see plain api::HttpRequest/HttpResponse.
//
// Handlers are asynchronous: the server calls `handler(request, respond)` on an I/O thread and
// the handler calls `respond(response)` exactly once, from any thread, now or later (a
// long-poll watch answers later; a write answers once its commit is durable). The server
// never crashes on bad input: malformed HTTP gets 400, oversize headers 431, oversize bodies
// 413, each with the JSON error body, and the server keeps serving.
// Timeouts: idle_timeout_ms applies while a keep-alive connection waits for the first byte of
// a request; read_timeout_ms to receiving one whole request (and to the TLS handshake and to
// writing the response); handler_timeout_ms, when set, to the handler's answer (a long-poll
// asks for more than an ordinary request).
// Thread-safety: Start/Stop from one thread; port() and stats() from any. The handler is
// called concurrently from the I/O threads and must not block them for long.
// Lifetime: a Responder may outlive the server; calling it after Stop() does nothing.
//
// Streamed bodies (api/http_stream.h), for GiB-sized images: an UploadDispatcher sees every
// request once its headers are read and may take its body as a stream: the server then reads
// it through one fixed buffer (kStreamBufferBytes) into a BodySink, Content-Length or chunked,
// answering `Expect: 100-continue` only once the upload is accepted, under the upload's own
// size limit instead of max_body_bytes. A response with body_source set is written the same
// way, chunk by chunk. For streamed bodies read_timeout_ms bounds each wait for progress
// (one buffer read or written), not the whole body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/http_message.h"
#include "api/http_stream.h"
#include "common/result.h"

namespace govpool::api {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port (tests)
  int threads = 4;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  int idle_timeout_ms = 60'000;   // keep-alive connection with no request in flight
  // Open connections at most, in all and per client address (0: no limit). A newcomer above
  // a limit closes the connection that has waited longest for a complete request header (of
  // that address, or of any), so idle or slow sockets cannot lock others out; when every
  // connection is busy with a request the newcomer is closed at once.
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_address = 512;
  int read_timeout_ms = 30'000;   // one request must arrive whole within this
  // How long the handler may take to answer a request, in ms, given the request (for an upload,
  // its head; the bound then counts from its last body byte). 0, or empty: no bound. Past it the
  // server answers 503 UNAVAILABLE with Retry-After itself (the request may still take effect),
  // drops the handler's later answer and counts it (ServerStats::handler_timeouts); the
  // connection stays usable.
  std::function<int(const api::HttpRequest&)> handler_timeout_ms;
  // Both set: serve HTTPS only: TLS 1.2 and 1.3, forward-secret AEAD suites only (ECDHE with
  // AES-GCM or ChaCha20-Poly1305). Both empty: plain HTTP. A key file its group or others may
  // read is refused.
  std::string tls_cert_path;
  std::string tls_key_path;
  // HTTPS only. Set: clients may present a certificate, which must chain to this CA; a verified
  // one names the request (HttpRequest::client_certificate_cn). Clients without one are served
  // as before (they authenticate with a bearer token).
  std::string tls_client_ca_path;
};

// Counters since Start, for metrics and tests. Monotonic except active_connections.
struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t active_connections = 0;
  std::uint64_t requests = 0;         // requests handed to the handler
  std::uint64_t error_responses = 0;  // 400/413/431 written by the server itself
  std::uint64_t connections_refused = 0;  // closed at once: a limit reached, nothing to evict
  std::uint64_t connections_evicted = 0;  // waiting connections closed to make room
  std::uint64_t handler_timeouts = 0;     // answered 503 by the server: the handler took too long
};

using Responder = std::function<void(api::HttpResponse)>;
using Handler = std::function<void(api::HttpRequest, Responder)>;

// Bytes of one streamed body held in memory at a time, per connection.
inline constexpr std::size_t kStreamBufferBytes = 128 * 1024;

// An UploadDispatcher's decision to stream a request's body.
struct StreamedUpload {
  // Null: answer `refusal` without reading the body, then close the connection.
  std::unique_ptr<api::BodySink> sink;
  std::uint64_t max_body_bytes = 0;  // longer bodies: 413 PAYLOAD_TOO_LARGE, sink aborted
  api::HttpResponse refusal;
  // Optional: called with the result of sink->Finish() (instead of answering it directly) to
  // answer the request through `respond`, exactly once, now or later. With a null sink it is
  // called with `refusal` instead, so the refusal can wait (e.g. for its audit record to be
  // durable) without blocking the I/O thread; the connection closes after that answer.
  std::function<void(Result<api::HttpResponse> finished, Responder respond)> on_finish;
};
// Called on an I/O thread once a request's headers are read (`head.body` is empty), before any
// body byte is accepted. nullopt: an ordinary request, read whole and passed to the Handler.
using UploadDispatcher = std::function<std::optional<StreamedUpload>(const api::HttpRequest& head)>;

class HttpServer {
 public:
  // Binds and starts serving. InvalidArgument for bad options (unreadable TLS files);
  // Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, Handler handler,
                                                   UploadDispatcher uploads = {});
  virtual ~HttpServer() = default;  // stops if still running
  virtual std::uint16_t port() const = 0;
  virtual ServerStats stats() const = 0;  // thread-safe
  // HTTPS: reads tls_cert_path, tls_key_path and tls_client_ca_path again; connections accepted
  // from then on use them, open ones keep what they began with. On error (unreadable files, a
  // key that does not match the certificate, a key others may read) the server keeps serving
  // the previous ones. FailedPrecondition for plain HTTP. Thread-safe.
  virtual Status ReloadTls() = 0;
  // Stops accepting, closes connections and joins the I/O threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace govpool::api
