// IP address management for IPv4 subnets (docs/networking.md, "Networks (controller side)"):
// address and CIDR parsing, and Ipam, one subnet's used addresses and the free ranges of its
// allocation pools, so the next free address is found in O(log n) and never handed out twice.
// State keeps one Ipam per subnet, derived from the subnets' pools and the ports' fixed IPs;
// allocation happens inside Db::Write's transaction, which serializes writers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace govpool::controller::ipam {

using Ipv4 = std::uint32_t;

// "a.b.c.d" with no leading zeros; nullopt otherwise.
std::optional<Ipv4> ParseIpv4(std::string_view text);
std::string FormatIpv4(Ipv4 address);

struct Cidr {
  Ipv4 network = 0;
  int prefix = 0;
  Ipv4 first_host() const { return network + 1; }
  Ipv4 broadcast() const { return network | HostMask(); }
  Ipv4 last_host() const { return broadcast() - 1; }
  Ipv4 HostMask() const { return prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix); }
  // A host address: inside, neither the network address nor the broadcast address.
  bool HasHost(Ipv4 a) const { return a > network && a < broadcast(); }
  bool Overlaps(const Cidr& o) const { return network <= o.broadcast() && o.network <= broadcast(); }
  std::string ToString() const;
};
// "a.b.c.d/p": the network address (no host bits set) and a prefix of 8..30. InvalidArgument
// (field "cidr") otherwise; an IPv6 CIDR is refused as not supported yet.
Result<Cidr> ParseCidr(std::string_view text);

// One subnet's addresses: `used` (held by ports, wherever they are in the subnet) and the free
// ranges of its allocation pools (start -> end, inclusive, disjoint, not adjacent).
class Ipam {
 public:
  Ipam() = default;
  explicit Ipam(const std::vector<std::pair<Ipv4, Ipv4>>& pools);

  bool IsUsed(Ipv4 a) const { return used_.count(a) > 0; }
  std::int64_t used_count() const { return static_cast<std::int64_t>(used_.size()); }
  // The lowest free address of the pools; nullopt when they are exhausted. O(log n).
  std::optional<Ipv4> NextFree() const;
  // The lowest free address of the pools not in `also_taken` (addresses promised in the
  // current write but not recorded yet); nullopt when none is left.
  std::optional<Ipv4> NextFreeExcept(const std::set<Ipv4>& also_taken) const;
  // Marks `a` used (taking it out of its free range, if any). O(log n).
  void Take(Ipv4 a);
  // Gives `a` back (to its pool's free ranges when inside a pool). O(log n).
  void Release(Ipv4 a);

 private:
  bool InPool(Ipv4 a) const;
  std::vector<std::pair<Ipv4, Ipv4>> pools_;
  std::set<Ipv4> used_;
  std::map<Ipv4, Ipv4> free_;
};

}  // namespace govpool::controller::ipam
