// Every S3 operation the router can return has its IAM action and resource.

#include "services/objectstore/s3_actions.h"

#include <gtest/gtest.h>

namespace annex::objectstore {
namespace {

TEST(S3ActionsTest, EveryOperationHasAnAction) {
  for (int i = 0; i <= static_cast<int>(kLastS3Op); ++i) {
    auto op = static_cast<S3Op>(i);
    S3Permission p = PermissionFor(op);
    if (op == S3Op::kCorsPreflight) {
      EXPECT_EQ(p.resource, S3Resource::kPublic);
      continue;
    }
    EXPECT_TRUE(p.action.starts_with("s3:")) << S3OpName(op);
    EXPECT_NE(p.action, "s3:*") << S3OpName(op) << " fell through the table";
  }
}

TEST(S3ActionsTest, ActionsAndResourcesAsTheAuthorizationReference) {
  EXPECT_EQ(PermissionFor(S3Op::kGetObject).action, "s3:GetObject");
  EXPECT_EQ(PermissionFor(S3Op::kHeadObject).action, "s3:GetObject");
  EXPECT_EQ(PermissionFor(S3Op::kListObjectsV2).action, "s3:ListBucket");
  EXPECT_EQ(PermissionFor(S3Op::kListObjectsV2).resource, S3Resource::kBucket);
  EXPECT_EQ(PermissionFor(S3Op::kUploadPart).action, "s3:PutObject");
  EXPECT_EQ(PermissionFor(S3Op::kListBuckets).resource, S3Resource::kNone);
  EXPECT_EQ(PermissionFor(S3Op::kGetObjectAttributes).action, "s3:GetObjectAttributes");
  EXPECT_EQ(PermissionFor(S3Op::kGetObjectAttributes).resource, S3Resource::kObject);
  EXPECT_EQ(BucketArn("photos"), "arn:aws:s3:::photos");
  EXPECT_EQ(ObjectArn("photos", "a/b.jpg"), "arn:aws:s3:::photos/a/b.jpg");
}

}  // namespace
}  // namespace annex::objectstore
