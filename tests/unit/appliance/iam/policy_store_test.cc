// PolicyStore: managed policies and their versions, the AWS managed ones,
// attachments and inline policies, with IAM's errors; compiled policies
// follow every change.

#include "appliance/iam/policy_store.h"

#include <gtest/gtest.h>

#include "appliance/iam/aws_managed_policies.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::iam {
namespace {

constexpr const char* kAccount = "111122223333";
const std::string kReadPhotos =
    R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}})";
const std::string kWritePhotos =
    R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*"}})";

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = PolicyStore::Open(dir_.path() + "/policies", clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  testing::TempDir dir_;
  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1800000000))};
  std::unique_ptr<PolicyStore> store_;
};

TEST_F(PolicyStoreTest, AwsManagedPoliciesAreValidAndListed) {
  for (const auto& p : AwsManagedPolicies()) {
    auto parsed = policy::ParsePolicy(p.document, policy::PolicyKind::kIdentity, policy::kManagedPolicyMaxChars);
    EXPECT_TRUE(parsed.ok()) << p.name << ": " << parsed.status().ToString();
  }
  auto all = store_->ListPolicies(kAccount, PolicyScope::kAws, false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), AwsManagedPolicies().size());
  auto lambda = store_->GetPolicy(kAccount, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole");
  ASSERT_TRUE(lambda.ok());
  EXPECT_TRUE(lambda->aws_managed);
  EXPECT_EQ(lambda->path, "/service-role/");
  EXPECT_TRUE(lambda->id.starts_with("ANPA"));
  EXPECT_EQ(lambda->id.size(), 21u);
  EXPECT_EQ(store_->DeletePolicy(kAccount, lambda->arn).subcode(), "InvalidInput");
}

TEST_F(PolicyStoreTest, CustomerPoliciesAndTheirVersions) {
  auto created = store_->CreatePolicy(kAccount, "ReadPhotos", "/team/", "photos, read", kReadPhotos);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->arn, "arn:aws:iam::111122223333:policy/team/ReadPhotos");
  EXPECT_EQ(created->default_version, "v1");
  EXPECT_EQ(store_->CreatePolicy(kAccount, "ReadPhotos", "/", "", kReadPhotos).status().subcode(), "EntityAlreadyExists");
  EXPECT_EQ(store_->CreatePolicy(kAccount, "bad name", "/", "", kReadPhotos).status().subcode(), "InvalidInput");
  EXPECT_EQ(store_->CreatePolicy(kAccount, "X", "team", "", kReadPhotos).status().subcode(), "InvalidInput");
  EXPECT_EQ(store_->CreatePolicy(kAccount, "Bad", "/", "", "{").status().subcode(), "MalformedPolicyDocument");
  // Another account does not see it, even by its ARN.
  EXPECT_EQ(store_->GetPolicy("444455556666", created->arn).status().subcode(), "NoSuchEntity");

  auto v2 = store_->CreatePolicyVersion(kAccount, created->arn, kWritePhotos, /*set_as_default=*/true);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version_id, "v2");
  auto got = store_->GetPolicy(kAccount, created->arn);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->default_version, "v2");
  EXPECT_EQ(store_->DeletePolicyVersion(kAccount, created->arn, "v2").subcode(), "DeleteConflict");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->CreatePolicyVersion(kAccount, created->arn, kReadPhotos, false).ok());
  EXPECT_EQ(store_->CreatePolicyVersion(kAccount, created->arn, kReadPhotos, false).status().subcode(), "LimitExceeded");
  EXPECT_EQ(store_->DeletePolicy(kAccount, created->arn).subcode(), "DeleteConflict");  // versions left
  for (std::string v : {"v1", "v3", "v4", "v5"}) ASSERT_TRUE(store_->DeletePolicyVersion(kAccount, created->arn, v).ok()) << v;
  auto versions = store_->ListPolicyVersions(kAccount, created->arn);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_TRUE((*versions)[0].is_default);
  Reopen();
  auto v = store_->GetPolicyVersion(kAccount, created->arn, "v2");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->document, kWritePhotos);
  ASSERT_TRUE(store_->DeletePolicy(kAccount, created->arn).ok());
  EXPECT_EQ(store_->GetPolicy(kAccount, created->arn).status().subcode(), "NoSuchEntity");
}

TEST_F(PolicyStoreTest, AttachmentsAndInlinePoliciesCompileForTheAuthorizer) {
  auto read = store_->CreatePolicy(kAccount, "ReadPhotos", "/", "", kReadPhotos);
  ASSERT_TRUE(read.ok());
  auto compiled = store_->IdentityPolicies(kAccount, EntityType::kUser, "alice");
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE((*compiled)->policies.empty());

  ASSERT_TRUE(store_->AttachPolicy(kAccount, EntityType::kUser, "alice", read->arn).ok());
  ASSERT_TRUE(store_->AttachPolicy(kAccount, EntityType::kUser, "alice", "arn:aws:iam::aws:policy/ReadOnlyAccess").ok());
  EXPECT_EQ(store_->AttachPolicy(kAccount, EntityType::kUser, "alice", "arn:aws:iam::111122223333:policy/Nope").subcode(),
            "NoSuchEntity");
  ASSERT_TRUE(store_->PutInlinePolicy(kAccount, EntityType::kUser, "alice", "write", kWritePhotos).ok());
  EXPECT_EQ(store_->PutInlinePolicy(kAccount, EntityType::kUser, "alice", "bad", R"({"Statement":{}})").subcode(),
            "MalformedPolicyDocument");

  compiled = store_->IdentityPolicies(kAccount, EntityType::kUser, "alice");
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ((*compiled)->policies.size(), 3u);
  auto again = store_->IdentityPolicies(kAccount, EntityType::kUser, "alice");
  EXPECT_EQ(again->get(), compiled->get()) << "compiled once per change";

  auto attached = store_->ListAttachedPolicies(kAccount, EntityType::kUser, "alice");
  ASSERT_TRUE(attached.ok());
  EXPECT_EQ(attached->size(), 2u);
  auto entities = store_->ListEntitiesForPolicy(kAccount, read->arn);
  ASSERT_TRUE(entities.ok());
  ASSERT_EQ(entities->size(), 1u);
  EXPECT_EQ((*entities)[0].second, "alice");
  auto only_attached = store_->ListPolicies(kAccount, PolicyScope::kAll, true);
  ASSERT_TRUE(only_attached.ok());
  EXPECT_EQ(only_attached->size(), 2u);
  EXPECT_EQ(store_->DeletePolicy(kAccount, read->arn).subcode(), "DeleteConflict");
  EXPECT_TRUE(*store_->HasPolicies(kAccount, EntityType::kUser, "alice"));

  ASSERT_TRUE(store_->DetachPolicy(kAccount, EntityType::kUser, "alice", read->arn).ok());
  EXPECT_EQ(store_->DetachPolicy(kAccount, EntityType::kUser, "alice", read->arn).subcode(), "NoSuchEntity");
  ASSERT_TRUE(store_->DeleteInlinePolicy(kAccount, EntityType::kUser, "alice", "write").ok());
  compiled = store_->IdentityPolicies(kAccount, EntityType::kUser, "alice");
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ((*compiled)->policies.size(), 1u) << "a change is seen by the next request";
  EXPECT_EQ(store_->GetInlinePolicy(kAccount, EntityType::kUser, "alice", "write").status().subcode(), "NoSuchEntity");
}

TEST_F(PolicyStoreTest, QuotasAsIam) {
  for (int i = 0; i < 10; ++i) {
    auto p = store_->CreatePolicy(kAccount, "P" + std::to_string(i), "/", "", kReadPhotos);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(store_->AttachPolicy(kAccount, EntityType::kUser, "bob", p->arn).ok());
  }
  EXPECT_EQ(store_->AttachPolicy(kAccount, EntityType::kUser, "bob", "arn:aws:iam::aws:policy/ReadOnlyAccess").subcode(),
            "LimitExceeded");
  // Inline policies of a user share 2,048 characters.
  std::string big = R"({"Version":"2012-10-17","Statement":[)";
  for (int i = 0; i < 15; ++i) {
    if (i) big += ",";
    big += R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-)" + std::to_string(i) + R"(/*"})";
  }
  big += "]}";
  ASSERT_LT(policy::PolicySizeWithoutWhitespace(big), 2048u);
  ASSERT_TRUE(store_->PutInlinePolicy(kAccount, EntityType::kUser, "bob", "one", big).ok());
  EXPECT_EQ(store_->PutInlinePolicy(kAccount, EntityType::kUser, "bob", "two", big).subcode(), "LimitExceeded");
  EXPECT_TRUE(store_->PutInlinePolicy(kAccount, EntityType::kUser, "bob", "one", big).ok()) << "replacing is not adding";
}

}  // namespace
}  // namespace annex::iam
