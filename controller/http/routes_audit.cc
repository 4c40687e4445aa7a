// The audit trail's routes (docs/security.md, "Audit trail"), for the audit administrator
// only (the access policy, policy.cc): GET /v1/audit lists records with filters and paging,
// GET /v1/audit/export streams them as JSON lines or CSV, POST /v1/audit/verify checks the
// hash chain and the signed checkpoints. They read the store's audit tables directly (on the
// store's own reading connection), never the in-memory state.
#include <algorithm>
#include <charconv>
#include <memory>

#include "api/codec.h"
#include "api/http_stream.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

constexpr std::int64_t kExportPage = 1000;

Result<std::int64_t> QueryInt(const api::HttpRequest& req, const char* name) {
  const std::string* v = req.QueryParam(name);
  if (!v) return std::int64_t{0};
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 0) {
    return InvalidArgument(std::string(name) + " must be a non-negative integer (ms since the epoch)")
        .WithDetail("field", std::string(name));
  }
  return n;
}

// The filters GET /v1/audit and the export share.
Result<AuditFilter> ParseAuditFilter(const api::HttpRequest& req) {
  AuditFilter f;
  GP_ASSIGN_OR_RETURN(f.from_ms, QueryInt(req, "from_ms"));
  GP_ASSIGN_OR_RETURN(f.to_ms, QueryInt(req, "to_ms"));
  if (const std::string* v = req.QueryParam("user")) f.user = *v;
  if (const std::string* v = req.QueryParam("department_id")) f.department_id = *v;
  if (const std::string* v = req.QueryParam("kind")) f.kind = *v;
  if (const std::string* v = req.QueryParam("outcome")) {
    if (*v != "allowed" && *v != "denied" && *v != "failed") {
      return InvalidArgument("outcome must be one of allowed, denied, failed").WithDetail("field", "outcome");
    }
    f.outcome = *v;
  }
  return f;
}

std::string CsvField(std::string_view v) {
  std::string out;
  // A spreadsheet would run a cell starting with these as a formula: quote it as text.
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) out += '\'';
  bool quote = false;
  for (char c : v) {
    if (c == '"') out += '"';
    if (c == '"' || c == ',' || c == '\n' || c == '\r') quote = true;
    out += c;
  }
  return quote || (!out.empty() && out[0] == '\'') ? "\"" + out + "\"" : out;
}

constexpr const char* kCsvHeader =
    "seq,time_ms,kind,user,user_id,role,source,method,route,object_id,department_id,outcome,"
    "status,body_sha256,detail,prev_hash,hash\n";

std::string CsvLine(const api::AuditRecord& r) {
  std::string line;
  for (const std::string& f :
       {std::to_string(r.seq), std::to_string(r.time_ms), r.kind, r.user, r.user_id, r.role,
        r.source, r.method, r.route, r.object_id, r.department_id, r.outcome,
        std::to_string(r.status), r.body_sha256, r.detail, r.prev_hash, r.hash}) {
    if (!line.empty()) line += ',';
    line += CsvField(f);
  }
  return line + "\n";
}

// Streams the records a filter selects, a page of the store at a time.
class AuditExportSource final : public api::BodySource {
 public:
  AuditExportSource(StateStore& store, AuditFilter filter, bool csv)
      : store_(store), filter_(std::move(filter)), csv_(csv) {
    if (csv_) buffer_ = kCsvHeader;
  }

  Result<std::size_t> Read(char* buf, std::size_t n) override {
    while (offset_ == buffer_.size() && !done_) {
      buffer_.clear();
      offset_ = 0;
      AuditFilter page = filter_;
      page.limit = kExportPage;
      std::int64_t seen = 0;
      GP_RETURN_IF_ERROR(store_.ScanAudit(page, [&](const api::AuditRecord& r) {
        ++seen;
        filter_.after_seq = r.seq;
        buffer_ += csv_ ? CsvLine(r) : api::Encode(r) + "\n";
        return true;
      }));
      done_ = seen < kExportPage;
    }
    const std::size_t count = std::min(n, buffer_.size() - offset_);
    std::copy_n(buffer_.data() + offset_, count, buf);
    offset_ += count;
    return count;
  }

 private:
  StateStore& store_;
  AuditFilter filter_;
  const bool csv_;
  std::string buffer_;
  std::size_t offset_ = 0;
  bool done_ = false;
};

}  // namespace

void SetAuditRoutes(Router& r) {
  r.Add("GET", "/v1/audit", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "from_ms", "to_ms", "user",
                                            "department_id", "outcome", "kind"});
        !s.ok()) {
      return api::ErrorResponse(s);
    }
    // The trail's page token is a record's seq, not the UUID ParseListOptions expects: it is
    // read here and the rest of the paging options there.
    const std::string* token_param = ctx.request.QueryParam("page_token");
    const std::string page_token = token_param ? *token_param : "";
    api::HttpRequest without_token = ctx.request;
    std::erase_if(without_token.query, [](const auto& kv) { return kv.first == "page_token"; });
    auto opts = ParseListOptions(without_token);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    auto filter = ParseAuditFilter(ctx.request);
    if (!filter.ok()) return api::ErrorResponse(filter.status());
    if (!page_token.empty()) {
      auto [end, ec] = std::from_chars(page_token.data(), page_token.data() + page_token.size(),
                                       filter->after_seq);
      if (ec != std::errc() || end != page_token.data() + page_token.size()) {
        return api::ErrorResponse(InvalidArgument("page_token is not one this server gave").WithDetail("field", "page_token"));
      }
    }
    filter->limit = opts->limit + 1;  // one more tells whether another page follows
    api::ListPage<api::AuditRecord> page;
    Status s = ctx.db.store().ScanAudit(*filter, [&](const api::AuditRecord& rec) {
      page.items.push_back(rec);
      return true;
    });
    if (!s.ok()) return api::ErrorResponse(s);
    if (static_cast<std::int64_t>(page.items.size()) > opts->limit) {
      page.items.pop_back();
      page.next_page_token = std::to_string(page.items.back().seq);
    }
    return RenderPage(page);
  });
  r.Add("GET", "/v1/audit/export", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"format", "from_ms", "to_ms", "user", "department_id",
                                            "outcome", "kind"});
        !s.ok()) {
      return api::ErrorResponse(s);
    }
    const std::string* format = ctx.request.QueryParam("format");
    const bool csv = format && *format == "csv";
    if (format && !csv && *format != "jsonl") {
      return api::ErrorResponse(InvalidArgument("format must be jsonl or csv").WithDetail("field", "format"));
    }
    auto filter = ParseAuditFilter(ctx.request);
    if (!filter.ok()) return api::ErrorResponse(filter.status());
    api::HttpResponse resp;
    resp.status = 200;
    resp.content_type = csv ? "text/csv" : "application/x-ndjson";
    resp.body_source = std::make_shared<AuditExportSource>(ctx.db.store(), *filter, csv);
    return resp;
  });
  r.Add("POST", "/v1/audit/verify", [](RouteContext& ctx) {
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return Render(VerifyAuditTrail(ctx.db.store(), ctx.db.audit_options().key), 200);
  });
}

}  // namespace govpool::controller::http
