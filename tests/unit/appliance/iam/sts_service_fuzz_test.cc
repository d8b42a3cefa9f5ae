// A bounded random walk over the STS Query API (fixed seed): AssumeRole and
// GetSessionToken with random role ARNs (this account's, another account's,
// malformed), session names, durations, session policies, policy ARNs, tags
// and external ids, raw and percent-encoded, from an IAM user and from a
// role session. Nothing may crash, and the only role ever assumed is the one
// whose trust policy names the caller.

#include <gtest/gtest.h>

#include <random>

#include "appliance/core/log.h"
#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/iam/role_sessions.h"
#include "appliance/iam/sts_service.h"
#include "tests/unit/testing/service_driver.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::iam {
namespace {

constexpr int kIterations = 1500;
constexpr char kAllowEverything[] =
    R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})";

std::string Trusting(const std::string& principal) {
  return R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":")" + principal +
         R"("},"Action":["sts:AssumeRole","sts:TagSession"]}})";
}

void DiscardLog(std::string_view) {}

class StsFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink(DiscardLog);
    identities_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    policies_ = PolicyStore::Open(tmp_.path() + "/iam-policies", clock_).value();
    authorizer_ = std::make_unique<PolicyAuthorizer>(*identities_, *policies_);
    sessions_ = std::make_unique<RoleSessions>(*identities_, *policies_);
    service_ = NewStsService(*identities_, *sessions_, authorizer_.get());
    account_ = identities_->CreateAccount("acct").value().first.id;
    other_ = identities_->CreateAccount("other").value().first.id;
    ASSERT_TRUE(identities_->CreateUser(account_, "mallory").ok());
    // Mallory's own policies allow everything: only trust policies stand in her way.
    ASSERT_TRUE(policies_->PutInlinePolicy(account_, EntityType::kUser, "mallory", "all", kAllowEverything).ok());
    AddRole(account_, "open", Trusting("arn:aws:iam::" + account_ + ":user/mallory"));
    AddRole(account_, "closed", Trusting("arn:aws:iam::" + account_ + ":user/bob"));
    AddRole(other_, "foreign", Trusting(other_));
    mallory_ = identities_->Find(identities_->CreateAccessKey(Identity::User(account_, "mallory"))->access_key_id)
                   ->principal;
  }
  void TearDown() override { log::SetSink(nullptr); }

  void AddRole(const std::string& account, const std::string& name, const std::string& trust) {
    Role r;
    r.account_id = account;
    r.name = name;
    r.trust_policy = trust;
    ASSERT_TRUE(identities_->CreateRole(r).ok());
  }

  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  std::unique_ptr<IdentityStore> identities_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<PolicyAuthorizer> authorizer_;
  std::unique_ptr<RoleSessions> sessions_;
  std::unique_ptr<service::Service> service_;
  std::string account_, other_;
  auth::Principal mallory_;
};

TEST_F(StsFuzzTest, RandomRequestsAssumeOnlyTheTrustingRole) {
  std::mt19937 rng(13);
  auto pick = [&](std::initializer_list<std::string> options) {
    return *(options.begin() + std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng));
  };
  auto bytes = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() & 0xff));
    return s;
  };
  auto encode = [&](const std::string& s) {
    std::string out;
    bool raw = rng() % 3 == 0;
    for (unsigned char c : s) {
      if (std::isalnum(c) || (raw && c >= 0x20 && c < 0x7f)) {
        out.push_back(static_cast<char>(c));
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out += {'%', kHex[c >> 4], kHex[c & 15]};
      }
    }
    return out;
  };
  const std::string open = "arn:aws:iam::" + account_ + ":role/open";
  auth::Principal caller = mallory_;
  annex::testing::ServiceDriver driver(*service_);
  int assumed = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string body = "Action=" + pick({"AssumeRole", "AssumeRole", "GetSessionToken", "GetCallerIdentity",
                                          bytes(8)});
    // A third of the requests start valid, so the walk also explores what follows a success.
    if (rng() % 3 == 0) body = "Action=AssumeRole&RoleArn=" + encode(open) + "&RoleSessionName=walk";
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
      std::string name = pick({"RoleArn", "RoleArn", "RoleSessionName", "DurationSeconds", "Policy",
                               "PolicyArns.member.1.arn", "Tags.member.1.Key", "Tags.member.1.Value",
                               "ExternalId", bytes(6)});
      std::string value = pick({open, "arn:aws:iam::" + account_ + ":role/closed",
                                "arn:aws:iam::" + other_ + ":role/foreign", "arn:aws:iam::" + account_ + ":role/",
                                "arn:aws:iam::" + account_ + ":user/mallory", "s1", "", "900", "43201", "-1",
                                "99999999999999999999", kAllowEverything, "{", "arn:aws:iam::aws:policy/ReadOnlyAccess",
                                bytes(3), bytes(70), std::string("\0", 1)});
      body += "&" + encode(name) + "=" + encode(value);
    }
    auto r = driver.Send(caller, "POST", "/", body);
    ASSERT_NE(r.status, 0) << body;
    if (r.status != 200 || r.body.find("<AssumeRoleResult>") == std::string::npos) continue;
    ASSERT_NE(r.body.find(":assumed-role/open/"), std::string::npos) << body << "\n" << r.body;
    ++assumed;
    // Sometimes go on as the new session (role chaining), which no role but "open" trusts.
    if (rng() % 4 == 0) {
      size_t a = r.body.find("<AccessKeyId>") + 13;
      std::string key = r.body.substr(a, r.body.find("</AccessKeyId>") - a);
      auto session = identities_->Find(key);
      ASSERT_TRUE(session);
      caller = session->principal;
    }
  }
  EXPECT_GT(assumed, 0);  // the walk did reach the success path
}

}  // namespace
}  // namespace annex::iam
