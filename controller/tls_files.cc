#include "controller/tls_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

#include "common/private_file.h"

namespace govpool::controller {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string JoinLines(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + "\n";
  return out;
}

Result<pki::KeyAndCertificate> LoadOrCreateCa(const std::string& dir, std::int64_t now_ms) {
  const std::string key_path = dir + "/ca.key";
  const std::string cert_path = dir + "/ca.crt";
  if (Exists(key_path) || Exists(cert_path)) {
    GP_RETURN_IF_ERROR(pki::CheckPrivateKeyFile(key_path));
    GP_ASSIGN_OR_RETURN(std::string key, ReadWhole(key_path));
    GP_ASSIGN_OR_RETURN(std::string cert, ReadWhole(cert_path));
    GP_RETURN_IF_ERROR(pki::CheckCertificatePair(cert, cert, key).Annotate("the CA in " + dir));
    return pki::KeyAndCertificate{std::move(key), std::move(cert)};
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  GP_ASSIGN_OR_RETURN(pki::KeyAndCertificate ca,
                      pki::CreateAuthority("govpool CA " + std::string(host), now_ms, kCaLifetimeMs));
  // The key first: a crash between the two leaves a key without a certificate, which the next
  // start refuses loudly instead of silently making a second CA agents do not trust.
  GP_RETURN_IF_ERROR(WritePrivateFile(key_path, ca.key_pem));
  GP_RETURN_IF_ERROR(WritePrivateFile(cert_path, ca.certificate_pem));
  return ca;
}

// The own server certificate in `dir`, when it can still be served for `names`.
bool OwnCertificateUsable(const std::string& dir, const pki::KeyAndCertificate& ca,
                          const std::vector<std::string>& names, std::int64_t now_ms) {
  auto cert = ReadWhole(dir + "/server.crt");
  auto key = ReadWhole(dir + "/server.key");
  auto issued_for = ReadWhole(dir + "/server.names");
  if (!cert.ok() || !key.ok() || !issued_for.ok() || *issued_for != JoinLines(names)) return false;
  if (!pki::CheckCertificatePair(ca.certificate_pem, *cert, *key).ok()) return false;
  auto info = pki::ReadCertificate(*cert);
  return info.ok() && info->not_after_ms - kServerCertificateRenewBeforeMs > now_ms;
}

}  // namespace

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::pair<std::string, std::string> ServedCertificatePaths(const std::string& dir, const std::string& operator_cert,
                                                           const std::string& operator_key) {
  if (!operator_cert.empty()) return {operator_cert, operator_key};
  return {dir + "/server.crt", dir + "/server.key"};
}

std::vector<std::string> DefaultServerNames(const std::vector<std::string>& configured, const std::string& listen_host) {
  if (!configured.empty()) return configured;
  std::vector<std::string> names;
  auto add = [&](std::string n) {
    if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
  };
  if (listen_host != "0.0.0.0" && listen_host != "::" && listen_host != "[::]") {
    std::string host = listen_host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    add(host);
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) add(host);
  add("localhost");
  add("127.0.0.1");
  add("::1");
  return names;
}

Result<ControllerTls> LoadOrCreateControllerTls(const std::string& dir, const std::vector<std::string>& names,
                                                const std::string& operator_cert, const std::string& operator_key,
                                                std::int64_t now_ms) {
  ::mkdir(dir.c_str(), 0700);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Unavailable("cannot make the TLS folder " + dir);
  }
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument("the TLS folder " + dir + " may be read by others; make it 0700");
  }
  ControllerTls out;
  GP_ASSIGN_OR_RETURN(out.ca, LoadOrCreateCa(dir, now_ms));
  out.ca_path = dir + "/ca.crt";
  std::tie(out.cert_path, out.key_path) = ServedCertificatePaths(dir, operator_cert, operator_key);
  if (!operator_cert.empty()) {
    GP_RETURN_IF_ERROR(pki::CheckPrivateKeyFile(operator_key));
    return out;
  }
  if (OwnCertificateUsable(dir, out.ca, names, now_ms)) {
    GP_RETURN_IF_ERROR(pki::CheckPrivateKeyFile(out.key_path));
    return out;
  }
  GP_ASSIGN_OR_RETURN(pki::KeyAndCertificate server,
                      pki::IssueServerCertificate(out.ca, names, now_ms, kServerCertificateLifetimeMs));
  GP_RETURN_IF_ERROR(WritePrivateFile(out.key_path, server.key_pem));
  GP_RETURN_IF_ERROR(WritePrivateFile(out.cert_path, server.certificate_pem));
  GP_RETURN_IF_ERROR(WritePrivateFile(dir + "/server.names", JoinLines(names)));
  out.issued_server_certificate = true;
  return out;
}

}  // namespace govpool::controller
