#include "api/types.h"

namespace govpool::api {

const QuotaResource* FindQuotaResource(std::string_view resource) {
  for (const QuotaResource& r : kQuotaResources) {
    if (r.name == resource) return &r;
  }
  return nullptr;
}

}  // namespace govpool::api
