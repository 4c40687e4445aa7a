// GET /v1/hosts/{id}/vms: the long-poll watch of the VMs assigned to a host (see
// controller/watch_hub.h). The route owns its WatchHub (and so its housekeeping thread) for as
// long as the router lives.
#pragma once

#include "controller/db.h"
#include "controller/http/router.h"

namespace govpool::controller::http {

void SetWatchRoutes(Router& r, Db& db);

}  // namespace govpool::controller::http
