// Agent enrolment (docs/security.md, "TLS and agent enrolment").
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

Status RequireIssuer(const AgentCertificateIssuer* issuer) {
  if (issuer) return OkStatus();
  return FailedPrecondition("this controller serves plain HTTP (--insecure-http): agents enrol only over TLS");
}

}  // namespace

void SetEnrolmentRoutes(Router& r, const AgentCertificateIssuer* issuer) {
  r.Add("POST", "/v1/host-enrolments", [issuer](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = RequireIssuer(issuer); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateHostEnrolmentRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    // Not idempotent on purpose: a replay would hand the secret out a second time.
    return ctx.db.Write([&](State& s, Txn& t) {
      auto made = CreateHostEnrolment(s, t, ctx.caller, *req);
      if (!made.ok()) return api::ErrorResponse(made.status());
      return api::JsonResponse(201, api::Encode(api::NewHostEnrolmentAnswer{
                                        made->enrolment, made->secret, issuer->ca.certificate_pem}));
    });
  });
  // Public: the first certificate is paid for with the enrolment token in the body, a renewal
  // with the connection's client certificate.
  r.AddPublic("POST", "/v1/agent-certificates", [issuer](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = RequireIssuer(issuer); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::AgentCertificateRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    const PresentedCertificate presented{ctx.request.client_certificate_cn, ctx.request.client_certificate_serial};
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(IssueAgentCertificate(s, t, *issuer, presented, *req), 201);
    });
  });
}

}  // namespace govpool::controller::http
