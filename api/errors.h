// The one table between Status and HTTP, both ways, and the error response every failure
// uses:  HTTP status + {"error":{"code":"QUOTA_EXCEEDED","message":"...","details":{...}}}
// The server maps a Status to an answer (ErrorResponse); the client maps an answer back to
// the same Status (StatusFromResponse): code, reason, message and details survive the trip.
#pragma once

#include <string>
#include <string_view>

#include "api/http_message.h"
#include "common/status.h"

namespace govpool::api {

int HttpStatusFor(const Status& status);
HttpResponse ErrorResponse(const Status& status);
HttpResponse JsonResponse(int http_status, std::string body);

// The Status a client sees for an error answer: the body's `error.code` names the canonical
// code (e.g. NOT_FOUND) or a reason that refines one (e.g. QUOTA_EXCEEDED); when the body has
// none (a proxy's answer), the code follows from the HTTP status.
Status StatusFromResponse(const HttpResponse& response);
// The same from the parts: HTTP status, the body's error.code (may be empty) and message.
Status StatusForHttp(int http_status, std::string_view code, std::string message);

}  // namespace govpool::api
