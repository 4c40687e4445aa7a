// govpoolctl audit list|export|verify: the audit trail, for the audit administrator
// (docs/security.md, "Audit trail"). `verify --file` checks an export or an archive file
// offline (the hash chain only: the checkpoints' key never leaves the controller).
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "api/audit_chain.h"
#include "api/codec.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace govpool::cli {
namespace {

// The filters bind straight into the query the client sends (api::AuditQuery).
Command& FilterOptions(Command& c, api::AuditQuery* q) {
  return c.Option("--from-ms", &q->from_ms, "MS", "records committed at or after MS (ms since the epoch)", 0, api::kMaxInt)
      .Option("--to-ms", &q->to_ms, "MS", "records committed before MS", 0, api::kMaxInt)
      .Option("--user", &q->user, "NAME", "only this user's records (anonymous: unauthenticated ones)")
      .Option("--department", &q->department_id, "ID", "only records of this department")
      .Option("--outcome", &q->outcome, "allowed|denied|failed", "only records with this outcome")
      .Option("--kind", &q->kind, "KIND", "only records of this kind (request, login, vm_delete, ...)");
}

struct ListArgs {
  api::AuditQuery query;  // filters, limit and page token
};

Status List(Context& ctx, const ListArgs& args) {
  const api::AuditQuery& q = args.query;
  GP_ASSIGN_OR_RETURN(api::ListPage<api::AuditRecord> page,
                      ctx.Retried([&] { return ctx.api().ListAudit(q); }));
  if (ctx.json()) {
    ctx.out() << api::Encode(page) << "\n";
    return OkStatus();
  }
  std::vector<Row> rows;
  for (const auto& r : page.items) {
    rows.push_back({std::to_string(r.seq), TimeText(r.time_ms), r.kind, r.user, r.role, r.source,
                    r.method, r.route, r.object_id, r.outcome, std::to_string(r.status)});
  }
  ctx.out() << FormatTable({"SEQ", "TIME", "KIND", "USER", "ROLE", "SOURCE", "METHOD", "ROUTE",
                            "OBJECT", "OUTCOME", "STATUS"},
                           rows);
  if (!page.next_page_token.empty()) ctx.out() << "next page: --page-token " << page.next_page_token << "\n";
  return OkStatus();
}

struct ExportArgs {
  api::AuditQuery filter;
  std::string format = "jsonl";
  std::string output;
};

Status Export(Context& ctx, const ExportArgs& args) {
  if (args.format != "jsonl" && args.format != "csv") {
    return InvalidArgument("--format must be jsonl or csv");
  }
  std::ofstream file;
  if (!args.output.empty()) {
    file.open(args.output, std::ios::binary | std::ios::trunc);
    if (!file) return Unavailable("cannot write " + args.output);
  }
  std::ostream& out = args.output.empty() ? ctx.out() : file;
  GP_RETURN_IF_ERROR(ctx.api().ExportAudit(args.filter, args.format, [&out](std::string_view chunk) {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return out ? OkStatus() : Unavailable("writing the export failed");
  }));
  out.flush();
  return out ? OkStatus() : Unavailable("writing the export failed");
}

void PrintVerdict(Context& ctx, const api::AuditVerifyAnswer& v) {
  if (ctx.json()) {
    ctx.out() << api::Encode(v) << "\n";
    return;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"ok", v.ok ? "yes" : "NO"},
      {"records", std::to_string(v.records)},
      {"checkpoints", std::to_string(v.checkpoints)}};
  if (v.archived_through_seq > 0) fields.push_back({"archived through", std::to_string(v.archived_through_seq)});
  if (!v.ok) {
    fields.push_back({"first bad record", std::to_string(v.first_bad_seq)});
    fields.push_back({"problem", v.problem});
    fields.push_back({"message", v.message});
  }
  ctx.out() << FormatFields(fields);
}

// Checks a JSON-lines file (an export or an archive): the chain only. A file that starts
// after seq 1 (a later archive, a filtered export is not checkable) is taken to start where
// its first record says it links.
Result<api::AuditVerifyAnswer> VerifyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  std::optional<api::AuditChainVerifier> verifier;
  std::string line;
  std::int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    auto r = api::Decode<api::AuditRecord>(line);
    if (!r.ok()) {
      return InvalidArgument(path + ":" + std::to_string(number) + ": not an audit record: " + r.status().message());
    }
    if (!verifier) verifier.emplace(r->seq - 1, r->prev_hash);
    verifier->Add(*r);
  }
  if (!verifier) return api::AuditVerifyAnswer{};
  return verifier->Finish();
}

struct VerifyArgs {
  std::string file;
};

Status Verify(Context& ctx, const VerifyArgs& args) {
  api::AuditVerifyAnswer verdict;
  if (!args.file.empty()) {
    GP_ASSIGN_OR_RETURN(verdict, VerifyFile(args.file));
  } else {
    GP_ASSIGN_OR_RETURN(verdict, ctx.api().VerifyAudit());
  }
  PrintVerdict(ctx, verdict);
  if (!verdict.ok) {
    return FailedPrecondition("the audit trail does not verify: record " + std::to_string(verdict.first_bad_seq) +
                              " " + verdict.problem)
        .WithReason("AUDIT_TRAIL_BROKEN");
  }
  return OkStatus();
}

}  // namespace

void AddAuditCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("audit", "the audit trail (audit-admin)");
  auto l = std::make_shared<ListArgs>();
  FilterOptions(g.AddCommand("list", "audit records, oldest first, one page"), &l->query)
      .Option("--limit", &l->query.limit, "N", "at most N records (1-1000; default: the server's)", 1, 1000)
      .Option("--page-token", &l->query.page_token, "TOKEN", "the page after the one that printed TOKEN")
      .Run([l](Context& ctx) { return List(ctx, *l); });
  auto e = std::make_shared<ExportArgs>();
  FilterOptions(g.AddCommand("export", "every matching record, streamed as JSON lines or CSV"), &e->filter)
      .Option("--format", &e->format, "jsonl|csv", "JSON lines (verifiable with verify --file) or CSV")
      .Option("--output", &e->output, "FILE", "write to FILE instead of standard output")
      .Run([e](Context& ctx) { return Export(ctx, *e); });
  auto v = std::make_shared<VerifyArgs>();
  g.AddCommand("verify", "check the hash chain and the signed checkpoints; names the first bad record")
      .Option("--file", &v->file, "FILE", "check an exported or archived JSON-lines file instead (chain only)")
      .Run([v](Context& ctx) { return Verify(ctx, *v); });
}

}  // namespace govpool::cli
