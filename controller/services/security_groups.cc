// Security groups and their rules (docs/networking.md, "Security groups"): department-owned
// sets of allow rules, applied to the ports that name them. The controller only keeps the
// records; the Northbound sync turns them into port groups, address sets and ACLs.
#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "controller/ipam.h"
#include "controller/services/network_security_internal.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

Status Invalid(const std::string& field, const std::string& message) {
  return InvalidArgument(message).WithDetail("field", field);
}

Result<const api::SecurityGroup*> FindVisibleGroup(const State& s, const Caller& c, const std::string& id) {
  const api::SecurityGroup* g = s.FindSecurityGroup(id);
  if (!g || !c.can_see_department(g->department_id)) return NotFound("security group " + id + " not found");
  return g;
}

// The rules every default group starts with: ingress from members of the group itself (IPv4
// and IPv6), egress anywhere (IPv4 and IPv6). Anything else inbound is dropped.
std::vector<api::SecurityGroupRule> DefaultRules(const std::string& group_id) {
  std::vector<api::SecurityGroupRule> rules;
  for (api::EtherType ethertype : {api::EtherType::kIpv4, api::EtherType::kIpv6}) {
    api::SecurityGroupRule in;
    in.id = NewUuid();
    in.direction = api::RuleDirection::kIngress;
    in.ethertype = ethertype;
    in.remote_group_id = group_id;
    in.description = "from members of this group";
    rules.push_back(in);
    api::SecurityGroupRule out;
    out.id = NewUuid();
    out.direction = api::RuleDirection::kEgress;
    out.ethertype = ethertype;
    out.description = "to anywhere";
    rules.push_back(out);
  }
  return rules;
}

// The prefix normalised to its network address ("10.0.0.5/24" -> "10.0.0.0/24"; a bare
// address is a /32). IPv4 only for now: IPv6 rules are accepted without a prefix.
Result<std::string> NormalizePrefix(const std::string& text, api::EtherType ethertype) {
  if (ethertype != api::EtherType::kIpv4) {
    return Invalid("remote_ip_prefix", "remote_ip_prefix is supported for IPv4 rules only (yet)");
  }
  const auto slash = text.find('/');
  const std::string address_text = text.substr(0, slash);
  std::optional<ipam::Ipv4> address = ipam::ParseIpv4(address_text);
  int prefix = 32;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    const bool digits = !p.empty() && p.size() <= 2 && std::all_of(p.begin(), p.end(), [](char ch) {
      return ch >= '0' && ch <= '9';
    });
    prefix = digits ? std::stoi(p) : -1;
  }
  if (!address || prefix < 0 || prefix > 32) {
    return Invalid("remote_ip_prefix", "'" + text + "' is not an IPv4 CIDR (a.b.c.d/n)");
  }
  const ipam::Ipv4 mask = prefix == 0 ? 0 : (0xffffffffu << (32 - prefix));
  return ipam::FormatIpv4(*address & mask) + "/" + std::to_string(prefix);
}

}  // namespace

namespace network {

Status CheckPortSecurityGroups(const State& s, const std::string& department_id,
                               const std::vector<std::string>& group_ids, const std::string& field) {
  for (const std::string& id : group_ids) {
    const api::SecurityGroup* g = s.FindSecurityGroup(id);
    if (!g || g->department_id != department_id) {
      return Invalid(field, "security group " + id + " does not exist in the port's department");
    }
  }
  return OkStatus();
}

void AssignDefaultSecurityGroup(State& s, Txn& t, api::Port& p) {
  if (!p.device_owner.empty() || !p.security_group_ids.empty()) return;
  const api::SecurityGroup* found = s.FindSecurityGroupByName(p.department_id, kDefaultSecurityGroup);
  if (found) {
    p.security_group_ids = {found->meta.id};
    return;
  }
  api::SecurityGroup g;
  g.meta.id = NewUuid();
  g.name = kDefaultSecurityGroup;
  g.department_id = p.department_id;
  g.description = "made by govpool: ingress from its members, all egress";
  g.rules = DefaultRules(g.meta.id);
  s.Save(t, g);  // counts no quota: it cannot fail
  log::Info("default security group created", {{"security_group_id", g.meta.id}, {"department_id", g.department_id}});
  p.security_group_ids = {g.meta.id};
}

}  // namespace network

Result<api::SecurityGroup> CreateSecurityGroup(State& s, Txn& t, const Caller& c,
                                               const api::CreateSecurityGroupRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d || !c.can_see_department(req.department_id)) return NotFound("department " + req.department_id + " not found");
  GP_RETURN_IF_ERROR(RequireManage(c, d->meta.id, "creating security groups"));
  if (req.name == kDefaultSecurityGroup) {
    return Invalid("name", "the name 'default' is reserved for the department's automatic group");
  }
  if (s.FindSecurityGroupByName(d->meta.id, req.name)) {
    return AlreadyExists("a security group named '" + req.name + "' already exists in department '" + d->name + "'")
        .WithDetail("name", req.name);
  }
  api::SecurityGroup g;
  g.name = req.name;
  g.department_id = d->meta.id;
  g.description = req.description;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(g), 1));
  g.meta.id = NewUuid();
  // Like the default group, a new group lets everything out and nothing in.
  for (api::EtherType ethertype : {api::EtherType::kIpv4, api::EtherType::kIpv6}) {
    api::SecurityGroupRule out;
    out.id = NewUuid();
    out.direction = api::RuleDirection::kEgress;
    out.ethertype = ethertype;
    g.rules.push_back(out);
  }
  s.Save(t, g);
  log::Info("security group created", {{"security_group_id", g.meta.id}, {"department_id", g.department_id}});
  return s.RenderSecurityGroup(g);
}

Result<api::SecurityGroup> GetSecurityGroup(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::SecurityGroup* g, FindVisibleGroup(s, c, id));
  return s.RenderSecurityGroup(*g);
}

Page<api::SecurityGroup> ListSecurityGroups(const State& s, const Caller& c, const std::string& department_id,
                                            const ListOptions& o) {
  return PageOf(
      s.security_groups(), o,
      [&](const api::SecurityGroup& g) {
        if (!department_id.empty() && g.department_id != department_id) return false;
        return c.can_see_department(g.department_id);
      },
      [&](const api::SecurityGroup& g) { return s.RenderSecurityGroup(g); });
}

Result<api::SecurityGroup> PatchSecurityGroup(State& s, Txn& t, const Caller& c, const std::string& id,
                                              const std::optional<std::int64_t>& if_match,
                                              const api::PatchSecurityGroupRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::SecurityGroup* found, FindVisibleGroup(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing security groups"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "security group " + id));
  api::SecurityGroup g = *found;
  if (req.name && *req.name != g.name) {
    if (g.name == kDefaultSecurityGroup) return Invalid("name", "the default security group cannot be renamed");
    if (*req.name == kDefaultSecurityGroup || s.FindSecurityGroupByName(g.department_id, *req.name)) {
      return AlreadyExists("a security group named '" + *req.name + "' already exists in the department")
          .WithDetail("name", *req.name);
    }
    g.name = *req.name;
  }
  if (req.description) g.description = *req.description;
  s.Save(t, g);
  return s.RenderSecurityGroup(g);
}

Status DeleteSecurityGroup(State& s, Txn& t, const Caller& c, const std::string& id,
                           const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::SecurityGroup* g, FindVisibleGroup(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, g->department_id, "deleting security groups"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, g->meta, "security group " + id));
  const std::set<std::string>& ports = s.PortsOfSecurityGroup(id);
  if (!ports.empty()) {
    return FailedPrecondition("security group '" + g->name + "' is used by " + std::to_string(ports.size()) +
                              " port(s); take it off them first (PATCH /v1/ports/{id} security_group_ids)")
        .WithReason("SECURITY_GROUP_IN_USE")
        .WithDetail("ports", std::vector<std::string>(ports.begin(), ports.end()));
  }
  const std::vector<std::string> referring = s.GroupsReferring(id);
  if (!referring.empty()) {
    return FailedPrecondition("security group '" + g->name + "' is the remote group of rules of " +
                              std::to_string(referring.size()) + " other group(s); delete those rules first")
        .WithReason("SECURITY_GROUP_IN_USE")
        .WithDetail("security_groups", referring);
  }
  s.Remove<api::SecurityGroup>(t, id);
  log::Info("security group deleted", {{"security_group_id", id}});
  return OkStatus();
}

Result<api::SecurityGroupRule> AddSecurityGroupRule(State& s, Txn& t, const Caller& c, const std::string& group_id,
                                                    const api::CreateSecurityGroupRuleRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::SecurityGroup* found, FindVisibleGroup(s, c, group_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing security groups"));
  api::SecurityGroupRule rule;
  rule.direction = req.direction;
  rule.ethertype = req.ethertype;
  rule.protocol = req.protocol;
  rule.description = req.description;
  // The request's Check refused port ranges outside tcp/udp and inverted ranges.
  rule.port_range_min = req.port_range_min;
  rule.port_range_max = req.port_range_max;
  if (!req.remote_ip_prefix.empty()) {
    GP_ASSIGN_OR_RETURN(rule.remote_ip_prefix, NormalizePrefix(req.remote_ip_prefix, req.ethertype));
  }
  if (!req.remote_group_id.empty()) {
    const api::SecurityGroup* remote = s.FindSecurityGroup(req.remote_group_id);
    if (!remote || remote->department_id != found->department_id) {
      return Invalid("remote_group_id", "security group " + req.remote_group_id + " does not exist in the department");
    }
    rule.remote_group_id = remote->meta.id;
  }
  GP_RETURN_IF_ERROR(CheckCountLimit(static_cast<std::int64_t>(found->rules.size()), kMaxSecurityGroupRules,
                                     "security_group_rules", "security group '" + found->name + "'"));
  for (const api::SecurityGroupRule& other : found->rules) {
    if (other.direction == rule.direction && other.ethertype == rule.ethertype && other.protocol == rule.protocol &&
        other.port_range_min == rule.port_range_min && other.port_range_max == rule.port_range_max &&
        other.remote_ip_prefix == rule.remote_ip_prefix && other.remote_group_id == rule.remote_group_id) {
      return AlreadyExists("security group '" + found->name + "' already has this rule").WithDetail("rule_id", other.id);
    }
  }
  rule.id = NewUuid();
  api::SecurityGroup g = *found;
  g.rules.push_back(rule);
  s.Save(t, g);  // a new revision: the sync applies it to the group's ports
  return rule;
}

Status DeleteSecurityGroupRule(State& s, Txn& t, const Caller& c, const std::string& group_id,
                               const std::string& rule_id) {
  GP_ASSIGN_OR_RETURN(const api::SecurityGroup* found, FindVisibleGroup(s, c, group_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing security groups"));
  api::SecurityGroup g = *found;
  auto it = std::find_if(g.rules.begin(), g.rules.end(), [&](const api::SecurityGroupRule& r) { return r.id == rule_id; });
  if (it == g.rules.end()) return NotFound("rule " + rule_id + " not found in security group " + group_id);
  g.rules.erase(it);
  s.Save(t, g);
  return OkStatus();
}

// ---- Ports: name and security groups ----

Result<api::Port> PatchPort(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchPortRequest& req) {
  const api::Port* found = s.FindPort(id);
  if (!found || !c.can_see_department(found->department_id)) return NotFound("port " + id + " not found");
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing ports"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "port " + id));
  api::Port p = *found;
  if (req.name) p.name = *req.name;
  if (req.security_group_ids) {
    if (!p.device_owner.empty() && !req.security_group_ids->empty()) {
      return Invalid("security_group_ids", "a " + p.device_owner + " port takes no security group");
    }
    GP_RETURN_IF_ERROR(
        network::CheckPortSecurityGroups(s, p.department_id, *req.security_group_ids, "security_group_ids"));
    p.security_group_ids = *req.security_group_ids;
  }
  s.Save(t, p);  // a new revision: the Northbound sync applies the groups to the running VM's port
  log::Info("port changed", {{"port_id", p.meta.id}});
  return p;
}

}  // namespace govpool::controller
