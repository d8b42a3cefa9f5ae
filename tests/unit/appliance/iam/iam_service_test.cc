// The IAM Query API's access rule: a user manages only its own access keys;
// the root's keys, other users and user management are out of its reach,
// however the request names them. Refusals are logged.

#include "appliance/iam/iam_service.h"
#include "appliance/iam/policy_authorizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "tests/unit/testing/service_driver.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::iam {
namespace {

constexpr const char* kSelfManagement = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
  "Action":["iam:GetUser","iam:CreateAccessKey","iam:ListAccessKeys","iam:UpdateAccessKey","iam:DeleteAccessKey"],
  "Resource":"arn:aws:iam::*:user/${aws:username}"}})";

using annex::testing::DriverResponse;
using annex::testing::XmlErrorCode;

std::mutex g_log_mu;
std::vector<std::string> g_log_lines;
void CaptureLog(std::string_view line) {
  std::lock_guard lock(g_log_mu);
  g_log_lines.emplace_back(line);
}

class IamServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    policies_ = PolicyStore::Open(tmp_.path() + "/iam-policies", clock_).value();
    authorizer_ = std::make_unique<PolicyAuthorizer>(*store_, *policies_);
    service_ = NewIamService(*store_, *policies_, authorizer_.get());
    driver_ = std::make_unique<annex::testing::ServiceDriver>(*service_);
    auto account = store_->CreateAccount("acct").value();
    account_ = account.first.id;
    root_key_ = account.second.access_key_id;
    ASSERT_TRUE(store_->CreateUser(account_, "mallory").ok());
    ASSERT_TRUE(store_->CreateUser(account_, "bob").ok());
    // AWS's example policy for users who manage their own keys: nothing else.
    for (const char* user : {"mallory", "bob"}) {
      ASSERT_TRUE(policies_->PutInlinePolicy(account_, EntityType::kUser, user, "self", kSelfManagement).ok());
    }
    mallory_key_ = store_->CreateAccessKey(Identity::User(account_, "mallory"))->access_key_id;
    bob_key_ = store_->CreateAccessKey(Identity::User(account_, "bob"))->access_key_id;
    other_root_key_ = store_->CreateAccount("other")->second.access_key_id;
  }
  void TearDown() override { log::SetSink(nullptr); }

  auth::Principal As(const std::string& key) { return store_->Find(key).value().principal; }

  DriverResponse Call(const std::string& key, std::string action,
                      std::vector<std::pair<std::string, std::string>> params = {}) {
    std::string body = "Action=" + UriEncode(action, /*keep_slash=*/false) + "&Version=2010-05-08";
    for (const auto& [k, v] : params) {
      body += "&" + UriEncode(k, /*keep_slash=*/false) + "=" + UriEncode(v, /*keep_slash=*/false);
    }
    return driver_->Send(As(key), "POST", "/", body);
  }

  std::vector<std::string> KeysOf(const Identity& who) {
    std::vector<std::string> ids;
    auto keys = store_->ListAccessKeys(who).value();
    for (const auto& k : keys) ids.push_back(k.access_key_id + (k.active ? "" : "-"));
    return ids;
  }

  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  std::unique_ptr<IdentityStore> store_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<PolicyAuthorizer> authorizer_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<annex::testing::ServiceDriver> driver_;
  std::string account_, root_key_, mallory_key_, bob_key_, other_root_key_;
};

// The reported attack: an empty UserName must not reach the root's keys.
TEST_F(IamServiceTest, EmptyUserNameIsRefusedNotReadAsRoot) {
  auto root_before = KeysOf(Identity::Root(account_));
  for (const std::string& key : {mallory_key_, root_key_}) {
    auto r = Call(key, "CreateAccessKey", {{"UserName", ""}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(XmlErrorCode(r.body), "ValidationError");
    EXPECT_NE(r.body.find("<ErrorResponse>"), std::string::npos) << "IAM's XML error shape";
    EXPECT_EQ(r.body.find("SecretAccessKey"), std::string::npos);
    EXPECT_EQ(Call(key, "ListAccessKeys", {{"UserName", ""}}).status, 400);
    EXPECT_EQ(Call(key, "DeleteAccessKey", {{"UserName", ""}, {"AccessKeyId", root_key_}}).status, 400);
    EXPECT_EQ(
        Call(key, "UpdateAccessKey", {{"UserName", ""}, {"AccessKeyId", root_key_}, {"Status", "Inactive"}}).status,
        400);
  }
  EXPECT_EQ(KeysOf(Identity::Root(account_)), root_before);
}

TEST_F(IamServiceTest, UserCannotTouchTheRootsOrAnotherUsersKeys) {
  auto root_before = KeysOf(Identity::Root(account_));
  auto bob_before = KeysOf(Identity::User(account_, "bob"));
  auto other_before = KeysOf(Identity::Root(As(other_root_key_).account_id));
  const std::string mallory_arn = "arn:aws:iam::" + account_ + ":user/mallory";
  for (const std::string& victim : {std::string("bob"), std::string("nobody")}) {
    for (const auto& [action, extra] :
         std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>{
             {"CreateAccessKey", {}},
             {"ListAccessKeys", {}},
             {"DeleteAccessKey", {{"AccessKeyId", bob_key_}}},
             {"UpdateAccessKey", {{"AccessKeyId", bob_key_}, {"Status", "Inactive"}}}}) {
      auto params = extra;
      params.emplace_back("UserName", victim);
      auto r = Call(mallory_key_, action, params);
      EXPECT_EQ(r.status, 403) << action << " " << victim << ": " << r.body;
      EXPECT_EQ(XmlErrorCode(r.body), "AccessDenied");
      EXPECT_NE(r.body.find("User: " + mallory_arn + " is not authorized to perform: iam:" + action +
                            " on resource: arn:aws:iam::" + account_ + ":user/" + victim),
                std::string::npos)
          << r.body;
    }
  }
  // Without UserName a request acts on the caller: another identity's key id reads as absent.
  for (const std::string& key : {root_key_, bob_key_, other_root_key_}) {
    EXPECT_EQ(XmlErrorCode(Call(mallory_key_, "DeleteAccessKey", {{"AccessKeyId", key}}).body), "NoSuchEntity");
    EXPECT_EQ(XmlErrorCode(Call(mallory_key_, "UpdateAccessKey", {{"AccessKeyId", key}, {"Status", "Inactive"}}).body),
              "NoSuchEntity");
  }
  auto listed = Call(mallory_key_, "ListAccessKeys");
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find(mallory_key_), std::string::npos);
  EXPECT_EQ(listed.body.find(root_key_), std::string::npos);
  EXPECT_EQ(listed.body.find(bob_key_), std::string::npos);

  EXPECT_EQ(KeysOf(Identity::Root(account_)), root_before);
  EXPECT_EQ(KeysOf(Identity::User(account_, "bob")), bob_before);
  EXPECT_EQ(KeysOf(Identity::Root(As(other_root_key_).account_id)), other_before);
}

TEST_F(IamServiceTest, UserManagesItsOwnKeys) {
  for (bool name_self : {false, true}) {
    std::vector<std::pair<std::string, std::string>> who;
    if (name_self) who.emplace_back("UserName", "mallory");
    auto created = Call(mallory_key_, "CreateAccessKey", who);
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_NE(created.body.find("<UserName>mallory</UserName>"), std::string::npos);
    size_t a = created.body.find("<AccessKeyId>") + 13;
    std::string id = created.body.substr(a, created.body.find("</AccessKeyId>") - a);
    auto with = [&](std::vector<std::pair<std::string, std::string>> p) {
      p.insert(p.end(), who.begin(), who.end());
      return p;
    };
    EXPECT_EQ(Call(mallory_key_, "ListAccessKeys", who).status, 200);
    EXPECT_EQ(Call(mallory_key_, "UpdateAccessKey", with({{"AccessKeyId", id}, {"Status", "Inactive"}})).status, 200);
    EXPECT_FALSE(store_->Find(id));
    EXPECT_EQ(Call(mallory_key_, "DeleteAccessKey", with({{"AccessKeyId", id}})).status, 200);
  }
  EXPECT_EQ(KeysOf(Identity::User(account_, "mallory")), std::vector<std::string>{mallory_key_});
}

TEST_F(IamServiceTest, UserManagementIsTheRoots) {
  EXPECT_EQ(XmlErrorCode(Call(mallory_key_, "CreateUser", {{"UserName", "eve"}}).body), "AccessDenied");
  EXPECT_EQ(XmlErrorCode(Call(mallory_key_, "DeleteUser", {{"UserName", "bob"}}).body), "AccessDenied");
  EXPECT_EQ(XmlErrorCode(Call(mallory_key_, "DeleteUser", {{"UserName", "mallory"}}).body), "AccessDenied");
  auto listed = Call(mallory_key_, "ListUsers");
  EXPECT_EQ(listed.status, 403);
  EXPECT_NE(listed.body.find("on resource: arn:aws:iam::" + account_ + ":user/"), std::string::npos);
  EXPECT_EQ(XmlErrorCode(Call(mallory_key_, "GetUser", {{"UserName", "bob"}}).body), "AccessDenied");
  EXPECT_TRUE(store_->GetUser(account_, "bob").ok());
  EXPECT_FALSE(store_->GetUser(account_, "eve").ok());

  auto self = Call(mallory_key_, "GetUser");
  EXPECT_EQ(self.status, 200) << self.body;
  EXPECT_NE(self.body.find("<UserName>mallory</UserName>"), std::string::npos);
  EXPECT_EQ(Call(mallory_key_, "GetUser", {{"UserName", "mallory"}}).status, 200);
}

TEST_F(IamServiceTest, UsersActByTheirPoliciesOnly) {
  ASSERT_TRUE(store_->CreateUser(account_, "carol").ok());
  std::string carol_key = store_->CreateAccessKey(Identity::User(account_, "carol"))->access_key_id;
  // Without a policy a user may not even read itself, as in AWS.
  auto self = Call(carol_key, "GetUser");
  EXPECT_EQ(self.status, 403);
  EXPECT_NE(self.body.find("User: arn:aws:iam::" + account_ + ":user/carol is not authorized to perform: iam:GetUser "
                           "on resource: arn:aws:iam::" + account_ + ":user/carol because no identity-based policy "
                           "allows the iam:GetUser action"),
            std::string::npos)
      << self.body;
  // A policy granting user management makes carol an administrator of users, not of policies.
  ASSERT_TRUE(policies_->PutInlinePolicy(account_, EntityType::kUser, "carol", "users",
                                         R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*User","iam:ListUsers"],"Resource":"*"},)"
                                         R"({"Effect":"Deny","Action":"iam:DeleteUser","Resource":"arn:aws:iam::*:user/bob"}]})")
                  .ok());
  EXPECT_EQ(Call(carol_key, "CreateUser", {{"UserName", "dan"}}).status, 200);
  EXPECT_EQ(Call(carol_key, "ListUsers").status, 200);
  EXPECT_EQ(Call(carol_key, "DeleteUser", {{"UserName", "dan"}}).status, 200);
  auto bob = Call(carol_key, "DeleteUser", {{"UserName", "bob"}});
  EXPECT_EQ(XmlErrorCode(bob.body), "AccessDenied");
  EXPECT_NE(bob.body.find("with an explicit deny in an identity-based policy"), std::string::npos) << bob.body;
  EXPECT_EQ(XmlErrorCode(Call(carol_key, "AttachUserPolicy", {{"UserName", "carol"},
                                                              {"PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}})
                             .body),
            "AccessDenied");
}

TEST_F(IamServiceTest, RootManagesItsAccount) {
  EXPECT_EQ(Call(root_key_, "CreateUser", {{"UserName", "carol"}}).status, 200);
  EXPECT_EQ(Call(root_key_, "ListUsers").status, 200);
  EXPECT_EQ(Call(root_key_, "GetUser", {{"UserName", "bob"}}).status, 200);
  auto made = Call(root_key_, "CreateAccessKey", {{"UserName", "carol"}});
  EXPECT_EQ(made.status, 200) << made.body;
  auto own = Call(root_key_, "CreateAccessKey");
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(KeysOf(Identity::Root(account_)).size(), 2u);
  auto root_self = Call(root_key_, "GetUser");
  EXPECT_NE(root_self.body.find("<Arn>arn:aws:iam::" + account_ + ":root</Arn>"), std::string::npos);
  // Another account's users are not this root's: the name resolves in the caller's account.
  EXPECT_EQ(XmlErrorCode(Call(other_root_key_, "ListAccessKeys", {{"UserName", "bob"}}).body), "NoSuchEntity");
}

TEST_F(IamServiceTest, RefusalsAreLoggedWithWhoWhatWhere) {
  log::SetSink(CaptureLog);
  {
    std::lock_guard lock(g_log_mu);
    g_log_lines.clear();
  }
  Call(mallory_key_, "CreateAccessKey", {{"UserName", "bob"}});
  Call(mallory_key_, "CreateAccessKey", {{"UserName", ""}});
  log::SetSink(nullptr);
  std::lock_guard lock(g_log_mu);
  std::vector<std::string> refusals;
  for (const auto& l : g_log_lines) {
    if (l.find("privileged request refused") != std::string::npos) refusals.push_back(l);
  }
  ASSERT_EQ(refusals.size(), 2u);
  for (const auto& l : refusals) {
    EXPECT_NE(l.find("principal=arn:aws:iam::" + account_ + ":user/mallory"), std::string::npos) << l;
    EXPECT_NE(l.find("access_key_id=" + mallory_key_), std::string::npos) << l;
    EXPECT_NE(l.find("action=iam:CreateAccessKey"), std::string::npos) << l;
    EXPECT_NE(l.find("remote=192.0.2.7:40000"), std::string::npos) << l;
    EXPECT_EQ(std::count(l.begin(), l.end(), '\n'), 1) << "one line";
  }
  EXPECT_NE(refusals[0].find("target=arn:aws:iam::" + account_ + ":user/bob"), std::string::npos);
  EXPECT_NE(refusals[0].find("code=AccessDenied"), std::string::npos);
  EXPECT_NE(refusals[1].find("code=ValidationError"), std::string::npos);
}

}  // namespace
}  // namespace annex::iam
