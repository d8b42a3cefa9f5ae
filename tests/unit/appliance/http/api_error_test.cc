#include "appliance/http/api_error.h"

#include <gtest/gtest.h>

namespace annex::http {
namespace {

TEST(ApiError, TableGivesAwsStatuses) {
  EXPECT_EQ(HttpStatusForCode("NoSuchBucket"), 404);
  EXPECT_EQ(HttpStatusForCode("BucketNotEmpty"), 409);
  EXPECT_EQ(HttpStatusForCode("SignatureDoesNotMatch"), 403);
  EXPECT_EQ(HttpStatusForCode("InvalidRange"), 416);
  EXPECT_EQ(HttpStatusForCode("PreconditionFailed"), 412);
  EXPECT_EQ(HttpStatusForCode("SomethingNew"), 400);
}

TEST(ApiError, FromStatusUsesSubcodeThenCode) {
  EXPECT_EQ(ApiErrorFromStatus(ApiStatus("NoSuchKey", "")).http_status, 404);
  EXPECT_EQ(ApiErrorFromStatus(ApiStatus("NoSuchKey", "")).message, "The specified key does not exist.");
  ApiError full = ApiErrorFromStatus(Status::ResourceExhausted("ENOSPC"));
  EXPECT_EQ(full.code, "InsufficientStorage");
  EXPECT_EQ(full.http_status, 507);
  ApiError internal = ApiErrorFromStatus(Status::IOError("/var/secret/path"));
  EXPECT_EQ(internal.code, "InternalError");
  EXPECT_EQ(internal.message.find("/var"), std::string::npos);  // internals stay in logs
}

TEST(ApiError, WireShapes) {
  ApiError e = MakeApiError("NoSuchBucket", "gone");
  e.resource = "/b";
  Response xml = RenderRestXmlError(e, "REQ1");
  EXPECT_EQ(xml.status, 404);
  EXPECT_NE(xml.body.find("<Error><Code>NoSuchBucket</Code><Message>gone</Message><Resource>/b</Resource>"
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
