// Raw bytes to the real HttpServer (api/server/http_server.cc, Beast) over a loopback socket:
// request lines, headers, bodies (Content-Length and chunked), pipelined requests, streamed
// uploads with Expect: 100-continue, and everything malformed in between. The client writes
// the input, half-closes, and reads until the server closes. Besides crashes, leaks and
// undefined behaviour in the server's threads, it fails when what the server wrote does not
// begin with an HTTP/1.1 status line, or when the server stops answering a plain request.
// Requests to /upload stream into a sink that counts bytes (256 KiB at most); any other
// request is answered by a handler that echoes its method, path, query and body length.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <cerrno>
#include <cstring>
#include <thread>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_message.h"
#include "api/http_stream.h"
#include "api/server/http_server.h"

namespace govpool::api {
namespace {

class CountingSink final : public api::BodySink {
 public:
  Status Write(std::string_view chunk) override {
    bytes_ += chunk.size();
    return Status();
  }
  Result<api::HttpResponse> Finish() override {
    api::HttpResponse r;
    r.body = "{\"received\":" + std::to_string(bytes_) + "}";
    return r;
  }
  void Abort(Status) override {}

 private:
  std::size_t bytes_ = 0;
};

HttpServer& Server() {
  static HttpServer* const server = [] {
    ServerOptions options;
    options.threads = 2;
    options.max_header_bytes = 4 * 1024;
    options.max_body_bytes = 64 * 1024;
    options.read_timeout_ms = 2'000;
    options.idle_timeout_ms = 2'000;
    auto started = HttpServer::Start(
        options,
        [](api::HttpRequest req, Responder respond) {
          api::HttpResponse r;
          r.body = "{\"method\":\"" + std::to_string(req.method.size()) + "\",\"path\":" +
                   std::to_string(req.path.size()) + ",\"query\":" + std::to_string(req.query.size()) +
                   ",\"body\":" + std::to_string(req.body.size()) + "}";
          respond(std::move(r));
        },
        [](const api::HttpRequest& head) -> std::optional<StreamedUpload> {
          if (head.path != "/upload") return std::nullopt;
          StreamedUpload upload;
          upload.sink = std::make_unique<CountingSink>();
          upload.max_body_bytes = 256 * 1024;
          return upload;
        });
    if (!started.ok()) {
      std::fprintf(stderr, "server: %s\n", started.status().ToString().c_str());
      std::abort();
    }
    return std::move(started).value().release();  // lives for the whole run, by design
  }();
  return *server;
}

// A connected socket to the server, or -1. A refused connect is tried again for up to a second:
// on a loaded machine the listen backlog or the loopback's ephemeral ports (thousands of
// connections a run) run short for a moment, which says nothing about the server.
int Connect() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(Server().port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    const int error = errno;
    ::close(fd);
    if (attempt == 99) std::fprintf(stderr, "connect: %s\n", std::strerror(error));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// Sends `bytes`, half-closes and returns everything the server wrote until it closed (or 5 s
// passed without a byte). nullopt when no connection could be made.
std::optional<std::string> Exchange(std::string_view bytes) {
  const int fd = Connect();
  if (fd < 0) return std::nullopt;
  timeval wait{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  // The server may answer and close before taking every byte (a 400 mid-input): a short
  // write is fine.
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

[[noreturn]] void Broken(const char* what, const std::string& answer) {
  std::fprintf(stderr, "%s; the server wrote %zu bytes: %.200s\n", what, answer.size(), answer.c_str());
  std::abort();
}

}  // namespace
}  // namespace govpool::api

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace govpool::api;
  const auto answer = Exchange(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!answer) Broken("no connection to the server", "");
  if (!answer->empty() && answer->rfind("HTTP/1.1 ", 0) != 0) Broken("not an HTTP/1.1 answer", *answer);
  // After any input, the server still serves.
  static int inputs = 0;
  if (++inputs % 256 == 0) {
    const auto health = Exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (!health || health->rfind("HTTP/1.1 200 ", 0) != 0) Broken("a plain request went unanswered", health.value_or(""));
  }
  return 0;
}
