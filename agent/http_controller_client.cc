#include "agent/http_controller_client.h"

#include "api/errors.h"
#include "api/http_message.h"
#include "common/log.h"

namespace govpool::agent {
namespace {

// A `deleted` report for a record that is already gone confirms the cleanup all the same.
template <class T>
Status ReportOutcome(const Result<T>& answer, bool deleted, const std::string& what) {
  if (answer.ok()) return OkStatus();
  if (deleted && answer.status().code() == StatusCode::kNotFound) return OkStatus();
  return answer.status().Annotate("reporting the status of " + what);
}

}  // namespace

Result<std::unique_ptr<HttpControllerClient>> HttpControllerClient::Create(
    const api::ClientOptions& options) {
  return Create(std::make_shared<const ClientCredentials>(options), options.timeout_ms);
}

Result<std::unique_ptr<HttpControllerClient>> HttpControllerClient::Create(
    std::shared_ptr<const ClientCredentials> credentials, int timeout_ms) {
  std::unique_ptr<HttpControllerClient> client(new HttpControllerClient(std::move(credentials), timeout_ms));
  GP_RETURN_IF_ERROR(client->Connect());
  return client;
}

Status HttpControllerClient::Connect() {
  auto [options, generation] = credentials_->Current();
  options.timeout_ms = timeout_ms_;
  GP_ASSIGN_OR_RETURN(auto api, api::Client::Create(options));
  api_ = std::move(api);
  options_ = std::move(options);
  generation_ = generation;
  return OkStatus();
}

api::Client& HttpControllerClient::Api() {
  if (credentials_->generation() != generation_) {
    // A certificate the renewer checked cannot fail here; if it did, the old one still works
    // until it expires, and the next call tries again.
    if (Status s = Connect(); !s.ok()) log::Warn("cannot use the renewed credentials", {{"error", s.ToString()}});
  }
  return *api_;
}

Result<api::Host> HttpControllerClient::RegisterHost(const api::RegisterHostRequest& req) {
  auto host = Api().RegisterHost(req);
  if (!host.ok()) return host.status().Annotate("registering host " + req.name);
  return host;
}

Status HttpControllerClient::Heartbeat(const std::string& host_id, const api::HeartbeatRequest& req) {
  auto host = Api().Heartbeat(host_id, req);
  return host.ok() ? OkStatus() : host.status().Annotate("heartbeat");
}

Result<WatchAnswer> HttpControllerClient::WatchVms(const std::string& host_id, std::int64_t revision,
                                                   int timeout_seconds) {
  auto answer = Api().WatchHostVms(host_id, revision, timeout_seconds);
  if (!answer.ok()) return answer.status().Annotate("watching the host's VMs");
  return answer;
}

Status HttpControllerClient::ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) {
  return ReportOutcome(Api().ReportVmStatus(vm_id, report), report.state == api::VmState::kDeleted,
                       "vm " + vm_id);
}

Status HttpControllerClient::ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) {
  Status s = Api().ReportHostEvents(host_id, req);
  return s.ok() ? s : s.Annotate("reporting host events");
}

Status HttpControllerClient::ReportPortStatus(const std::string& port_id, const api::PortStatusReport& report) {
  return ReportOutcome(Api().ReportPortStatus(port_id, report), report.status == "down", "port " + port_id);
}

Status HttpControllerClient::ReportVolumeStatus(const std::string& volume_id,
                                                const api::VolumeStatusReport& report) {
  return ReportOutcome(Api().ReportVolumeStatus(volume_id, report),
                       report.state == api::VolumeState::kDeleted, "volume " + volume_id);
}

Status HttpControllerClient::ReportSnapshotStatus(const std::string& volume_id, const std::string& snapshot_id,
                                                  const api::SnapshotStatusReport& report) {
  return ReportOutcome(Api().ReportSnapshotStatus(volume_id, snapshot_id, report),
                       report.state == api::SnapshotState::kDeleted,
                       "snapshot " + snapshot_id + " of volume " + volume_id);
}

Status HttpControllerClient::ReportBackupStatus(const std::string& backup_id, const api::BackupStatusReport& report) {
  return ReportOutcome(Api().ReportBackupStatus(backup_id, report), report.state == api::BackupState::kDeleted,
                       "backup " + backup_id);
}

Status HttpControllerClient::ReportImageStatus(const std::string& image_id, const api::ImageStatusReport& report) {
  return ReportOutcome(Api().ReportImageStatus(image_id, report), report.state == api::ImageState::kDeleted,
                       "image " + image_id);
}

Status HttpControllerClient::DownloadImage(const std::string& image_id, const ChunkSink& sink) {
  // The image's data is a streamed body, not a JSON call: straight over an HTTP client, and one
  // of its own. The sink runs while the body is still arriving on that connection; a call it
  // makes (a progress report) on the JSON calls' connection would otherwise be written into
  // the middle of the download, and both would fail.
  const std::string target = "/v1/images/" + api::PercentEncode(image_id) + "/data";
  auto http = api::HttpClient::Create(options_);
  if (!http.ok()) return http.status().Annotate("downloading image " + image_id);
  auto response = (*http)->Download(target, [&](std::string_view chunk) { return sink(chunk); });
  if (!response.ok()) return response.status().Annotate("downloading image " + image_id);
  if (response->status < 200 || response->status >= 300) {
    return api::StatusFromResponse(*response).Annotate("downloading image " + image_id);
  }
  return OkStatus();
}

}  // namespace govpool::agent
