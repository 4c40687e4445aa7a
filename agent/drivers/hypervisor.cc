#include "agent/drivers/hypervisor.h"

#include <algorithm>
#include <optional>
#include <set>

#include "common/ids.h"
#include "common/strings.h"

namespace govpool::agent {
namespace {

bool IsAbsolute(const std::string& path) { return !path.empty() && path.front() == '/'; }

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z'); }

// A Ceph pool or image name we can put in libvirt's name='pool/image' and QEMU's rbd options:
// not empty, no '/' (the separator), '@' (a snapshot), whitespace or control characters.
bool IsSafeRbdName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '@' || u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

// "host:port" or "[v6]:port", the port 1-65535; the host without whitespace, '/', or quotes.
bool IsMonitorAddress(const std::string& address) {
  const std::optional<HostPort> split = SplitHostPort(address);
  if (!split) return false;
  const std::string& host = split->host;
  for (const char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '/' || c == '\'' || c == '"' || c == '[' || c == ']') {
      return false;
    }
  }
  return true;
}

bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

// "xx:xx:xx:xx:xx:xx", lower-case hex.
bool IsMac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2 ? mac[i] != ':' : !IsHex(mac[i])) return false;
  }
  return true;
}

}  // namespace

std::string NicTapName(const std::string& port_id) {
  std::string name = "tap";
  for (const char c : port_id) {
    if (name.size() == 14) break;
    if (IsAlnum(c)) name.push_back(c);
  }
  return name;
}

Status ValidateNicSpec(const NicSpec& nic) {
  const std::string what = "domain spec: NIC '" + nic.port_id + "': ";
  if (!IsUuid(nic.port_id) ||
      std::any_of(nic.port_id.begin(), nic.port_id.end(), [](char c) { return c >= 'A' && c <= 'F'; })) {
    return InvalidArgument(what + "the port id must be a lower-case UUID (libvirt's interfaceid is one, "
                           "and reads back in lower case)");
  }
  if (!IsMac(nic.mac)) {
    return InvalidArgument(what + "bad MAC '" + nic.mac + "' (want lower-case xx:xx:xx:xx:xx:xx)");
  }
  if (std::stoi(nic.mac.substr(0, 2), nullptr, 16) & 1) {
    return InvalidArgument(what + "MAC " + nic.mac + " is a multicast address");
  }
  if (nic.bridge.empty() || nic.bridge.size() > 15) {
    return InvalidArgument(what + "the bridge name must have 1..15 characters");
  }
  for (const char c : nic.bridge) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') {
      return InvalidArgument(what + "bad bridge name '" + nic.bridge + "'");
    }
  }
  if (nic.mtu != 0 && (nic.mtu < 68 || nic.mtu > 65535)) {
    return InvalidArgument(what + "the MTU must be 0 (default) or 68..65535");
  }
  return OkStatus();
}

bool SameDiskSource(const DiskSpec& a, const DiskSpec& b) {
  if (a.kind() != b.kind()) return false;
  if (a.kind() == DiskSourceKind::kFile) return a.path == b.path;
  return a.rbd_pool == b.rbd_pool && a.rbd_image == b.rbd_image;
}

Status ValidateDiskSpec(const DiskSpec& disk) {
  const std::string what = "disk '" + disk.target_dev + "': ";
  if (disk.target_dev.size() < 3 || disk.target_dev.rfind("vd", 0) != 0 ||
      disk.target_dev.size() > 6) {
    return InvalidArgument("domain spec: disk target must be a virtio name such as 'vdb': '" +
                           disk.target_dev + "'");
  }
  for (size_t i = 2; i < disk.target_dev.size(); ++i) {
    if (!IsLower(disk.target_dev[i])) {
      return InvalidArgument("domain spec: disk target must be 'vd' + lower-case letters: '" +
                             disk.target_dev + "'");
    }
  }
  for (const char c : disk.serial) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '+' && c != '-') {
      return InvalidArgument("domain spec: " + what + "serial may hold [A-Za-z0-9_.+-] only");
    }
  }
  if (disk.serial.size() > 64) {
    return InvalidArgument("domain spec: " + what + "serial longer than 64 characters");
  }
  const bool has_file = !disk.path.empty();
  const bool has_rbd = disk.kind() == DiskSourceKind::kRbd;
  if (has_file == has_rbd) {
    return InvalidArgument("domain spec: " + what +
                           "needs exactly one source: a file path or an RBD pool and image");
  }
  if (has_file) {
    if (!IsAbsolute(disk.path)) {
      return InvalidArgument("domain spec: disk path must be absolute: '" + disk.path + "'");
    }
    if (disk.format.empty()) return InvalidArgument("domain spec: " + what + "needs a format");
    if (!disk.rbd_hosts.empty() || !disk.auth_user.empty() || !disk.secret_uuid.empty()) {
      return InvalidArgument("domain spec: " + what +
                             "monitors and cephx auth belong to RBD disks only");
    }
    return OkStatus();
  }
  if (disk.format != "raw") {
    return InvalidArgument("domain spec: " + what + "RBD images are raw, not '" + disk.format +
                           "'");
  }
  if (!IsSafeRbdName(disk.rbd_pool) || !IsSafeRbdName(disk.rbd_image)) {
    return InvalidArgument("domain spec: " + what + "bad RBD pool or image name '" +
                           disk.rbd_pool + "/" + disk.rbd_image +
                           "' (empty, or holding '/', '@', whitespace or a control character)");
  }
  if (disk.rbd_hosts.empty()) {
    return InvalidArgument("domain spec: " + what + "an RBD disk needs at least one monitor");
  }
  for (const auto& host : disk.rbd_hosts) {
    if (!IsMonitorAddress(host)) {
      return InvalidArgument("domain spec: " + what + "bad monitor address '" + host +
                             "' (want host:port)");
    }
  }
  if (disk.auth_user.empty() != disk.secret_uuid.empty()) {
    return InvalidArgument("domain spec: " + what +
                           "cephx needs both a user and a secret uuid (or neither)");
  }
  if (!disk.secret_uuid.empty() && !IsUuid(disk.secret_uuid)) {
    return InvalidArgument("domain spec: " + what + "bad secret uuid '" + disk.secret_uuid + "'");
  }
  for (const char c : disk.auth_user) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') {
      return InvalidArgument("domain spec: " + what + "bad cephx user '" + disk.auth_user + "'");
    }
  }
  return OkStatus();
}

Status ValidateDomainSpec(const DomainSpec& spec) {
  if (!IsUuid(spec.uuid)) return InvalidArgument("domain spec: bad uuid '" + spec.uuid + "'");
  if (spec.name.empty()) return InvalidArgument("domain spec: empty name");
  if (spec.domain_type.empty()) return InvalidArgument("domain spec: empty domain type");
  if (spec.vcpus < 1) return InvalidArgument("domain spec: vcpus must be >= 1");
  if (spec.memory_mib < 1) return InvalidArgument("domain spec: memory_mib must be >= 1");
  std::set<std::string> targets;
  for (const auto& disk : spec.disks) {
    GP_RETURN_IF_ERROR(ValidateDiskSpec(disk));
    if (!targets.insert(disk.target_dev).second) {
      return InvalidArgument("domain spec: two disks at target '" + disk.target_dev + "'");
    }
  }
  std::set<std::string> ports, macs, taps;
  for (const auto& nic : spec.nics) {
    GP_RETURN_IF_ERROR(ValidateNicSpec(nic));
    if (!ports.insert(nic.port_id).second) {
      return InvalidArgument("domain spec: two NICs for port '" + nic.port_id + "'");
    }
    if (!macs.insert(nic.mac).second) {
      return InvalidArgument("domain spec: two NICs with MAC " + nic.mac);
    }
    if (!taps.insert(NicTapName(nic.port_id)).second) {
      return InvalidArgument("domain spec: two NICs would share the tap device " +
                             NicTapName(nic.port_id));
    }
  }
  for (const std::string* p : {&spec.kernel_path, &spec.initrd_path, &spec.serial_log_path}) {
    if (!p->empty() && !IsAbsolute(*p)) {
      return InvalidArgument("domain spec: path must be absolute: '" + *p + "'");
    }
  }
  if (spec.kernel_path.empty() && !spec.initrd_path.empty()) {
    return InvalidArgument("domain spec: an initrd needs a kernel");
  }
  return OkStatus();
}

}  // namespace govpool::agent
