// Explanation::Summary: the human text of a placement's filter outcome: the counts per reason,
// then the sentences filters added (Explanation::notes).
#include <algorithm>
#include <utility>
#include <vector>

#include "scheduler/scheduler.h"

namespace govpool::scheduler {

std::string Explanation::Summary() const {
  std::string out;
  if (complete) {
    out = std::to_string(hosts_fit) + " of " + std::to_string(hosts_total) + " hosts fit";
  } else {
    out = std::to_string(hosts_fit) + " of " + std::to_string(hosts_examined) +
          " examined hosts fit (" + std::to_string(hosts_total) + " hosts)";
  }
  std::vector<std::pair<std::string, std::int64_t>> items(rejected.begin(), rejected.end());
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  bool first = true;
  for (const auto& [reason, count] : items) {
    if (count == 0) continue;
    out += first ? ": " : ", ";
    first = false;
    out += std::to_string(count) + " " + reason;
  }
  // The filters' sentences (FilterPlugin::Explain), e.g. "(no host reaches storage pool p-1)".
  for (std::size_t i = 0; i < notes.size(); ++i) {
    out += i == 0 ? " (" : "; ";
    out += notes[i];
  }
  if (!notes.empty()) out += ")";
  return out;
}

}  // namespace govpool::scheduler
