#include "api/http_message.h"

#include <cctype>
#include <charconv>
#include <system_error>

#include <boost/url/encode.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/param.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

namespace govpool::api {
namespace {

namespace urls = boost::urls;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Beast hands over request targets with bytes RFC 3986 wants percent-encoded (space, '"', '|',
// '{', '#', non-ASCII ...); govpool has always taken them literally. Encoding them first keeps
// that while Boost.URL does the parsing; existing escapes ('%' and what follows) are kept
// as they are, so a malformed escape is still refused by the parser.
std::string EncodeStrayBytes(std::string_view target) {
  static constexpr auto kAllowed = urls::pchars + '/' + '?';
  std::string out;
  out.reserve(target.size());
  while (true) {
    const size_t pct = target.find('%');
    out += urls::encode(target.substr(0, pct), kAllowed);
    if (pct == std::string_view::npos) return out;
    out += '%';
    target.remove_prefix(pct + 1);
  }
}

// Decodes `in` into `out`; false when the result holds a NUL byte (never valid in a path,
// name or id, and a classic way to cut strings short further down).
bool Decode(urls::pct_string_view in, bool plus_is_space, std::string& out) {
  out = in.decode(urls::encoding_opts(/*space_as_plus=*/plus_is_space));
  return out.find('\0') == std::string::npos;
}

}  // namespace

const std::string* FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

const std::string* HttpRequest::QueryParam(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query) {
  query.clear();
  if (target.empty() || target[0] != '/') return false;
  const std::string encoded = EncodeStrayBytes(target);
  const urls::result<urls::url_view> url = urls::parse_origin_form(encoded);
  if (!url) return false;  // a malformed percent-escape
  if (!Decode(url->encoded_path(), /*plus_is_space=*/false, path)) return false;
  for (const urls::param_pct_view param : url->encoded_params()) {
    if (param.key.empty() && !param.has_value) continue;  // "a&&b", a bare "?"
    std::string key, value;
    if (!Decode(param.key, /*plus_is_space=*/true, key)) return false;
    if (!Decode(param.value, /*plus_is_space=*/true, value)) return false;
    query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

std::string PercentEncode(std::string_view s) {
  return urls::encode(s, urls::unreserved_chars);  // upper-case hex digits
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || !authorization.starts_with(kBearer)) return std::nullopt;
  return authorization.substr(kBearer.size());
}

Result<HttpUrl> ParseHttpUrl(std::string_view text) {
  const urls::result<urls::url_view> url = urls::parse_absolute_uri(text);
  if (!url) return InvalidArgument("not an absolute URL");
  HttpUrl out;
  if (url->scheme() == "https") {
    out.tls = true;
  } else if (url->scheme() != "http") {
    return InvalidArgument("the scheme is not http or https");
  }
  if (!url->has_authority() || url->encoded_host().empty()) return InvalidArgument("the URL names no host");
  if (url->has_userinfo()) return InvalidArgument("the URL carries user info; the controller signs its requests instead");
  if (url->has_fragment()) return InvalidArgument("the URL has a fragment");
  out.host = url->host_address();  // decoded; IPv6 without brackets
  if (out.host.empty()) return InvalidArgument("the URL names no host");
  const std::string_view port = url->port();  // digits only, or empty
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    // port_number() wraps around above 65535; read the digits ourselves.
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.size() > 5 || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return InvalidArgument("the port is not 1-65535");
    }
    out.port = std::string(port);
  }
  out.host_header = std::string(url->encoded_authority());  // as written, port included
  out.origin = std::string(url->scheme()) + "://" + out.host_header;
  out.target = std::string(url->encoded_resource());
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  switch (url->host_type()) {
    case urls::host_type::ipv4:
      out.loopback = out.host.rfind("127.", 0) == 0;
      break;
    case urls::host_type::ipv6:
      out.loopback = out.host == "::1";
      break;
    case urls::host_type::name:
      out.loopback = EqualsIgnoreCase(out.host, "localhost");
      break;
    default:
      return InvalidArgument("the URL's host is not a name or an IP address");
  }
  return out;
}

}  // namespace govpool::api
