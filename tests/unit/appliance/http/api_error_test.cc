#include "appliance/http/api_error.h"

#include <gtest/gtest.h>

namespace annex::http {
namespace {

// A service's own codes, as a descriptor carries them.
constexpr ErrorCodeStatus kServiceErrors[] = {
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"InvalidRange", 416},
    {"SlowDown", 429},  // a service may answer a platform code its own way
};

TEST(ApiError, TablesGiveAwsStatuses) {
  EXPECT_EQ(HttpStatusForCode("SignatureDoesNotMatch"), 403);
  EXPECT_EQ(HttpStatusForCode("SlowDown"), 503);
  EXPECT_EQ(HttpStatusForCode("InsufficientStorage"), 507);
  EXPECT_EQ(HttpStatusForCode("InvalidRange", kServiceErrors), 416);
  EXPECT_EQ(HttpStatusForCode("SlowDown", kServiceErrors), 429) << "the service's table comes first";
  EXPECT_EQ(HttpStatusForCode("AccessDenied", kServiceErrors), 403) << "then the platform's";
  EXPECT_EQ(HttpStatusForCode("InvalidRange"), 400) << "the platform knows no service's codes";
  EXPECT_EQ(HttpStatusForCode("SomethingNew"), 400);
}

TEST(ApiError, FromStatusUsesSubcodeThenCode) {
  EXPECT_EQ(ApiErrorFromStatus(ApiStatus("NoSuchKey", ""), kServiceErrors).http_status, 404);
  EXPECT_EQ(ApiErrorFromStatus(ApiStatus("NoSuchKey", ""), kServiceErrors).message,
            "The specified key does not exist.");
  ApiError full = ApiErrorFromStatus(Status::ResourceExhausted("ENOSPC"));
  EXPECT_EQ(full.code, "InsufficientStorage");
  EXPECT_EQ(full.http_status, 507);
  ApiError internal = ApiErrorFromStatus(Status::IOError("/var/secret/path"));
  EXPECT_EQ(internal.code, "InternalError");
  EXPECT_EQ(internal.message.find("/var"), std::string::npos);  // internals stay in logs
}

TEST(ApiError, WireShapes) {
  ApiError e = MakeApiError("NoSuchKey", "gone", kServiceErrors);
  e.resource = "/b";
  Response xml = RenderRestXmlError(e, "REQ1");
  EXPECT_EQ(xml.status, 404);
  EXPECT_NE(xml.body.find("<Error><Code>NoSuchKey</Code><Message>gone</Message><Resource>/b</Resource>"
                          "<RequestId>REQ1</RequestId></Error>"),
            std::string::npos);
  Response query = RenderQueryError(MakeApiError("NoSuchEntity", "x"), "R");
  EXPECT_NE(query.body.find("<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"), std::string::npos);
  Response json = RenderJsonError(MakeApiError("ValidationError", "bad \"x\""), "R");
  EXPECT_EQ(json.body, "{\"__type\":\"ValidationError\",\"message\":\"bad \\\"x\\\"\"}");
  EXPECT_EQ(*json.headers.Get("x-amzn-errortype"), "ValidationError");
}

}  // namespace
}  // namespace annex::http
