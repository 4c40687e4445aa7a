// Route registration, one file per resource (ScyllaDB's api/*.cc style): each Set*Routes adds
// thin handlers that parse, call a service inside Db::Read/Write, and render.
#pragma once

#include <functional>
#include <string>

#include "controller/http/router.h"
#include "controller/image_staging.h"
#include "controller/services/services.h"

namespace govpool::controller::http {

void SetDepartmentRoutes(Router& r);
void SetFlavorRoutes(Router& r);
void SetHostRoutes(Router& r);
void SetVmRoutes(Router& r);
void SetUserRoutes(Router& r);
// /v1/auth: login, logout, session, password, TOTP enrolment, policy (routes_auth.cc).
void SetAuthRoutes(Router& r);
void SetServerGroupRoutes(Router& r);
void SetSchedulerRoutes(Router& r);
void SetEventRoutes(Router& r);
// Storage (docs/storage.md): pools, volumes with their snapshots, images (JSON routes; the
// image data routes stream their bodies and are registered on their own).
void SetStoragePoolRoutes(Router& r);
void SetVolumeRoutes(Router& r);
void SetImageRoutes(Router& r);
void SetCapacityRequestRoutes(Router& r);  // /v1/capacity-requests
void SetWebhookRoutes(Router& r);  // /v1/webhooks
void SetBackupRoutes(Router& r);  // /v1/backup-policies and /v1/backups
// Networks (docs/networking.md): /v1/networks, /v1/subnets, /v1/ports.
void SetNetworkRoutes(Router& r);
// /v1/security-groups (and their rules), /v1/routers, /v1/floating-ips, PATCH /v1/ports/{id}.
void SetNetworkSecurityRoutes(Router& r);
// /v1/audit, /v1/audit/export, /v1/audit/verify (docs/security.md, "Audit trail").
void SetAuditRoutes(Router& r);
// PUT/GET /v1/images/{id}/data, streamed to and from `staging` (which must outlive `r`).
void SetImageDataRoutes(Router& r, const ImageStaging& staging);
// POST /v1/host-enrolments and POST /v1/agent-certificates, signed by `issuer` (null: plain
// HTTP, no enrolment; it must outlive `r`).
void SetEnrolmentRoutes(Router& r, const AgentCertificateIssuer* issuer);
// GET /v1/system/backup: a consistent online copy of the state database, made in `work_dir`
// (removed once opened) and streamed (docs/operations.md, "Backup and restore").
void SetStateBackupRoutes(Router& r, std::string work_dir);
// /healthz, /metrics (body from `metrics_text`), /v1/openapi.yaml.
void SetSystemRoutes(Router& r, std::function<std::string()> metrics_text);

// The OpenAPI document (api/openapi/govpool.yaml), embedded at build time.
std::string_view OpenApiDocument();

}  // namespace govpool::controller::http
