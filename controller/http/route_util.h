// Helpers shared by the route files: query and header parsing with clear 400s, and the
// idempotent write that every create route uses.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "api/codec.h"
#include "api/errors.h"
#include "api/http_message.h"
#include "api/http_stream.h"
#include "common/result.h"
#include "controller/db.h"
#include "controller/http/router.h"
#include "controller/services/services.h"

namespace govpool::controller::http {

// A response body read from `fd` (which it owns and closes), `size` bytes long.
std::shared_ptr<api::BodySource> FileBodySource(int fd, std::uint64_t size);

// InvalidArgument naming the first query parameter not in `allowed`.
Status CheckQuery(const api::HttpRequest& req, std::initializer_list<const char*> allowed);
// limit (1..1000, default 100) and page_token.
Result<ListOptions> ParseListOptions(const api::HttpRequest& req);
// If-Match: "<revision>" (quotes optional). nullopt when absent.
Result<std::optional<std::int64_t>> ParseIfMatch(const api::HttpRequest& req);
// A query parameter naming an enum value (schema::EnumNames); nullopt when absent.
template <api::schema::NamedEnum E>
Result<std::optional<E>> ParseEnumQuery(const api::HttpRequest& req, const char* name) {
  const std::string* v = req.QueryParam(name);
  if (!v) return std::optional<E>();
  auto e = api::FromString<E>(*v);
  if (!e) {
    return InvalidArgument(std::string(name) + " must be one of " + api::schema::Choices<E>())
        .WithDetail("field", std::string(name));
  }
  return std::optional<E>(*e);
}
// A route parameter that must be a UUID; NotFound otherwise (no object can have that id).
Status CheckId(const std::string& id, const std::string& what);

// Runs fn inside one Db write. With an Idempotency-Key header, the key's record is checked
// and saved in the same transaction as fn's changes: a retry with the same key and body
// replays the first 2xx answer (header Idempotent-Replayed: true); the same key with a
// different body is refused with 422 IDEMPOTENCY_KEY_REUSED. Errors are not recorded, so a
// retry after an error runs again.
api::HttpResponse WriteIdempotent(RouteContext& ctx,
                                  const std::function<api::HttpResponse(State&, Txn&)>& fn);

// The answer for a service's result: `ok_status` with the value's API JSON, or the error.
template <typename T>
api::HttpResponse Render(const Result<T>& r, int ok_status) {
  if (!r.ok()) return api::ErrorResponse(r.status());
  return api::JsonResponse(ok_status, api::Encode(*r));
}

template <typename T>
api::HttpResponse RenderPage(const api::ListPage<T>& page) {
  return api::JsonResponse(200, api::Encode(page));
}

api::HttpResponse NoContent();

}  // namespace govpool::controller::http
