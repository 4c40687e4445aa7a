// Ports as NICs of VMs, shared by the network and VM services (docs/networking.md, "NICs of
// VMs"). Not part of the services' API: only controller/services/*.cc include it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/caller.h"
#include "controller/ipam.h"
#include "controller/state.h"
#include "controller/txn.h"

namespace govpool::controller::network {

// Ports checked and given their addresses and MAC inside one write but not saved yet. Db::Write
// has no rollback, so a write that creates several ports plans them all before it saves any;
// planning consults this so two planned ports never get one address or MAC, and the quota
// counts them all.
class PendingPorts {
 public:
  // Addresses of the subnet promised to planned ports.
  const std::set<ipam::Ipv4>& AddressesIn(const std::string& subnet_id) const;
  bool HasMac(const std::string& mac) const { return macs_.count(mac) > 0; }
  // New ports planned for the department.
  std::int64_t NewPortsOf(const std::string& department_id) const;
  // Existing ports a planned NIC binds.
  bool Binds(const std::string& port_id) const { return bound_.count(port_id) > 0; }

  void AddNew(const api::Port& p);
  void AddBound(const std::string& port_id) { bound_.insert(port_id); }

 private:
  std::map<std::string, std::set<ipam::Ipv4>> addresses_;
  std::set<std::string> macs_;
  std::map<std::string, std::int64_t> new_ports_;
  std::set<std::string> bound_;
};

// Checks a new port as POST /v1/ports does (network visible, department, permission, quota
// `ports` counting the pending ones, MAC, addresses) and returns it with its MAC and addresses,
// unsaved; they are recorded in `pending`.
Result<api::Port> PlanPort(const State& s, const Caller& c, const api::CreatePortRequest& req, PendingPorts& pending);

// One NIC of a VM, checked but not saved: a new port (delete_with_vm) or a copy of an existing
// unbound one.
struct NicPlan {
  api::Port port;
  bool existing = false;
};
// Checks NIC request `nic` for a VM of department `d` (`field` names it in errors): a network
// (id, or name: the department's, then a shared one) the department may use, or a port of the
// department no VM holds (PORT_IN_USE otherwise).
Result<NicPlan> PlanNic(const State& s, const Caller& c, const api::Department& d, const api::NicRequest& nic,
                        const std::string& field, PendingPorts& pending);

// Saves the planned NICs bound to `vm` (whose meta.id is set) and appends their ids to
// vm.port_ids; the caller saves the VM.
void BindNics(State& s, Txn& t, api::Vm& vm, std::vector<NicPlan>& plans);

// A port leaving its VM: deleted when it was created for the VM, else unbound (device_id and
// host_id cleared, status down).
void ReleasePort(State& s, Txn& t, const api::Port& p);
// When a VM's record goes: ReleasePort for each of its ports.
void ReleaseVmPorts(State& s, Txn& t, const std::string& vm_id);

// A NIC can be added: the VM is not being deleted and has fewer than api::kMaxVmNics.
Status CheckCanAddNic(const api::Vm& vm);

// The port as the 409 refusing to delete or bind it says it is bound (PORT_IN_USE).
Status PortInUse(const api::Port& p);

}  // namespace govpool::controller::network
