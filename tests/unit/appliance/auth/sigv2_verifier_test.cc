// SigV2 against the examples in the S3 documentation ("Signing and
// Authenticating REST Requests").

#include "appliance/auth/sigv2_verifier.h"

#include <gtest/gtest.h>

#include "appliance/core/strings.h"
#include "tests/unit/appliance/auth/auth_test_util.h"

namespace annex::auth {
namespace {

using testing::MakeRequest;
using testing::MapCredentials;

class SigV2Test : public ::testing::Test {
 protected:
  SigV2Test() : clock_(*ParseAmzDate("20070327T193642Z")) {
    creds_.Put("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  }
  MapCredentials creds_;
  os::ManualClock clock_;
  SigV2Verifier verifier_{creds_, clock_, {"s3.amazonaws.com", "s3.us-west-1.amazonaws.com"}};
};

TEST_F(SigV2Test, VirtualHostedGetFromTheDocumentation) {
  auto r = MakeRequest("GET", "/photos/puppy.jpg",
                       {{"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
                        {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                        {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="}});
  EXPECT_TRUE(IsSigV2Signed(r));
  EXPECT_EQ(verifier_.StringToSign(r, "Tue, 27 Mar 2007 19:36:42 +0000"),
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg");
  auto result = verifier_.Verify(r);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->principal.access_key_id, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(result->payload_mode, PayloadMode::kUnsigned);
}

TEST_F(SigV2Test, PresignedUrlFromTheDocumentation) {
  auto r = MakeRequest("GET",
                       "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
                       "&Expires=1175139620",
                       {{"Host", "johnsmith.s3.amazonaws.com"}});
  EXPECT_TRUE(IsSigV2Signed(r));
  EXPECT_TRUE(verifier_.Verify(r).ok());
  clock_.Advance(std::chrono::hours(48));  // past Expires
  EXPECT_EQ(verifier_.Verify(r).status().subcode(), "AccessDenied");
}

TEST_F(SigV2Test, RejectsTamperingUnknownKeysAndSkew) {
  auto tampered = MakeRequest("GET", "/photos/kitten.jpg",
                              {{"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
                               {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                               {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="}});
  EXPECT_EQ(verifier_.Verify(tampered).status().subcode(), "SignatureDoesNotMatch");
  auto unknown = MakeRequest("GET", "/photos/puppy.jpg",
                             {{"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
                              {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                              {"Authorization", "AWS AKIANOTKNOWN:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="}});
  EXPECT_EQ(verifier_.Verify(unknown).status().subcode(), "InvalidAccessKeyId");
  clock_.Advance(std::chrono::minutes(16));
  auto late = MakeRequest("GET", "/photos/puppy.jpg",
                          {{"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
                           {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                           {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="}});
  EXPECT_EQ(verifier_.Verify(late).status().subcode(), "RequestTimeTooSkewed");
}

TEST_F(SigV2Test, AmzHeadersAndSubResourcesAreCanonicalized) {
  auto r = MakeRequest("PUT", "/b/k?acl&foo=bar&uploadId=7",
                       {{"Host", "127.0.0.1:4566"},
                        {"X-Amz-Meta-B", " two "},
                        {"x-amz-meta-a", "1"},
                        {"X-Amz-Meta-A", "2"},
                        {"Content-Type", "text/plain"}});
  EXPECT_EQ(verifier_.StringToSign(r, "D"), "PUT\n\ntext/plain\nD\nx-amz-meta-a:1,2\nx-amz-meta-b:two\n/b/k?acl&uploadId=7");
}

}  // namespace
}  // namespace annex::auth
