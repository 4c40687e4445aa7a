#include "agent/agent_certificate.h"

#include <fstream>
#include <sstream>

#include "api/client/client.h"
#include "common/log.h"
#include "common/private_file.h"

namespace govpool::agent {
namespace {

std::int64_t NowMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

}  // namespace

std::pair<api::ClientOptions, std::uint64_t> ClientCredentials::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {options_, generation_};
}

std::uint64_t ClientCredentials::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void ClientCredentials::SetClientCertificate(std::string certificate_pem, std::string key_pem) {
  std::lock_guard<std::mutex> lock(mu_);
  options_.client_certificate_pem = std::move(certificate_pem);
  options_.client_key_pem = std::move(key_pem);
  options_.bearer_token.clear();
  ++generation_;
}

Result<std::optional<AgentIdentity>> LoadAgentIdentity(const std::string& path) {
  if (Status mode = pki::CheckPrivateKeyFile(path); !mode.ok()) {
    if (mode.code() == StatusCode::kNotFound) return std::optional<AgentIdentity>();
    return mode;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  const std::string::size_type cert_at = all.find("-----BEGIN CERTIFICATE-----");
  if (!in || cert_at == std::string::npos) {
    return InvalidArgument(path + " does not hold a key followed by its certificate");
  }
  AgentIdentity id{all.substr(0, cert_at), all.substr(cert_at), {}};
  auto info = pki::ReadCertificate(id.certificate_pem);
  if (!info.ok()) return info.status().Annotate(path);
  id.info = std::move(info).value();
  return std::optional<AgentIdentity>(std::move(id));
}

Status SaveAgentIdentity(const std::string& path, const AgentIdentity& identity) {
  return WritePrivateFile(path, identity.key_pem + identity.certificate_pem);
}

CertificateIssuer ControllerCertificateIssuer() {
  return [](const api::ClientOptions& options, const api::AgentCertificateRequest& req)
             -> Result<api::AgentCertificateAnswer> {
    GP_ASSIGN_OR_RETURN(auto client, api::Client::Create(options));
    return client->IssueAgentCertificate(req);
  };
}

Result<AgentIdentity> ObtainCertificate(const CertificateIssuer& issue, const api::ClientOptions& options,
                                        const std::string& host_name, const std::string& enrolment_token) {
  AgentIdentity id;
  GP_ASSIGN_OR_RETURN(id.key_pem, pki::NewPrivateKey());
  api::AgentCertificateRequest req;
  req.enrolment_token = enrolment_token;
  GP_ASSIGN_OR_RETURN(req.csr, pki::MakeCertificateRequest(id.key_pem, host_name));
  api::ClientOptions o = options;
  if (!enrolment_token.empty()) {
    // The enrolment token is the credential: no other goes along.
    o.bearer_token.clear();
    o.client_certificate_pem.clear();
    o.client_key_pem.clear();
  }
  auto answer = issue(o, req);
  if (!answer.ok()) return answer.status().Annotate(enrolment_token.empty() ? "renewing the agent's certificate"
                                                                            : "enrolling with the controller");
  id.certificate_pem = answer->certificate;
  auto info = pki::ReadCertificate(id.certificate_pem);
  if (!info.ok()) return InvalidArgument("the controller answered no certificate: " + info.status().message());
  id.info = std::move(info).value();
  if (id.info.common_name != host_name) {
    return InvalidArgument("the controller issued a certificate for '" + id.info.common_name + "', not '" +
                           host_name + "'");
  }
  if (!o.ca_file.empty()) {
    std::ifstream in(o.ca_file);
    std::ostringstream ca;
    ca << in.rdbuf();
    if (Status pair = pki::CheckCertificatePair(ca.str(), id.certificate_pem, id.key_pem); !pair.ok()) {
      return pair.Annotate("the certificate the controller issued");
    }
  }
  return id;
}

bool RenewalDue(const pki::CertificateInfo& info, std::int64_t now_ms) {
  return now_ms >= info.not_before_ms + (info.not_after_ms - info.not_before_ms) * 2 / 3;
}

CertificateRenewer::CertificateRenewer(ClientCredentials& credentials, CertificateIssuer issue, std::string path,
                                       std::string host_name, AgentIdentity current, const Clock& clock)
    : credentials_(credentials),
      issue_(std::move(issue)),
      path_(std::move(path)),
      host_name_(std::move(host_name)),
      current_(std::move(current)),
      clock_(clock) {}

Result<bool> CertificateRenewer::RenewIfDue() {
  if (!RenewalDue(current_.info, NowMs(clock_))) return false;
  GP_ASSIGN_OR_RETURN(AgentIdentity next, ObtainCertificate(issue_, credentials_.Current().first, host_name_, ""));
  // Saved first: after a crash the agent starts with the certificate the controller knows.
  GP_RETURN_IF_ERROR(SaveAgentIdentity(path_, next));
  credentials_.SetClientCertificate(next.certificate_pem, next.key_pem);
  current_ = std::move(next);
  return true;
}

void CertificateRenewer::RunUntil(StopSignal& stop, std::chrono::milliseconds check_every) {
  while (stop.WaitUntil(clock_, clock_.MonotonicNow() + check_every)) {
    auto renewed = RenewIfDue();
    if (!renewed.ok()) {
      log::Warn("cannot renew the agent's certificate yet; retried later",
                {{"error", renewed.status().ToString()}, {"expires_at_ms", current_.info.not_after_ms}});
    } else if (*renewed) {
      log::Info("renewed the agent's certificate",
                {{"serial", current_.info.serial_hex}, {"expires_at_ms", current_.info.not_after_ms}});
    }
  }
}

}  // namespace govpool::agent
