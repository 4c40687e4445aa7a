#include "network/ovn/northbound_connection.h"

#include <utility>

namespace govpool::network {
namespace {

// Owns the Client and the driver over it; members are destroyed in reverse order, so the
// driver (which cancels its monitor through the Client) goes first.
class ConnectedNorthbound final : public NorthboundDriver {
 public:
  ConnectedNorthbound(std::unique_ptr<ovsdb::Client> client, OvnNorthbound::Options options)
      : client_(std::move(client)), driver_(*client_, std::move(options)) {}

  Status Start() { return driver_.StartMonitor(); }
  Result<NorthboundState> Read() override { return driver_.Read(); }
  Status Apply(const NorthboundPlan& plan) override { return driver_.Apply(plan); }

 private:
  std::unique_ptr<ovsdb::Client> client_;
  OvnNorthbound driver_;
};

}  // namespace

Result<std::unique_ptr<NorthboundDriver>> ConnectNorthbound(const std::string& remote,
                                                            OvnNorthbound::Options options,
                                                            ovsdb::Options client_options) {
  auto client = ovsdb::Client::Connect(remote, client_options);
  if (!client.ok()) return client.status();
  auto driver = std::make_unique<ConnectedNorthbound>(std::move(client).value(), std::move(options));
  if (Status started = driver->Start(); !started.ok()) {
    return started.Annotate("monitoring the OVN Northbound database at " + remote);
  }
  return std::unique_ptr<NorthboundDriver>(std::move(driver));
}

}  // namespace govpool::network
