// Keyset pagination over id-ordered maps: a page starts after `page_token` (the last id of the
// previous page), so pages stay stable while objects are added or removed.
#pragma once

#include <algorithm>
#include <map>
#include <string>

#include "controller/services/services.h"

namespace govpool::controller {

template <typename T, typename Keep, typename Render>
Page<T> PageOf(const std::map<std::string, T>& objects, const ListOptions& o, Keep keep,
               Render render) {
  Page<T> page;
  const std::int64_t limit = std::clamp<std::int64_t>(o.limit, 1, 1000);
  auto it = o.page_token.empty() ? objects.begin() : objects.upper_bound(o.page_token);
  for (; it != objects.end(); ++it) {
    if (!keep(it->second)) continue;
    if (static_cast<std::int64_t>(page.items.size()) == limit) {
      page.next_page_token = RecordId(page.items.back());
      break;
    }
    page.items.push_back(render(it->second));
  }
  return page;
}

template <typename T, typename Keep>
Page<T> PageOf(const std::map<std::string, T>& objects, const ListOptions& o, Keep keep) {
  return PageOf(objects, o, keep, [](const T& x) { return x; });
}

}  // namespace govpool::controller
