// ControllerClient: the agent's seam to the controller (the agent protocol of the REST API):
// register the host, heartbeat, watch the host's desired set (VMs and storage work), report the
// status of VMs, volumes, snapshots and images, download uploaded images.
// HttpControllerClient (http_controller_client.h) implements it over the typed api::Client;
// tests use an in-memory fake. This header links nothing: the reconciler and the host agent
// loop depend on it without pulling in HTTP, Beast or OpenSSL.
//
// Errors: Unavailable / DeadlineExceeded when the controller cannot be reached (retry later);
// otherwise the canonical code of the controller's error answer, with its message.
// Thread-safety: implementations need not be thread-safe: use one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "common/result.h"

namespace govpool::agent {

// One answer of GET /v1/hosts/{id}/vms: the host's whole desired set as of `revision`.
using WatchAnswer = api::WatchAnswer;

class ControllerClient {
 public:
  virtual ~ControllerClient() = default;
  // POST /v1/hosts/register. The host as registered (its id in meta.id).
  virtual Result<api::Host> RegisterHost(const api::RegisterHostRequest& req) = 0;
  // POST /v1/hosts/{id}/heartbeat with the host's actual usage and its reports on the storage
  // pools of its clusters (each omitted when not measured). NotFound when the host is unknown
  // (re-register).
  virtual Status Heartbeat(const std::string& host_id, const api::HeartbeatRequest& req) = 0;
  // GET /v1/hosts/{id}/vms?revision=R&timeout_seconds=T (long-poll; T = 0 answers at once).
  virtual Result<WatchAnswer> WatchVms(const std::string& host_id, std::int64_t revision,
                                       int timeout_seconds) = 0;
  // PUT /v1/vms/{id}/status. OK also when the report was `deleted` and the record is already
  // gone (NotFound): the cleanup is confirmed either way.
  virtual Status ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) = 0;
  // PUT /v1/ports/{id}/status: a NIC of a VM on this host plugged (`active`, host_id this
  // host), unplugged (`down`, host_id "") or failed (`error`). OK also when a `down` report
  // finds the port already gone (NotFound: it was detached and deleted).
  virtual Status ReportPortStatus(const std::string& port_id, const api::PortStatusReport& report) = 0;
  // POST /v1/hosts/{id}/events: what the agent noticed and repaired (at most 100 per call).
  virtual Status ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) = 0;

  // Storage (docs/storage.md). Like ReportVmStatus, a `deleted` report for a record that is
  // already gone (NotFound) is OK.
  // PUT /v1/volumes/{id}/status.
  virtual Status ReportVolumeStatus(const std::string& volume_id, const api::VolumeStatusReport& report) = 0;
  // PUT /v1/volumes/{id}/snapshots/{sid}/status.
  virtual Status ReportSnapshotStatus(const std::string& volume_id, const std::string& snapshot_id,
                                      const api::SnapshotStatusReport& report) = 0;
  // PUT /v1/images/{id}/status.
  virtual Status ReportImageStatus(const std::string& image_id, const api::ImageStatusReport& report) = 0;
  // PUT /v1/backups/{id}/status.
  virtual Status ReportBackupStatus(const std::string& backup_id, const api::BackupStatusReport& report) = 0;
  // GET /v1/images/{id}/data: the uploaded bytes, in order, to `sink` (streamed: never held in
  // memory whole). `sink`'s error stops the download and is returned as it is.
  using ChunkSink = std::function<Status(std::string_view chunk)>;
  virtual Status DownloadImage(const std::string& image_id, const ChunkSink& sink) = 0;
};

}  // namespace govpool::agent
