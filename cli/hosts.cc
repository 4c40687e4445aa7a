// govpoolctl host ...: compute hosts with capacity, allocation and free resources.
#include <memory>

#include "api/codec.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/values.h"
#include "common/private_file.h"

namespace govpool::cli {
namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

const std::vector<Column<api::Host>>& HostColumns() {
  using H = api::Host;
  static const std::vector<Column<H>> columns = {
      {"ID", [](const H& h) { return h.meta.id; }},
      {"NAME", [](const H& h) { return h.name; }},
      {"POOL", [](const H& h) { return h.pool; }},
      {"STATUS", [](const H& h) { return std::string(api::ToString(h.status)); }},
      {"ENABLED", [](const H& h) { return h.pending ? std::string("pending") : Bool(h.enabled); }},
      {"MAINT", [](const H& h) { return Bool(h.maintenance); }},
      {"CPUS", [](const H& h) { return std::to_string(h.capacity.cpus); }},
      {"VCPUS_USED", [](const H& h) { return std::to_string(h.allocated.vcpus); }},
      {"VCPUS_FREE", [](const H& h) { return std::to_string(h.free.vcpus); }},
      {"MEM_FREE_MIB", [](const H& h) { return std::to_string(h.free.memory_mib); }},
      {"DISK_FREE_GIB", [](const H& h) { return std::to_string(h.free.disk_gib); }},
      {"VMS", [](const H& h) { return std::to_string(h.instances); }},
      {"TRAITS", [](const H& h) { return JoinList(h.traits); }, true},
      {"AGGREGATES", [](const H& h) { return JoinList(h.aggregates); }, true},
  };
  return columns;
}

Status Register(Context& ctx, const api::RegisterHostRequest& req) {
  // Registration is idempotent by name, so a retry is safe.
  GP_ASSIGN_OR_RETURN(api::Host h, ctx.Retried([&] { return ctx.api().RegisterHost(req); }));
  ctx.PrintObject(h);
  return OkStatus();
}

Status List(Context& ctx, const api::HostQuery& query) {
  GP_ASSIGN_OR_RETURN(std::vector<api::Host> items,
                      ctx.ListAll<api::Host>(
                          [&](const api::HostQuery& q) { return ctx.api().ListHosts(q); }, query));
  ctx.PrintList(items, HostColumns());
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.HostId(ref));
  GP_ASSIGN_OR_RETURN(api::Host h, ctx.Retried([&] { return ctx.api().GetHost(id); }));
  ctx.PrintObject(h);
  return OkStatus();
}

struct UpdateArgs {
  std::string ref;
  bool enable = false;
  bool disable = false;
  api::PatchHostRequest req;
  std::optional<std::int64_t> if_match;
};

Status Update(Context& ctx, UpdateArgs args) {
  if (args.enable && args.disable) return UsageError("give --enable or --disable, not both");
  if (args.enable) args.req.enabled = true;
  if (args.disable) args.req.enabled = false;
  const api::PatchHostRequest& r = args.req;
  if (!r.enabled && !r.maintenance && !r.pool && !r.cpu_allocation_ratio &&
      !r.memory_allocation_ratio && !r.disk_allocation_ratio && !r.traits && !r.aggregates) {
    return UsageError("nothing to change: give --enable, --disable, --maintenance, --pool, "
                      "--cpu-ratio, --memory-ratio, --disk-ratio, --traits or --aggregates");
  }
  GP_ASSIGN_OR_RETURN(std::string id, ctx.HostId(args.ref));
  GP_ASSIGN_OR_RETURN(api::Host h, ctx.api().PatchHost(id, r, IfMatch(args.if_match)));
  ctx.PrintObject(h);
  return OkStatus();
}

struct EnrolArgs {
  api::CreateHostEnrolmentRequest req;
  std::string expires = "1h";
  std::string token_out;
  std::string ca_out;
};

// The agent's side of it: govpool-agent --enrolment-token-file (docs/security.md, "TLS and
// agent enrolment").
Status Enrol(Context& ctx, EnrolArgs args) {
  GP_ASSIGN_OR_RETURN(std::int64_t lifetime_ms, ParseDurationMs(args.expires, "--expires"));
  args.req.ttl_s = lifetime_ms / 1000;
  // Not retried: a replay would hand out a second one-time secret.
  GP_ASSIGN_OR_RETURN(api::NewHostEnrolmentAnswer e, ctx.api().CreateHostEnrolment(args.req));
  if (!args.token_out.empty()) GP_RETURN_IF_ERROR(WritePrivateFile(args.token_out, e.token + "\n"));
  if (!args.ca_out.empty()) GP_RETURN_IF_ERROR(WritePrivateFile(args.ca_out, e.ca_certificate));
  if (ctx.json()) {
    ctx.out() << api::Encode(e) << "\n";
    return OkStatus();
  }
  ctx.out() << "enrolment   " << e.enrolment.meta.id << "\n"
            << "host_name   " << e.enrolment.host_name << "\n"
            << "pool        " << e.enrolment.pool << "\n"
            << "expires_at  " << TimeText(e.enrolment.expires_at_ms) << "\n"
            << "token       " << (args.token_out.empty() ? e.token : "(written to " + args.token_out + ")") << "\n";
  if (args.ca_out.empty()) ctx.out() << "ca_certificate\n" << e.ca_certificate;
  ctx.err() << "note: the token works once, until " << TimeText(e.enrolment.expires_at_ms) << "; on host "
            << e.enrolment.host_name << " run govpool-agent --controller URL --ca-file CA_FILE "
            << "--enrolment-token-file TOKEN_FILE\n";
  return OkStatus();
}

Status RevokeCertificates(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.HostId(ref));
  GP_RETURN_IF_ERROR(ctx.Retried([&] { return ctx.api().RevokeHostCertificates(id); }));  // idempotent
  ctx.err() << "the agent of host " << ref << " is locked out until it enrols again (govpoolctl host enrol)\n";
  return OkStatus();
}

}  // namespace

void AddHostCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("host", "compute hosts");
  {
    auto req = std::make_shared<api::RegisterHostRequest>();
    g.AddCommand("register", "register a host by name; for an agent's host, pre-register it (admin)")
        .Arg("NAME", &req->name, "the host's name")
        .Option("--cpus", &req->capacity.cpus, "N", "physical CPUs", 1, 1'000'000).Required()
        .Option("--memory-mib", &req->capacity.memory_mib, "N", "memory in MiB", 1,
                api::kMaxMemoryMib)
        .Required()
        .Option("--disk-gib", &req->capacity.disk_gib, "N", "disk in GiB", 0, api::kMaxDiskGib)
        .Required()
        .Option("--pool", &req->pool, "POOL", "pool (availability zone)")
        .Option("--traits", &req->traits, "T,...", "host traits")
        .Run([req](Context& ctx) { return Register(ctx, *req); });
  }
  {
    auto a = std::make_shared<EnrolArgs>();
    g.AddCommand("enrol", "let a host's agent enrol: a one-time token for its client certificate (admin)")
        .Arg("NAME", &a->req.host_name, "the host's name (its agent's --host-name)")
        .Option("--pool", &a->req.pool, "POOL", "the pool the new host joins")
        .Option("--expires", &a->expires, "DURATION", "how long the token works, e.g. 30m, 1h, 7d (default 1h)")
        .Option("--token-out", &a->token_out, "FILE", "write the token to FILE (mode 0600) instead of printing it")
        .Option("--ca-out", &a->ca_out, "FILE", "write the controller's CA certificate to FILE")
        .Run([a](Context& ctx) { return Enrol(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("revoke-certificates", "revoke every client certificate of a host's agent (admin)")
        .Arg("ID|NAME", ref.get(), "the host")
        .Run([ref](Context& ctx) { return RevokeCertificates(ctx, *ref); });
  }
  {
    auto q = std::make_shared<api::HostQuery>();
    g.AddCommand("list", "list hosts with capacity, allocation and free (admin)")
        .Option("--pool", &q->pool, "POOL", "only hosts in POOL")
        .Choice("--status", &q->status, "only hosts with this status")
        .Run([q](Context& ctx) { return List(ctx, *q); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a host with capacity, allocation and free")
        .Arg("ID|NAME", ref.get(), "the host")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto a = std::make_shared<UpdateArgs>();
    api::PatchHostRequest* r = &a->req;
    Command& c =
        g.AddCommand("update", "change a host (admin)")
            .Arg("ID|NAME", &a->ref, "the host")
            .Flag("--enable", &a->enable, "accept new VMs (approves a pending host)")
            .Flag("--disable", &a->disable, "accept no new VMs")
            .Option("--maintenance", "on|off", "maintenance mode",
                    [r](const std::string& v) -> Status {
                      GP_ASSIGN_OR_RETURN(r->maintenance, ParseOnOff(v, "--maintenance"));
                      return OkStatus();
                    })
            .Option("--pool", &r->pool, "POOL", "move to pool")
            .Option("--cpu-ratio", &r->cpu_allocation_ratio, "X", "CPU allocation ratio (0.1-64)",
                    0.1, api::kMaxAllocationRatio)
            .Option("--memory-ratio", &r->memory_allocation_ratio, "X",
                    "memory allocation ratio (0.1-64)", 0.1, api::kMaxAllocationRatio)
            .Option("--disk-ratio", &r->disk_allocation_ratio, "X",
                    "disk allocation ratio (0.1-64)", 0.1, api::kMaxAllocationRatio)
            .Option("--traits", &r->traits, "T,...", "replace the traits")
            .Option("--aggregates", &r->aggregates, "A,...", "replace the aggregates");
    IfMatchOption(c, &a->if_match).Run([a](Context& ctx) { return Update(ctx, *a); });
  }
}

}  // namespace govpool::cli
