// Utilisation rollups (docs/operations.md, "Utilisation reports"): what each department and
// each compute pool was allocated and actually used, hour by hour, kept durably for showback
// and for the programme that measures how well the servers are used.
//
//   - SampleUtilisation reads the state at one instant: per department and per pool, the VMs
//     placed, vCPUs, memory and disk allocated, and what agents measured at their last
//     heartbeats (CPUs busy, memory in use), with pools' capacity.
//   - UtilisationMeter integrates those samples over time into resource-hours per hour (UTC):
//     each sample's figures hold until the next one (an interval is split at hour boundaries).
//     A gap longer than max_gap (the controller was down or stalled) is not counted: the
//     hour's sampled_hours says how much of it was seen.
//   - The housekeeper samples every utilisation_sample_interval and writes the hours that
//     changed to the store (StateStore::PutUtilisation) every utilisation_flush_interval and
//     when an hour ends; after a restart the meter goes on from the stored current hour (Seed).
//   - BuildUtilisationReport assembles stored hours into the report's series.
//
// Memory: the meter holds only the hours still open (the current one, and the previous one
// until it is written), so its size is the number of departments and pools, whatever the
// retention; the hours themselves live in the store, not in the controller's memory.
//
// Thread-safety: SampleUtilisation runs under Db's shared lock; the meter is not synchronised
// (the housekeeping thread owns it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/types.h"
#include "common/result.h"
#include "controller/caller.h"
#include "controller/state.h"
#include "controller/store/state_store.h"

namespace govpool::controller {

inline constexpr std::int64_t kHourMs = 3'600'000;
inline constexpr const char* kByDepartment = "department";
inline constexpr const char* kByPool = "pool";

// What one department or pool holds at one instant (rates: resource-hours per hour).
struct UtilisationRates {
  double vms = 0;
  double vcpus_allocated = 0;
  double vcpus_used = 0;
  double memory_gib_allocated = 0;
  double memory_gib_used = 0;
  double disk_gib_allocated = 0;
  double vcpus_capacity = 0;
  double memory_gib_capacity = 0;
};
using UtilisationKey = std::pair<std::string, std::string>;  // group (kByDepartment|kByPool), key
using UtilisationSample = std::map<UtilisationKey, UtilisationRates>;

// Departments by id (every department, idle ones with zeros; VMs, their disks and the
// department's volumes allocated; agents' measurements of its VMs used) and compute pools by
// name (the hosts' allocation; their measured use; the capacity of the up hosts).
UtilisationSample SampleUtilisation(const State& s);

class UtilisationMeter {
 public:
  // `max_gap_ms`: the longest interval between two samples that is counted.
  explicit UtilisationMeter(std::int64_t max_gap_ms) : max_gap_ms_(max_gap_ms) {}

  // Counts the previous sample's figures over the time since it (when no longer than
  // max_gap), then keeps `sample` for the next interval.
  void Add(const UtilisationSample& sample, std::int64_t now_ms);
  // Hours changed since the last Written(), with their totals so far (an upsert replaces the
  // stored ones).
  std::vector<UtilisationRow> Changed() const;
  // The hours Changed() gave are stored: they are no longer changed, and those that ended are
  // forgotten. (Until it is called, a failed write is retried with the next one.)
  void Written();
  // Totals stored before a restart for hours still open: counting goes on from them.
  void Seed(const std::vector<UtilisationRow>& rows);
  // Hours held in memory (for tests: the bound above).
  std::size_t open_hours() const { return open_.size(); }

 private:
  struct Open {
    api::UtilisationFigures figures;
    bool changed = false;
  };
  void Count(const UtilisationKey& key, const UtilisationRates& rates, std::int64_t from_ms, std::int64_t to_ms);

  const std::int64_t max_gap_ms_;
  std::int64_t last_ms_ = 0;  // 0: no sample yet
  UtilisationSample last_;
  std::map<std::pair<UtilisationKey, std::int64_t>, Open> open_;  // (key, hour start) -> totals
};

// Sums `b` into `a` (the derived ratios are left alone).
void AddFigures(api::UtilisationFigures& a, const api::UtilisationFigures& b);
// Sets the derived ratios: used / capacity for pools, used / allocated for departments.
void DeriveUtilisation(api::UtilisationFigures& f, const std::string& group);

// The request of GET /v1/reports/utilisation, checked: hours [from_ms, to_ms) whole.
struct UtilisationQuery {
  std::string group_by = kByDepartment;
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
};
// `from` and `to` as RFC 3339 times or dates (YYYY-MM-DD, UTC midnight); empty: the last 24
// hours up to the end of the current one. InvalidArgument for bad values, to before from or a
// span over 366 days.
Result<UtilisationQuery> ParseUtilisationQuery(const std::string& group_by, const std::string& from,
                                               const std::string& to, std::int64_t now_ms);
// What `caller` may see grouped by `group_by`, key -> name: departments by id (department
// roles their own only, a bureau's dept-admin also those below it), pools by name (the system-admin only: PermissionDenied otherwise).
// Departments and pools that are gone still have stored hours; they are shown to the
// system-admin under their key.
using UtilisationSubjects = std::map<std::string, std::string>;
Result<UtilisationSubjects> UtilisationSubjectsOf(const State& s, const Caller& caller, const std::string& group_by);
// The report from the stored hours: the subjects' series (system-admin: also keys with hours
// but no subject any more, `all_keys`), totals and ratios derived. Reads only the store, so it
// runs outside Db's lock.
Result<api::UtilisationReport> BuildUtilisationReport(StateStore& store, const UtilisationSubjects& subjects,
                                                      bool all_keys, const UtilisationQuery& query);
// The report as CSV: one line per series and hour, then one per series' total (hour "total").
std::string UtilisationCsv(const api::UtilisationReport& report);

}  // namespace govpool::controller
