// The agent's identity towards the controller (docs/security.md, "TLS and agent enrolment"):
// an API token, or a client certificate obtained once with an enrolment token and renewed,
// without a restart, two thirds into its lifetime.
//
//   ClientCredentials   the options every controller connection is made with; thread-safe.
//                       HttpControllerClient rebuilds its connection when they change.
//   AgentIdentity       the key and certificate, kept together in one file (mode 0600), so a
//                       crash never leaves a key without its certificate.
//   CertificateRenewer  renews when due and hands the new certificate to ClientCredentials.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "agent/host_agent.h"
#include "api/client/http_client.h"
#include "api/types.h"
#include "common/clock.h"
#include "common/pki.h"
#include "common/result.h"

namespace govpool::agent {

class ClientCredentials {
 public:
  explicit ClientCredentials(api::ClientOptions base) : options_(std::move(base)) {}
  // The options to connect with now, and their generation (it grows with every change).
  std::pair<api::ClientOptions, std::uint64_t> Current() const;
  std::uint64_t generation() const;
  void SetClientCertificate(std::string certificate_pem, std::string key_pem);

 private:
  mutable std::mutex mu_;
  api::ClientOptions options_;    // guarded by mu_
  std::uint64_t generation_ = 0;  // guarded by mu_
};

struct AgentIdentity {
  std::string key_pem;
  std::string certificate_pem;
  pki::CertificateInfo info;
};

// nullopt when `path` does not exist; InvalidArgument when it is not a key followed by its
// certificate, or others may read it.
Result<std::optional<AgentIdentity>> LoadAgentIdentity(const std::string& path);
Status SaveAgentIdentity(const std::string& path, const AgentIdentity& identity);

// Sends a certificate request to the controller over a connection made with `options`
// (POST /v1/agent-certificates).
using CertificateIssuer =
    std::function<Result<api::AgentCertificateAnswer>(const api::ClientOptions&, const api::AgentCertificateRequest&)>;
// The real one, over api::Client.
CertificateIssuer ControllerCertificateIssuer();

// A new key and the certificate the controller signs for it: with `enrolment_token` the first
// one, else a renewal over `options`' current certificate. The certificate must name
// `host_name` and verify against the key (else InvalidArgument: the controller is not ours).
Result<AgentIdentity> ObtainCertificate(const CertificateIssuer& issue, const api::ClientOptions& options,
                                        const std::string& host_name, const std::string& enrolment_token);

// Two thirds into the certificate's lifetime.
bool RenewalDue(const pki::CertificateInfo& info, std::int64_t now_ms);

class CertificateRenewer {
 public:
  CertificateRenewer(ClientCredentials& credentials, CertificateIssuer issue, std::string path,
                     std::string host_name, AgentIdentity current, const Clock& clock);
  // Renews when due: saves the new identity to `path`, then hands it to the credentials.
  // Returns whether it renewed; a failure leaves the current certificate in use (retried at
  // the next call).
  Result<bool> RenewIfDue();
  // Calls RenewIfDue every `check_every` until `stop`, logging what happened.
  void RunUntil(StopSignal& stop, std::chrono::milliseconds check_every);
  const AgentIdentity& current() const { return current_; }

 private:
  ClientCredentials& credentials_;
  const CertificateIssuer issue_;
  const std::string path_;
  const std::string host_name_;
  AgentIdentity current_;
  const Clock& clock_;
};

}  // namespace govpool::agent
