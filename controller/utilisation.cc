#include "controller/utilisation.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/clock.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

constexpr double kMibPerGib = 1024;
constexpr std::int64_t kMaxSpanMs = 366LL * 24 * kHourMs;

std::int64_t HourOf(std::int64_t ms) { return ms - ms % kHourMs; }

// RFC 3339, or a date (UTC midnight).
Result<std::int64_t> ParseInstant(const std::string& text, const char* field) {
  std::string full = text;
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') full += "T00:00:00Z";
  auto t = ParseRfc3339(full);
  if (!t.ok()) {
    return InvalidArgument(std::string(field) + " must be an RFC 3339 time or a date (YYYY-MM-DD): " + text)
        .WithDetail("field", field);
  }
  return static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count());
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

UtilisationSample SampleUtilisation(const State& s) {
  UtilisationSample out;
  for (const auto& [id, d] : s.departments()) out[{kByDepartment, id}];
  for (const auto& [id, v] : s.vms()) {
    if (v.host_id.empty()) continue;  // not placed: nothing allocated yet
    UtilisationRates& r = out[{kByDepartment, v.department_id}];
    r.vms += 1;
    r.vcpus_allocated += static_cast<double>(v.vcpus);
    r.memory_gib_allocated += static_cast<double>(v.memory_mib) / kMibPerGib;
    r.disk_gib_allocated += static_cast<double>(v.disk_gib);
  }
  for (const auto& [id, v] : s.volumes()) {
    out[{kByDepartment, v.department_id}].disk_gib_allocated += static_cast<double>(v.size_gib);
  }
  for (const auto& [department_id, use] : s.MeasuredUseByDepartment()) {
    UtilisationRates& r = out[{kByDepartment, department_id}];
    r.vcpus_used += static_cast<double>(use.cpu_busy_millicores) / 1000;
    r.memory_gib_used += static_cast<double>(use.memory_used_mib) / kMibPerGib;
  }
  for (const auto& [id, raw] : s.hosts()) {
    const api::Host h = s.RenderHost(raw);
    UtilisationRates& r = out[{kByPool, h.pool}];
    r.vms += static_cast<double>(h.instances);
    r.vcpus_allocated += static_cast<double>(h.allocated.vcpus);
    r.memory_gib_allocated += static_cast<double>(h.allocated.memory_mib) / kMibPerGib;
    r.disk_gib_allocated += static_cast<double>(h.allocated.disk_gib);
    if (h.status != api::HostStatus::kUp) continue;
    r.vcpus_capacity += static_cast<double>(h.capacity.cpus);
    r.memory_gib_capacity += static_cast<double>(h.capacity.memory_mib) / kMibPerGib;
    if (h.actual.reported_at_ms > 0) {
      r.vcpus_used += static_cast<double>(h.actual.cpu_busy_millicores) / 1000;
      r.memory_gib_used += static_cast<double>(h.actual.memory_used_mib) / kMibPerGib;
    }
  }
  return out;
}

void UtilisationMeter::Add(const UtilisationSample& sample, std::int64_t now_ms) {
  if (last_ms_ > 0 && now_ms > last_ms_ && now_ms - last_ms_ <= max_gap_ms_) {
    for (const auto& [key, rates] : last_) Count(key, rates, last_ms_, now_ms);
  }
  if (now_ms >= last_ms_) {
    last_ms_ = now_ms;
    last_ = sample;
  }
}

void UtilisationMeter::Count(const UtilisationKey& key, const UtilisationRates& rates, std::int64_t from_ms,
                             std::int64_t to_ms) {
  while (from_ms < to_ms) {
    const std::int64_t hour = HourOf(from_ms);
    const std::int64_t end = std::min(to_ms, hour + kHourMs);
    const double hours = static_cast<double>(end - from_ms) / kHourMs;
    Open& open = open_[{key, hour}];
    api::UtilisationFigures& f = open.figures;
    f.sampled_hours += hours;
    f.vm_hours += rates.vms * hours;
    f.vcpu_hours_allocated += rates.vcpus_allocated * hours;
    f.vcpu_hours_used += rates.vcpus_used * hours;
    f.memory_gib_hours_allocated += rates.memory_gib_allocated * hours;
    f.memory_gib_hours_used += rates.memory_gib_used * hours;
    f.disk_gib_hours_allocated += rates.disk_gib_allocated * hours;
    f.vcpu_hours_capacity += rates.vcpus_capacity * hours;
    f.memory_gib_hours_capacity += rates.memory_gib_capacity * hours;
    open.changed = true;
    from_ms = end;
  }
}

std::vector<UtilisationRow> UtilisationMeter::Changed() const {
  std::vector<UtilisationRow> out;
  for (const auto& [at, open] : open_) {
    const auto& [key, hour] = at;
    if (open.changed) out.push_back(UtilisationRow{key.first, key.second, api::UtilisationHour{hour, open.figures}});
  }
  return out;
}

void UtilisationMeter::Written() {
  const std::int64_t current = HourOf(last_ms_);
  for (auto it = open_.begin(); it != open_.end();) {
    it->second.changed = false;
    it = it->first.second < current ? open_.erase(it) : std::next(it);
  }
}

void UtilisationMeter::Seed(const std::vector<UtilisationRow>& rows) {
  for (const UtilisationRow& row : rows) {
    Open& open = open_[{{row.group, row.key}, row.hour.hour_ms}];
    const api::UtilisationFigures counted = open.figures;
    open.figures = row.hour.figures;
    AddFigures(open.figures, counted);
  }
}

void AddFigures(api::UtilisationFigures& a, const api::UtilisationFigures& b) {
  a.sampled_hours += b.sampled_hours;
  a.vm_hours += b.vm_hours;
  a.vcpu_hours_allocated += b.vcpu_hours_allocated;
  a.vcpu_hours_used += b.vcpu_hours_used;
  a.memory_gib_hours_allocated += b.memory_gib_hours_allocated;
  a.memory_gib_hours_used += b.memory_gib_hours_used;
  a.disk_gib_hours_allocated += b.disk_gib_hours_allocated;
  a.vcpu_hours_capacity += b.vcpu_hours_capacity;
  a.memory_gib_hours_capacity += b.memory_gib_hours_capacity;
}

void DeriveUtilisation(api::UtilisationFigures& f, const std::string& group) {
  const bool pool = group == kByPool;
  const double cpu_of = pool ? f.vcpu_hours_capacity : f.vcpu_hours_allocated;
  const double memory_of = pool ? f.memory_gib_hours_capacity : f.memory_gib_hours_allocated;
  f.cpu_utilisation = cpu_of > 0 ? f.vcpu_hours_used / cpu_of : 0;
  f.memory_utilisation = memory_of > 0 ? f.memory_gib_hours_used / memory_of : 0;
}

Result<UtilisationQuery> ParseUtilisationQuery(const std::string& group_by, const std::string& from,
                                               const std::string& to, std::int64_t now_ms) {
  UtilisationQuery q;
  if (!group_by.empty()) {
    if (group_by != kByDepartment && group_by != kByPool) {
      return InvalidArgument("group_by must be department or pool").WithDetail("field", "group_by");
    }
    q.group_by = group_by;
  }
  q.to_ms = HourOf(now_ms) + kHourMs;
  if (!to.empty()) {
    GP_ASSIGN_OR_RETURN(const std::int64_t t, ParseInstant(to, "to"));
    q.to_ms = HourOf(t + kHourMs - 1);  // a partial hour at the end counts whole
  }
  q.from_ms = q.to_ms - 24 * kHourMs;
  if (!from.empty()) {
    GP_ASSIGN_OR_RETURN(const std::int64_t f, ParseInstant(from, "from"));
    q.from_ms = HourOf(f);
  }
  if (q.to_ms <= q.from_ms) return InvalidArgument("to must be after from").WithDetail("field", "to");
  if (q.to_ms - q.from_ms > kMaxSpanMs) {
    return InvalidArgument("a report spans at most 366 days").WithDetail("field", "from");
  }
  return q;
}

Result<UtilisationSubjects> UtilisationSubjectsOf(const State& s, const Caller& caller, const std::string& group_by) {
  UtilisationSubjects out;
  if (group_by == kByPool) {
    GP_RETURN_IF_ERROR(RequireSystemAdmin(caller).Annotate("utilisation by pool"));
    for (const auto& [id, h] : s.hosts()) out[h.pool] = h.pool;
    return out;
  }
  for (const auto& [id, d] : s.departments()) {
    if (CanSeeDepartment(s, caller, id)) out[id] = d.name;
  }
  if (out.empty() && !caller.is_system_admin()) {
    return PermissionDenied("utilisation reports show departments to their members and to the system-admin");
  }
  return out;
}

Result<api::UtilisationReport> BuildUtilisationReport(StateStore& store, const UtilisationSubjects& subjects,
                                                      bool all_keys, const UtilisationQuery& query) {
  api::UtilisationReport report;
  report.from_ms = query.from_ms;
  report.to_ms = query.to_ms;
  report.group_by = query.group_by;
  std::map<std::string, api::UtilisationSeries> by_key;
  for (const auto& [key, name] : subjects) by_key[key] = api::UtilisationSeries{key, name, {}, {}};
  GP_RETURN_IF_ERROR(store.ScanUtilisation(query.group_by, query.from_ms, query.to_ms, [&](const UtilisationRow& row) {
    auto it = by_key.find(row.key);
    if (it == by_key.end()) {
      if (!all_keys) return;
      it = by_key.emplace(row.key, api::UtilisationSeries{row.key, row.key, {}, {}}).first;
    }
    api::UtilisationHour hour = row.hour;
    DeriveUtilisation(hour.figures, query.group_by);
    AddFigures(it->second.total, hour.figures);
    it->second.hours.push_back(std::move(hour));
  }));
  for (auto& [key, series] : by_key) {
    DeriveUtilisation(series.total, query.group_by);
    report.series.push_back(std::move(series));
  }
  std::stable_sort(report.series.begin(), report.series.end(),
                   [](const api::UtilisationSeries& a, const api::UtilisationSeries& b) { return a.name < b.name; });
  return report;
}

std::string UtilisationCsv(const api::UtilisationReport& report) {
  std::string out =
      "group,key,name,hour,sampled_hours,vm_hours,vcpu_hours_allocated,vcpu_hours_used,"
      "memory_gib_hours_allocated,memory_gib_hours_used,disk_gib_hours_allocated,vcpu_hours_capacity,"
      "memory_gib_hours_capacity,cpu_utilisation,memory_utilisation\n";
  auto line = [&](const api::UtilisationSeries& s, const std::string& hour, const api::UtilisationFigures& f) {
    // Keys and names are ids and validated names ([A-Za-z0-9._-]): nothing to quote.
    out += report.group_by + "," + s.key + "," + s.name + "," + hour;
    for (double v : {f.sampled_hours, f.vm_hours, f.vcpu_hours_allocated, f.vcpu_hours_used,
                     f.memory_gib_hours_allocated, f.memory_gib_hours_used, f.disk_gib_hours_allocated,
                     f.vcpu_hours_capacity, f.memory_gib_hours_capacity, f.cpu_utilisation, f.memory_utilisation}) {
      out += "," + FormatNumber(v);
    }
    out += "\n";
  };
  for (const api::UtilisationSeries& s : report.series) {
    for (const api::UtilisationHour& h : s.hours) {
      line(s, FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(h.hour_ms))), h.figures);
    }
    line(s, "total", s.total);
  }
  return out;
}

}  // namespace govpool::controller
