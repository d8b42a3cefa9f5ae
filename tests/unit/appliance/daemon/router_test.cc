#include "appliance/daemon/router.h"

#include <gtest/gtest.h>

namespace annex::daemon {
namespace {

http::Request Make(std::string target) {
  http::Request r;
  EXPECT_TRUE(http::ParseTarget(target, r).ok());
  return r;
}

TEST(Router, TargetHeaderWins) {
  http::Request r = Make("/");
  r.headers.Add("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
  r.headers.Add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host, "
                "Signature=00");
  EXPECT_EQ(RouteService(r), "ecr");
}

TEST(Router, CredentialScopeNamesTheService) {
  http::Request r = Make("/");
  r.headers.Add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, "
                "Signature=00");
  EXPECT_EQ(RouteService(r), "iam");
  http::Request presigned = Make("/b/k?X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request");
  EXPECT_EQ(RouteService(presigned), "s3");
}

TEST(Router, PathsAndAnonymousDefault) {
  EXPECT_EQ(RouteService(Make("/v2/")), "registry");
  EXPECT_EQ(RouteService(Make("/2015-03-31/functions")), "lambda");
  EXPECT_EQ(RouteService(Make("/public-bucket/object")), "s3");
}

}  // namespace
}  // namespace annex::daemon
