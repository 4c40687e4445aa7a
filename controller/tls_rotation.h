// TlsRotation: keeps the certificate the controller serves current without a restart
// (docs/security.md, "TLS and agent enrolment"). The controller's own certificate is issued
// anew from its CA once it comes within kServerCertificateRenewBeforeMs of its end; an
// operator's files (--tls-cert/--tls-key) are served anew once their content changes (a
// renewal tool replaced them). Either way `reload` (the server's ReloadTls) switches the
// connections accepted from then on; open ones keep what they began with.
// The housekeeper calls CheckOnce every hour, and the controller on SIGHUP with force.
// Thread-safety: CheckOnce may be called from any thread (calls are serialized).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace govpool::controller {

struct TlsRotationOptions {
  std::string dir;                 // <state_dir>/tls: the CA and the own certificate
  std::vector<std::string> names;  // of the own certificate
  // Both set: the operator's files are served and only watched for changes.
  std::string operator_cert;
  std::string operator_key;
  // Optional: told the end (Unix ms) of the certificate served, at construction and after each
  // reload (the metric govpool_server_certificate_expiry_timestamp_seconds).
  std::function<void(std::int64_t not_after_ms)> served_not_after;
};

class TlsRotation {
 public:
  // `clock` must outlive it. Remembers the files served now (those the server started with).
  TlsRotation(TlsRotationOptions options, const Clock& clock, std::function<Status()> reload);

  // Renews the own certificate when due, then reloads when the served files changed (or
  // `force`). true when it reloaded. On error (the renewal or the reload failed) the server
  // keeps serving what it served, and the next call tries again.
  Result<bool> CheckOnce(bool force = false);

 private:
  void ReportNotAfter(const std::string& cert_path) const;
  // SHA-256 of the certificate and key files as they are now ("" when unreadable).
  static std::string Fingerprint(const std::string& cert_path, const std::string& key_path);

  const TlsRotationOptions options_;
  const Clock& clock_;
  const std::function<Status()> reload_;
  std::mutex mu_;
  std::string served_;  // Fingerprint of what the server serves; guarded by mu_
};

}  // namespace govpool::controller
