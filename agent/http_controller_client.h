// HttpControllerClient: the ControllerClient seam over the typed REST client (api::Client).
// NOT thread-safe (one HTTP connection for the JSON calls): use one per thread. DownloadImage
// streams over a connection of its own, so its sink may call the other methods (the storage
// reconciler reports import progress while the body arrives).
#pragma once

#include <memory>

#include "agent/agent_certificate.h"
#include "agent/controller_client.h"
#include "api/client/client.h"

namespace govpool::agent {

class HttpControllerClient final : public ControllerClient {
 public:
  // `options.timeout_ms` must exceed the longest watch timeout used.
  static Result<std::unique_ptr<HttpControllerClient>> Create(const api::ClientOptions& options);
  // Connects with `credentials`' current options (their timeout replaced by `timeout_ms`), and
  // again with the new ones before the next call once they changed (a renewed certificate).
  static Result<std::unique_ptr<HttpControllerClient>> Create(std::shared_ptr<const ClientCredentials> credentials,
                                                              int timeout_ms);

  Result<api::Host> RegisterHost(const api::RegisterHostRequest& req) override;
  Status Heartbeat(const std::string& host_id, const api::HeartbeatRequest& req) override;
  Result<WatchAnswer> WatchVms(const std::string& host_id, std::int64_t revision,
                               int timeout_seconds) override;
  Status ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) override;
  Status ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) override;
  Status ReportPortStatus(const std::string& port_id, const api::PortStatusReport& report) override;
  Status ReportVolumeStatus(const std::string& volume_id, const api::VolumeStatusReport& report) override;
  Status ReportSnapshotStatus(const std::string& volume_id, const std::string& snapshot_id,
                              const api::SnapshotStatusReport& report) override;
  Status ReportImageStatus(const std::string& image_id, const api::ImageStatusReport& report) override;
  Status ReportBackupStatus(const std::string& backup_id, const api::BackupStatusReport& report) override;
  Status DownloadImage(const std::string& image_id, const ChunkSink& sink) override;

 private:
  HttpControllerClient(std::shared_ptr<const ClientCredentials> credentials, int timeout_ms)
      : credentials_(std::move(credentials)), timeout_ms_(timeout_ms) {}
  // The client for the next call: rebuilt when the credentials changed since it was made.
  api::Client& Api();
  Status Connect();

  const std::shared_ptr<const ClientCredentials> credentials_;
  const int timeout_ms_;
  std::uint64_t generation_ = 0;
  api::ClientOptions options_;  // those api_ was made with; the downloads' own connections too
  std::unique_ptr<api::Client> api_;
};

}  // namespace govpool::agent
