// ControllerClient: the agent's seam to the controller (the agent protocol of the REST API):
// register the host, heartbeat, watch the VMs assigned to the host, report VM status.
// HttpControllerClient implements it over api::HttpClient; tests use an in-memory fake.
//
// Errors: Unavailable / DeadlineExceeded when the controller cannot be reached (retry later);
// otherwise the canonical code of the controller's error answer, with its message.
// Thread-safety: HttpControllerClient is NOT thread-safe (one HTTP connection): use one per
// thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/client/http_client.h"
#include "api/types.h"
#include "common/result.h"

namespace govpool::agent {

// One answer of GET /v1/hosts/{id}/vms: the host's whole desired set as of `revision`.
struct WatchAnswer {
  std::int64_t revision = 0;
  std::vector<api::Vm> items;
};

class ControllerClient {
 public:
  virtual ~ControllerClient() = default;
  // POST /v1/hosts/register. The host as registered (its id in meta.id).
  virtual Result<api::Host> RegisterHost(const api::RegisterHostRequest& req) = 0;
  // POST /v1/hosts/{id}/heartbeat with the host's actual usage (null: none measured).
  // NotFound when the host is unknown (re-register).
  virtual Status Heartbeat(const std::string& host_id, const api::HostActualUsage* usage) = 0;
  // GET /v1/hosts/{id}/vms?revision=R&timeout_seconds=T (long-poll; T = 0 answers at once).
  virtual Result<WatchAnswer> WatchVms(const std::string& host_id, std::int64_t revision,
                                       int timeout_seconds) = 0;
  // PUT /v1/vms/{id}/status. OK also when the report was `deleted` and the record is already
  // gone (NotFound): the cleanup is confirmed either way.
  virtual Status ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) = 0;
  // POST /v1/hosts/{id}/events: what the agent noticed and repaired (at most 100 per call).
  virtual Status ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) = 0;
};

class HttpControllerClient final : public ControllerClient {
 public:
  // `options.timeout_ms` must exceed the longest watch timeout used.
  static Result<std::unique_ptr<HttpControllerClient>> Create(const api::ClientOptions& options);

  Result<api::Host> RegisterHost(const api::RegisterHostRequest& req) override;
  Status Heartbeat(const std::string& host_id, const api::HostActualUsage* usage) override;
  Result<WatchAnswer> WatchVms(const std::string& host_id, std::int64_t revision,
                               int timeout_seconds) override;
  Status ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) override;
  Status ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) override;

 private:
  explicit HttpControllerClient(std::unique_ptr<api::HttpClient> http) : http_(std::move(http)) {}
  std::unique_ptr<api::HttpClient> http_;
};

// JSON helpers of the agent protocol (exposed for tests).
std::string EncodeRegisterHostRequest(const api::RegisterHostRequest& req);
std::string EncodeVmStatusReport(const api::VmStatusReport& report);
Result<WatchAnswer> DecodeWatchAnswer(std::string_view json);

}  // namespace govpool::agent
