#include "controller/ipam.h"

#include <charconv>

namespace govpool::controller::ipam {

std::optional<Ipv4> ParseIpv4(std::string_view text) {
  Ipv4 out = 0;
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    std::size_t end = pos;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == pos || end - pos > 3 || (end - pos > 1 && text[pos] == '0')) return std::nullopt;
    unsigned value = 0;
    std::from_chars(text.data() + pos, text.data() + end, value);
    if (value > 255) return std::nullopt;
    out = (out << 8) | value;
    pos = end;
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

std::string FormatIpv4(Ipv4 a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string Cidr::ToString() const { return FormatIpv4(network) + "/" + std::to_string(prefix); }

Result<Cidr> ParseCidr(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("cidr '" + std::string(text) + "': " + why).WithDetail("field", "cidr");
  };
  if (text.find(':') != std::string_view::npos) {
    return bad("IPv6 subnets are not supported yet (give an IPv4 CIDR)");
  }
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected a.b.c.d/prefix");
  std::optional<Ipv4> address = ParseIpv4(text.substr(0, slash));
  if (!address) return bad("not an IPv4 address");
  std::string_view p = text.substr(slash + 1);
  int prefix = -1;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || (p.size() > 1 && p[0] == '0')) {
    return bad("the prefix is not a number");
  }
  if (prefix < 8 || prefix > 30) return bad("the prefix must be 8..30");
  Cidr c{*address, prefix};
  if ((*address & c.HostMask()) != 0) {
    return bad("host bits are set (the network address is " + FormatIpv4(*address & ~c.HostMask()) + ")");
  }
  return c;
}

Ipam::Ipam(const std::vector<std::pair<Ipv4, Ipv4>>& pools) : pools_(pools) {
  for (const auto& [start, end] : pools) free_[start] = end;  // pools are disjoint (checked)
  // Merge adjacent pools so the ranges stay canonical.
  for (auto it = free_.begin(); it != free_.end();) {
    auto next = std::next(it);
    if (next != free_.end() && it->second + 1 == next->first) {
      it->second = next->second;
      free_.erase(next);
    } else {
      it = next;
    }
  }
}

bool Ipam::InPool(Ipv4 a) const {
  for (const auto& [start, end] : pools_) {
    if (a >= start && a <= end) return true;
  }
  return false;
}

std::optional<Ipv4> Ipam::NextFree() const {
  if (free_.empty()) return std::nullopt;
  return free_.begin()->first;
}

std::optional<Ipv4> Ipam::NextFreeExcept(const std::set<Ipv4>& also_taken) const {
  for (const auto& [start, end] : free_) {
    // Each address of also_taken skipped costs one step: O(|also_taken| + ranges visited).
    for (Ipv4 a = start;; ++a) {
      if (!also_taken.count(a)) return a;
      if (a == end) break;
    }
  }
  return std::nullopt;
}

void Ipam::Take(Ipv4 a) {
  used_.insert(a);
  auto it = free_.upper_bound(a);
  if (it == free_.begin()) return;
  --it;
  const Ipv4 start = it->first, end = it->second;
  if (a > end) return;
  free_.erase(it);
  if (start < a) free_[start] = a - 1;
  if (a < end) free_[a + 1] = end;
}

void Ipam::Release(Ipv4 a) {
  if (used_.erase(a) == 0 || !InPool(a)) return;
  Ipv4 start = a, end = a;
  auto next = free_.upper_bound(a);
  if (next != free_.end() && next->first == a + 1) {
    end = next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->second + 1 == a) {
      start = prev->first;
      free_.erase(prev);
    }
  }
  free_[start] = end;
}

}  // namespace govpool::controller::ipam
