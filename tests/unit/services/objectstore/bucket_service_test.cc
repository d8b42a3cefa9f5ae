// Bucket operations, ACLs, CORS and routing, driven through the service.

#include <gtest/gtest.h>

#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore::testing {
namespace {

class BucketServiceTest : public ::testing::Test {
 protected:
  TempDir dir_;
  S3Harness s3_{dir_.path()};
};

// What the sync agent reads: every bucket write, by S3 or by a control-plane
// command, moves the bucket to the feed's head in the same commit, durably.
TEST_F(BucketServiceTest, BucketChangesReachTheResourceFeed) {
  ASSERT_EQ(s3_.Send("PUT", "/alpha", "", {{"x-amz-object-ownership", "ObjectWriter"}}).status, 200);
  ASSERT_EQ(s3_.Send("PUT", "/beta").status, 200);
  auto first = s3_.control().ChangesSince(0, 100).value();
  ASSERT_EQ(first.changes.size(), 2u);
  EXPECT_EQ(first.changes[0].entry.id, "alpha");
  ASSERT_TRUE(first.changes[0].bucket.has_value());
  EXPECT_EQ(first.changes[0].bucket->owner_id, "111111111111");
  EXPECT_EQ(first.changes[0].bucket->acl, "private");

  ASSERT_EQ(s3_.Send("PUT", "/alpha?acl", "", {{"x-amz-acl", "public-read"}}).status, 200);
  ASSERT_EQ(s3_.Send("DELETE", "/beta").status, 204);
  ASSERT_EQ(s3_.Send("DELETE", "/missing").status, 404);  // a refused write changes nothing
  ASSERT_TRUE(s3_.control().CreateBucket("gamma", "111111111111", "root").value());
  s3_.Reopen();  // the feed is as durable as the buckets

  auto next = s3_.control().ChangesSince(first.cursor, 100).value();
  ASSERT_EQ(next.changes.size(), 3u);
  EXPECT_EQ(next.changes[0].entry.id, "alpha");
  EXPECT_EQ(next.changes[0].entry.version, 2u);
  EXPECT_EQ(next.changes[0].bucket->acl, "public-read");
  EXPECT_EQ(next.changes[1].entry.id, "beta");
  EXPECT_TRUE(next.changes[1].entry.deleted);
  EXPECT_FALSE(next.changes[1].bucket.has_value());
  EXPECT_EQ(next.changes[2].entry.id, "gamma");
  EXPECT_TRUE(s3_.control().ChangesSince(next.cursor, 100).value().changes.empty());
}

TEST_F(BucketServiceTest, CreateHeadListDelete) {
  auto r = s3_.Send("PUT", "/photos");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.operation, "CreateBucket");
  EXPECT_EQ(r.Header("location"), "/photos");

  r = s3_.Send("HEAD", "/photos");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-amz-bucket-region"), "us-east-1");

  s3_.Send("PUT", "/archive");
  r = s3_.Send("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.operation, "ListBuckets");
  EXPECT_NE(r.body.find("<Name>archive</Name>"), std::string::npos);
  EXPECT_LT(r.body.find("archive"), r.body.find("photos"));
  EXPECT_NE(r.body.find("<DisplayName>alice</DisplayName>"), std::string::npos);

  r = s3_.Send("DELETE", "/photos");
  EXPECT_EQ(r.status, 204);
  r = s3_.Send("HEAD", "/photos");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(s3_.Send("DELETE", "/photos").ErrorCode(), "NoSuchBucket");
}

TEST_F(BucketServiceTest, CreateConflictsAndNames) {
  ASSERT_EQ(s3_.Send("PUT", "/shared").status, 200);
  auto r = s3_.Send("PUT", "/shared");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.ErrorCode(), "BucketAlreadyOwnedByYou");
  s3_.ActAs("222222222222", "bob");
  r = s3_.Send("PUT", "/shared");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.ErrorCode(), "BucketAlreadyExists");
  EXPECT_EQ(s3_.Send("PUT", "/Bad_Name").ErrorCode(), "InvalidBucketName");
  EXPECT_EQ(s3_.Send("PUT", "/10.0.0.1").ErrorCode(), "InvalidBucketName");
  // An empty bucket name with a key names nothing: not the bucket listing, not an object.
  for (const char* method : {"GET", "PUT", "DELETE", "HEAD"}) {
    auto r = s3_.Send(method, "//key");
    EXPECT_EQ(r.status, 400) << method;
    if (std::string(method) != "HEAD") {
      EXPECT_EQ(r.ErrorCode(), "InvalidBucketName") << method;
    }
  }
  EXPECT_EQ(s3_.Send("GET", "/Bad_Name").ErrorCode(), "NoSuchBucket");
  s3_.ActAnonymous();
  EXPECT_EQ(s3_.Send("PUT", "/anon-bucket").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("GET", "/").ErrorCode(), "AccessDenied");
}

TEST_F(BucketServiceTest, LocationConstraint) {
  auto r = s3_.Send("PUT", "/loc",
                    "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
                    "</CreateBucketConfiguration>");
  EXPECT_EQ(r.ErrorCode(), "IllegalLocationConstraintException");
  r = s3_.Send("PUT", "/loc", "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>"
                              "</CreateBucketConfiguration>");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(s3_.Send("PUT", "/loc2", "<CreateBucketConfiguration>").ErrorCode(), "MalformedXML");
  r = s3_.Send("GET", "/loc?location");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""), std::string::npos);
}

TEST_F(BucketServiceTest, DeleteNonEmptyBucket) {
  s3_.Send("PUT", "/full");
  s3_.Send("PUT", "/full/obj", "data");
  EXPECT_EQ(s3_.Send("DELETE", "/full").ErrorCode(), "BucketNotEmpty");
  s3_.Send("DELETE", "/full/obj");
  // An unfinished multipart upload does not block deletion; it goes with the bucket.
  s3_.Send("POST", "/full/mp?uploads");
  EXPECT_EQ(s3_.Send("DELETE", "/full").status, 204);
}

TEST_F(BucketServiceTest, CrossAccountAccessAndPublicRead) {
  s3_.Send("PUT", "/private", "", {{"x-amz-object-ownership", "ObjectWriter"}});
  s3_.Send("PUT", "/private/doc.txt", "secret");
  s3_.Send("PUT", "/private/public.txt", "hello", {{"x-amz-acl", "public-read"}});
  s3_.ActAs("222222222222", "bob");
  EXPECT_EQ(s3_.Send("GET", "/private/doc.txt").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("GET", "/private").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("PUT", "/private/x", "x").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("DELETE", "/private/doc.txt").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("GET", "/private/missing").ErrorCode(), "AccessDenied");
  auto r = s3_.Send("GET", "/private/public.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  s3_.ActAnonymous();
  EXPECT_EQ(s3_.Send("GET", "/private/public.txt").body, "hello");
  EXPECT_EQ(s3_.Send("GET", "/private/doc.txt").status, 403);

  // A public-read bucket lets anyone list it, as S3's bucket READ grant
  // does; its objects stay as private as their own ACLs.
  s3_.ActAs("111111111111", "alice");
  EXPECT_EQ(s3_.Send("PUT", "/private?acl", "", {{"x-amz-acl", "public-read"}}).status, 200);
  for (bool anonymous : {true, false}) {
    if (anonymous) {
      s3_.ActAnonymous();
    } else {
      s3_.ActAs("222222222222", "bob");
    }
    r = s3_.Send("GET", "/private?list-type=2");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("<Key>doc.txt</Key>"), std::string::npos);
    EXPECT_EQ(s3_.Send("HEAD", "/private").status, 200);
    EXPECT_EQ(s3_.Send("GET", "/private?uploads").status, 200);
    EXPECT_EQ(s3_.Send("GET", "/private/doc.txt").ErrorCode(), "AccessDenied");
    EXPECT_EQ(s3_.Send("GET", "/private/public.txt").body, "hello");
    EXPECT_EQ(s3_.Send("GET", "/private/missing").ErrorCode(), "AccessDenied");
    EXPECT_EQ(s3_.Send("PUT", "/private/x", "x").ErrorCode(), "AccessDenied");
    EXPECT_EQ(s3_.Send("GET", "/private?acl").ErrorCode(), "AccessDenied");
  }
}

TEST_F(BucketServiceTest, AclDocuments) {
  s3_.Send("PUT", "/acl-bucket", "", {{"x-amz-object-ownership", "ObjectWriter"}});
  auto r = s3_.Send("GET", "/acl-bucket?acl");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<Permission>FULL_CONTROL</Permission>"), std::string::npos);
  EXPECT_EQ(r.body.find("AllUsers"), std::string::npos);
  EXPECT_NE(r.body.find("xsi:type=\"CanonicalUser\""), std::string::npos);

  std::string policy =
      "<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList>"
      "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
      "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
      "</AccessControlList></AccessControlPolicy>";
  EXPECT_EQ(s3_.Send("PUT", "/acl-bucket?acl", policy).status, 200);
  r = s3_.Send("GET", "/acl-bucket?acl");
  EXPECT_NE(r.body.find("http://acs.amazonaws.com/groups/global/AllUsers"), std::string::npos);
  EXPECT_EQ(s3_.Send("PUT", "/acl-bucket?acl", "", {{"x-amz-acl", "public-read-write"}}).status, 200);
  EXPECT_NE(s3_.Send("GET", "/acl-bucket?acl").body.find("<Permission>WRITE</Permission>"), std::string::npos);

  s3_.Send("PUT", "/acl-bucket/o", "1");
  EXPECT_EQ(s3_.Send("GET", "/acl-bucket/missing?acl").ErrorCode(), "NoSuchKey");
  EXPECT_EQ(s3_.Send("PUT", "/acl-bucket/o?acl", "", {{"x-amz-acl", "public-read"}}).status, 200);
  r = s3_.Send("GET", "/acl-bucket/o?acl");
  EXPECT_NE(r.body.find("AllUsers"), std::string::npos);
  EXPECT_EQ(s3_.Send("GET", "/acl-bucket/o").body, "1");  // data untouched
}

// Explicit grants are kept as given; grants to email addresses are refused
// as S3 refuses addresses it has no account for, and nothing refused takes
// effect.
TEST_F(BucketServiceTest, ExplicitGrantsAreKept) {
  s3_.Send("PUT", "/grants", "", {{"x-amz-object-ownership", "ObjectWriter"}});
  s3_.Send("PUT", "/grants/o", "1");
  std::string acl = s3_.Send("GET", "/grants?acl").body;
  size_t id_at = acl.find("<ID>") + 4;
  std::string owner = acl.substr(id_at, acl.find("</ID>") - id_at);
  auto policy = [&](const std::string& grants) {
    return "<AccessControlPolicy><Owner><ID>" + owner + "</ID></Owner><AccessControlList>" + grants +
           "</AccessControlList></AccessControlPolicy>";
  };
  auto user = [](const std::string& id, const std::string& permission) {
    return "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">"
           "<ID>" + id + "</ID></Grantee><Permission>" + permission + "</Permission></Grant>";
  };
  auto group = [](const std::string& uri, const std::string& permission) {
    return "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
           "<URI>" + uri + "</URI></Grantee><Permission>" + permission + "</Permission></Grant>";
  };
  const std::string other = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
  const std::string owner_full = user(owner, "FULL_CONTROL");
  const std::string authenticated = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

  EXPECT_EQ(s3_.Send("PUT", "/grants?acl", policy(owner_full + user(other, "READ_ACP"))).status, 200);
  EXPECT_NE(s3_.Send("GET", "/grants?acl").body.find(other), std::string::npos);
  EXPECT_EQ(s3_.Send("PUT", "/grants/o?acl", policy(owner_full + group(authenticated, "READ"))).status, 200);
  EXPECT_NE(s3_.Send("GET", "/grants/o?acl").body.find(authenticated), std::string::npos);

  const std::string email =
      "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"AmazonCustomerByEmail\">"
      "<EmailAddress>bob@example.com</EmailAddress></Grantee><Permission>FULL_CONTROL</Permission></Grant>";
  EXPECT_EQ(s3_.Send("PUT", "/grants?acl", policy(owner_full + email)).ErrorCode(), "UnresolvableGrantByEmailAddress");
  EXPECT_EQ(s3_.Send("PUT", "/grants?acl", policy(user(owner, "EVERYTHING"))).ErrorCode(), "MalformedACLError");
  EXPECT_EQ(s3_.Send("PUT", "/grants?acl", policy("<Grant><Permission>READ</Permission></Grant>")).ErrorCode(),
            "MalformedACLError");
  for (const char* header : {"x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-write-acp"}) {
    EXPECT_EQ(s3_.Send("PUT", "/grants?acl", "", {{header, "id=otherid"}}).ErrorCode(), "InvalidArgument");
    EXPECT_EQ(s3_.Send("PUT", "/grants/p", "1", {{header, "emailAddress=\"a@example.com\""}}).ErrorCode(),
              "UnresolvableGrantByEmailAddress");
  }
  EXPECT_EQ(s3_.Send("PUT", "/grants/p", "1", {{"x-amz-grant-read", "id=" + other}}).status, 200);
  EXPECT_NE(s3_.Send("GET", "/grants/p?acl").body.find(other), std::string::npos);
  // Nothing refused took effect.
  EXPECT_NE(s3_.Send("GET", "/grants?acl").body.find(other), std::string::npos);
}

// Ownership controls: new buckets disable ACLs (BucketOwnerEnforced), as S3 does.
TEST_F(BucketServiceTest, OwnershipControlsDisableAcls) {
  s3_.Send("PUT", "/owned");
  auto r = s3_.Send("GET", "/owned?ownershipControls");
  EXPECT_NE(r.body.find("<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"), std::string::npos);
  EXPECT_EQ(s3_.Send("PUT", "/owned?acl", "", {{"x-amz-acl", "public-read"}}).ErrorCode(),
            "AccessControlListNotSupported");
  EXPECT_EQ(s3_.Send("PUT", "/owned/o", "1", {{"x-amz-acl", "public-read"}}).ErrorCode(),
            "AccessControlListNotSupported");
  EXPECT_EQ(s3_.Send("PUT", "/owned/o", "1", {{"x-amz-acl", "bucket-owner-full-control"}}).status, 200);
  EXPECT_EQ(s3_.Send("PUT", "/pub", "", {{"x-amz-acl", "public-read"}}).ErrorCode(),
            "InvalidBucketAclWithObjectOwnership");
  EXPECT_EQ(s3_.Send("PUT", "/pub", "", {{"x-amz-object-ownership", "Everyone"}}).ErrorCode(), "InvalidArgument");

  std::string writer =
      "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>";
  EXPECT_EQ(s3_.Send("PUT", "/owned?ownershipControls", writer).status, 200);
  EXPECT_EQ(s3_.Send("PUT", "/owned?acl", "", {{"x-amz-acl", "public-read"}}).status, 200);
  s3_.ActAnonymous();
  EXPECT_EQ(s3_.Send("GET", "/owned?list-type=2").status, 200);
  s3_.ActAs("111111111111", "alice");
  // Enforcing again while the bucket ACL grants the public is refused.
  std::string enforced =
      "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>";
  EXPECT_EQ(s3_.Send("PUT", "/owned?ownershipControls", enforced).ErrorCode(), "InvalidBucketAclWithObjectOwnership");
  EXPECT_EQ(s3_.Send("DELETE", "/owned?ownershipControls").status, 204);
  EXPECT_EQ(s3_.Send("GET", "/owned?ownershipControls").ErrorCode(), "OwnershipControlsNotFoundError");
  s3_.ActAnonymous();
  EXPECT_EQ(s3_.Send("GET", "/owned?list-type=2").status, 200);  // no controls: ACLs count
}

TEST_F(BucketServiceTest, CorsConfigurationAndPreflight) {
  s3_.Send("PUT", "/web");
  EXPECT_EQ(s3_.Send("GET", "/web?cors").ErrorCode(), "NoSuchCORSConfiguration");
  std::string cors =
      "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>"
      "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
      "<AllowedHeader>content-type</AllowedHeader><ExposeHeader>ETag</ExposeHeader>"
      "<MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>";
  EXPECT_EQ(s3_.SendWithMd5("PUT", "/web?cors", cors).status, 200);
  auto r = s3_.Send("GET", "/web?cors");
  EXPECT_NE(r.body.find("<AllowedOrigin>https://app.example.com</AllowedOrigin>"), std::string::npos);

  s3_.ActAnonymous();  // browsers never sign preflights
  r = s3_.Send("OPTIONS", "/web/file.txt", "",
               {{"origin", "https://app.example.com"}, {"access-control-request-method", "PUT"},
                {"access-control-request-headers", "Content-Type"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(r.Header("access-control-allow-methods"), "GET, PUT");
  EXPECT_EQ(r.Header("access-control-max-age"), "300");
  r = s3_.Send("OPTIONS", "/web/file.txt", "",
               {{"origin", "https://evil.example.com"}, {"access-control-request-method", "GET"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.ErrorCode(), "CORSForbidden");
  r = s3_.Send("OPTIONS", "/web/file.txt", "",
               {{"origin", "https://app.example.com"}, {"access-control-request-method", "DELETE"}});
  EXPECT_EQ(r.ErrorCode(), "CORSForbidden");

  s3_.ActAs("111111111111", "alice");
  s3_.Send("PUT", "/web/file.txt", "hi");
  r = s3_.Send("GET", "/web/file.txt", "", {{"origin", "https://app.example.com"}});
  EXPECT_EQ(r.body, "hi");
  EXPECT_EQ(r.Header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(r.Header("access-control-expose-headers"), "ETag");
  r = s3_.Send("GET", "/web/file.txt", "", {{"origin", "https://other.com"}});
  EXPECT_EQ(r.Header("access-control-allow-origin"), "");

  EXPECT_EQ(s3_.Send("DELETE", "/web?cors").status, 204);
  EXPECT_EQ(s3_.Send("GET", "/web?cors").ErrorCode(), "NoSuchCORSConfiguration");
}

TEST_F(BucketServiceTest, RoutingOfUnknownAndWrongMethods) {
  s3_.Send("PUT", "/bk1");
  auto r = s3_.Send("GET", "/bk1?analytics");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.ErrorCode(), "NotImplemented");
  EXPECT_EQ(s3_.Send("PUT", "/bk1?logging", "<BucketLoggingStatus/>").ErrorCode(), "NotImplemented");
  EXPECT_EQ(s3_.Send("PUT", "/bk1?tagging", "<Tagging/>").ErrorCode(), "MalformedXML");
  // Configurations that can never be set here read as "not configured".
  r = s3_.Send("GET", "/bk1?policy");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "NoSuchBucketPolicy");
  EXPECT_EQ(s3_.Send("GET", "/bk1?tagging").ErrorCode(), "NoSuchTagSet");
  EXPECT_EQ(s3_.Send("GET", "/bk1?lifecycle").ErrorCode(), "NoSuchLifecycleConfiguration");
  s3_.Send("PUT", "/bk1/obj", "x");
  r = s3_.Send("GET", "/bk1/obj?tagging");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<TagSet/>"), std::string::npos) << r.body;
  EXPECT_EQ(s3_.Send("GET", "/bk1/none?tagging").ErrorCode(), "NoSuchKey");
  EXPECT_EQ(s3_.Send("PATCH", "/bk1").status, 405);
  EXPECT_EQ(s3_.Send("PATCH", "/bk1").ErrorCode(), "MethodNotAllowed");
  // A DELETE of a sub-resource that has none never deletes the bucket.
  s3_.Send("PUT", "/empty-bucket");
  for (const char* sub : {"versioning", "acl", "location", "uploads", "versions", "object-lock"}) {
    EXPECT_EQ(s3_.Send("DELETE", std::string("/empty-bucket?") + sub).status, 405) << sub;
  }
  EXPECT_EQ(s3_.Send("HEAD", "/empty-bucket").status, 200) << "the bucket is still there";
  EXPECT_EQ(s3_.Send("DELETE", "/").ErrorCode(), "MethodNotAllowed");
  // No POST names an object without ?uploads or ?uploadId; POST on a bucket is a form upload.
  r = s3_.Send("POST", "/bk1/obj");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.ErrorCode(), "MethodNotAllowed");
  r = s3_.Send("POST", "/bk1", "x", {{"content-type", "application/octet-stream"}});
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.operation, "PostObject");
  // A preflight S3 cannot read is 400, whatever the bucket.
  for (std::string path : {"/bk1/obj", "/nobucket/obj", "/ab/obj"}) {
    r = s3_.Send("OPTIONS", path, "", {{"access-control-request-method", "GET"}});
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(r.ErrorCode(), "BadRequest") << path;
  }
  r = s3_.Send("GET", "/bk1?versioning");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("VersioningConfiguration"), std::string::npos);
}

// A form upload through the service: the file is stored under the form's key
// with the form's fields, and fields after the file count for nothing.
TEST_F(BucketServiceTest, FormUpload) {
  s3_.Send("PUT", "/forms");
  const std::string b = "XyZ";
  auto part = [&](std::string name, std::string value, std::string extra = "") {
    return "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" + extra + "\r\n\r\n" + value +
           "\r\n";
  };
  std::string body = part("Key", "in/${filename}") + part("Content-Type", "text/plain") +
                     part("x-amz-meta-color", "green") + part("success_action_status", "201") +
                     part("file", "form content", "; filename=\"C:\\dir\\a.txt\"") + part("key", "other") +
                     "--" + b + "--\r\n";
  auto r = s3_.Send("POST", "/forms", body, {{"content-type", "multipart/form-data; boundary=" + b}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find("<Key>in/a.txt</Key>"), std::string::npos) << r.body;
  r = s3_.Send("GET", "/forms/in/a.txt");
  EXPECT_EQ(r.body, "form content");
  EXPECT_EQ(r.Header("content-type"), "text/plain");
  EXPECT_EQ(r.Header("x-amz-meta-color"), "green");
  EXPECT_EQ(s3_.Send("GET", "/forms/other").ErrorCode(), "NoSuchKey");
  // A file named like the variable is put in once.
  std::string named = part("key", "${filename}/${filename}") + part("file", "x", "; filename=\"${filename}\"") +
                      "--" + b + "--\r\n";
  r = s3_.Send("POST", "/forms", named, {{"content-type", "multipart/form-data; boundary=" + b}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(s3_.Send("GET", "/forms/${filename}/${filename}").body, "x");
  r = s3_.Send("POST", "/forms", body.substr(0, body.size() - 10),
               {{"content-type", "multipart/form-data; boundary=" + b}});
  EXPECT_EQ(r.ErrorCode(), "MalformedPOSTRequest");
  s3_.ActAnonymous();  // a private bucket takes no anonymous form
  r = s3_.Send("POST", "/forms", body, {{"content-type", "multipart/form-data; boundary=" + b}});
  EXPECT_EQ(r.ErrorCode(), "AccessDenied");
}

TEST_F(BucketServiceTest, VirtualHostedAddressing) {
  auto r = s3_.Send("PUT", "/", "", {{"host", "vhost.s3.localhost:4566"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.operation, "CreateBucket");
  r = s3_.Send("PUT", "/dir/key.txt", "v", {{"host", "vhost.localhost"}});
  EXPECT_EQ(r.status, 200) << r.body;
  r = s3_.Send("GET", "/vhost/dir/key.txt");
  EXPECT_EQ(r.body, "v");
}

TEST_F(BucketServiceTest, MetricsCountObjectsAndBytes) {
  s3_.Send("PUT", "/met");
  s3_.Send("PUT", "/met/a", "12345");
  s3_.Send("PUT", "/met/b", std::string(5000, 'x'));
  s3_.Send("PUT", "/met/a", "12");  // overwrite
  std::string out;
  s3_.service().AppendMetrics(out);
  EXPECT_NE(out.find("annex_objectstore_objects 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("annex_objectstore_bytes 5002\n"), std::string::npos) << out;
  s3_.Reopen();  // recounted from LMDB at startup
  out.clear();
  s3_.service().AppendMetrics(out);
  EXPECT_NE(out.find("annex_objectstore_bytes 5002\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace annex::objectstore::testing
