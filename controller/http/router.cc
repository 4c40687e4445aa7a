#include "controller/http/router.h"

#include "api/errors.h"
#include "common/strings.h"

namespace govpool::controller::http {
namespace {

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> parts = SplitString(path, '/');
  if (!parts.empty() && parts.front().empty()) parts.erase(parts.begin());
  return parts;
}

bool IsParam(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

// True when `a` is more specific than `b`: at the first position where one has a literal
// segment and the other a parameter, `a` has the literal.
bool MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    const bool pa = IsParam(a.segments[i]);
    const bool pb = IsParam(b.segments[i]);
    if (pa != pb) return !pa;
  }
  return false;
}

bool MatchSegments(const Route& r, const std::vector<std::string>& path,
                   std::map<std::string, std::string>& params) {
  if (r.segments.size() != path.size()) return false;
  params.clear();
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      if (path[i].empty()) return false;
      params[seg.substr(1, seg.size() - 2)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Route& Router::Add(std::string method, std::string pattern, RouteHandler handler) {
  Route r{std::move(method), pattern, std::move(handler), true, Segments(pattern), {}, 0, 0};
  routes_.push_back(std::move(r));
  return routes_.back();
}

void Router::AddPublic(std::string method, std::string pattern, RouteHandler handler) {
  Add(std::move(method), std::move(pattern), std::move(handler));
  routes_.back().authenticated = false;
}

void Router::AddUpload(std::string method, std::string pattern, std::uint64_t max_body_bytes,
                       UploadHandler handler) {
  Add(std::move(method), std::move(pattern), [](RouteContext&) {
    return api::ErrorResponse(Internal("this route takes a streamed body (Router::AddUpload)"));
  });
  routes_.back().upload = std::move(handler);
  routes_.back().max_upload_bytes = max_body_bytes;
}

Result<Router::Match> Router::Find(const std::string& method, const std::string& path) const {
  const std::vector<std::string> segments = Segments(path);
  std::vector<std::string> allowed;
  Match m;
  std::map<std::string, std::string> params;
  // Literal segments win over parameters ("/v1/hosts/register" over "/v1/hosts/{id}"),
  // whatever the registration order.
  for (const Route& r : routes_) {
    if (!MatchSegments(r, segments, params)) continue;
    if (r.method == method) {
      if (m.route == nullptr || MoreSpecific(r, *m.route)) {
        m.route = &r;
        m.params = params;
      }
      continue;
    }
    allowed.push_back(r.method);
  }
  if (m.route != nullptr) return m;
  if (!allowed.empty()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return InvalidArgument("method " + method + " is not allowed on " + path + " (allowed: " + list + ")")
        .WithReason("METHOD_NOT_ALLOWED")
        .WithDetail("allow", allowed);
  }
  return NotFound("no such route: " + path).WithReason("ROUTE_NOT_FOUND");
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

}  // namespace govpool::controller::http
