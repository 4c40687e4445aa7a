// The controller's own TLS material under <state_dir>/tls (docs/security.md, "TLS and agent
// enrolment"): a CA, made on the first start, that signs the controller's server certificate
// (unless the operator supplies one) and the enrolled agents' client certificates.
//
//   ca.crt ca.key            the CA (10 years); ca.crt is what agents and the CLI trust
//   server.crt server.key    the controller's certificate (1 year) for `names`
//   server.names             the names it was issued for
// Every file has mode 0600, the folder 0700. Not thread-safe: called at start-up, then by
// TlsRotation (one call at a time).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/pki.h"
#include "common/result.h"

namespace govpool::controller {

struct ControllerTls {
  pki::KeyAndCertificate ca;
  std::string ca_path;    // ca.crt
  std::string cert_path;  // the server certificate chain to serve
  std::string key_path;
  bool issued_server_certificate = false;  // this start made a new one
};

inline constexpr std::int64_t kCaLifetimeMs = 3650LL * 24 * 3600 * 1000;
inline constexpr std::int64_t kServerCertificateLifetimeMs = 365LL * 24 * 3600 * 1000;
// A server certificate that ends sooner than this is replaced at start-up.
inline constexpr std::int64_t kServerCertificateRenewBeforeMs = 30LL * 24 * 3600 * 1000;

// Loads the CA from `dir` or makes it; then the server certificate: with `operator_cert` and
// `operator_key` set those are served (the key's mode is checked), else the own one is
// reused while it is for `names`, issued by this CA and not within
// kServerCertificateRenewBeforeMs of its end, and issued anew otherwise. InvalidArgument for a
// key file others may read or a CA whose key does not match; Unavailable when files cannot be
// written.
Result<ControllerTls> LoadOrCreateControllerTls(const std::string& dir, const std::vector<std::string>& names,
                                                const std::string& operator_cert, const std::string& operator_key,
                                                std::int64_t now_ms);

// The certificate and key files served: the operator's when given, else the own ones in `dir`.
std::pair<std::string, std::string> ServedCertificatePaths(const std::string& dir, const std::string& operator_cert,
                                                           const std::string& operator_key);

// The whole file; NotFound when it cannot be read.
Result<std::string> ReadWhole(const std::string& path);

// The names of the controller's own certificate: `configured` when given, else the listen
// host (unless a wildcard address), this machine's host name, localhost, 127.0.0.1 and ::1.
std::vector<std::string> DefaultServerNames(const std::vector<std::string>& configured, const std::string& listen_host);

}  // namespace govpool::controller
