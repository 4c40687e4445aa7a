#include "network/northbound_reconciler.h"

namespace govpool::network {

Result<NorthboundChanges> NorthboundReconciler::Reconcile(const DesiredNetworks& desired) {
  Result<NorthboundState> actual = driver_.Read();
  if (!actual.ok()) return actual.status().Annotate("northbound reconcile: read");
  const NorthboundPlan plan = Plan(DesiredRows(desired), *actual);
  if (plan.empty()) return NorthboundChanges{};
  Status applied = driver_.Apply(plan);
  if (!applied.ok()) return applied.Annotate("northbound reconcile: apply");
  return plan.Changes();
}

}  // namespace govpool::network
