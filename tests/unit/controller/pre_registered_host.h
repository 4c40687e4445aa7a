// Test helper: a host whose API-token agent runs VMs at once, as docs/security.md
// ("Registration") says: a system-admin pre-registers it, then its agent takes it over.
// (A token agent's host that nobody named joins pending and takes no VM.)
#pragma once

#include "controller/services/services.h"

namespace govpool::controller::testing {

inline Result<api::Host> RegisterPreRegisteredHost(State& s, Txn& t, const Caller& agent,
                                                   const api::RegisterHostRequest& req) {
  const Caller system_admin{"u-pre-registering-admin", "sysadmin", api::Role::kSystemAdmin, ""};
  if (Result<api::Host> pre = RegisterHost(s, t, system_admin, req); !pre.ok()) return pre.status();
  return RegisterHost(s, t, agent, req);
}

}  // namespace govpool::controller::testing
