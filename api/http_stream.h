// Streamed HTTP bodies: a request body handed to a BodySink chunk by chunk as it arrives, and a
// response body pulled from a BodySource chunk by chunk as the connection can take it. For
// bodies too large to hold in memory (disk images are GiB-sized): the server's memory per
// streamed request is one fixed buffer. No sockets, no Beast: plain interfaces.
//
// Threading: the server calls one sink's (or source's) methods from one request's I/O strand,
// never concurrently, so an implementation needs no locking of its own state; it must not block
// for long (each call holds an I/O thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "api/http_message.h"
#include "common/result.h"

namespace govpool::api {

// Receives an upload's body. Exactly one of Finish or Abort is called, after zero or more
// Writes; nothing is called after it. The sink is destroyed after that last call.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next bytes of the body, in order (chunk framing removed). A non-OK status stops the
  // upload: Abort(that status) follows and the client is answered with that error.
  virtual Status Write(std::string_view chunk) = 0;
  // The whole body arrived (Content-Length reached, or the last chunk). Returns the answer to
  // the client, or an error that is answered in the one error shape.
  virtual Result<HttpResponse> Finish() = 0;
  // The upload will not complete: the client disconnected or timed out (kUnavailable), the
  // body exceeds the route's maximum (kInvalidArgument, reason PAYLOAD_TOO_LARGE), the body's
  // framing is malformed (kInvalidArgument), the server is stopping, or Write failed (its
  // status). Discard what was written.
  virtual void Abort(Status why) = 0;
};

// Produces a response body (HttpResponse::body_source). Read is called until it returns 0.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills up to `n` bytes of `buf` with the next bytes of the body; 0 at the end. An error
  // after the response's head was sent can only be reported by cutting the connection (the
  // client then sees a short body).
  virtual Result<std::size_t> Read(char* buf, std::size_t n) = 0;
  // The body's exact length when known: sent as Content-Length (and the body is cut short,
  // the connection closed, if Read returns a different number of bytes). nullopt: the body
  // is sent with chunked transfer encoding.
  virtual std::optional<std::uint64_t> content_length() const { return std::nullopt; }
};

}  // namespace govpool::api
