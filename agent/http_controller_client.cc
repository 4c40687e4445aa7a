#include "agent/http_controller_client.h"

namespace govpool::agent {

Result<std::unique_ptr<HttpControllerClient>> HttpControllerClient::Create(
    const api::ClientOptions& options) {
  GP_ASSIGN_OR_RETURN(auto api, api::Client::Create(options));
  return std::unique_ptr<HttpControllerClient>(new HttpControllerClient(std::move(api)));
}

Result<api::Host> HttpControllerClient::RegisterHost(const api::RegisterHostRequest& req) {
  auto host = api_->RegisterHost(req);
  if (!host.ok()) return host.status().Annotate("registering host " + req.name);
  return host;
}

Status HttpControllerClient::Heartbeat(const std::string& host_id, const api::HostActualUsage* usage) {
  api::HeartbeatRequest req;
  if (usage) req.usage = *usage;
  auto host = api_->Heartbeat(host_id, req);
  return host.ok() ? OkStatus() : host.status().Annotate("heartbeat");
}

Result<WatchAnswer> HttpControllerClient::WatchVms(const std::string& host_id, std::int64_t revision,
                                                   int timeout_seconds) {
  auto answer = api_->WatchHostVms(host_id, revision, timeout_seconds);
  if (!answer.ok()) return answer.status().Annotate("watching the host's VMs");
  return answer;
}

Status HttpControllerClient::ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) {
  auto vm = api_->ReportVmStatus(vm_id, report);
  if (vm.ok()) return OkStatus();
  // A `deleted` report for a record that is already gone confirms the cleanup all the same.
  if (vm.status().code() == StatusCode::kNotFound && report.state == api::VmState::kDeleted) {
    return OkStatus();
  }
  return vm.status().Annotate("reporting the status of vm " + vm_id);
}

Status HttpControllerClient::ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) {
  Status s = api_->ReportHostEvents(host_id, req);
  return s.ok() ? s : s.Annotate("reporting host events");
}

}  // namespace govpool::agent
