// HttpControllerClient: the ControllerClient seam over the typed REST client (api::Client).
// NOT thread-safe (one HTTP connection for the JSON calls): use one per thread. DownloadImage
// streams over a connection of its own, so its sink may call the other methods (the storage
// reconciler reports import progress while the body arrives).
#pragma once

#include <memory>

#include "agent/controller_client.h"
#include "api/client/client.h"

namespace govpool::agent {

class HttpControllerClient final : public ControllerClient {
 public:
  // `options.timeout_ms` must exceed the longest watch timeout used.
  static Result<std::unique_ptr<HttpControllerClient>> Create(const api::ClientOptions& options);

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
  HttpControllerClient(std::unique_ptr<api::Client> api, api::ClientOptions options)
      : api_(std::move(api)), options_(std::move(options)) {}
  std::unique_ptr<api::Client> api_;
  const api::ClientOptions options_;  // for the downloads' own connections
};

}  // namespace govpool::agent
