// The one table from Status to HTTP, and the error response every failure uses:
//   HTTP status + {"error":{"code":"QUOTA_EXCEEDED","message":"...","details":{...}}}
#pragma once

#include "api/http_message.h"
#include "common/status.h"

namespace govpool::api {

int HttpStatusFor(const Status& status);
HttpResponse ErrorResponse(const Status& status);
HttpResponse JsonResponse(int http_status, std::string body);

}  // namespace govpool::api
