// Groups, roles and sessions in the identity store; role sessions for
// AssumeRole and for workloads (RoleSessions, RotatingRoleCredentials).

#include "appliance/iam/role_sessions.h"

#include <gtest/gtest.h>

#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"
#include "appliance/policy/policy.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::iam {
namespace {

using namespace std::chrono_literals;

constexpr char kEcsTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},)"
    R"("Action":"sts:AssumeRole"}]})";

class RoleSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    identities_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    policies_ = PolicyStore::Open(tmp_.path() + "/iam-policies", clock_).value();
    sessions_ = std::make_unique<RoleSessions>(*identities_, *policies_);
    account_ = identities_->CreateAccount("acct").value().first.id;
  }

  Role NewRole(const std::string& name, const std::string& trust) {
    Role r;
    r.account_id = account_;
    r.name = name;
    r.path = "/svc/";
    r.trust_policy = trust;
    r.tags = {{"team", "blue"}};
    return identities_->CreateRole(r).value();
  }

  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  std::unique_ptr<IdentityStore> identities_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<RoleSessions> sessions_;
  std::string account_;
};

TEST_F(RoleSessionsTest, GroupsAndMembership) {
  ASSERT_TRUE(identities_->CreateUser(account_, "alice").ok());
  Group g = identities_->CreateGroup(account_, "devs", "/eng/").value();
  EXPECT_EQ(g.arn, "arn:aws:iam::" + account_ + ":group/eng/devs");
  EXPECT_EQ(identities_->CreateGroup(account_, "devs", "/").status().subcode(), "EntityAlreadyExists");
  EXPECT_TRUE(identities_->GroupNamesOfUser(account_, "alice")->empty());
  ASSERT_TRUE(identities_->AddUserToGroup(account_, "devs", "alice").ok());
  EXPECT_EQ(*identities_->GroupNamesOfUser(account_, "alice"), std::vector<std::string>{"devs"});
  EXPECT_EQ(identities_->AddUserToGroup(account_, "nope", "alice").subcode(), "NoSuchEntity");
  EXPECT_EQ(identities_->AddUserToGroup(account_, "devs", "bob").subcode(), "NoSuchEntity");
  EXPECT_EQ(identities_->DeleteGroup(account_, "devs").subcode(), "DeleteConflict");
  EXPECT_EQ(identities_->DeleteUser(account_, "alice").subcode(), "DeleteConflict");
  ASSERT_TRUE(identities_->RemoveUserFromGroup(account_, "devs", "alice").ok());
  EXPECT_TRUE(identities_->GroupNamesOfUser(account_, "alice")->empty());  // the cache was dropped
  EXPECT_EQ(identities_->RemoveUserFromGroup(account_, "devs", "alice").subcode(), "NoSuchEntity");
  EXPECT_TRUE(identities_->DeleteGroup(account_, "devs").ok());
}

TEST_F(RoleSessionsTest, RoleSessionSignsAsTheAssumedRole) {
  Role role = NewRole("reader", kEcsTrust);
  EXPECT_EQ(role.arn, "arn:aws:iam::" + account_ + ":role/svc/reader");
  RoleSessionRequest request;
  request.role = &role;
  request.session_name = "task-1";
  request.duration = 900s;
  request.inline_policy = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]})";
  request.tags = {{"Team", "red"}, {"env", "prod"}};
  TemporaryCredentials c = sessions_->Open(request).value();
  EXPECT_TRUE(c.access_key_id.starts_with("ASIA"));
  EXPECT_EQ(c.expiration, clock_.Now() + 900s);

  auto found = identities_->Find(c.access_key_id);
  ASSERT_TRUE(found);
  const auth::Principal& p = found->principal;
  EXPECT_TRUE(p.is_role_session());
  EXPECT_FALSE(p.is_root());
  EXPECT_FALSE(p.is_user());
  EXPECT_EQ(p.arn, "arn:aws:sts::" + account_ + ":assumed-role/reader/task-1");
  EXPECT_EQ(p.role_arn, role.arn);
  EXPECT_EQ(p.user_id, role.role_id + ":task-1");
  ASSERT_TRUE(p.session);
  EXPECT_EQ(p.session->token, c.session_token);
  ASSERT_TRUE(p.session->policies);
  EXPECT_EQ(p.session->policies->size(), 1u);
  // The session tag overrides the role's tag of the same key (case-insensitively).
  std::vector<std::pair<std::string, std::string>> tags = p.session->tags;
  EXPECT_EQ(tags, (std::vector<std::pair<std::string, std::string>>{{"Team", "red"}, {"env", "prod"}}));
}

TEST_F(RoleSessionsTest, ExpiredSessionsAreSweptAsNewOnesAreMade) {
  SessionSpec spec;
  spec.account_id = account_;
  spec.duration = 900s;
  TemporaryCredentials old = identities_->CreateSession(spec).value();
  ASSERT_TRUE(identities_->Find(old.access_key_id));
  clock_.Advance(901s);
  // Reopened: nothing cached, so what Find sees is what is stored.
  identities_.reset();
  identities_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
  ASSERT_TRUE(identities_->Find(old.access_key_id));  // still stored: the verifier says ExpiredToken
  ASSERT_TRUE(identities_->CreateSession(spec).ok());
  identities_.reset();
  identities_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
  EXPECT_FALSE(identities_->Find(old.access_key_id));
}

TEST_F(RoleSessionsTest, WorkloadsGetCredentialsOnlyFromRolesTrustingTheirService) {
  Role role = NewRole("task", kEcsTrust);
  service::RoleGrant grant{account_, role.arn, "ecs-tasks.amazonaws.com", "task-7", 3600s};
  auto minted = sessions_->Mint(grant);
  ASSERT_TRUE(minted.ok()) << minted.status().ToString();
  EXPECT_EQ(identities_->Find(minted->access_key_id)->principal.arn,
            "arn:aws:sts::" + account_ + ":assumed-role/task/task-7");

  grant.service_principal = "lambda.amazonaws.com";
  EXPECT_EQ(sessions_->Mint(grant).status().subcode(), "AccessDenied");
  grant.service_principal = "ecs-tasks.amazonaws.com";
  grant.account_id = "999999999999";  // another account's workload cannot use this role
  EXPECT_FALSE(sessions_->Mint(grant).ok());
  grant.account_id = account_;
  grant.role_arn = "arn:aws:iam::" + account_ + ":role/task";  // wrong path: not this role
  EXPECT_FALSE(sessions_->Mint(grant).ok());
}

TEST_F(RoleSessionsTest, TrustsServiceHonoursDenies) {
  auto parse = [](const std::string& doc) { return policy::ParsePolicy(doc, policy::PolicyKind::kTrust).value(); };
  EXPECT_TRUE(TrustsService(parse(kEcsTrust), "ecs-tasks.amazonaws.com"));
  EXPECT_FALSE(TrustsService(parse(kEcsTrust), "lambda.amazonaws.com"));
  EXPECT_FALSE(TrustsService(
      parse(R"({"Version":"2012-10-17","Statement":[)"
            R"({"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:*"},)"
            R"({"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]})"),
      "ecs-tasks.amazonaws.com"));
  EXPECT_FALSE(TrustsService(
      parse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},)"
            R"("Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]})"),
      "ecs-tasks.amazonaws.com"));
}

TEST_F(RoleSessionsTest, ParseRoleArn) {
  EXPECT_EQ(ParseRoleArn("arn:aws:iam::123456789012:role/a/b/name"),
            std::make_pair(std::string("123456789012"), std::string("name")));
  EXPECT_FALSE(ParseRoleArn("arn:aws:iam::123456789012:user/name"));
  EXPECT_FALSE(ParseRoleArn("arn:aws:iam::12345:role/name"));
  EXPECT_FALSE(ParseRoleArn("arn:aws:iam::123456789012:role/"));
}

class CountingSource final : public service::RoleCredentialSource {
 public:
  explicit CountingSource(const os::Clock& clock) : clock_(clock) {}
  Result<service::RoleCredentials> Mint(const service::RoleGrant& grant) override {
    ++mints;
    return service::RoleCredentials{"ASIA" + std::to_string(mints), "s", "t", clock_.Now() + grant.duration};
  }
  int mints = 0;

 private:
  const os::Clock& clock_;
};

TEST(RotatingRoleCredentialsTest, RenewsBeforeExpiry) {
  os::ManualClock clock{os::SystemTime(std::chrono::seconds(1700000000))};
  CountingSource source(clock);
  service::RotatingRoleCredentials creds(source, {"1", "arn", "svc", "s", 3600s}, clock);
  EXPECT_EQ(creds.Current()->access_key_id, "ASIA1");
  clock.Advance(40min);  // 20 minutes left: more than a quarter
  EXPECT_EQ(creds.Current()->access_key_id, "ASIA1");
  clock.Advance(6min);   // 14 minutes left: renewed
  EXPECT_EQ(creds.Current()->access_key_id, "ASIA2");
  EXPECT_EQ(source.mints, 2);
}

}  // namespace
}  // namespace annex::iam
