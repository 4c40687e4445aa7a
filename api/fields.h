// The `schema::Fields` list of every wire type in api/types.h: JSON name, member, rule and
// flags (api/schema.h). Apart from types.h on purpose: the lists are large constexpr tuples
// that cost the compiler about five seconds in every translation unit that sees them, and only
// the code that walks them (the codec, the CLI's table printer, the OpenAPI conformance test,
// the decoder fuzzer) needs them. Everything else includes api/types.h and api/codec.h.
#pragma once

#include <optional>
#include <tuple>

#include "api/schema.h"
#include "api/types.h"

// ---- Declarations: one list per type (see api/schema.h) ----
namespace govpool::api::schema {

template <> struct Fields<Meta> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &Meta::id, Text{64}, kRequired},
      Field{"revision", &Meta::revision, Range{0, kMaxInt}},
      Field{"created_at", &Meta::created_at_ms, Time{}},
      Field{"updated_at", &Meta::updated_at_ms, Time{}},
  };
};

template <> struct Fields<Quota> {
  static constexpr Range kLimit{-1, kMaxQuota};
  static constexpr auto kAll = std::tuple{
      Field{"instances", &Quota::instances, kLimit},   Field{"vcpus", &Quota::vcpus, kLimit},
      Field{"memory_mib", &Quota::memory_mib, kLimit}, Field{"volumes", &Quota::volumes, kLimit},
      Field{"volume_gib", &Quota::volume_gib, kLimit}, Field{"snapshots", &Quota::snapshots, kLimit},
      Field{"backup_gib", &Quota::backup_gib, kLimit},
      Field{"networks", &Quota::networks, kLimit},
      Field{"ports", &Quota::ports, kLimit},
      Field{"security_groups", &Quota::security_groups, kLimit},
      Field{"routers", &Quota::routers, kLimit},
      Field{"floating_ips", &Quota::floating_ips, kLimit},
      Field{"server_groups", &Quota::server_groups, kLimit},
  };
};
template <> struct Fields<QuotaPatch> {
  static constexpr Range kLimit{-1, kMaxQuota};
  static constexpr auto kAll = std::tuple{
      Field{"instances", &QuotaPatch::instances, kLimit},
      Field{"vcpus", &QuotaPatch::vcpus, kLimit},
      Field{"memory_mib", &QuotaPatch::memory_mib, kLimit},
      Field{"volumes", &QuotaPatch::volumes, kLimit},
      Field{"volume_gib", &QuotaPatch::volume_gib, kLimit},
      Field{"snapshots", &QuotaPatch::snapshots, kLimit},
      Field{"backup_gib", &QuotaPatch::backup_gib, kLimit},
      Field{"networks", &QuotaPatch::networks, kLimit},
      Field{"ports", &QuotaPatch::ports, kLimit},
      Field{"security_groups", &QuotaPatch::security_groups, kLimit},
      Field{"routers", &QuotaPatch::routers, kLimit},
      Field{"floating_ips", &QuotaPatch::floating_ips, kLimit},
      Field{"server_groups", &QuotaPatch::server_groups, kLimit},
  };
};

template <> struct Fields<Department> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Department::meta},
      Field{"name", &Department::name, Text{}, kRequired},
      Field{"description", &Department::description, Text{4096}},
      Field{"parent_id", &Department::parent_id, Text{64}},
      Field{"quota", &Department::quota},
      Field{"allowed_pools", &Department::allowed_pools, Names{1024}},
      Field{"allowed_storage_pools", &Department::allowed_storage_pools, Names{1024}},
      Field{"member_power_actions", &Department::member_power_actions},
  };
};

template <> struct Fields<Flavor> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Flavor::meta},
      Field{"name", &Flavor::name, Text{}, kRequired},
      Field{"description", &Flavor::description, Text{4096}},
      Field{"vcpus", &Flavor::vcpus, Range{0, kMaxInt}, kRequired},
      Field{"memory_mib", &Flavor::memory_mib, Range{0, kMaxInt}, kRequired},
      Field{"disk_gib", &Flavor::disk_gib, Range{0, kMaxInt}, kRequired},
      Field{"required_traits", &Flavor::required_traits, Names{1024}},
      Field{"forbidden_traits", &Flavor::forbidden_traits, Names{1024}},
      Field{"required_aggregates", &Flavor::required_aggregates, Names{1024}},
  };
};

template <> struct Fields<ServerGroup> {
  static constexpr auto kAll = std::tuple{
      Flatten{&ServerGroup::meta},
      Field{"name", &ServerGroup::name, Text{}, kRequired},
      Field{"department_id", &ServerGroup::department_id, Text{64}, kRequired},
      Field{"policy", &ServerGroup::policy, Any{}, kRequired},
      Field{"hard", &ServerGroup::hard},
  };
};

template <> struct Fields<NumaCell> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &NumaCell::id, Range{0, 1023}, kRequired},
      Field{"cpus", &NumaCell::cpus, Range{1, kMaxVcpus}, kRequired},
      Field{"memory_mib", &NumaCell::memory_mib, Range{1, kMaxMemoryMib}, kRequired},
  };
};

template <> struct Fields<HostCapacity> {
  static constexpr auto kAll = std::tuple{
      Field{"cpus", &HostCapacity::cpus, Range{1, kMaxVcpus}, kRequired},
      Field{"memory_mib", &HostCapacity::memory_mib, Range{1, kMaxMemoryMib}, kRequired},
      Field{"disk_gib", &HostCapacity::disk_gib, Range{0, kMaxDiskGib}, kRequired},
      Field{"numa_cells", &HostCapacity::numa_cells, Items{64}},
  };
  // Cells have distinct ids and add up to the host's cpus and memory.
  static std::optional<Violation> Check(const HostCapacity& c) {
    if (c.numa_cells.empty()) return std::nullopt;
    std::int64_t cpus = 0, memory_mib = 0;
    for (std::size_t i = 0; i < c.numa_cells.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (c.numa_cells[j].id == c.numa_cells[i].id) {
          return Violation{"numa_cells[" + std::to_string(i) + "].id", "duplicate cell id"};
        }
      }
      cpus += c.numa_cells[i].cpus;
      memory_mib += c.numa_cells[i].memory_mib;
    }
    if (cpus != c.cpus || memory_mib != c.memory_mib) {
      return Violation{"numa_cells", "cells must add up to the host's cpus and memory_mib"};
    }
    return std::nullopt;
  }
};

template <> struct Fields<ResourceAmounts> {
  static constexpr auto kAll = std::tuple{
      Field{"vcpus", &ResourceAmounts::vcpus, Range{0, kMaxInt}},
      Field{"memory_mib", &ResourceAmounts::memory_mib, Range{0, kMaxInt}},
      Field{"disk_gib", &ResourceAmounts::disk_gib, Range{0, kMaxInt}},
  };
};

template <> struct Fields<HostActualUsage> {
  static constexpr auto kAll = std::tuple{
      Field{"domains", &HostActualUsage::domains, Range{0, 1'000'000}, kRequired},
      Field{"govpool_domains", &HostActualUsage::govpool_domains, Range{0, 1'000'000}, kRequired},
      Field{"running", &HostActualUsage::running, Range{0, 1'000'000}, kRequired},
      Field{"vcpus", &HostActualUsage::vcpus, Range{0, kMaxVcpus * 1024}, kRequired},
      Field{"memory_mib", &HostActualUsage::memory_mib, Range{0, kMaxMemoryMib}, kRequired},
      Field{"cpu_busy_millicores", &HostActualUsage::cpu_busy_millicores, Range{0, kMaxVcpus * 1024 * 1000}},
      Field{"memory_used_mib", &HostActualUsage::memory_used_mib, Range{0, kMaxMemoryMib}},
      // Set by the controller when the report arrives; agents do not send it.
      Field{"reported_at", &HostActualUsage::reported_at_ms, Time{}, kEmptyWhenZero | kDerived},
  };
};

template <> struct Fields<Host> {
  static constexpr Real kRatio{0, 1e9};
  static constexpr auto kAll = std::tuple{
      Flatten{&Host::meta},
      Field{"name", &Host::name, Text{}, kRequired},
      Field{"pool", &Host::pool},
      Field{"status", &Host::status},
      Field{"enabled", &Host::enabled},
      Field{"pending", &Host::pending},
      Field{"maintenance", &Host::maintenance},
      Field{"capacity", &Host::capacity, Any{}, kRequired},
      Field{"cpu_allocation_ratio", &Host::cpu_allocation_ratio, kRatio},
      Field{"memory_allocation_ratio", &Host::memory_allocation_ratio, kRatio},
      Field{"disk_allocation_ratio", &Host::disk_allocation_ratio, kRatio},
      Field{"traits", &Host::traits, Names{1024}},
      Field{"aggregates", &Host::aggregates, Names{1024}},
      Field{"dedicated_departments", &Host::dedicated_departments, Names{1024}},
      Field{"max_instances", &Host::max_instances, Range{0, kMaxInt}},
      Field{"last_heartbeat_at", &Host::last_heartbeat_ms, Time{}, kEmptyWhenZero},
      Field{"agent_user_id", &Host::agent_user_id, Text{80}},
      Field{"storage_clusters", &Host::storage_clusters, Names{64}},
      Field{"metrics_address", &Host::metrics_address, Text{270}},
      Field{"storage_pools", &Host::storage_pools, Any{}, kDerived},
      Field{"allocated", &Host::allocated, Any{}, kDerived},
      Field{"free", &Host::free, Any{}, kDerived},
      Field{"instances", &Host::instances, Any{}, kDerived},
      Field{"actual_usage", &Host::actual, Any{}, kDerived},
  };
};

template <> struct Fields<StoragePoolStats> {
  static constexpr auto kAll = std::tuple{
      Field{"capacity_bytes", &StoragePoolStats::capacity_bytes, Range{0, kMaxInt}},
      Field{"used_bytes", &StoragePoolStats::used_bytes, Range{0, kMaxInt}},
      Field{"available_bytes", &StoragePoolStats::available_bytes, Range{0, kMaxInt}},
      Field{"used_ratio", &StoragePoolStats::used_ratio, Real{0, 1e6}},
      Field{"nearfull", &StoragePoolStats::nearfull},
      Field{"full", &StoragePoolStats::full},
      Field{"reported_at", &StoragePoolStats::reported_at_ms, Time{}, kEmptyWhenZero | kDerived},
  };
};

template <> struct Fields<StoragePool> {
  static constexpr auto kAll = std::tuple{
      Flatten{&StoragePool::meta},
      Field{"name", &StoragePool::name, Text{}, kRequired},
      Field{"cluster", &StoragePool::cluster, Text{}, kRequired},
      Field{"ceph_pool", &StoragePool::ceph_pool, Text{}, kRequired},
      Field{"tiers", &StoragePool::tiers, Names{64}},
      Field{"provisioning_ratio", &StoragePool::provisioning_ratio, Real{0, 1e9}},
      Field{"nearfull_ratio", &StoragePool::nearfull_ratio, Real{0, 1}},
      Field{"enabled", &StoragePool::enabled},
      Field{"stats", &StoragePool::stats, Any{}, kDerived},
      Field{"status", &StoragePool::status, Any{}, kDerived},
      Field{"allocated_gib", &StoragePool::allocated_gib, Any{}, kDerived},
      Field{"volumes", &StoragePool::volumes, Any{}, kDerived},
      Field{"hosts", &StoragePool::hosts, Any{}, kDerived},
  };
};

template <> struct Fields<Volume> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Volume::meta},
      Field{"name", &Volume::name, Text{}, kRequired},
      Field{"department_id", &Volume::department_id, Text{64}, kRequired},
      Field{"pool_id", &Volume::pool_id, Text{64}, kRequired},
      Field{"size_gib", &Volume::size_gib, Range{0, kMaxDiskGib}, kRequired},
      Field{"source_image_id", &Volume::source_image_id, Text{64}},
      Field{"source_snapshot_id", &Volume::source_snapshot_id, Text{64}},
      Field{"source_backup_id", &Volume::source_backup_id, Text{64}},
      Field{"vm_id", &Volume::vm_id, Text{64}},
      Field{"device", &Volume::device, Text{16}},
      Field{"boot", &Volume::boot},
      Field{"host_id", &Volume::host_id, Text{64}},
      Field{"deleting", &Volume::deleting},
      Field{"flatten", &Volume::flatten},
      Field{"rollback_snapshot_id", &Volume::rollback_snapshot_id, Text{64}},
      Field{"generation", &Volume::generation, Range{0, kMaxInt}},
      Field{"state", &Volume::state},
      Field{"state_reason", &Volume::state_reason, Text{4096}},
      Field{"observed_generation", &Volume::observed_generation, Range{0, kMaxInt}},
      Field{"flattened", &Volume::flattened},
  };
};

template <> struct Fields<VolumeSnapshot> {
  static constexpr auto kAll = std::tuple{
      Flatten{&VolumeSnapshot::meta},
      Field{"name", &VolumeSnapshot::name, Text{}, kRequired},
      Field{"volume_id", &VolumeSnapshot::volume_id, Text{64}, kRequired},
      Field{"department_id", &VolumeSnapshot::department_id, Text{64}, kRequired},
      Field{"pool_id", &VolumeSnapshot::pool_id, Text{64}, kRequired},
      Field{"size_gib", &VolumeSnapshot::size_gib, Range{0, kMaxDiskGib}},
      Field{"host_id", &VolumeSnapshot::host_id, Text{64}},
      Field{"deleting", &VolumeSnapshot::deleting},
      Field{"flatten_children", &VolumeSnapshot::flatten_children},
      Field{"state", &VolumeSnapshot::state},
      Field{"state_reason", &VolumeSnapshot::state_reason, Text{4096}},
  };
};

template <> struct Fields<Image> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Image::meta},
      Field{"name", &Image::name, Text{}, kRequired},
      Field{"department_id", &Image::department_id, Text{64}},
      Field{"visibility", &Image::visibility},
      Field{"format", &Image::format},
      Field{"pool_id", &Image::pool_id, Text{64}},
      Field{"host_id", &Image::host_id, Text{64}},
      Field{"size_bytes", &Image::size_bytes, Range{0, kMaxInt}},
      Field{"sha256", &Image::sha256, Text{64}},
      Field{"uploaded_bytes", &Image::uploaded_bytes, Range{0, kMaxInt}},
      Field{"imported_bytes", &Image::imported_bytes, Range{0, kMaxInt}},
      Field{"virtual_size_bytes", &Image::virtual_size_bytes, Range{0, kMaxInt}},
      Field{"content_sha256", &Image::content_sha256, Text{64}},
      Field{"verified_at", &Image::verified_at_ms, Time{}, kEmptyWhenZero},
      Field{"deleting", &Image::deleting},
      Field{"generation", &Image::generation, Range{0, kMaxInt}},
      Field{"observed_generation", &Image::observed_generation, Range{0, kMaxInt}},
      Field{"state", &Image::state},
      Field{"state_reason", &Image::state_reason, Text{4096}},
  };
};

template <> struct Fields<BackupPolicy> {
  static constexpr auto kAll = std::tuple{
      Flatten{&BackupPolicy::meta},
      Field{"name", &BackupPolicy::name, Text{}, kRequired},
      Field{"department_id", &BackupPolicy::department_id, Text{64}, kRequired},
      Field{"volume_id", &BackupPolicy::volume_id, Text{64}},
      Field{"schedule", &BackupPolicy::schedule, Text{64}, kRequired},
      Field{"keep", &BackupPolicy::keep, Range{1, 1000}},
      Field{"target_pool_id", &BackupPolicy::target_pool_id, Text{64}, kRequired},
      Field{"enabled", &BackupPolicy::enabled},
      Field{"last_run_at", &BackupPolicy::last_run_at_ms, Time{}, kEmptyWhenZero},
      Field{"next_run_at", &BackupPolicy::next_run_at_ms, Time{}, kEmptyWhenZero | kDerived},
  };
};

template <> struct Fields<Backup> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Backup::meta},
      Field{"name", &Backup::name, Text{}, kRequired},
      Field{"department_id", &Backup::department_id, Text{64}, kRequired},
      Field{"volume_id", &Backup::volume_id, Text{64}, kRequired},
      Field{"volume_name", &Backup::volume_name, Text{}},
      Field{"source_pool_id", &Backup::source_pool_id, Text{64}, kRequired},
      Field{"target_pool_id", &Backup::target_pool_id, Text{64}, kRequired},
      Field{"policy_id", &Backup::policy_id, Text{64}},
      Field{"parent_backup_id", &Backup::parent_backup_id, Text{64}},
      Field{"size_gib", &Backup::size_gib, Range{0, kMaxDiskGib}},
      Field{"host_id", &Backup::host_id, Text{64}},
      Field{"deleting", &Backup::deleting},
      Field{"generation", &Backup::generation, Range{0, kMaxInt}},
      Field{"attempts", &Backup::attempts, Range{0, kMaxInt}},
      Field{"state", &Backup::state},
      Field{"state_reason", &Backup::state_reason, Text{4096}},
      Field{"observed_generation", &Backup::observed_generation, Range{0, kMaxInt}},
      Field{"incremental", &Backup::incremental},
      Field{"transferred_bytes", &Backup::transferred_bytes, Range{0, kMaxInt}},
      Field{"completed_at", &Backup::completed_at_ms, Time{}, kEmptyWhenZero},
  };
};

template <> struct Fields<Network> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Network::meta},
      Field{"name", &Network::name, Text{}, kRequired},
      Field{"department_id", &Network::department_id, Text{64}},
      Field{"shared", &Network::shared},
      Field{"mtu", &Network::mtu, Range{68, 9000}},
      Field{"status", &Network::status, Text{32}},
      Field{"external", &Network::external},
      Field{"physical_network", &Network::physical_network, Text{64}},
      Field{"subnets", &Network::subnets, Range{0, kMaxInt}, kDerived},
      Field{"ports", &Network::ports, Range{0, kMaxInt}, kDerived},
  };
};
template <> struct Fields<IpRange> {
  static constexpr auto kAll = std::tuple{
      Field{"start", &IpRange::start, Text{64}, kRequired},
      Field{"end", &IpRange::end, Text{64}, kRequired},
  };
};
template <> struct Fields<Subnet> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Subnet::meta},
      Field{"name", &Subnet::name, Text{}, kRequired},
      Field{"network_id", &Subnet::network_id, Text{64}, kRequired},
      Field{"department_id", &Subnet::department_id, Text{64}},
      Field{"ip_version", &Subnet::ip_version, Range{4, 6}},
      Field{"cidr", &Subnet::cidr, Text{64}, kRequired},
      Field{"gateway_ip", &Subnet::gateway_ip, Text{64}},
      Field{"dns_servers", &Subnet::dns_servers, Names{16}},
      Field{"allocation_pools", &Subnet::allocation_pools, Items{64}},
      Field{"enable_dhcp", &Subnet::enable_dhcp},
      Field{"used_ips", &Subnet::used_ips, Range{0, kMaxInt}, kDerived},
  };
};
template <> struct Fields<FixedIp> {
  static constexpr auto kAll = std::tuple{
      Field{"subnet_id", &FixedIp::subnet_id, Text{64}},
      Field{"ip_address", &FixedIp::ip_address, Text{64}},
  };
};
template <> struct Fields<Port> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Port::meta},
      Field{"name", &Port::name, Text{}},
      Field{"network_id", &Port::network_id, Text{64}, kRequired},
      Field{"department_id", &Port::department_id, Text{64}, kRequired},
      Field{"mac_address", &Port::mac_address, Text{17}, kRequired},
      Field{"fixed_ips", &Port::fixed_ips, Items{16}},
      Field{"device_id", &Port::device_id, Text{64}},
      Field{"device_owner", &Port::device_owner, Text{32}},
      Field{"host_id", &Port::host_id, Text{64}},
      Field{"security_group_ids", &Port::security_group_ids, Names{64}},
      Field{"status", &Port::status, Text{32}},
      Field{"delete_with_vm", &Port::delete_with_vm},
      Field{"state_reason", &Port::state_reason, Text{4096}},
  };
};
template <> struct Fields<VmNic> {
  static constexpr auto kAll = std::tuple{
      Field{"port_id", &VmNic::port_id, Text{64}},
      Field{"network_id", &VmNic::network_id, Text{64}},
      Field{"mac_address", &VmNic::mac_address, Text{17}},
      Field{"ip_addresses", &VmNic::ip_addresses, Names{16}},
  };
};

template <> struct Fields<SecurityGroupRule> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &SecurityGroupRule::id, Text{64}, kRequired},
      Field{"direction", &SecurityGroupRule::direction},
      Field{"ethertype", &SecurityGroupRule::ethertype},
      Field{"protocol", &SecurityGroupRule::protocol},
      Field{"port_range_min", &SecurityGroupRule::port_range_min, Range{0, 65535}},
      Field{"port_range_max", &SecurityGroupRule::port_range_max, Range{0, 65535}},
      Field{"remote_ip_prefix", &SecurityGroupRule::remote_ip_prefix, Text{64}},
      Field{"remote_group_id", &SecurityGroupRule::remote_group_id, Text{64}},
      Field{"description", &SecurityGroupRule::description, Text{255}},
  };
};
template <> struct Fields<SecurityGroup> {
  static constexpr auto kAll = std::tuple{
      Flatten{&SecurityGroup::meta},
      Field{"name", &SecurityGroup::name, Text{}, kRequired},
      Field{"department_id", &SecurityGroup::department_id, Text{64}, kRequired},
      Field{"description", &SecurityGroup::description, Text{1024}},
      Field{"rules", &SecurityGroup::rules, Items{1000}},
      Field{"ports", &SecurityGroup::ports, Range{0, kMaxInt}, kDerived},
  };
};
template <> struct Fields<RouterGateway> {
  static constexpr auto kAll = std::tuple{
      Field{"network_id", &RouterGateway::network_id, Text{64}},
      Field{"enable_snat", &RouterGateway::enable_snat},
      Field{"port_id", &RouterGateway::port_id, Text{64}},
      Field{"subnet_id", &RouterGateway::subnet_id, Text{64}},
      Field{"ip_address", &RouterGateway::ip_address, Text{64}},
  };
};
template <> struct Fields<RouterInterface> {
  static constexpr auto kAll = std::tuple{
      Field{"subnet_id", &RouterInterface::subnet_id, Text{64}, kRequired},
      Field{"port_id", &RouterInterface::port_id, Text{64}},
      Field{"ip_address", &RouterInterface::ip_address, Text{64}},
  };
};
template <> struct Fields<Router> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Router::meta},
      Field{"name", &Router::name, Text{}, kRequired},
      Field{"department_id", &Router::department_id, Text{64}, kRequired},
      Field{"external_gateway", &Router::external_gateway},
      Field{"interfaces", &Router::interfaces, Items{1000}},
      Field{"status", &Router::status, Text{32}},
  };
};
template <> struct Fields<FloatingIp> {
  static constexpr auto kAll = std::tuple{
      Flatten{&FloatingIp::meta},
      Field{"department_id", &FloatingIp::department_id, Text{64}, kRequired},
      Field{"floating_network_id", &FloatingIp::floating_network_id, Text{64}, kRequired},
      Field{"floating_subnet_id", &FloatingIp::floating_subnet_id, Text{64}},
      Field{"floating_ip_address", &FloatingIp::floating_ip_address, Text{64}, kRequired},
      Field{"floating_port_id", &FloatingIp::floating_port_id, Text{64}},
      Field{"port_id", &FloatingIp::port_id, Text{64}},
      Field{"fixed_ip_address", &FloatingIp::fixed_ip_address, Text{64}},
      Field{"router_id", &FloatingIp::router_id, Text{64}},
      Field{"description", &FloatingIp::description, Text{1024}},
      Field{"status", &FloatingIp::status, Text{32}},
  };
};

template <> struct Fields<NumaShare> {
  static constexpr auto kAll = std::tuple{
      Field{"cell", &NumaShare::cell, Range{0, 1023}, kRequired},
      Flatten{&NumaShare::resources},
  };
};

template <> struct Fields<Vm> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Vm::meta},
      Field{"name", &Vm::name, Text{}, kRequired},
      Field{"department_id", &Vm::department_id, Text{64}, kRequired},
      Field{"flavor_id", &Vm::flavor_id},
      Field{"flavor_name", &Vm::flavor_name},
      Field{"vcpus", &Vm::vcpus, Range{0, kMaxInt}, kRequired},
      Field{"memory_mib", &Vm::memory_mib, Range{0, kMaxInt}, kRequired},
      Field{"disk_gib", &Vm::disk_gib, Range{0, kMaxInt}, kRequired},
      Field{"pool", &Vm::pool},
      Field{"server_group_id", &Vm::server_group_id},
      Field{"host_id", &Vm::host_id},
      Field{"numa", &Vm::numa, Items{1024}},
      Field{"image_id", &Vm::image_id, Text{64}},
      Field{"root_volume_id", &Vm::root_volume_id, Text{64}},
      Field{"hostname", &Vm::hostname, Text{63}},
      Field{"ssh_authorized_keys", &Vm::ssh_authorized_keys},
      Field{"user_data", &Vm::user_data, Text{kMaxUserDataBytes}},
      Field{"power", &Vm::power},
      Field{"deleting", &Vm::deleting},
      Field{"generation", &Vm::generation, Range{0, kMaxInt}},
      Field{"reboot_count", &Vm::reboot_count, Range{0, kMaxInt}},
      Field{"state", &Vm::state},
      Field{"state_reason", &Vm::state_reason, Text{4096}},
      Field{"observed_generation", &Vm::observed_generation, Range{0, kMaxInt}},
      Field{"port_ids", &Vm::port_ids, Names{kMaxVmNics}},
      Field{"nics", &Vm::nics, Items{kMaxVmNics}, kDerived},
  };
};

template <> struct Fields<User> {
  static constexpr auto kAll = std::tuple{
      Flatten{&User::meta},
      Field{"name", &User::name, Text{}, kRequired},
      Field{"role", &User::role, Any{}, kRequired},
      Field{"department_id", &User::department_id},
      Field{"disabled", &User::disabled},
      Field{"must_change_password", &User::must_change_password},
      Field{"totp_enrolled", &User::totp_enrolled},
      Field{"password_changed_at", &User::password_changed_at_ms, Time{}, kEmptyWhenZero},
      Field{"last_login_at", &User::last_login_at_ms, Time{}, kEmptyWhenZero},
      Field{"failed_logins", &User::failed_logins, Range{0, kMaxInt}, kDerived},
      Field{"locked_until", &User::locked_until_ms, Time{}, kEmptyWhenZero | kDerived},
      Field{"password_hash", &User::password_hash, Text{1024}, kStorageOnly},
      Field{"password_history", &User::password_history, Any{}, kStorageOnly},
      Field{"totp_secret", &User::totp_secret, Text{128}, kStorageOnly},
      Field{"totp_last_step", &User::totp_last_step, Range{0, kMaxInt}, kStorageOnly},
      Field{"recovery_code_hashes", &User::recovery_code_hashes, Any{}, kStorageOnly},
  };
};

template <> struct Fields<Token> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Token::meta},
      Field{"user_id", &Token::user_id, Text{64}, kRequired},
      Field{"name", &Token::name},
      // Not kRequired: tokens are listed, and a storage-only field is never on the wire.
      Field{"secret_sha256", &Token::secret_sha256, Text{64}, kStorageOnly},
      Field{"expires_at", &Token::expires_at_ms, Time{}, kEmptyWhenZero},
      Field{"role", &Token::role},
      Field{"department_id", &Token::department_id},
      Field{"last_used_at", &Token::last_used_at_ms, Time{}, kEmptyWhenZero | kDerived},
      Field{"last_used_from", &Token::last_used_from, Text{}, kDerived},
  };
};

template <> struct Fields<Session> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Session::meta},
      Field{"user_id", &Session::user_id, Text{64}, kRequired},
      Field{"secret_sha256", &Session::secret_sha256, Text{64}, kRequired | kStorageOnly},
      Field{"expires_at", &Session::expires_at_ms, Time{}},
      Field{"source", &Session::source},
      Field{"last_used_at", &Session::last_used_at_ms, Time{}, kEmptyWhenZero | kDerived},
  };
};

template <> struct Fields<AuthPolicy> {
  static constexpr auto kAll = std::tuple{
      Flatten{&AuthPolicy::meta},
      Field{"password_min_length", &AuthPolicy::password_min_length, Range{1, 1024}},
      Field{"password_min_classes", &AuthPolicy::password_min_classes, Range{1, 4}},
      Field{"password_history", &AuthPolicy::password_history, Range{0, 100}},
      Field{"lockout_attempts", &AuthPolicy::lockout_attempts, Range{1, 1000}},
      Field{"lockout_window_s", &AuthPolicy::lockout_window_s, Range{1, 86400}},
      Field{"lockout_duration_s", &AuthPolicy::lockout_duration_s, Range{1, 86400 * 30}},
      Field{"session_idle_timeout_s", &AuthPolicy::session_idle_timeout_s, Range{60, 86400}},
      Field{"session_lifetime_s", &AuthPolicy::session_lifetime_s, Range{60, 86400 * 7}},
  };
};

template <> struct Fields<Event> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &Event::id},
      Field{"host_id", &Event::host_id},
      Field{"vm_id", &Event::vm_id},
      Field{"department_id", &Event::department_id},
      Field{"kind", &Event::kind},
      Field{"message", &Event::message, Text{1024}},
      Field{"at", &Event::at_ms, Time{}},
  };
};

template <> struct Fields<IdempotencyRecord> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &IdempotencyRecord::id, Text{64}, kRequired},
      Field{"request_hash", &IdempotencyRecord::request_hash, Text{64}, kRequired},
      Field{"status", &IdempotencyRecord::status, Range{100, 599}, kRequired},
      Field{"body", &IdempotencyRecord::body, Text{16 * 1024 * 1024}},
      Field{"created_at_ms", &IdempotencyRecord::created_at_ms, Range{0, kMaxInt}},
  };
};

// Requests: rules are enforced; unknown fields are refused.
template <> struct Fields<CreateDepartmentRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateDepartmentRequest::name, Name{}, kRequired},
      Field{"description", &CreateDepartmentRequest::description, Text{1024}},
      Field{"parent", &CreateDepartmentRequest::parent, Text{64}},
      Field{"quota", &CreateDepartmentRequest::quota},
      Field{"allowed_pools", &CreateDepartmentRequest::allowed_pools, Names{}},
      Field{"allowed_storage_pools", &CreateDepartmentRequest::allowed_storage_pools, Names{}},
  };
};

template <> struct Fields<PatchDepartmentRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &PatchDepartmentRequest::name, Name{}},
      Field{"parent", &PatchDepartmentRequest::parent, Text{64}},
      Field{"description", &PatchDepartmentRequest::description, Text{1024}},
      Field{"allowed_pools", &PatchDepartmentRequest::allowed_pools, Names{}},
      Field{"allowed_storage_pools", &PatchDepartmentRequest::allowed_storage_pools, Names{}},
      Field{"quota", &PatchDepartmentRequest::quota},
      Field{"member_power_actions", &PatchDepartmentRequest::member_power_actions},
  };
};

template <> struct Fields<CreateFlavorRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateFlavorRequest::name, Name{}, kRequired},
      Field{"description", &CreateFlavorRequest::description, Text{1024}},
      Field{"vcpus", &CreateFlavorRequest::vcpus, Range{1, kMaxVcpus}, kRequired},
      Field{"memory_mib", &CreateFlavorRequest::memory_mib, Range{64, kMaxMemoryMib}, kRequired},
      Field{"disk_gib", &CreateFlavorRequest::disk_gib, Range{0, kMaxDiskGib}, kRequired},
      Field{"required_traits", &CreateFlavorRequest::required_traits, Names{}},
      Field{"forbidden_traits", &CreateFlavorRequest::forbidden_traits, Names{}},
      Field{"required_aggregates", &CreateFlavorRequest::required_aggregates, Names{}},
  };
  static std::optional<Violation> Check(const CreateFlavorRequest& f) {
    for (const auto& t : f.required_traits) {
      for (const auto& u : f.forbidden_traits) {
        if (t == u) return Violation{"forbidden_traits", "trait '" + t + "' is both required and forbidden"};
      }
    }
    return std::nullopt;
  }
};

template <> struct Fields<CreateServerGroupRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateServerGroupRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateServerGroupRequest::department_id, Text{64}, kRequired},
      Field{"policy", &CreateServerGroupRequest::policy, Any{}, kRequired},
      Field{"hard", &CreateServerGroupRequest::hard},
  };
};

template <> struct Fields<RegisterHostRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &RegisterHostRequest::name, Name{}, kRequired},
      Field{"pool", &RegisterHostRequest::pool, Name{}},
      Field{"capacity", &RegisterHostRequest::capacity, Any{}, kRequired},
      Field{"traits", &RegisterHostRequest::traits, Names{}},
      Field{"storage_clusters", &RegisterHostRequest::storage_clusters, Names{}},
      Field{"metrics_address", &RegisterHostRequest::metrics_address, Text{270}},
  };
};

template <> struct Fields<CapacityVms> {
  static constexpr auto kAll = std::tuple{
      Field{"name", &CapacityVms::name, Name{}, kRequired},
      Field{"flavor", &CapacityVms::flavor, Text{64}, kRequired},
      Field{"image", &CapacityVms::image, Text{64}},
      Field{"network", &CapacityVms::network, Text{64}},
      Field{"count", &CapacityVms::count, Range{1, 100}},
  };
};

template <> struct Fields<CapacityHeadroom> {
  static constexpr auto kAll = std::tuple{
      Field{"level", &CapacityHeadroom::level, Text{64}, kRequired},
      Field{"resource", &CapacityHeadroom::resource, Text{64}, kRequired},
      Field{"headroom", &CapacityHeadroom::headroom, Any{}, kRequired},
  };
};

template <> struct Fields<CapacityContext> {
  static constexpr auto kAll = std::tuple{
      Field{"usage", &CapacityContext::usage, Any{}, kRequired},
      Field{"headroom", &CapacityContext::headroom, Items{1024}},
      Field{"fits_now", &CapacityContext::fits_now},
      Field{"fit_summary", &CapacityContext::fit_summary, Text{4096}},
  };
};

template <> struct Fields<CapacityApproval> {
  static constexpr auto kAll = std::tuple{
      Field{"level", &CapacityApproval::level, Text{64}, kRequired},
      Field{"user_id", &CapacityApproval::user_id, Text{64}},
      Field{"user", &CapacityApproval::user, Text{}},
      Field{"at", &CapacityApproval::at_ms, Time{}, kRequired},
  };
};

template <> struct Fields<CapacityRequest> {
  static constexpr auto kAll = std::tuple{
      Flatten{&CapacityRequest::meta},
      Field{"department_id", &CapacityRequest::department_id, Text{64}, kRequired},
      Field{"requested_by", &CapacityRequest::requested_by, Text{}},
      Field{"reason", &CapacityRequest::reason, Text{4096}, kRequired},
      Field{"quota", &CapacityRequest::quota},
      Field{"vms", &CapacityRequest::vms},
      Field{"end_at", &CapacityRequest::end_at_ms, Time{}, kEmptyWhenZero},
      Field{"state", &CapacityRequest::state, Any{}, kRequired},
      Field{"levels", &CapacityRequest::levels, Names{16}},
      Field{"approvals", &CapacityRequest::approvals, Items{16}},
      Field{"decided_by", &CapacityRequest::decided_by, Text{}},
      Field{"rejection_reason", &CapacityRequest::rejection_reason, Text{4096}},
      Field{"unfulfilled_reason", &CapacityRequest::unfulfilled_reason, Text{4096}},
      Field{"fulfilled_at", &CapacityRequest::fulfilled_at_ms, Time{}, kEmptyWhenZero},
      Field{"granted", &CapacityRequest::granted},
      Field{"vm_ids", &CapacityRequest::vm_ids, Names{100}},
      Field{"expiry_warned", &CapacityRequest::expiry_warned},
      Field{"next_level", &CapacityRequest::next_level, Text{64}, kDerived},
      Field{"context", &CapacityRequest::context, Any{}, kDerived},
  };
};

template <> struct Fields<CreateCapacityRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"department_id", &CreateCapacityRequest::department_id, Text{64}, kRequired},
      Field{"reason", &CreateCapacityRequest::reason, Text{4096}, kRequired},
      Field{"quota", &CreateCapacityRequest::quota},
      Field{"vms", &CreateCapacityRequest::vms},
      Field{"end_at", &CreateCapacityRequest::end_at_ms, Time{}},
      Field{"submit", &CreateCapacityRequest::submit},
  };
};

template <> struct Fields<CapacityDecision> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"reason", &CapacityDecision::reason, Text{4096}},
  };
};

template <> struct Fields<Webhook> {
  static constexpr auto kAll = std::tuple{
      Flatten{&Webhook::meta},
      Field{"name", &Webhook::name, Name{}, kRequired},
      Field{"department_id", &Webhook::department_id, Text{64}},
      Field{"role", &Webhook::role, Any{}, kRequired},
      Field{"url", &Webhook::url, Text{2048}, kRequired},
      Field{"events", &Webhook::events, Names{16}},
      Field{"created_by", &Webhook::created_by, Text{}},
      Field{"secret", &Webhook::secret, Text{128}, kStorageOnly},
      Field{"new_secret", &Webhook::new_secret, Text{128}, kDerived},
      Field{"last_delivered_at", &Webhook::last_delivered_at_ms, Time{}, kEmptyWhenZero},
      Field{"last_failed_at", &Webhook::last_failed_at_ms, Time{}, kEmptyWhenZero},
      Field{"last_error", &Webhook::last_error, Text{4096}},
  };
};

template <> struct Fields<CreateWebhookRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateWebhookRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateWebhookRequest::department_id, Text{64}},
      Field{"role", &CreateWebhookRequest::role, Any{}, kRequired},
      Field{"url", &CreateWebhookRequest::url, Text{2048}, kRequired},
      Field{"events", &CreateWebhookRequest::events, Names{16}},
  };
};

template <> struct Fields<WebhookNotification> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &WebhookNotification::id, Text{64}, kRequired},
      Field{"event", &WebhookNotification::event, Text{64}, kRequired},
      Field{"at", &WebhookNotification::at_ms, Time{}, kRequired},
      Field{"webhook_id", &WebhookNotification::webhook_id, Text{64}},
      Field{"department_id", &WebhookNotification::department_id, Text{64}},
      Field{"awaiting_level", &WebhookNotification::awaiting_level, Text{64}},
      Field{"message", &WebhookNotification::message, Text{4096}},
      Field{"capacity_request", &WebhookNotification::capacity_request},
  };
};

template <> struct Fields<WebhookDelivery> {
  static constexpr auto kAll = std::tuple{
      Field{"id", &WebhookDelivery::id, Text{64}, kRequired},
      Field{"webhook_id", &WebhookDelivery::webhook_id, Text{64}, kRequired},
      Field{"department_id", &WebhookDelivery::department_id, Text{64}},
      Field{"event", &WebhookDelivery::event, Text{64}, kRequired},
      Field{"body", &WebhookDelivery::body, Text{1 << 20}},
      Field{"state", &WebhookDelivery::state, Any{}, kRequired},
      Field{"created_at", &WebhookDelivery::created_at_ms, Time{}},
      Field{"attempts", &WebhookDelivery::attempts, Range{0, kMaxInt}},
      Field{"next_attempt_at", &WebhookDelivery::next_attempt_at_ms, Time{}, kEmptyWhenZero},
      Field{"last_attempt_at", &WebhookDelivery::last_attempt_at_ms, Time{}, kEmptyWhenZero},
      Field{"delivered_at", &WebhookDelivery::delivered_at_ms, Time{}, kEmptyWhenZero},
      Field{"last_status", &WebhookDelivery::last_status, Range{0, 999}},
      Field{"last_error", &WebhookDelivery::last_error, Text{4096}},
  };
};

template <> struct Fields<UtilisationFigures> {
  static constexpr Real kHours{0, 1e12};
  static constexpr auto kAll = std::tuple{
      Field{"sampled_hours", &UtilisationFigures::sampled_hours, kHours, kRequired},
      Field{"vm_hours", &UtilisationFigures::vm_hours, kHours, kRequired},
      Field{"vcpu_hours_allocated", &UtilisationFigures::vcpu_hours_allocated, kHours, kRequired},
      Field{"vcpu_hours_used", &UtilisationFigures::vcpu_hours_used, kHours, kRequired},
      Field{"memory_gib_hours_allocated", &UtilisationFigures::memory_gib_hours_allocated, kHours, kRequired},
      Field{"memory_gib_hours_used", &UtilisationFigures::memory_gib_hours_used, kHours, kRequired},
      Field{"disk_gib_hours_allocated", &UtilisationFigures::disk_gib_hours_allocated, kHours, kRequired},
      Field{"vcpu_hours_capacity", &UtilisationFigures::vcpu_hours_capacity, kHours, kRequired},
      Field{"memory_gib_hours_capacity", &UtilisationFigures::memory_gib_hours_capacity, kHours, kRequired},
      Field{"cpu_utilisation", &UtilisationFigures::cpu_utilisation, kHours, kDerived},
      Field{"memory_utilisation", &UtilisationFigures::memory_utilisation, kHours, kDerived},
  };
};

template <> struct Fields<UtilisationHour> {
  static constexpr auto kAll = std::tuple{
      Field{"hour", &UtilisationHour::hour_ms, Time{}, kRequired},
      Flatten{&UtilisationHour::figures},
  };
};

template <> struct Fields<UtilisationSeries> {
  static constexpr auto kAll = std::tuple{
      Field{"key", &UtilisationSeries::key, Text{255}, kRequired},
      Field{"name", &UtilisationSeries::name, Text{255}, kRequired},
      Field{"total", &UtilisationSeries::total, Any{}, kRequired},
      Field{"hours", &UtilisationSeries::hours, Items{24 * 366}, kRequired},
  };
};

template <> struct Fields<UtilisationReport> {
  static constexpr auto kAll = std::tuple{
      Field{"from", &UtilisationReport::from_ms, Time{}, kRequired},
      Field{"to", &UtilisationReport::to_ms, Time{}, kRequired},
      Field{"group_by", &UtilisationReport::group_by, Text{16}, kRequired},
      Field{"series", &UtilisationReport::series, Items{100'000}, kRequired},
  };
};

template <> struct Fields<VmActualUsage> {
  static constexpr auto kAll = std::tuple{
      Field{"vm_id", &VmActualUsage::vm_id, Text{64}, kRequired},
      Field{"cpu_busy_millicores", &VmActualUsage::cpu_busy_millicores, Range{0, kMaxVcpus * 1000}},
      Field{"memory_used_mib", &VmActualUsage::memory_used_mib, Range{0, kMaxMemoryMib}},
  };
};

template <> struct Fields<HeartbeatRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"usage", &HeartbeatRequest::usage},
      Field{"vms", &HeartbeatRequest::vms, Items{100'000}},
      Field{"storage_pools", &HeartbeatRequest::storage_pools, Items{1024}},
  };
};

template <> struct Fields<PatchHostRequest> {
  static constexpr bool kRequest = true;
  static constexpr Real kRatio{0.1, kMaxAllocationRatio};
  static constexpr auto kAll = std::tuple{
      Field{"enabled", &PatchHostRequest::enabled},
      Field{"maintenance", &PatchHostRequest::maintenance},
      Field{"pool", &PatchHostRequest::pool, Name{}},
      Field{"cpu_allocation_ratio", &PatchHostRequest::cpu_allocation_ratio, kRatio},
      Field{"memory_allocation_ratio", &PatchHostRequest::memory_allocation_ratio, kRatio},
      Field{"disk_allocation_ratio", &PatchHostRequest::disk_allocation_ratio, kRatio},
      Field{"traits", &PatchHostRequest::traits, Names{}},
      Field{"aggregates", &PatchHostRequest::aggregates, Names{}},
      Field{"dedicated_departments", &PatchHostRequest::dedicated_departments, Names{}},
      Field{"max_instances", &PatchHostRequest::max_instances, Range{0, 100000}},
  };
};

template <> struct Fields<CreateVmRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateVmRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateVmRequest::department_id, Text{64}, kRequired},
      Field{"flavor", &CreateVmRequest::flavor, Text{64}, kRequired},
      Field{"pool", &CreateVmRequest::pool, Name{}},
      Field{"power", &CreateVmRequest::power},
      Field{"server_group", &CreateVmRequest::server_group, Text{64}},
      Field{"count", &CreateVmRequest::count, Range{1, 100}},
      Field{"image", &CreateVmRequest::image, Text{64}},
      Field{"storage_pool", &CreateVmRequest::storage_pool, Text{64}},
      Field{"root_gib", &CreateVmRequest::root_gib, Range{0, kMaxDiskGib}},
      Field{"networks", &CreateVmRequest::networks, Items{kMaxVmNics}},
      Field{"hostname", &CreateVmRequest::hostname, Text{63}},
      Field{"ssh_authorized_keys", &CreateVmRequest::ssh_authorized_keys},
      Field{"user_data", &CreateVmRequest::user_data, Text{kMaxUserDataBytes}},
  };
  static std::optional<Violation> Check(const CreateVmRequest& r) { return CheckGuestConfig(r); }
};
template <> struct Fields<NicRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"network", &NicRequest::network, Text{64}},
      Field{"fixed_ip", &NicRequest::fixed_ip, Text{64}},
      Field{"port", &NicRequest::port, Text{64}},
  };
  static std::optional<Violation> Check(const NicRequest& r) {
    if (r.network.empty() == r.port.empty()) return Violation{"network", "give either network or port"};
    if (!r.fixed_ip.empty() && r.network.empty()) return Violation{"fixed_ip", "applies only with network"};
    return std::nullopt;
  }
};

template <> struct Fields<PreviewRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"department_id", &PreviewRequest::department_id, Text{64}, kRequired},
      Field{"flavor", &PreviewRequest::flavor, Text{64}, kRequired},
      Field{"pool", &PreviewRequest::pool, Name{}},
      Field{"server_group", &PreviewRequest::server_group, Text{64}},
      Field{"count", &PreviewRequest::count, Range{1, 100}},
  };
};

template <> struct Fields<CreateUserRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateUserRequest::name, Name{}, kRequired},
      Field{"role", &CreateUserRequest::role, Any{}, kRequired},
      Field{"department_id", &CreateUserRequest::department_id, Text{64}},
  };
};

template <> struct Fields<CreateTokenRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateTokenRequest::name, Name{}},
      Field{"expires_at", &CreateTokenRequest::expires_at_ms, Time{}, kRequired},
      Field{"role", &CreateTokenRequest::role},
      Field{"department_id", &CreateTokenRequest::department_id, Text{64}},
  };
};

template <> struct Fields<PatchUserRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{Field{"disabled", &PatchUserRequest::disabled}};
};

template <> struct Fields<LoginRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"user", &LoginRequest::user, Text{}, kRequired},
      Field{"password", &LoginRequest::password, Text{1024}, kRequired},
      Field{"totp_code", &LoginRequest::totp_code, Text{16}},
      Field{"recovery_code", &LoginRequest::recovery_code, Text{64}},
  };
};

template <> struct Fields<ChangePasswordRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"current_password", &ChangePasswordRequest::current_password, Text{1024}, kRequired},
      Field{"new_password", &ChangePasswordRequest::new_password, Text{1024}, kRequired},
  };
};

template <> struct Fields<ConfirmTotpRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{Field{"code", &ConfirmTotpRequest::code, Text{16}, kRequired}};
};

template <> struct Fields<PutAuthPolicyRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"password_min_length", &PutAuthPolicyRequest::password_min_length, Range{8, 1024}, kRequired},
      Field{"password_min_classes", &PutAuthPolicyRequest::password_min_classes, Range{1, 4}, kRequired},
      Field{"password_history", &PutAuthPolicyRequest::password_history, Range{0, 100}, kRequired},
      Field{"lockout_attempts", &PutAuthPolicyRequest::lockout_attempts, Range{1, 1000}, kRequired},
      Field{"lockout_window_s", &PutAuthPolicyRequest::lockout_window_s, Range{1, 86400}, kRequired},
      Field{"lockout_duration_s", &PutAuthPolicyRequest::lockout_duration_s, Range{1, 86400 * 30}, kRequired},
      Field{"session_idle_timeout_s", &PutAuthPolicyRequest::session_idle_timeout_s, Range{60, 86400}, kRequired},
      Field{"session_lifetime_s", &PutAuthPolicyRequest::session_lifetime_s, Range{60, 86400 * 7}, kRequired},
  };
};

template <> struct Fields<CreateStoragePoolRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateStoragePoolRequest::name, Name{}, kRequired},
      Field{"cluster", &CreateStoragePoolRequest::cluster, Name{}, kRequired},
      Field{"ceph_pool", &CreateStoragePoolRequest::ceph_pool, Name{}},
      Field{"tiers", &CreateStoragePoolRequest::tiers, Names{}},
      Field{"provisioning_ratio", &CreateStoragePoolRequest::provisioning_ratio, Real{0.1, kMaxAllocationRatio}},
      Field{"nearfull_ratio", &CreateStoragePoolRequest::nearfull_ratio, Real{0.5, 0.99}},
  };
};
template <> struct Fields<PatchStoragePoolRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"tiers", &PatchStoragePoolRequest::tiers, Names{}},
      Field{"provisioning_ratio", &PatchStoragePoolRequest::provisioning_ratio, Real{0.1, kMaxAllocationRatio}},
      Field{"nearfull_ratio", &PatchStoragePoolRequest::nearfull_ratio, Real{0.5, 0.99}},
      Field{"enabled", &PatchStoragePoolRequest::enabled},
  };
};
template <> struct Fields<StoragePoolReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"pool_id", &StoragePoolReport::pool_id, Text{64}, kRequired},
      Field{"reachable", &StoragePoolReport::reachable, Any{}, kRequired},
      Field{"reason", &StoragePoolReport::reason, Text{1024}},
      Field{"stats", &StoragePoolReport::stats},
  };
};
template <> struct Fields<CreateVolumeRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateVolumeRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateVolumeRequest::department_id, Text{64}, kRequired},
      // 0 (or absent): a clone takes its source's size; Check requires a size otherwise.
      Field{"size_gib", &CreateVolumeRequest::size_gib, Range{0, kMaxDiskGib}},
      Field{"pool", &CreateVolumeRequest::pool, Text{64}},
      Field{"tier", &CreateVolumeRequest::tier, Name{}},
      Field{"image", &CreateVolumeRequest::image, Text{64}},
      Field{"snapshot", &CreateVolumeRequest::snapshot, Text{64}},
  };
  static std::optional<Violation> Check(const CreateVolumeRequest& r) {
    if (!r.image.empty() && !r.snapshot.empty()) {
      return Violation{"snapshot", "give an image or a snapshot to clone, not both"};
    }
    if (r.image.empty() && r.snapshot.empty() && r.size_gib == 0) {
      return Violation{"size_gib", "required for an empty volume"};
    }
    return std::nullopt;
  }
};
template <> struct Fields<AttachVolumeRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{Field{"vm_id", &AttachVolumeRequest::vm_id, Text{64}, kRequired}};
};
template <> struct Fields<ResizeVolumeRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"size_gib", &ResizeVolumeRequest::size_gib, Range{1, kMaxDiskGib}, kRequired}};
};
template <> struct Fields<CreateSnapshotRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{Field{"name", &CreateSnapshotRequest::name, Name{}, kRequired}};
};
template <> struct Fields<CreateImageRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateImageRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateImageRequest::department_id, Text{64}},
      Field{"format", &CreateImageRequest::format},
      Field{"pool", &CreateImageRequest::pool, Text{64}},
      Field{"sha256", &CreateImageRequest::sha256, Text{64}},
  };
  static std::optional<Violation> Check(const CreateImageRequest& r) {
    if (r.sha256.empty()) return std::nullopt;
    bool hex = r.sha256.size() == 64;
    for (char ch : r.sha256) hex = hex && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
    if (!hex) return Violation{"sha256", "must be 64 lowercase hexadecimal digits"};
    return std::nullopt;
  }
};
template <> struct Fields<VolumeStatusReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"state", &VolumeStatusReport::state, Any{}, kRequired},
      Field{"state_reason", &VolumeStatusReport::state_reason, Text{4096}},
      Field{"observed_generation", &VolumeStatusReport::observed_generation, Range{0, kMaxInt}, kRequired},
      Field{"flattened", &VolumeStatusReport::flattened},
  };
};
template <> struct Fields<SnapshotStatusReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"state", &SnapshotStatusReport::state, Any{}, kRequired},
      Field{"state_reason", &SnapshotStatusReport::state_reason, Text{4096}},
  };
};
template <> struct Fields<CreateBackupPolicyRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateBackupPolicyRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateBackupPolicyRequest::department_id, Text{64}, kRequired},
      Field{"volume", &CreateBackupPolicyRequest::volume, Text{64}},
      Field{"schedule", &CreateBackupPolicyRequest::schedule, Text{64}, kRequired},
      Field{"keep", &CreateBackupPolicyRequest::keep, Range{1, 1000}},
      Field{"target_pool", &CreateBackupPolicyRequest::target_pool, Text{64}, kRequired},
      Field{"enabled", &CreateBackupPolicyRequest::enabled},
  };
};
template <> struct Fields<PatchBackupPolicyRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"schedule", &PatchBackupPolicyRequest::schedule, Text{64}},
      Field{"keep", &PatchBackupPolicyRequest::keep, Range{1, 1000}},
      Field{"enabled", &PatchBackupPolicyRequest::enabled},
  };
};
template <> struct Fields<CreateBackupRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateBackupRequest::name, Name{}},
      Field{"volume", &CreateBackupRequest::volume, Text{64}, kRequired},
      Field{"department_id", &CreateBackupRequest::department_id, Text{64}},
      Field{"target_pool", &CreateBackupRequest::target_pool, Text{64}, kRequired},
  };
};
template <> struct Fields<CreateNetworkRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateNetworkRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateNetworkRequest::department_id, Text{64}},
      Field{"shared", &CreateNetworkRequest::shared},
      Field{"mtu", &CreateNetworkRequest::mtu, Range{68, 9000}},
      Field{"external", &CreateNetworkRequest::external},
      Field{"physical_network", &CreateNetworkRequest::physical_network, Name{}},
  };
  static std::optional<Violation> Check(const CreateNetworkRequest& r) {
    if (r.external && !r.department_id.empty()) {
      return Violation{"department_id", "an external network belongs to no department"};
    }
    if (r.external != !r.physical_network.empty()) {
      return Violation{"physical_network", "required with external, and only there"};
    }
    if (r.external) return std::nullopt;
    if (r.shared && !r.department_id.empty()) {
      return Violation{"department_id", "a shared network belongs to no department"};
    }
    if (!r.shared && r.department_id.empty()) {
      return Violation{"department_id", "required unless the network is shared"};
    }
    return std::nullopt;
  }
};
template <> struct Fields<CreateSubnetRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateSubnetRequest::name, Name{}, kRequired},
      Field{"network_id", &CreateSubnetRequest::network_id, Text{64}, kRequired},
      Field{"ip_version", &CreateSubnetRequest::ip_version, Range{4, 6}},
      Field{"cidr", &CreateSubnetRequest::cidr, Text{64}, kRequired},
      Field{"gateway_ip", &CreateSubnetRequest::gateway_ip, Text{64}},
      Field{"dns_servers", &CreateSubnetRequest::dns_servers, Names{16}},
      Field{"allocation_pools", &CreateSubnetRequest::allocation_pools, Items{64}},
      Field{"enable_dhcp", &CreateSubnetRequest::enable_dhcp},
  };
};
template <> struct Fields<CreatePortRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreatePortRequest::name, Name{}},
      Field{"network_id", &CreatePortRequest::network_id, Text{64}, kRequired},
      Field{"department_id", &CreatePortRequest::department_id, Text{64}},
      Field{"mac_address", &CreatePortRequest::mac_address, Text{17}},
      Field{"fixed_ips", &CreatePortRequest::fixed_ips, Items{16}},
      Field{"device_id", &CreatePortRequest::device_id, Text{64}},
      Field{"host_id", &CreatePortRequest::host_id, Text{64}},
      Field{"security_group_ids", &CreatePortRequest::security_group_ids, Names{64}},
  };
};
template <> struct Fields<PatchPortRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &PatchPortRequest::name, Name{}},
      Field{"security_group_ids", &PatchPortRequest::security_group_ids, Names{64}},
  };
};
template <> struct Fields<CreateSecurityGroupRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateSecurityGroupRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateSecurityGroupRequest::department_id, Text{64}, kRequired},
      Field{"description", &CreateSecurityGroupRequest::description, Text{1024}},
  };
};
template <> struct Fields<PatchSecurityGroupRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &PatchSecurityGroupRequest::name, Name{}},
      Field{"description", &PatchSecurityGroupRequest::description, Text{1024}},
  };
};
template <> struct Fields<CreateSecurityGroupRuleRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"direction", &CreateSecurityGroupRuleRequest::direction, Any{}, kRequired},
      Field{"ethertype", &CreateSecurityGroupRuleRequest::ethertype},
      Field{"protocol", &CreateSecurityGroupRuleRequest::protocol},
      Field{"port_range_min", &CreateSecurityGroupRuleRequest::port_range_min, Range{0, 65535}},
      Field{"port_range_max", &CreateSecurityGroupRuleRequest::port_range_max, Range{0, 65535}},
      Field{"remote_ip_prefix", &CreateSecurityGroupRuleRequest::remote_ip_prefix, Text{64}},
      Field{"remote_group_id", &CreateSecurityGroupRuleRequest::remote_group_id, Text{64}},
      Field{"description", &CreateSecurityGroupRuleRequest::description, Text{255}},
  };
  static std::optional<Violation> Check(const CreateSecurityGroupRuleRequest& r) {
    const bool ports = r.port_range_min != 0 || r.port_range_max != 0;
    if (ports && r.protocol != RuleProtocol::kTcp && r.protocol != RuleProtocol::kUdp) {
      return Violation{"port_range_min", "port ranges apply to tcp and udp only"};
    }
    if (ports && (r.port_range_min < 1 || r.port_range_max < 1)) {
      return Violation{"port_range_min", "give both ends of the range, 1..65535"};
    }
    if (r.port_range_min > r.port_range_max) {
      return Violation{"port_range_max", "must be at least port_range_min"};
    }
    if (!r.remote_ip_prefix.empty() && !r.remote_group_id.empty()) {
      return Violation{"remote_group_id", "give remote_ip_prefix or remote_group_id, not both"};
    }
    return std::nullopt;
  }
};
template <> struct Fields<RouterGatewayRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"network_id", &RouterGatewayRequest::network_id, Text{64}},
      Field{"enable_snat", &RouterGatewayRequest::enable_snat},
  };
};
template <> struct Fields<CreateRouterRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &CreateRouterRequest::name, Name{}, kRequired},
      Field{"department_id", &CreateRouterRequest::department_id, Text{64}, kRequired},
      Field{"external_gateway", &CreateRouterRequest::external_gateway},
  };
};
template <> struct Fields<PatchRouterRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &PatchRouterRequest::name, Name{}},
      Field{"external_gateway", &PatchRouterRequest::external_gateway},
  };
};
template <> struct Fields<RouterInterfaceRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"subnet_id", &RouterInterfaceRequest::subnet_id, Text{64}, kRequired},
  };
};
template <> struct Fields<CreateFloatingIpRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"department_id", &CreateFloatingIpRequest::department_id, Text{64}},
      Field{"floating_network_id", &CreateFloatingIpRequest::floating_network_id, Text{64}, kRequired},
      Field{"floating_ip_address", &CreateFloatingIpRequest::floating_ip_address, Text{64}},
      Field{"port_id", &CreateFloatingIpRequest::port_id, Text{64}},
      Field{"fixed_ip_address", &CreateFloatingIpRequest::fixed_ip_address, Text{64}},
      Field{"description", &CreateFloatingIpRequest::description, Text{1024}},
  };
};
template <> struct Fields<PatchFloatingIpRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"port_id", &PatchFloatingIpRequest::port_id, Text{64}},
      Field{"fixed_ip_address", &PatchFloatingIpRequest::fixed_ip_address, Text{64}},
  };
};
template <> struct Fields<RestoreBackupRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"name", &RestoreBackupRequest::name, Name{}, kRequired},
      Field{"pool", &RestoreBackupRequest::pool, Text{64}},
      Field{"tier", &RestoreBackupRequest::tier, Name{}},
  };
};
template <> struct Fields<BackupStatusReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"state", &BackupStatusReport::state, Any{}, kRequired},
      Field{"state_reason", &BackupStatusReport::state_reason, Text{4096}},
      Field{"observed_generation", &BackupStatusReport::observed_generation, Range{0, kMaxInt}, kRequired},
      Field{"incremental", &BackupStatusReport::incremental},
      Field{"transferred_bytes", &BackupStatusReport::transferred_bytes, Range{0, kMaxInt}},
  };
};
template <> struct Fields<ImageStatusReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"state", &ImageStatusReport::state, Any{}, kRequired},
      Field{"state_reason", &ImageStatusReport::state_reason, Text{4096}},
      Field{"imported_bytes", &ImageStatusReport::imported_bytes, Range{0, kMaxInt}},
      Field{"virtual_size_bytes", &ImageStatusReport::virtual_size_bytes, Range{0, kMaxInt}},
      Field{"content_sha256", &ImageStatusReport::content_sha256, Text{64}},
      Field{"observed_generation", &ImageStatusReport::observed_generation, Range{0, kMaxInt}},
  };
};

template <> struct Fields<PortStatusReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"status", &PortStatusReport::status, Text{32}, kRequired},
      Field{"host_id", &PortStatusReport::host_id, Text{64}},
      Field{"state_reason", &PortStatusReport::state_reason, Text{4096}},
  };
  static std::optional<Violation> Check(const PortStatusReport& r) {
    if (r.status != "active" && r.status != "down" && r.status != "error") {
      return Violation{"status", "must be one of active, down, error"};
    }
    return std::nullopt;
  }
};
template <> struct Fields<VmStatusReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"state", &VmStatusReport::state, Any{}, kRequired},
      Field{"state_reason", &VmStatusReport::state_reason, Text{4096}},
      Field{"observed_generation", &VmStatusReport::observed_generation, Range{0, kMaxInt}, kRequired},
  };
  // Agents report what they see; `scheduled` and `unknown` are the controller's to say.
  static std::optional<Violation> Check(const VmStatusReport& r) {
    if (r.state == VmState::kScheduled || r.state == VmState::kUnknown) {
      return Violation{"state", "must be one of building, running, stopped, deleting, deleted, error"};
    }
    return std::nullopt;
  }
};

template <> struct Fields<EventReport> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"vm_id", &EventReport::vm_id, Text{64}},
      Field{"kind", &EventReport::kind, Name{}, kRequired},
      Field{"message", &EventReport::message, Text{1024}, kRequired},
  };
};
template <> struct Fields<ReportEventsRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"events", &ReportEventsRequest::events, Items{100}, kRequired}};
};

template <class T> struct Fields<ListPage<T>> {
  static constexpr auto kAll = std::tuple{
      Field{"items", &ListPage<T>::items, Items{100'000}, kRequired},
      Field{"next_page_token", &ListPage<T>::next_page_token},
  };
};
template <> struct Fields<WatchAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"revision", &WatchAnswer::revision, Range{0, kMaxInt}, kRequired},
      Field{"items", &WatchAnswer::items, Items{1'000'000}, kRequired},
      Field{"volumes", &WatchAnswer::volumes, Items{1'000'000}},
      Field{"snapshots", &WatchAnswer::snapshots, Items{1'000'000}},
      Field{"images", &WatchAnswer::images, Items{100'000}},
      Field{"storage_pools", &WatchAnswer::storage_pools, Items{10'000}},
      Field{"backups", &WatchAnswer::backups, Items{1'000'000}},
      Field{"ports", &WatchAnswer::ports, Items{1'000'000}},
  };
};
template <> struct Fields<QuotaUse> {
  static constexpr auto kAll = std::tuple{
      Field{"used", &QuotaUse::used, Any{}, kRequired},
      Field{"limit", &QuotaUse::limit, Any{}, kRequired},
      Field{"enforced", &QuotaUse::enforced},
      Field{"subtree_used", &QuotaUse::subtree_used},
      Field{"children_limits", &QuotaUse::children_limits},
  };
};
template <> struct Fields<DepartmentUsage> {
  static constexpr auto kAll = std::tuple{
      Field{"department_id", &DepartmentUsage::department_id, Any{}, kRequired},
      Field{"usage", &DepartmentUsage::usage, Any{}, kRequired},
  };
};
template <> struct Fields<PreviewAssignment> {
  static constexpr auto kAll = std::tuple{
      Field{"host_id", &PreviewAssignment::host_id},
      Field{"host_name", &PreviewAssignment::host_name},
  };
};
template <> struct Fields<PreviewExplanation> {
  static constexpr auto kAll = std::tuple{
      Field{"hosts_total", &PreviewExplanation::hosts_total},
      Field{"hosts_fit", &PreviewExplanation::hosts_fit},
      Field{"rejected", &PreviewExplanation::rejected},
      Field{"summary", &PreviewExplanation::summary},
  };
};
template <> struct Fields<PreviewAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"fits", &PreviewAnswer::fits, Any{}, kRequired},
      Field{"assignments", &PreviewAnswer::assignments, Items{100}},
      Field{"explanation", &PreviewAnswer::explanation},
  };
};
template <> struct Fields<NewTokenAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"user", &NewTokenAnswer::user, Any{}, kRequired},
      Field{"token_id", &NewTokenAnswer::token_id, Any{}, kRequired},
      Field{"name", &NewTokenAnswer::name},
      Field{"token", &NewTokenAnswer::token, Any{}, kRequired},
      Field{"expires_at", &NewTokenAnswer::expires_at_ms, Time{}},
      Field{"role", &NewTokenAnswer::role},
      Field{"department_id", &NewTokenAnswer::department_id},
  };
};

template <> struct Fields<HostEnrolment> {
  static constexpr auto kAll = std::tuple{
      Flatten{&HostEnrolment::meta},
      Field{"host_name", &HostEnrolment::host_name, Name{}, kRequired},
      Field{"pool", &HostEnrolment::pool},
      Field{"secret_sha256", &HostEnrolment::secret_sha256, Text{64}, kStorageOnly},
      Field{"expires_at", &HostEnrolment::expires_at_ms, Time{}},
      Field{"used_at", &HostEnrolment::used_at_ms, Time{}, kEmptyWhenZero},
  };
};
template <> struct Fields<CreateHostEnrolmentRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"host_name", &CreateHostEnrolmentRequest::host_name, Name{}, kRequired},
      Field{"pool", &CreateHostEnrolmentRequest::pool, Name{}},
      Field{"ttl_s", &CreateHostEnrolmentRequest::ttl_s, Range{60, kMaxEnrolmentLifetimeS}},
  };
};
template <> struct Fields<NewHostEnrolmentAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"enrolment", &NewHostEnrolmentAnswer::enrolment, Any{}, kRequired},
      Field{"token", &NewHostEnrolmentAnswer::token, Any{}, kRequired},
      Field{"ca_certificate", &NewHostEnrolmentAnswer::ca_certificate, Any{}, kRequired},
  };
};
template <> struct Fields<AgentCertificateRequest> {
  static constexpr bool kRequest = true;
  static constexpr auto kAll = std::tuple{
      Field{"enrolment_token", &AgentCertificateRequest::enrolment_token, Text{128}},
      Field{"csr", &AgentCertificateRequest::csr, Text{8192}, kRequired},
  };
};
template <> struct Fields<AgentCertificateAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"host_name", &AgentCertificateAnswer::host_name, Any{}, kRequired},
      Field{"certificate", &AgentCertificateAnswer::certificate, Any{}, kRequired},
      Field{"ca_certificate", &AgentCertificateAnswer::ca_certificate, Any{}, kRequired},
      Field{"expires_at", &AgentCertificateAnswer::expires_at_ms, Time{}, kRequired},
  };
};
template <> struct Fields<AgentCertificate> {
  static constexpr auto kAll = std::tuple{
      Flatten{&AgentCertificate::meta},
      Field{"host_name", &AgentCertificate::host_name, Name{}, kRequired},
      Field{"pool", &AgentCertificate::pool},
      Field{"serial", &AgentCertificate::serial, Text{64}, kRequired},
      Field{"expires_at", &AgentCertificate::expires_at_ms, Time{}},
  };
};

template <> struct Fields<LoginAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"token", &LoginAnswer::token, Any{}, kRequired},
      Field{"expires_at", &LoginAnswer::expires_at_ms, Time{}},
      Field{"idle_timeout_s", &LoginAnswer::idle_timeout_s},
      Field{"user", &LoginAnswer::user, Any{}, kRequired},
      Field{"must_change_password", &LoginAnswer::must_change_password},
      Field{"must_enrol_factor", &LoginAnswer::must_enrol_factor},
  };
};

template <> struct Fields<SessionAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"user", &SessionAnswer::user, Any{}, kRequired},
      Field{"role", &SessionAnswer::role},
      Field{"department_id", &SessionAnswer::department_id},
      Field{"credential_kind", &SessionAnswer::credential_kind},
      Field{"credential_id", &SessionAnswer::credential_id},
      Field{"restriction", &SessionAnswer::restriction},
      Field{"expires_at", &SessionAnswer::expires_at_ms, Time{}, kEmptyWhenZero},
      Field{"idle_timeout_s", &SessionAnswer::idle_timeout_s},
  };
};

template <> struct Fields<TotpEnrolmentAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"secret_base32", &TotpEnrolmentAnswer::secret_base32, Any{}, kRequired},
      Field{"otpauth_uri", &TotpEnrolmentAnswer::otpauth_uri, Any{}, kRequired},
  };
};

template <> struct Fields<RecoveryCodesAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"recovery_codes", &RecoveryCodesAnswer::recovery_codes, Any{}, kRequired},
  };
};

template <> struct Fields<PasswordResetAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"user_id", &PasswordResetAnswer::user_id, Any{}, kRequired},
      Field{"one_time_password", &PasswordResetAnswer::one_time_password, Any{}, kRequired},
  };
};

template <> struct Fields<AuditRecord> {
  static constexpr auto kAll = std::tuple{
      Field{"seq", &AuditRecord::seq, Range{0, kMaxInt}, kRequired},
      Field{"time_ms", &AuditRecord::time_ms, Range{0, kMaxInt}, kRequired},
      Field{"kind", &AuditRecord::kind, Any{}, kRequired},
      Field{"user", &AuditRecord::user},
      Field{"user_id", &AuditRecord::user_id},
      Field{"role", &AuditRecord::role},
      Field{"source", &AuditRecord::source},
      Field{"method", &AuditRecord::method},
      Field{"route", &AuditRecord::route},
      Field{"object_id", &AuditRecord::object_id},
      Field{"department_id", &AuditRecord::department_id},
      Field{"outcome", &AuditRecord::outcome},
      Field{"status", &AuditRecord::status, Range{0, 999}},
      Field{"body_sha256", &AuditRecord::body_sha256},
      Field{"detail", &AuditRecord::detail},
      Field{"prev_hash", &AuditRecord::prev_hash, Any{}, kRequired},
      Field{"hash", &AuditRecord::hash, Any{}, kRequired},
  };
};
template <> struct Fields<AuditCheckpoint> {
  static constexpr auto kAll = std::tuple{
      Field{"seq", &AuditCheckpoint::seq, Range{0, kMaxInt}, kRequired},
      Field{"hash", &AuditCheckpoint::hash, Any{}, kRequired},
      Field{"algorithm", &AuditCheckpoint::algorithm},
      Field{"mac", &AuditCheckpoint::mac, Any{}, kRequired},
      Field{"time_ms", &AuditCheckpoint::time_ms, Range{0, kMaxInt}},
  };
};
template <> struct Fields<PoolConsolidation> {
  static constexpr auto kAll = std::tuple{
      Field{"pool", &PoolConsolidation::pool, Any{}, kRequired},
      Field{"hosts", &PoolConsolidation::hosts, Any{}, kRequired},
      Field{"hosts_in_use", &PoolConsolidation::hosts_in_use, Any{}, kRequired},
      Field{"hosts_needed", &PoolConsolidation::hosts_needed, Any{}, kRequired},
      Field{"hosts_freeable", &PoolConsolidation::hosts_freeable, Any{}, kRequired},
      Field{"vms", &PoolConsolidation::vms, Any{}, kRequired},
      Field{"vms_unplaced", &PoolConsolidation::vms_unplaced, Any{}, kRequired},
  };
};

template <> struct Fields<ConsolidationReport> {
  static constexpr auto kAll = std::tuple{
      Field{"generated_at", &ConsolidationReport::generated_at_ms, Time{}, kRequired},
      Field{"pools", &ConsolidationReport::pools, Any{}, kRequired},
  };
};

template <> struct Fields<AuditVerifyAnswer> {
  static constexpr auto kAll = std::tuple{
      Field{"ok", &AuditVerifyAnswer::ok, Any{}, kRequired},
      Field{"records", &AuditVerifyAnswer::records},
      Field{"checkpoints", &AuditVerifyAnswer::checkpoints},
      Field{"first_bad_seq", &AuditVerifyAnswer::first_bad_seq},
      Field{"problem", &AuditVerifyAnswer::problem},
      Field{"message", &AuditVerifyAnswer::message},
      Field{"archived_through_seq", &AuditVerifyAnswer::archived_through_seq},
  };
};

}  // namespace govpool::api::schema
