#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ids.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetSystemRoutes(Router& r, std::function<std::string()> metrics_text) {
  r.AddPublic("GET", "/healthz", [](RouteContext& ctx) {
    // Healthy means the state store still commits: wait for everything applied so far.
    return ctx.db.Read([](const State& s) {
      return api::JsonResponse(200, "{\"status\":\"ok\",\"revision\":" + std::to_string(s.revision()) + "}");
    });
  });
  // For load balancers: send traffic here only while the state store commits. (Each probe's own
  // audit record commits before the answer, so a store that fails now answers 503 too.)
  r.AddPublic("GET", "/readyz", [](RouteContext& ctx) {
    if (ctx.db.commit_stats().failing) {
      return api::ErrorResponse(Unavailable("not ready: the state store's last commit failed"));
    }
    return api::JsonResponse(200, "{\"status\":\"ready\"}");
  });
  // Not public: the metrics name departments, hosts and pools (docs/security.md).
  r.Add("GET", "/metrics", [metrics_text](RouteContext&) {
    api::HttpResponse resp = api::JsonResponse(200, metrics_text());
    resp.content_type = "text/plain; version=0.0.4";
    return resp;
  });
  r.AddPublic("GET", "/v1/openapi.yaml", [](RouteContext&) {
    api::HttpResponse resp = api::JsonResponse(200, std::string(OpenApiDocument()));
    resp.content_type = "application/yaml";
    return resp;
  });
}

void SetStateBackupRoutes(Router& r, std::string work_dir) {
  Route& backup = r.Add("GET", "/v1/system/backup", [work_dir](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (work_dir.empty()) return api::ErrorResponse(FailedPrecondition("this controller makes no backups"));
    ::mkdir(work_dir.c_str(), 0700);
    const std::string path = work_dir + "/backup-" + NewUuid() + ".db";
    if (Status s = ctx.db.store().BackupTo(path); !s.ok()) return api::ErrorResponse(s);
    // Streamed from the open file; the name goes at once, so nothing is left behind whatever
    // becomes of the download.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ::unlink(path.c_str());
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      return api::ErrorResponse(Internal("cannot read the backup just written"));
    }
    api::HttpResponse resp;
    resp.status = 200;
    resp.content_type = "application/vnd.sqlite3";
    resp.body_source = FileBodySource(fd, static_cast<std::uint64_t>(st.st_size));
    return resp;
  });
  backup.extra_handling_ms = 3'600'000;  // the copy of a large state database
}

}  // namespace govpool::controller::http
