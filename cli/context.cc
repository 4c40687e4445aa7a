#include "cli/context.h"

#include <map>
#include <optional>
#include <thread>

#include "cli/prompt.h"

namespace govpool::cli {
namespace {

// One collection, listed at most once per command: `list` reads one page.
template <class T, class Query>
struct Catalog {
  std::function<Result<api::ListPage<T>>(const Query&)> list;
  std::optional<Result<std::vector<T>>> items;
  std::map<std::string, std::string> names;  // id -> name, filled with `items`
};

template <class T, class Query>
const Result<std::vector<T>>& Listed(Context& ctx, Catalog<T, Query>& catalog) {
  if (!catalog.items) {
    catalog.items = ctx.ListAll<T>(catalog.list, Query{});
    if (catalog.items->ok()) {
      for (const T& item : **catalog.items) catalog.names[item.meta.id] = item.name;
    }
  }
  return *catalog.items;
}

template <class T, class Query>
Result<std::string> Resolve(Context& ctx, Catalog<T, Query>& catalog, std::string_view kind,
                            const std::string& ref) {
  if (IsUuid(ref)) return ref;
  const Result<std::vector<T>>& items = Listed(ctx, catalog);
  if (!items.ok()) return items.status();
  std::vector<std::string> ids;
  for (const T& item : *items) {
    if (item.name == ref) ids.push_back(item.meta.id);
  }
  if (ids.empty()) {
    return NotFound("no " + std::string(kind) + " named '" + ref + "' (or not visible to you)");
  }
  if (ids.size() > 1) {
    return InvalidArgument(std::to_string(ids.size()) + " " + std::string(kind) + "s are named '" +
                           ref + "'; use an id")
        .WithReason("AMBIGUOUS");
  }
  return ids.front();
}

template <class T, class Query>
std::string NameOf(Context& ctx, Catalog<T, Query>& catalog, const std::string& id) {
  if (id.empty()) return "";
  if (!Listed(ctx, catalog).ok()) return id;
  auto it = catalog.names.find(id);
  return it == catalog.names.end() ? id : it->second;
}

}  // namespace

struct Context::Catalogs {
  Catalog<api::Department, api::PageQuery> departments;
  Catalog<api::Host, api::HostQuery> hosts;
  Catalog<api::Vm, api::VmQuery> vms;
  Catalog<api::User, api::PageQuery> users;
  Catalog<api::ServerGroup, api::PageQuery> server_groups;
  Catalog<api::StoragePool, api::PageQuery> storage_pools;
  Catalog<api::Volume, api::VolumeQuery> volumes;
  Catalog<api::Image, api::PageQuery> images;
  Catalog<api::BackupPolicy, api::BackupQuery> backup_policies;
  Catalog<api::Backup, api::BackupQuery> backups;
  Catalog<api::Network, api::NetworkQuery> networks;
  Catalog<api::Subnet, api::SubnetQuery> subnets;
  Catalog<api::Port, api::PortQuery> ports;
  Catalog<api::SecurityGroup, api::SecurityGroupQuery> security_groups;
  Catalog<api::Router, api::RouterQuery> routers;
};

Context::Context(api::Client& client, std::ostream& out, std::ostream& err, Options options)
    : client_(client), out_(out), err_(err), options_(std::move(options)),
      catalogs_(std::make_unique<Catalogs>()) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  if (!options_.now) options_.now = [] { return std::chrono::steady_clock::now(); };
  if (!options_.now_ms) {
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (!options_.ask) options_.ask = AskTerminal;
  if (!options_.open_client) {
    options_.open_client = [](const std::string&) -> Result<std::unique_ptr<api::Client>> {
      return Internal("no client factory");
    };
  }
  api::Client* c = &client_;
  catalogs_->departments.list = [c](const api::PageQuery& q) { return c->ListDepartments(q); };
  catalogs_->hosts.list = [c](const api::HostQuery& q) { return c->ListHosts(q); };
  catalogs_->vms.list = [c](const api::VmQuery& q) { return c->ListVms(q); };
  catalogs_->users.list = [c](const api::PageQuery& q) { return c->ListUsers(q); };
  catalogs_->server_groups.list = [c](const api::PageQuery& q) { return c->ListServerGroups(q); };
  catalogs_->storage_pools.list = [c](const api::PageQuery& q) { return c->ListStoragePools(q); };
  catalogs_->volumes.list = [c](const api::VolumeQuery& q) { return c->ListVolumes(q); };
  catalogs_->images.list = [c](const api::PageQuery& q) { return c->ListImages(q); };
  catalogs_->backup_policies.list = [c](const api::BackupQuery& q) { return c->ListBackupPolicies(q); };
  catalogs_->backups.list = [c](const api::BackupQuery& q) { return c->ListBackups(q); };
  catalogs_->networks.list = [c](const api::NetworkQuery& q) { return c->ListNetworks(q); };
  catalogs_->subnets.list = [c](const api::SubnetQuery& q) { return c->ListSubnets(q); };
  catalogs_->security_groups.list = [c](const api::SecurityGroupQuery& q) { return c->ListSecurityGroups(q); };
  catalogs_->routers.list = [c](const api::RouterQuery& q) { return c->ListRouters(q); };
  catalogs_->ports.list = [c](const api::PortQuery& q) { return c->ListPorts(q); };
}

Context::~Context() = default;

void Context::Pause(int attempt) { options_.sleep(std::chrono::milliseconds(200 * (attempt + 1))); }

Result<std::string> Context::DepartmentId(const std::string& ref) {
  return Resolve(*this, catalogs_->departments, "department", ref);
}
Result<std::string> Context::HostId(const std::string& ref) {
  return Resolve(*this, catalogs_->hosts, "host", ref);
}
Result<std::string> Context::VmId(const std::string& ref) {
  return Resolve(*this, catalogs_->vms, "vm", ref);
}
Result<std::string> Context::UserId(const std::string& ref) {
  return Resolve(*this, catalogs_->users, "user", ref);
}
Result<std::string> Context::ServerGroupId(const std::string& ref) {
  return Resolve(*this, catalogs_->server_groups, "server group", ref);
}

Result<std::string> Context::StoragePoolId(const std::string& ref) {
  return Resolve(*this, catalogs_->storage_pools, "storage pool", ref);
}
Result<std::string> Context::VolumeId(const std::string& ref) {
  return Resolve(*this, catalogs_->volumes, "volume", ref);
}
Result<std::string> Context::ImageId(const std::string& ref) {
  return Resolve(*this, catalogs_->images, "image", ref);
}
Result<std::string> Context::BackupPolicyId(const std::string& ref) {
  return Resolve(*this, catalogs_->backup_policies, "backup policy", ref);
}
Result<std::string> Context::BackupId(const std::string& ref) {
  return Resolve(*this, catalogs_->backups, "backup", ref);
}
Result<std::string> Context::NetworkId(const std::string& ref) {
  return Resolve(*this, catalogs_->networks, "network", ref);
}
Result<std::string> Context::SubnetId(const std::string& ref) {
  return Resolve(*this, catalogs_->subnets, "subnet", ref);
}
Result<std::string> Context::PortId(const std::string& ref) {
  return Resolve(*this, catalogs_->ports, "port", ref);
}
std::string Context::NetworkName(const std::string& id) { return NameOf(*this, catalogs_->networks, id); }
std::string Context::SubnetName(const std::string& id) { return NameOf(*this, catalogs_->subnets, id); }
Result<std::string> Context::SecurityGroupId(const std::string& ref) {
  return Resolve(*this, catalogs_->security_groups, "security group", ref);
}
Result<std::string> Context::RouterId(const std::string& ref) {
  return Resolve(*this, catalogs_->routers, "router", ref);
}
std::string Context::SecurityGroupName(const std::string& id) {
  return NameOf(*this, catalogs_->security_groups, id);
}

std::string Context::DepartmentName(const std::string& id) {
  return NameOf(*this, catalogs_->departments, id);
}
std::string Context::HostName(const std::string& id) { return NameOf(*this, catalogs_->hosts, id); }
std::string Context::VmName(const std::string& id) { return NameOf(*this, catalogs_->vms, id); }
std::string Context::ServerGroupName(const std::string& id) {
  return NameOf(*this, catalogs_->server_groups, id);
}

std::string Context::StoragePoolName(const std::string& id) {
  return NameOf(*this, catalogs_->storage_pools, id);
}
std::string Context::VolumeName(const std::string& id) { return NameOf(*this, catalogs_->volumes, id); }
std::string Context::ImageName(const std::string& id) { return NameOf(*this, catalogs_->images, id); }
std::string Context::BackupPolicyName(const std::string& id) {
  return NameOf(*this, catalogs_->backup_policies, id);
}

}  // namespace govpool::cli
