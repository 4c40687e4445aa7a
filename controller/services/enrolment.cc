// Agent enrolment and the agents' client certificates (docs/security.md, "TLS and agent
// enrolment").
#include "common/crypto.h"
#include "controller/services/identity_util.h"
#include "controller/services/services.h"

namespace govpool::controller {

Result<NewHostEnrolment> CreateHostEnrolment(State& s, Txn& t, const Caller& c,
                                             const api::CreateHostEnrolmentRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  NewHostEnrolment out;
  out.secret = std::string(kEnrolmentPrefix) + RandomSecret(32);
  out.enrolment.host_name = req.host_name;
  out.enrolment.pool = req.pool;
  out.enrolment.secret_sha256 = Sha256Hex(out.secret);
  out.enrolment.expires_at_ms = t.now_ms() + req.ttl_s * 1000;
  // Enrolments that can no longer be used go when a new one is made: they are few.
  std::vector<std::string> spent;
  for (const auto& [id, e] : s.enrolments()) {
    if (e.used_at_ms != 0 || e.expires_at_ms <= t.now_ms()) spent.push_back(id);
  }
  for (const auto& id : spent) s.Remove<api::HostEnrolment>(t, id);
  s.Save(t, out.enrolment);
  t.Audit(IdentityAudit(c, "host_enrolment_created", out.enrolment.meta.id,
                        "host " + req.host_name + (req.pool.empty() ? "" : " in pool " + req.pool) +
                            ", valid for " + std::to_string(req.ttl_s) + " s"));
  return out;
}

Status RevokeHostCertificates(State& s, Txn& t, const Caller& c, const std::string& host_id) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  const api::Host* host = s.FindHost(host_id);
  if (!host) return NotFound("host " + host_id + " not found");
  const std::set<std::string> ids = s.AgentCertificatesOfHost(host->name);  // copy: Remove changes it
  for (const std::string& id : ids) s.Remove<api::AgentCertificate>(t, id);
  t.Audit(IdentityAudit(c, "host_certificates_revoked", host_id,
                        std::to_string(ids.size()) + " client certificate(s) of host " + host->name));
  return OkStatus();
}

Result<Caller> AuthenticateCertificate(const State& s, const PresentedCertificate& presented, std::int64_t now_ms) {
  const api::AgentCertificate* cert = s.FindAgentCertificateBySerial(presented.serial);
  if (!cert || cert->host_name != presented.common_name) {
    return Unauthenticated("the client certificate is not (or no longer) one this controller issued");
  }
  if (cert->expires_at_ms <= now_ms) return Unauthenticated("the client certificate has expired or was replaced");
  return Caller{CertificateAgentId(cert->host_name), cert->host_name, api::Role::kAgent, "", "certificate",
                cert->serial, Restriction::kNone};
}

Result<api::AgentCertificateAnswer> IssueAgentCertificate(State& s, Txn& t, const AgentCertificateIssuer& issuer,
                                                          const PresentedCertificate& presented,
                                                          const api::AgentCertificateRequest& req) {
  const std::int64_t now = t.now_ms();
  api::AgentCertificate record;
  const api::AgentCertificate* previous = nullptr;
  if (!presented.serial.empty()) {
    GP_ASSIGN_OR_RETURN(Caller agent, AuthenticateCertificate(s, presented, now));
    if (!req.enrolment_token.empty()) {
      return InvalidArgument("a renewal (over a connection with the agent's certificate) takes no enrolment_token")
          .WithDetail("field", "enrolment_token");
    }
    previous = s.FindAgentCertificateBySerial(presented.serial);
    record.host_name = agent.name;
    record.pool = previous->pool;
  } else {
    if (req.enrolment_token.empty()) {
      return Unauthenticated("an agent's first certificate needs an enrolment_token (govpoolctl host enrol)");
    }
    const api::HostEnrolment* found = s.FindEnrolmentBySecretHash(Sha256Hex(req.enrolment_token));
    if (!found || found->used_at_ms != 0 || found->expires_at_ms <= now) {
      // One answer for all three: the caller learns nothing about which tokens exist.
      return Unauthenticated("the enrolment token is not valid (unknown, already used or expired)");
    }
    record.host_name = found->host_name;
    record.pool = found->pool;
  }
  auto certificate = pki::SignClientCertificate(issuer.ca, req.csr, record.host_name, now,
                                                issuer.certificate_lifetime_ms);
  if (!certificate.ok()) {
    return InvalidArgument(certificate.status().message()).WithDetail("field", "csr");
  }
  GP_ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ReadCertificate(*certificate));
  record.serial = info.serial_hex;
  record.expires_at_ms = info.not_after_ms;
  // Only now is anything changed: a bad CSR leaves the enrolment usable.
  if (previous) {
    api::AgentCertificate old = *previous;
    old.expires_at_ms = std::min(old.expires_at_ms, now + kRenewalOverlapMs);
    s.Save(t, old);
  } else {
    api::HostEnrolment used = *s.FindEnrolmentBySecretHash(Sha256Hex(req.enrolment_token));
    used.used_at_ms = now;
    s.Save(t, used);
  }
  // Certificates past their end go as new ones are issued.
  std::vector<std::string> ended;
  for (const std::string& id : s.AgentCertificatesOfHost(record.host_name)) {
    if (s.agent_certificates().at(id).expires_at_ms <= now) ended.push_back(id);
  }
  for (const auto& id : ended) s.Remove<api::AgentCertificate>(t, id);
  s.Save(t, record);
  Caller actor;
  actor.user_id = CertificateAgentId(record.host_name);
  actor.name = record.host_name;
  actor.role = api::Role::kAgent;
  t.Audit(IdentityAudit(actor, previous ? "agent_certificate_renewed" : "agent_certificate_issued",
                        record.meta.id, "serial " + record.serial + " for host " + record.host_name));
  return api::AgentCertificateAnswer{record.host_name, std::move(certificate).value(), issuer.ca.certificate_pem,
                                     record.expires_at_ms};
}

}  // namespace govpool::controller
