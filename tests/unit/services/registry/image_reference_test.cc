#include <gtest/gtest.h>

#include "appliance/service/image_store.h"

namespace annex::service {
namespace {

constexpr const char* kDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ParseImageUriTest, EcrStyleUrisNameTheAccountRepositoryAndTag) {
  Result<ImageReference> r = ParseImageUri("123456789012.dkr.ecr.us-east-1.localhost:4566/team/app:v1.2", "999999999999");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->account, "123456789012");
  EXPECT_EQ(r->repository, "team/app");
  EXPECT_EQ(r->reference, "v1.2");
}

TEST(ParseImageUriTest, ABareRepositoryIsTheCallersAtLatest) {
  Result<ImageReference> r = ParseImageUri("my-app", "111111111111");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->account, "111111111111");
  EXPECT_EQ(r->repository, "my-app");
  EXPECT_EQ(r->reference, "latest");
}

TEST(ParseImageUriTest, ADigestWinsOverATag) {
  Result<ImageReference> r = ParseImageUri(std::string("app@") + kDigest, "111111111111");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->reference, kDigest);
  r = ParseImageUri(std::string("123456789012.dkr.ecr.eu-west-1.annex.example.com/app:v1@") + kDigest, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->reference, kDigest);
  EXPECT_EQ(r->repository, "app");
}

TEST(ParseImageUriTest, AnythingElseIsInvalid) {
  for (const char* uri : {"", "docker.io/library/nginx:latest", "ghcr.io/x/y", "12345.dkr.ecr.r.d/app",
                          "123456789012.dkr.ecr./app", "App", "a", "app:", "app:-bad", "app@sha256:short",
                          "app//x", "app/", "/app", "app:tag with space", "../etc"}) {
    EXPECT_EQ(ParseImageUri(uri, "111111111111").status().code(), StatusCode::kInvalidArgument) << uri;
  }
  EXPECT_FALSE(ParseImageUri("app", "").ok());
}

}  // namespace
}  // namespace annex::service
