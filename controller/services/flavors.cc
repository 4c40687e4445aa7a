#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {

Result<api::Flavor> CreateFlavor(State& s, Txn& t, const Caller& c,
                                 const api::CreateFlavorRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  if (s.FindFlavor(req.name)) {
    return AlreadyExists("a flavor named '" + req.name + "' already exists").WithDetail("name", req.name);
  }
  api::Flavor f;
  f.name = req.name;
  f.description = req.description;
  f.vcpus = req.vcpus;
  f.memory_mib = req.memory_mib;
  f.disk_gib = req.disk_gib;
  f.required_traits = req.required_traits;
  f.forbidden_traits = req.forbidden_traits;
  f.required_aggregates = req.required_aggregates;
  s.Save(t, f);
  return f;
}

Result<api::Flavor> GetFlavor(const State& s, const Caller&, const std::string& id_or_name) {
  const api::Flavor* f = s.FindFlavor(id_or_name);
  if (!f) return NotFound("flavor " + id_or_name + " not found");
  return *f;
}

Page<api::Flavor> ListFlavors(const State& s, const Caller&, const ListOptions& o) {
  return PageOf(s.flavors(), o, [](const api::Flavor&) { return true; });
}

Status DeleteFlavor(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  const api::Flavor* f = s.FindFlavor(id);
  if (!f) return NotFound("flavor " + id + " not found");
  // VMs copy their flavor's sizes at creation, so deleting a flavor in use is safe.
  s.Remove<api::Flavor>(t, f->meta.id);
  return OkStatus();
}

}  // namespace govpool::controller
