#include "controller/tls_rotation.h"

#include "common/crypto.h"
#include "common/log.h"
#include "common/pki.h"
#include "controller/tls_files.h"

namespace govpool::controller {
namespace {

std::int64_t EpochMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

TlsRotation::TlsRotation(TlsRotationOptions options, const Clock& clock, std::function<Status()> reload)
    : options_(std::move(options)), clock_(clock), reload_(std::move(reload)) {
  const auto [cert_path, key_path] = ServedCertificatePaths(options_.dir, options_.operator_cert, options_.operator_key);
  served_ = Fingerprint(cert_path, key_path);
  ReportNotAfter(cert_path);
}

void TlsRotation::ReportNotAfter(const std::string& cert_path) const {
  if (!options_.served_not_after) return;
  auto pem = ReadWhole(cert_path);
  if (!pem.ok()) return;
  if (auto info = pki::ReadCertificate(*pem); info.ok()) options_.served_not_after(info->not_after_ms);
}

std::string TlsRotation::Fingerprint(const std::string& cert_path, const std::string& key_path) {
  auto cert = ReadWhole(cert_path);
  auto key = ReadWhole(key_path);
  if (!cert.ok() || !key.ok()) return "";
  return Sha256Hex(*cert + '\0' + *key + '\0');
}

Result<bool> TlsRotation::CheckOnce(bool force) {
  std::lock_guard lock(mu_);
  // Issues the own certificate anew when it is due (or no longer for these names or this CA);
  // for an operator's files it only checks the key's mode.
  auto tls = LoadOrCreateControllerTls(options_.dir, options_.names, options_.operator_cert, options_.operator_key,
                                       EpochMs(clock_.Now()));
  if (!tls.ok()) {
    log::Error("cannot renew the controller's server certificate; serving the current one",
               {{"error", tls.status().ToString()}});
    return tls.status();
  }
  if (tls->issued_server_certificate) log::Info("issued the controller's server certificate anew from its CA");
  const std::string now_served = Fingerprint(tls->cert_path, tls->key_path);
  if (!force && now_served == served_) return false;
  if (Status reloaded = reload_(); !reloaded.ok()) {
    log::Error("cannot load the new server certificate; serving the previous one",
               {{"error", reloaded.ToString()}, {"cert", tls->cert_path}});
    return reloaded;
  }
  served_ = now_served;
  ReportNotAfter(tls->cert_path);
  log::Info("serving the server certificate anew (new connections)", {{"cert", tls->cert_path}});
  return true;
}

}  // namespace govpool::controller
