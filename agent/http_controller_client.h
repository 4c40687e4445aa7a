// HttpControllerClient: the ControllerClient seam over the typed REST client (api::Client).
// NOT thread-safe (one HTTP connection): use one per thread.
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
  Status Heartbeat(const std::string& host_id, const api::HostActualUsage* usage) override;
  Result<WatchAnswer> WatchVms(const std::string& host_id, std::int64_t revision,
                               int timeout_seconds) override;
  Status ReportVmStatus(const std::string& vm_id, const api::VmStatusReport& report) override;
  Status ReportEvents(const std::string& host_id, const api::ReportEventsRequest& req) override;

 private:
  explicit HttpControllerClient(std::unique_ptr<api::Client> api) : api_(std::move(api)) {}
  std::unique_ptr<api::Client> api_;
};

}  // namespace govpool::agent
