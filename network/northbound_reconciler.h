// NorthboundReconciler: the level-triggered loop body that makes govpool's rows in the OVN
// Northbound database equal the desired networks and ports: Read the rows that are ours, Plan,
// Apply (one transaction). Level-triggered: every pass starts from what the database holds, so
// a missed change, a crash half-way through (nothing half-applied: a plan is one transaction),
// drift made by hand or a row left by an earlier controller is repaired by the next pass; a
// converged pass reads and applies nothing.
//
// Thread-safety: Reconcile may be called from one thread at a time (the caller's loop); the
// driver is borrowed and must outlive the reconciler.
#pragma once

#include "common/result.h"
#include "network/northbound.h"

namespace govpool::network {

class NorthboundReconciler {
 public:
  explicit NorthboundReconciler(NorthboundDriver& driver) : driver_(driver) {}

  // One pass. Success returns what it changed (all zero when already converged). Errors are
  // the driver's (Read's or Apply's, annotated with which); nothing was changed on error
  // (Apply is atomic), and the next pass starts again from a fresh Read.
  Result<NorthboundChanges> Reconcile(const DesiredNetworks& desired);

 private:
  NorthboundDriver& driver_;
};

}  // namespace govpool::network
