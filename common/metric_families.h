// MetricFamilies: a scrape's families of the metrics of one list (common/metric_list.h) whose
// values are read at scrape time (gauges, and counters kept elsewhere), as prometheus-cpp's
// MetricFamily for its TextSerializer. Header-only: include it only from targets that link
// prometheus-cpp::core. Not thread-safe: one per scrape.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/metric_list.h"

namespace govpool {

template <typename Id, std::size_t N>
class MetricFamilies {
 public:
  explicit MetricFamilies(const std::array<MetricDefOf<Id>, N>& list) : list_(list) {}

  // One sample of `m` with these label values (in the declared order; a mismatch is a
  // programming error: std::logic_error).
  void Add(Id m, std::vector<std::string> values, double value) {
    prometheus::MetricFamily& f = Family(m);
    const std::vector<std::string>& names = label_names_.at(m);
    if (names.size() != values.size()) {
      throw std::logic_error(f.name + ": label values do not match the declared labels");
    }
    prometheus::ClientMetric metric;
    for (std::size_t i = 0; i < names.size(); ++i) metric.label.push_back({names[i], std::move(values[i])});
    if (f.type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    f.metric.push_back(std::move(metric));
  }

  // One histogram sample of `m`: counts[i] observations at most bounds[i] (not cumulative; the
  // rest above the last bound, from `total`), their `sum`.
  template <std::size_t B>
  void AddHistogram(Id m, std::vector<std::string> values, const std::array<double, B>& bounds,
                    const std::array<std::int64_t, B>& counts, std::int64_t total, double sum) {
    prometheus::MetricFamily& f = Family(m);
    const std::vector<std::string>& names = label_names_.at(m);
    if (names.size() != values.size()) {
      throw std::logic_error(f.name + ": label values do not match the declared labels");
    }
    prometheus::ClientMetric metric;
    for (std::size_t i = 0; i < names.size(); ++i) metric.label.push_back({names[i], std::move(values[i])});
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < B; ++i) {
      cumulative += static_cast<std::uint64_t>(counts[i]);
      metric.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    metric.histogram.bucket.push_back({static_cast<std::uint64_t>(total), std::numeric_limits<double>::infinity()});
    metric.histogram.sample_count = static_cast<std::uint64_t>(total);
    metric.histogram.sample_sum = sum;
    f.metric.push_back(std::move(metric));
  }

  // Declares `m`, so it is exposed (with its help and type) even without samples.
  prometheus::MetricFamily& Family(Id m) {
    auto [it, added] = families_.try_emplace(m);
    if (added) {
      const MetricDefOf<Id>& def = list_[static_cast<std::size_t>(m)];
      label_names_[m] = MetricLabelNames(def.labels);
      it->second.name = std::string(def.name);
      it->second.help = std::string(def.help);
      it->second.type = def.type == MetricType::kCounter     ? prometheus::MetricType::Counter
                        : def.type == MetricType::kHistogram ? prometheus::MetricType::Histogram
                                                             : prometheus::MetricType::Gauge;
    }
    return it->second;
  }

  // Appends the families, in list order, to `out`.
  void MoveInto(std::vector<prometheus::MetricFamily>& out) {
    for (auto& [id, f] : families_) out.push_back(std::move(f));
    families_.clear();
  }

 private:
  const std::array<MetricDefOf<Id>, N>& list_;
  std::map<Id, prometheus::MetricFamily> families_;
  std::map<Id, std::vector<std::string>> label_names_;  // split once per family
};

}  // namespace govpool
