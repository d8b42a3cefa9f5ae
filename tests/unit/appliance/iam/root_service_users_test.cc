// RootServiceUsers: a service's user in the root account has exactly the
// inline policy given and one key, the newest, which signs requests
// (SigV4, verified over the identity store) and is allowed what the policy
// allows and nothing else; Remove leaves nothing; bad input changes nothing.

#include "appliance/iam/root_service_users.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "appliance/auth/sigv4.h"
#include "appliance/auth/sigv4_verifier.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/os/blocking_pool.h"
#include "appliance/service/request_context.h"
#include "tests/unit/appliance/auth/auth_test_util.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::iam {
namespace {

constexpr const char* kUser = "annex-rds-db1";

std::string PrefixPolicy(const std::string& prefix) {
  return R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],)"
         R"("Resource":"arn:aws:s3:::backups/)" + prefix + R"(/*"}})";
}

// The request context PolicyAuthorizer reads (principal, clock, address);
// it never reads a body or sends a response.
class NoBody final : public http::BodyReader {
 public:
  http::Task<Result<size_t>> Read(std::span<char>) override { co_return size_t{0}; }
};
class NoResponse final : public http::ResponseWriter {
 public:
  http::Task<Status> Send(http::Response) override { co_return Status::OK(); }
  http::Task<Status> SendHead(http::Response, uint64_t) override { co_return Status::OK(); }
  http::Task<Status> SendBody(std::string_view) override { co_return Status::OK(); }
  http::Task<Status> SendFile(const os::RandomAccessFile&, uint64_t, uint64_t) override { co_return Status::OK(); }
  bool head_sent() const override { return false; }
};

class RootServiceUsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    identities_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    policies_ = PolicyStore::Open(tmp_.path() + "/iam-policies", clock_).value();
    account_ = identities_->CreateAccount("appliance").value().first.id;
    users_ = std::make_unique<RootServiceUsers>(*identities_, *policies_, account_);
    authorizer_ = std::make_unique<PolicyAuthorizer>(*identities_, *policies_);
    verifier_ = std::make_unique<auth::SigV4Verifier>(*identities_, clock_, "us-east-1");
  }

  // Signs a GET with `key` and verifies it as the edge does.
  Result<auth::AuthResult> SignedWith(const service::ServiceUserKey& key) {
    http::Request r = auth::testing::MakeRequest("GET", "/backups/db1/base.tar", {{"Host", "s3.localhost"}});
    auth::SignOptions options;
    options.time = clock_.Now();
    auth::SignRequest(r, {key.access_key_id, key.secret_access_key, ""}, options);
    return verifier_->Verify(r);
  }

  bool Allowed(const auth::Principal& who, std::string action, std::string resource) {
    http::Request req;
    req.remote_address = "127.0.0.1:40000";
    NoBody body;
    NoResponse writer;
    http::Headers trailers;
    service::RequestContext ctx{req, writer, body, trailers, who, "us-east-1", clock_, pool_, "", 0, 0};
    service::AccessRequest request;
    request.action = std::move(action);
    request.resource = std::move(resource);
    return authorizer_->Check(ctx, request).allowed();
  }

  std::vector<std::string> KeyIds(const std::string& user) {
    std::vector<std::string> ids;
    auto keys = identities_->ListAccessKeys(Identity::User(account_, user));
    for (const auto& k : keys.value()) {
      ids.push_back(k.access_key_id);
    }
    return ids;
  }

  std::vector<std::string> InlinePolicies(const std::string& user) {
    return policies_->ListInlinePolicies(account_, EntityType::kUser, user).value();
  }

  testing::TempDir tmp_;
  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  os::BlockingPool pool_{1};
  std::unique_ptr<IdentityStore> identities_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<RootServiceUsers> users_;
  std::unique_ptr<PolicyAuthorizer> authorizer_;
  std::unique_ptr<auth::SigV4Verifier> verifier_;
  std::string account_;
};

TEST_F(RootServiceUsersTest, ProvisionTwiceLeavesOnlyTheNewestKeyWorking) {
  auto first = users_->Provision(kUser, PrefixPolicy("db1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->user_arn, "arn:aws:iam::" + account_ + ":user/" + kUser);
  EXPECT_TRUE(first->access_key_id.starts_with("AKIA")) << first->access_key_id;
  EXPECT_FALSE(first->secret_access_key.empty());
  auto signed_first = SignedWith(*first);
  ASSERT_TRUE(signed_first.ok()) << signed_first.status().ToString();
  EXPECT_EQ(signed_first->principal.user_name, kUser);
  EXPECT_EQ(signed_first->principal.account_id, account_);
  EXPECT_EQ(signed_first->principal.arn, first->user_arn);

  // Again (a key lost with a crash): the same user, a new key, the old one gone.
  auto second = users_->Provision(kUser, PrefixPolicy("db1"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->user_arn, first->user_arn);
  EXPECT_NE(second->access_key_id, first->access_key_id);
  EXPECT_EQ(KeyIds(kUser), std::vector<std::string>{second->access_key_id});
  EXPECT_FALSE(SignedWith(*first).ok());
  EXPECT_TRUE(SignedWith(*second).ok());
  // A third time still works: two key slots never fill up.
  ASSERT_TRUE(users_->Provision(kUser, PrefixPolicy("db1")).ok());
  EXPECT_EQ(KeyIds(kUser).size(), 1u);
  EXPECT_EQ(identities_->ListUsers(account_)->size(), 1u);
}

TEST_F(RootServiceUsersTest, TheInlinePolicyIsTheOneGivenAndScopesTheKey) {
  // Something an operator added: Provision makes the given policy the only one.
  ASSERT_TRUE(identities_->CreateUser(account_, kUser).ok());
  const std::string everything =
      R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})";
  ASSERT_TRUE(policies_->PutInlinePolicy(account_, EntityType::kUser, kUser, "extra", everything).ok());
  auto key = users_->Provision(kUser, PrefixPolicy("db1"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(InlinePolicies(kUser), std::vector<std::string>{RootServiceUsers::kPolicyName});
  EXPECT_EQ(policies_->GetInlinePolicy(account_, EntityType::kUser, kUser, RootServiceUsers::kPolicyName).value(),
            PrefixPolicy("db1"));

  auto who = SignedWith(*key);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_TRUE(Allowed(who->principal, "s3:PutObject", "arn:aws:s3:::backups/db1/wal/000001"));
  EXPECT_FALSE(Allowed(who->principal, "s3:PutObject", "arn:aws:s3:::backups/db2/wal/000001"));
  EXPECT_FALSE(Allowed(who->principal, "s3:DeleteBucket", "arn:aws:s3:::backups"));
  EXPECT_FALSE(Allowed(who->principal, "iam:CreateUser", "arn:aws:iam::" + account_ + ":user/x"));

  // A new policy replaces the old one at once.
  auto moved = users_->Provision(kUser, PrefixPolicy("db2"));
  ASSERT_TRUE(moved.ok());
  who = SignedWith(*moved);
  ASSERT_TRUE(who.ok());
  EXPECT_FALSE(Allowed(who->principal, "s3:PutObject", "arn:aws:s3:::backups/db1/wal/000001"));
  EXPECT_TRUE(Allowed(who->principal, "s3:PutObject", "arn:aws:s3:::backups/db2/wal/000001"));
}

TEST_F(RootServiceUsersTest, RemoveLeavesNothingAndIsSafeToRepeat) {
  auto key = users_->Provision(kUser, PrefixPolicy("db1"));
  ASSERT_TRUE(key.ok());
  // What an operator may have added to it through IAM.
  auto managed = policies_->CreatePolicy(account_, "Extra", "/", "", PrefixPolicy("x"));
  ASSERT_TRUE(managed.ok());
  ASSERT_TRUE(policies_->AttachPolicy(account_, EntityType::kUser, kUser, managed->arn).ok());
  ASSERT_TRUE(identities_->CreateGroup(account_, "ops", "/").ok());
  ASSERT_TRUE(identities_->AddUserToGroup(account_, "ops", kUser).ok());

  Status removed = users_->Remove(kUser);
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_TRUE(identities_->GetUser(account_, kUser).status().IsNotFound());
  EXPECT_TRUE(identities_->ListUsers(account_)->empty());
  EXPECT_TRUE(InlinePolicies(kUser).empty());
  EXPECT_TRUE(policies_->ListAttachedPolicies(account_, EntityType::kUser, kUser)->empty());
  EXPECT_TRUE(identities_->ListGroupMembers(account_, "ops")->empty());
  EXPECT_FALSE(identities_->Find(key->access_key_id).has_value());
  EXPECT_FALSE(SignedWith(*key).ok());
  EXPECT_TRUE(users_->Remove(kUser).ok());
  EXPECT_TRUE(users_->Remove("never-made").ok());
  // The root's own key is untouched.
  EXPECT_EQ(identities_->ListAccessKeys(Identity::Root(account_))->size(), 1u);
}

TEST_F(RootServiceUsersTest, BadNameOrPolicyIsInvalidArgumentAndChangesNothing) {
  for (const std::string& name : {std::string(), std::string("a b"), std::string(65, 'x'), std::string("db/1"),
                                  std::string("caf\xc3\xa9")}) {
    auto r = users_->Provision(name, PrefixPolicy("db1"));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(r.status().subcode(), "ValidationError") << name;
    EXPECT_EQ(users_->Remove(name).code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(users_->Provision(std::string(64, 'x'), PrefixPolicy("db1")).ok());
  ASSERT_TRUE(users_->Remove(std::string(64, 'x')).ok());
  for (const std::string& policy :
       {std::string("{"), std::string("not json"), std::string(R"({"Version":"2012-10-17","Statement":[]})"),
        // A resource policy's Principal has no place in an identity policy.
        std::string(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*",)"
                    R"("Resource":"*"}})")}) {
    auto r = users_->Provision(kUser, policy);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << policy;
    EXPECT_EQ(r.status().subcode(), "MalformedPolicyDocument") << policy;
  }
  EXPECT_TRUE(identities_->ListUsers(account_)->empty());
  // A policy over a user's inline limit is refused before anything changes too.
  std::string huge = PrefixPolicy(std::string(3000, 'p'));
  EXPECT_EQ(users_->Provision(kUser, huge).status().subcode(), "LimitExceeded");
  EXPECT_TRUE(identities_->ListUsers(account_)->empty());
}

TEST_F(RootServiceUsersTest, ConcurrentProvisionsOfOneUserEndWithOneKey) {
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 5 && results[i].ok(); ++n) {
        results[i] = users_->Provision(kUser, PrefixPolicy("db1")).status();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(KeyIds(kUser).size(), 1u);
}

}  // namespace
}  // namespace annex::iam
