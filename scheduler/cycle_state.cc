// CycleState, HostDelta and HostView: the per-request scratch and what plugins see of a host.
#include <algorithm>

#include "scheduler/host_state.h"

namespace govpool::scheduler {
namespace {

template <typename Counters>
auto FindByName(Counters& counters, std::string_view name) {
  return std::lower_bound(counters.begin(), counters.end(), name,
                          [](const auto& c, std::string_view n) { return c.name < n; });
}

bool SlotLess(const std::pair<std::uint32_t, std::int64_t>& m, std::uint32_t slot) {
  return m.first < slot;
}

}  // namespace

const ExtendedCounter* HostState::FindExtended(std::string_view name) const {
  auto it = FindByName(extended, name);
  return it != extended.end() && it->name == name ? &*it : nullptr;
}

std::int64_t HostDelta::Extended(std::string_view name) const {
  for (const auto& [n, amount] : extended) {
    if (n == name) return amount;
  }
  return 0;
}

void HostDelta::AddExtended(std::string_view name, std::int64_t amount) {
  for (auto& [n, claimed] : extended) {
    if (n == name) {
      claimed += amount;
      return;
    }
  }
  extended.emplace_back(std::string(name), amount);
}

HostDelta& CycleState::Delta(const HostState& host) {
  for (HostDelta& d : deltas_) {
    if (d.host == &host) return d;
  }
  HostDelta& d = deltas_.emplace_back();
  d.host = &host;
  d.slot = host.index;
  d.cells.resize(host.cells.size());
  return d;
}

const HostDelta* CycleState::FindDelta(std::uint32_t slot) const {
  for (const HostDelta& d : deltas_) {
    if (d.slot == slot) return &d;
  }
  return nullptr;
}

HostDelta* CycleState::FindDelta(std::uint32_t slot) {
  for (HostDelta& d : deltas_) {
    if (d.slot == slot) return &d;
  }
  return nullptr;
}

std::int64_t CycleState::MembersOn(std::uint32_t slot) const {
  if (members_.empty()) return 0;
  auto it = std::lower_bound(members_.begin(), members_.end(), slot, SlotLess);
  return it != members_.end() && it->first == slot ? it->second : 0;
}

void CycleState::AddMember(std::uint32_t slot) {
  auto it = std::lower_bound(members_.begin(), members_.end(), slot, SlotLess);
  if (it != members_.end() && it->first == slot) {
    ++it->second;
  } else {
    members_.insert(it, {slot, 1});
  }
  ++members_total_;
}

void CycleState::RemoveMember(std::uint32_t slot) {
  auto it = std::lower_bound(members_.begin(), members_.end(), slot, SlotLess);
  if (it == members_.end() || it->first != slot) return;
  if (--it->second == 0) members_.erase(it);
  --members_total_;
}

std::int64_t HostView::ExtendedLimit(std::string_view name) const {
  const ExtendedCounter* c = host->FindExtended(name);
  return c == nullptr ? 0 : c->limit;
}

std::int64_t HostView::ExtendedUsed(std::string_view name) const {
  const ExtendedCounter* c = host->FindExtended(name);
  return (c == nullptr ? 0 : c->used) + (delta == nullptr ? 0 : delta->Extended(name));
}

HostView MakeView(const HostState& h, const CycleState& cycle) {
  HostView v;
  v.host = &h;
  v.used = h.used;
  v.instances = h.instances;
  if (const HostDelta* d = cycle.FindDelta(h.index)) {
    v.used.vcpus += d->used.vcpus;
    v.used.memory_mib += d->used.memory_mib;
    v.used.disk_gib += d->used.disk_gib;
    v.instances += d->instances;
    if (!d->cells.empty()) v.cell_extra = &d->cells;
    v.delta = d;
  }
  v.group_members = cycle.MembersOn(h.index);
  return v;
}

}  // namespace govpool::scheduler
