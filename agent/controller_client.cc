#include "agent/controller_client.h"

#include <boost/json.hpp>

#include "api/codec.h"

namespace govpool::agent {
namespace json = boost::json;
namespace {

// The controller's error answer as a Status (code from the HTTP status, message from the body).
Status StatusOf(const api::HttpResponse& resp, std::string_view what) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(resp.status);
  boost::system::error_code ec;
  json::value v = json::parse(resp.body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* e = v.get_object().if_contains("error"); e && e->is_object()) {
      if (const json::value* m = e->get_object().if_contains("message"); m && m->is_string()) {
        message += ": " + std::string(m->get_string());
      }
    }
  }
  switch (resp.status) {
    case 400: return InvalidArgument(message);
    case 401: return Unauthenticated(message);
    case 403: return PermissionDenied(message);
    case 404: return NotFound(message);
    case 409: return Conflict(message);
    case 412:
    case 422: return FailedPrecondition(message);
    case 429:
    case 502:
    case 503:
    case 504: return Unavailable(message);
    default: return Internal(message);
  }
}

}  // namespace

std::string EncodeRegisterHostRequest(const api::RegisterHostRequest& req) {
  json::array cells;
  for (const auto& c : req.capacity.numa_cells) {
    cells.push_back(json::object{{"id", c.id}, {"cpus", c.cpus}, {"memory_mib", c.memory_mib}});
  }
  json::object cap{{"cpus", req.capacity.cpus},
                   {"memory_mib", req.capacity.memory_mib},
                   {"disk_gib", req.capacity.disk_gib}};
  if (!cells.empty()) cap["numa_cells"] = std::move(cells);
  json::object o{{"name", req.name}, {"capacity", std::move(cap)}};
  if (!req.pool.empty()) o["pool"] = req.pool;
  if (!req.traits.empty()) {
    json::array traits;
    for (const auto& t : req.traits) traits.push_back(json::value(t));
    o["traits"] = std::move(traits);
  }
  return json::serialize(o);
}

std::string EncodeVmStatusReport(const api::VmStatusReport& r) {
  json::object o{{"state", r.state}, {"observed_generation", r.observed_generation}};
  if (!r.state_reason.empty()) o["state_reason"] = r.state_reason.substr(0, 4096);
  return json::serialize(o);
}

Result<WatchAnswer> DecodeWatchAnswer(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Internal("the watch answer is not a JSON object");
  const json::object& o = v.get_object();
  const json::value* rev = o.if_contains("revision");
  const json::value* items = o.if_contains("items");
  if (!rev || !rev->is_int64() || !items || !items->is_array()) {
    return Internal("the watch answer lacks revision or items");
  }
  WatchAnswer a;
  a.revision = rev->get_int64();
  for (const json::value& item : items->get_array()) {
    auto vm = api::DecodeVm(json::serialize(item));
    if (!vm.ok()) return Internal("a VM in the watch answer is malformed: " + vm.status().message());
    a.items.push_back(std::move(vm).value());
  }
  return a;
}

Result<std::unique_ptr<HttpControllerClient>> HttpControllerClient::Create(
    const api::ClientOptions& options) {
  GP_ASSIGN_OR_RETURN(auto http, api::HttpClient::Create(options));
  return std::unique_ptr<HttpControllerClient>(new HttpControllerClient(std::move(http)));
}

Result<api::Host> HttpControllerClient::RegisterHost(const api::RegisterHostRequest& req) {
  GP_ASSIGN_OR_RETURN(api::HttpResponse resp,
                      http_->Send("POST", "/v1/hosts/register", EncodeRegisterHostRequest(req),
                                  {{"Content-Type", "application/json"}}));
  if (resp.status != 200) return StatusOf(resp, "registering host " + req.name);
  return api::DecodeHost(resp.body);
}

Status HttpControllerClient::Heartbeat(const std::string& host_id,
                                       const api::HostActualUsage* usage) {
  api::HeartbeatRequest req;
  if (usage) req.usage = *usage;
  GP_ASSIGN_OR_RETURN(api::HttpResponse resp,
                      http_->Send("POST", "/v1/hosts/" + host_id + "/heartbeat",
                                  api::EncodeHeartbeatRequest(req),
                                  {{"Content-Type", "application/json"}}));
  if (resp.status != 200) return StatusOf(resp, "heartbeat");
  return OkStatus();
}

Result<WatchAnswer> HttpControllerClient::WatchVms(const std::string& host_id,
                                                   std::int64_t revision, int timeout_seconds) {
  GP_ASSIGN_OR_RETURN(
      api::HttpResponse resp,
      http_->Send("GET", "/v1/hosts/" + host_id + "/vms?revision=" + std::to_string(revision) +
                             "&timeout_seconds=" + std::to_string(timeout_seconds)));
  if (resp.status != 200) return StatusOf(resp, "watching the host's VMs");
  return DecodeWatchAnswer(resp.body);
}

Status HttpControllerClient::ReportVmStatus(const std::string& vm_id,
                                            const api::VmStatusReport& report) {
  GP_ASSIGN_OR_RETURN(api::HttpResponse resp,
                      http_->Send("PUT", "/v1/vms/" + vm_id + "/status", EncodeVmStatusReport(report),
                                  {{"Content-Type", "application/json"}}));
  if (resp.status == 200 || resp.status == 204) return OkStatus();
  if (resp.status == 404 && report.state == "deleted") return OkStatus();
  return StatusOf(resp, "reporting the status of vm " + vm_id);
}

Status HttpControllerClient::ReportEvents(const std::string& host_id,
                                          const api::ReportEventsRequest& req) {
  GP_ASSIGN_OR_RETURN(api::HttpResponse resp,
                      http_->Send("POST", "/v1/hosts/" + host_id + "/events",
                                  api::EncodeReportEventsRequest(req),
                                  {{"Content-Type", "application/json"}}));
  if (resp.status == 204) return OkStatus();
  return StatusOf(resp, "reporting host events");
}

}  // namespace govpool::agent
