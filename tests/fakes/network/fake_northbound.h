// FakeNorthbound: an in-memory NorthboundDriver that behaves like the OVN Northbound database
// for the rows govpool manages (tests/integration/network/northbound_contract_test.cc runs the
// same suite against it and the real database):
//   - Logical_Switch and DHCP_Options are root tables; Logical_Switch_Port is not: a port no
//     switch's `ports` holds is removed at the end of the transaction (OVSDB's garbage
//     collection), so deleting a switch deletes its ports.
//   - dhcpv4_options is a weak reference: deleting the DHCP_Options row clears it.
//   - Logical_Switch_Port names are unique (AlreadyExists), Apply is all or nothing.
//   - Rows without govpool's external_ids can be inserted (foreign rows) and are never read.
// Drift helpers change rows behind the driver's back, like a raw transaction would; fault
// injection: FailNextRead / FailNextApply.
//
// Thread-safety: every method is safe to call concurrently (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "network/northbound.h"

namespace govpool::network {

class FakeNorthbound final : public NorthboundDriver {
 public:
  Result<NorthboundState> Read() override;
  Status Apply(const NorthboundPlan& plan) override;

  // Fault injection: the next call fails with `status` and changes nothing.
  void FailNextRead(Status status);
  void FailNextApply(Status status);
  int apply_calls() const;

  // Raw row access (behind the driver's back). Insert* return the new _uuid; the rest return
  // false when no row matched.
  std::string InsertSwitch(const std::string& name, const StringMap& external_ids);
  std::string InsertDhcpOptions(const std::string& cidr, const StringMap& external_ids);
  bool SwitchExists(const std::string& uuid) const;
  bool DhcpOptionsExists(const std::string& uuid) const;
  bool SetPortAddresses(const std::string& port_name, const std::vector<std::string>& addresses);
  bool DeletePort(const std::string& port_name);  // removed from its switch's ports, and gone
  bool DeleteDhcpOptionsOfSubnet(const std::string& subnet_id);

 private:
  struct Switch {
    std::string name;
    StringMap external_ids;
    std::vector<std::string> ports;
  };
  struct Dhcp {
    std::string cidr;
    StringMap options, external_ids;
  };
  struct Port {
    std::string name;
    std::vector<std::string> addresses, port_security;
    bool enabled = true;
    StringMap external_ids;
    std::string dhcpv4_options;
  };
  struct Db {
    std::map<std::string, Switch> switches;
    std::map<std::string, Dhcp> dhcp;
    std::map<std::string, Port> ports;
  };
  std::string NewUuidLocked();
  static void CollectGarbage(Db& db);

  mutable std::mutex mu_;
  Db db_;
  int next_uuid_ = 1;
  int apply_calls_ = 0;
  Status fail_read_, fail_apply_;
};

}  // namespace govpool::network
