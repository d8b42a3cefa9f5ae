// Reading /v2/ paths from the right, so repository names may hold slashes,
// and the name, tag and digest rules clients are held to.

#include "services/registry/distribution_path.h"

#include <gtest/gtest.h>

#include "services/registry/distribution_errors.h"
#include "services/registry/image_tag.h"

namespace annex::registry {
namespace {

DistributionPath Parse(std::string_view raw) {
  auto p = ParseDistributionPath(raw);
  EXPECT_TRUE(p.ok()) << raw << ": " << p.status().ToString();
  return p.ok() ? *p : DistributionPath{};
}

TEST(DistributionPathTest, Routes) {
  EXPECT_EQ(Parse("/v2/").route, DistributionRoute::kBase);
  EXPECT_EQ(Parse("/v2").route, DistributionRoute::kBase);
  EXPECT_EQ(Parse("/v2/_catalog").route, DistributionRoute::kCatalog);

  DistributionPath m = Parse("/v2/team/app/manifests/latest");
  EXPECT_EQ(m.route, DistributionRoute::kManifest);
  EXPECT_EQ(m.name, "team/app");
  EXPECT_EQ(m.reference, "latest");

  DistributionPath b = Parse("/v2/app/blobs/sha256%3Aabc");
  EXPECT_EQ(b.route, DistributionRoute::kBlob);
  EXPECT_EQ(b.reference, "sha256:abc");

  EXPECT_EQ(Parse("/v2/a/b/c/blobs/uploads/").route, DistributionRoute::kUploads);
  EXPECT_EQ(Parse("/v2/a/b/c/blobs/uploads").route, DistributionRoute::kUploads);
  DistributionPath u = Parse("/v2/a/b/c/blobs/uploads/0f3e-12");
  EXPECT_EQ(u.route, DistributionRoute::kUpload);
  EXPECT_EQ(u.name, "a/b/c");
  EXPECT_EQ(u.reference, "0f3e-12");

  DistributionPath t = Parse("/v2/org/tags/list");
  EXPECT_EQ(t.route, DistributionRoute::kTags);
  EXPECT_EQ(t.name, "org");
}

TEST(DistributionPathTest, NamesThatLookLikeRoutesAreReadFromTheRight) {
  // A repository may be called "x/blobs" or "x/manifests": only the last segments route.
  DistributionPath m = Parse("/v2/x/blobs/manifests/v1");
  EXPECT_EQ(m.route, DistributionRoute::kManifest);
  EXPECT_EQ(m.name, "x/blobs");
  DistributionPath u = Parse("/v2/x/blobs/blobs/uploads/id");
  EXPECT_EQ(u.route, DistributionRoute::kUpload);
  EXPECT_EQ(u.name, "x/blobs");
  DistributionPath t = Parse("/v2/x/manifests/tags/list");
  EXPECT_EQ(t.route, DistributionRoute::kTags);
  EXPECT_EQ(t.name, "x/manifests");
}

TEST(DistributionPathTest, HostilePathsAreRefused) {
  for (std::string_view raw : {"/v2/../x/manifests/a", "/v2/x/../manifests/a", "/v2/a%2Fb/manifests/x",
                               "/v2/A/manifests/x", "/v2//manifests/x", "/v2/x/manifests/", "/v2/x",
                               "/v2/x/y", "/v3/x/manifests/a", "/v2/x/manifests/%zz", "/v2/-x/manifests/a",
                               "/v2/a__b/manifests/a", "/v2/_catalog/x", "/v2/a/tags/list/x"}) {
    EXPECT_FALSE(ParseDistributionPath(raw).ok()) << raw;
  }
  std::string huge = "/v2/" + std::string(300, 'a') + "/manifests/latest";
  auto p = ParseDistributionPath(huge);
  EXPECT_EQ(p.status().subcode(), "NAME_INVALID");
  EXPECT_FALSE(ParseDistributionPath("/v2/" + std::string(10000, 'a') + "/tags/list").ok());
}

TEST(DistributionPathTest, NameRules) {
  EXPECT_TRUE(IsValidRepositoryName("ab"));
  EXPECT_TRUE(IsValidRepositoryName("team-a/app.v2/x_y"));
  EXPECT_FALSE(IsValidRepositoryName("a"));
  EXPECT_FALSE(IsValidRepositoryName("a/"));
  EXPECT_FALSE(IsValidRepositoryName("a..b"));
  EXPECT_FALSE(IsValidRepositoryName("ab-"));
  EXPECT_FALSE(IsValidRepositoryName("Ab"));
  EXPECT_TRUE(IsValidRepositoryName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(257, 'a')));
}

TEST(DistributionPathTest, TagRules) {
  EXPECT_TRUE(IsValidImageTag("latest"));
  EXPECT_TRUE(IsValidImageTag("_v1.2-rc"));
  EXPECT_TRUE(IsValidImageTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidImageTag(std::string(129, 'a')));
  EXPECT_FALSE(IsValidImageTag(".v1"));
  EXPECT_FALSE(IsValidImageTag("-v1"));
  EXPECT_FALSE(IsValidImageTag("a:b"));
  EXPECT_FALSE(IsValidImageTag(""));
}

// Every path that sets a tag answers with the same rule; the ECR API's
// wording is InvalidParameterException.
TEST(DistributionPathTest, TagValidationForTheJsonApis) {
  EXPECT_TRUE(ValidateImageTag("v1.2_rc-3").ok());
  Status bad = ValidateImageTag("has space");
  EXPECT_EQ(bad.subcode(), "InvalidParameterException");
  EXPECT_NE(bad.message().find("imageTag"), std::string::npos);
  EXPECT_FALSE(ValidateImageTag(std::string(129, 'a'), "repository").ok());
  EXPECT_FALSE(ValidateImageTag("a/b").ok());
}

TEST(DistributionErrorsTest, ShapeAndStatuses) {
  http::Response r = RenderDistributionError(DistributionError("BLOB_UNKNOWN", "no such blob"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"no such blob\"}]}\n");
  EXPECT_EQ(RenderDistributionError(DistributionError("MANIFEST_BLOB_UNKNOWN", "x")).status, 400);
  EXPECT_EQ(RenderDistributionError(DistributionError("RANGE_INVALID", "x")).status, 416);
  // Store errors without a distribution code get the route's nearest one.
  http::Response nf = RenderDistributionError(Status::NotFound("gone"), "MANIFEST_UNKNOWN");
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(nf.body.find("MANIFEST_UNKNOWN"), std::string::npos);
  http::Response tag = RenderDistributionError(
      Status(StatusCode::kFailedPrecondition, "exists", "ImageTagAlreadyExistsException"));
  EXPECT_EQ(tag.status, 400);
  EXPECT_NE(tag.body.find("TAG_INVALID"), std::string::npos);
  // Internal details never reach the client.
  http::Response internal = RenderDistributionError(Status::IOError("pwrite /var/lib/annex/x: EIO"));
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body.find("/var/lib"), std::string::npos);
}

TEST(DistributionErrorsTest, UnauthorizedChallengesForBasic) {
  http::Request request;
  request.headers.Set("host", "111122223333.dkr.ecr.us-east-1.localhost:4566\"x");
  http::Response r = UnauthorizedResponse(request, "authentication required");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.GetOr("www-authenticate", ""),
            "Basic realm=\"http://111122223333.dkr.ecr.us-east-1.localhost:4566x/\",service=\"ecr.amazonaws.com\"");
}

}  // namespace
}  // namespace annex::registry
