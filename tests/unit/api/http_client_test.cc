// HttpClient's base_url rules (api/client/http_client.h): which URLs Create accepts, and that
// the host, port and Host header it derives reach a real listener. Hermetic: a raw socket on
// 127.0.0.1, port 0.
#include "api/client/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>

namespace govpool::api {
namespace {

Status CreateStatus(const std::string& url) {
  ClientOptions options;
  options.base_url = url;
  auto client = HttpClient::Create(options);
  return client.ok() ? OkStatus() : client.status();
}

TEST(HttpClientBaseUrlTest, AcceptsSchemeHostAndPort) {
  for (const char* url :
       {"http://127.0.0.1:8080", "https://example.com", "http://[::1]:80/", "http://[::1]",
        "https://a.b-c.example:1", "http://10.0.0.1", "http://h:65535", "http://h:08080",
        "http://host:" /* an empty port means the default */, "http://ex%41mple"}) {
    EXPECT_TRUE(CreateStatus(url).ok()) << url;
  }
}

TEST(HttpClientBaseUrlTest, RejectsAnythingElse) {
  for (const char* url :
       {"", "127.0.0.1:8080", "//h", "http:h", "http:/h", "ftp://x:1", "HTTP://h", "http://",
        "http://:80", "http://host:0", "http://host:65536", "http://host:99999",
        "http://host:123456", "http://host:x", "http://host:1/path", "http://host//",
        "http://h?x=1", "http://h#f", "http://u@h", "http://u:p@h:1", "http://h h",
        "http://[::1", "http://[v1.x]", "http://::1:8080" /* IPv6 needs brackets */}) {
    const Status s = CreateStatus(url);
    EXPECT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url;
  }
}

// Accepts one connection, reads one request and answers 204; `request` gets what arrived.
class OneShotServer {
 public:
  OneShotServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = read(conn, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
      }
      const std::string reply = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
      (void)!write(conn, reply.data(), reply.size());
      close(conn);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }
  // The request as received; call after the client got its answer.
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

void ExpectHostHeader(const std::string& base_url, const std::string& want_host) {
  OneShotServer server;
  ClientOptions options;
  options.base_url = base_url;
  auto pos = options.base_url.find("PORT");
  options.base_url.replace(pos, 4, std::to_string(server.port()));
  options.timeout_ms = 10'000;
  auto client = HttpClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto response = (*client)->Send("GET", "/v1/x?a=b");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 204);
  const std::string& request = server.request();
  EXPECT_EQ(request.rfind("GET /v1/x?a=b HTTP/1.1\r\n", 0), 0u) << request;
  std::string want = want_host;
  want.replace(want.find("PORT"), 4, std::to_string(server.port()));
  EXPECT_NE(request.find("\r\nHost: " + want + "\r\n"), std::string::npos) << request;
}

TEST(HttpClientBaseUrlTest, HostHeaderIsTheAuthorityAsWritten) {
  ExpectHostHeader("http://127.0.0.1:PORT", "127.0.0.1:PORT");
  ExpectHostHeader("http://127.0.0.1:PORT/", "127.0.0.1:PORT");
  ExpectHostHeader("http://localhost:PORT", "localhost:PORT");
}

}  // namespace
}  // namespace govpool::api
