// Test helper: create one VM through CreateVms (which creates `count` VMs, all or none).
#pragma once

#include <utility>

#include "controller/services/services.h"

namespace govpool::controller::testing {

inline Result<api::Vm> CreateOneVm(State& s, Txn& t, const Caller& c, const api::CreateVmRequest& req) {
  auto vms = CreateVms(s, t, c, req);
  if (!vms.ok()) return vms.status();
  return std::move(vms->front());
}

}  // namespace govpool::controller::testing
