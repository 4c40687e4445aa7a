// GET /v1/hosts/{id}/vms: the long-poll watch of the VMs assigned to a host (see
// controller/watch_hub.h). The route owns its WatchHub (and so its housekeeping thread) for as
// long as the router lives.
#pragma once

#include "controller/db.h"
#include "controller/http/router.h"
#include "controller/metrics.h"

namespace govpool::controller::http {

// `metrics` (optional) is told how many watches the hub holds (govpool_watches_held).
void SetWatchRoutes(Router& r, Db& db, ControllerMetrics* metrics = nullptr);

}  // namespace govpool::controller::http
