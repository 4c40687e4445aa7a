// A component's Prometheus metrics declared in one list (Envoy's ALL_*_STATS lists): each
// entry its id, name, type, label names and help; code refers to a metric by its id and passes
// label values in the declared order, so nothing else spells a metric's name or its labels.
// Plain types: the list is checked at compile time (InIdOrder) and by each component's tests
// (naming conventions); metric_families.h turns it into prometheus-cpp families.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace govpool {

enum class MetricType { kCounter, kGauge, kHistogram };

template <typename Id>
struct MetricDefOf {
  Id id;
  std::string_view name;
  MetricType type;
  std::string_view labels;  // label names, comma-separated, in the order values are given
  std::string_view help;
};

// True when every entry sits at the index of its id (so a lookup is an index).
template <typename Id, std::size_t N>
constexpr bool InIdOrder(const std::array<MetricDefOf<Id>, N>& list) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(list[i].id) != i) return false;
  }
  return true;
}

// The declared label names, in order.
inline std::vector<std::string> MetricLabelNames(std::string_view labels) {
  std::vector<std::string> out;
  while (!labels.empty()) {
    const std::size_t comma = labels.find(',');
    out.emplace_back(labels.substr(0, comma));
    labels = comma == std::string_view::npos ? std::string_view() : labels.substr(comma + 1);
  }
  return out;
}

}  // namespace govpool
