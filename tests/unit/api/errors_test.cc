// api/errors: the one Status -> HTTP table and the error response.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/errors.h"

namespace govpool::api {
namespace {

TEST(ErrorsTest, HttpStatusForEveryCode) {
  const std::vector<std::pair<Status, int>> table = {
      {OkStatus(), 200},
      {InvalidArgument("x"), 400},
      {NotFound("x"), 404},
      {AlreadyExists("x"), 409},
      {Conflict("x"), 409},
      {FailedPrecondition("x"), 409},
      {ResourceExhausted("x"), 429},
      {PermissionDenied("x"), 403},
      {Unauthenticated("x"), 401},
      {Unavailable("x"), 503},
      {DeadlineExceeded("x"), 504},
      {Unimplemented("x"), 501},
      {Internal("x"), 500},
      // Reasons that answer differently from their code.
      {ResourceExhausted("x").WithReason("QUOTA_EXCEEDED"), 403},
      {ResourceExhausted("x").WithReason("NO_VALID_HOST"), 409},
      {InvalidArgument("x").WithReason("IDEMPOTENCY_KEY_REUSED"), 422},
      {InvalidArgument("x").WithReason("METHOD_NOT_ALLOWED"), 405},
      {FailedPrecondition("x").WithReason("WATCH_EXPIRED"), 410},
      // Other reasons keep their code's status.
      {NotFound("x").WithReason("ROUTE_NOT_FOUND"), 404},
      {InvalidArgument("x").WithReason("MALFORMED_JSON"), 400},
      {FailedPrecondition("x").WithReason("DEPARTMENT_NOT_EMPTY"), 409},
  };
  for (const auto& [status, http] : table) {
    EXPECT_EQ(HttpStatusFor(status), http) << status.ToString();
  }
}

TEST(ErrorsTest, EveryErrorIsAFourOrFiveHundred) {
  for (int c = static_cast<int>(StatusCode::kInvalidArgument); c <= static_cast<int>(StatusCode::kInternal); ++c) {
    const Status s(static_cast<StatusCode>(c), "m");
    EXPECT_GE(HttpStatusFor(s), 400) << s.ToString();
    EXPECT_LT(HttpStatusFor(s), 600) << s.ToString();
    EXPECT_FALSE(s.reason().empty());
  }
}

TEST(ErrorsTest, ErrorResponseCarriesTheBodyAndChallenge) {
  HttpResponse r = ErrorResponse(Unauthenticated("missing token"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_NE(r.Header("www-authenticate"), nullptr);
  EXPECT_NE(r.Header("WWW-Authenticate")->find("Bearer"), std::string::npos);
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "UNAUTHENTICATED");
  EXPECT_EQ(v.at("error").at("message").as_string(), "missing token");
  EXPECT_TRUE(v.at("error").at("details").is_object());

  HttpResponse q = ErrorResponse(ResourceExhausted("no").WithReason("QUOTA_EXCEEDED"));
  EXPECT_EQ(q.status, 403);
  EXPECT_EQ(q.Header("WWW-Authenticate"), nullptr);
  EXPECT_EQ(boost::json::parse(q.body).at("error").at("code").as_string(), "QUOTA_EXCEEDED");

  HttpResponse ok = JsonResponse(201, "{}");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.body, "{}");
}

}  // namespace
}  // namespace govpool::api
