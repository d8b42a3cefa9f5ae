// A bounded random walk over the IAM Query API (fixed seed, a few thousand
// requests, well under a second or two): random actions, parameter names,
// duplicates, encodings and bytes (empty, NUL, invalid UTF-8, unicode, very
// long), sent by an IAM user. Nothing may crash, and no request that names
// another principal may succeed; afterwards every other identity's keys and
// the account's users are exactly as before.

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "appliance/core/log.h"
#include "appliance/iam/iam_service.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/iam/identity_store.h"
#include "tests/unit/testing/service_driver.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::iam {
namespace {

constexpr const char* kSelfManagement = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
  "Action":["iam:GetUser","iam:CreateAccessKey","iam:ListAccessKeys","iam:UpdateAccessKey","iam:DeleteAccessKey"],
  "Resource":"arn:aws:iam::*:user/${aws:username}"}})";

constexpr int kIterations = 3000;

class Generator {
 public:
  Generator(uint32_t seed, std::vector<std::string> interesting) : rng_(seed), interesting_(std::move(interesting)) {}

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool OneIn(size_t n) { return Below(n) == 0; }

  std::string Bytes(size_t max_len) {
    std::string s(Below(max_len + 1), '\0');
    for (char& c : s) c = static_cast<char>(Below(256));
    return s;
  }

  std::string Value() {
    switch (Below(6)) {
      case 0:
        return "";
      case 1:
        return Bytes(40);
      case 2:
        return std::string(Below(300), "aZ_\xC3\xA4"[Below(4)]);
      default:
        return interesting_[Below(interesting_.size())];
    }
  }

  std::string Name() {
    static const char* kNames[] = {"UserName",
                                   "UserName",
                                   "UserName",
                                   "AccessKeyId",
                                   "Status",
                                   "Path",
                                   "PathPrefix",
                                   "MaxItems",
                                   "Marker",
                                   "Tags.member.1.Key",
                                   "Tags.member.1.Value",
                                   "Tags.member.0.Key",
                                   "Action",
                                   "Version",
                                   "username",
                                   "PermissionsBoundary"};
    if (OneIn(10)) return Bytes(12);
    return kNames[Below(std::size(kNames))];
  }

  std::string Action() {
    static const char* kActions[] = {"CreateAccessKey", "ListAccessKeys", "DeleteAccessKey", "UpdateAccessKey",
                                     "CreateUser",      "GetUser",        "ListUsers",       "DeleteUser"};
    if (OneIn(12)) return Bytes(20);
    return kActions[Below(std::size(kActions))];
  }

  // Percent-encodes all, some or none of `s`: raw '&', '=', '%' and '+' make
  // for split, merged, malformed and space-decoded parameters.
  std::string Encode(const std::string& s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    int mode = static_cast<int>(Below(4));
    std::string out;
    for (unsigned char c : s) {
      bool plain = std::isalnum(c) || (mode == 3 && c >= 0x20 && c < 0x7F) || (mode == 2 && OneIn(2));
      if (plain) {
        out.push_back(static_cast<char>(c));
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
    return out;
  }

 private:
  std::mt19937 rng_;
  std::vector<std::string> interesting_;
};

void DiscardLog(std::string_view) {}

class IamServiceFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink(DiscardLog);  // thousands of refusals; their lines are iam_service_test's subject
    store_ = IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    policies_ = PolicyStore::Open(tmp_.path() + "/iam-policies", clock_).value();
    authorizer_ = std::make_unique<PolicyAuthorizer>(*store_, *policies_);
    service_ = NewIamService(*store_, *policies_, authorizer_.get());
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
    auto other = store_->CreateAccount("other").value();
    other_account_ = other.first.id;
    other_key_ = other.second.access_key_id;
  }

  void TearDown() override { log::SetSink(nullptr); }

  // Every key of every identity but mallory, with its state; and the users.
  std::multiset<std::string> OthersState() {
    std::multiset<std::string> out;
    for (const Identity& who :
         {Identity::Root(account_), Identity::User(account_, "bob"), Identity::Root(other_account_)}) {
      auto keys = store_->ListAccessKeys(who).value();
      for (const auto& k : keys) {
        out.insert(who.Arn() + " " + k.access_key_id + (k.active ? " on" : " off"));
      }
    }
    auto users = store_->ListUsers(account_).value();
    for (const auto& u : users) out.insert(u.arn);
    return out;
  }

  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  std::unique_ptr<IdentityStore> store_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<PolicyAuthorizer> authorizer_;
  std::unique_ptr<service::Service> service_;
  std::string account_, other_account_, root_key_, mallory_key_, bob_key_, other_key_;
};

// Whether parameters (as the service parses them) could name anyone but mallory.
bool NamesOnlyMallory(const http::QueryParams& p) {
  const std::string* action = p.Get("Action");
  if (!action) return false;
  static const std::set<std::string> kSelfActions = {"CreateAccessKey", "ListAccessKeys", "DeleteAccessKey",
                                                     "UpdateAccessKey", "GetUser"};
  if (!kSelfActions.contains(*action)) return false;
  for (const auto& [name, value] : p.params()) {
    if (name == "UserName" && value != "mallory") return false;
  }
  return true;
}

TEST_F(IamServiceFuzzTest, RandomRequestsFromAUserNeverReachAnotherPrincipal) {
  const auto before = OthersState();
  Generator gen(20240611, {"mallory",
                           "bob",
                           "root",
                           "Mallory",
                           std::string("mallory\0", 8),
                           account_,
                           other_account_,
                           "arn:aws:iam::" + account_ + ":root",
                           root_key_,
                           bob_key_,
                           mallory_key_,
                           other_key_,
                           "Active",
                           "Inactive",
                           "/",
                           "1000",
                           std::string("\0", 1),
                           "\xF0\x9F\x94\x91",
                           " ",
                           "%00"});
  auth::Principal mallory = store_->Find(mallory_key_).value().principal;
  annex::testing::ServiceDriver driver(*service_);
  int succeeded = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::vector<std::string> parts;
    if (!gen.OneIn(20)) parts.push_back("Action=" + gen.Encode(gen.Action()));
    for (size_t n = gen.Below(5); n > 0; --n) {
      std::string part = gen.Encode(gen.Name());
      if (!gen.OneIn(10)) part += "=" + gen.Encode(gen.Value());
      parts.push_back(part);
    }
    std::string query, body;
    for (const auto& part : parts) {
      std::string& into = gen.OneIn(3) ? query : body;
      into += (into.empty() ? "" : "&") + part;
    }
    auto r = driver.Send(mallory, "POST", "/?" + query, body);
    ASSERT_NE(r.status, 0) << "no response for " << query << " | " << body;
    if (r.status < 200 || r.status >= 300) continue;
    ++succeeded;
    std::string raw = query.empty() ? body : body.empty() ? query : query + "&" + body;
    auto parsed = http::QueryParams::Parse(raw, true);
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(NamesOnlyMallory(*parsed)) << "2xx for query [" << query << "] body [" << body << "]\n" << r.body;
  }
  EXPECT_GT(succeeded, 0) << "the walk never reached an allowed request";
  EXPECT_EQ(OthersState(), before);
}

// The root may do anything in its account, but a present, invalid UserName
// never succeeds for it either, and no request reaches another account.
TEST_F(IamServiceFuzzTest, RandomRequestsFromTheRootStayInItsAccount) {
  Generator gen(7, {"bob", "mallory", "", std::string("\0", 1), "root", other_account_, other_key_, bob_key_, "Active",
                    "Inactive", "\xC3\xA4"});
  auth::Principal root = store_->Find(root_key_).value().principal;
  auto other_before = store_->ListAccessKeys(Identity::Root(other_account_)).value().size();
  annex::testing::ServiceDriver driver(*service_);
  for (int i = 0; i < kIterations / 3; ++i) {
    std::string body = "Action=" + gen.Encode(gen.Action());
    for (size_t n = gen.Below(4); n > 0; --n) body += "&" + gen.Encode(gen.Name()) + "=" + gen.Encode(gen.Value());
    auto r = driver.Send(root, "POST", "/", body);
    ASSERT_NE(r.status, 0);
    if (r.status < 200 || r.status >= 300) continue;
    auto parsed = http::QueryParams::Parse(body, true);
    ASSERT_TRUE(parsed.ok());
    if (*parsed->Get("Action") == "ListUsers") continue;  // takes no UserName
    for (const auto& [name, value] : parsed->params()) {
      if (name == "UserName") {
        ASSERT_TRUE(IsValidUserName(value, 128)) << body;
      }
    }
  }
  auto other_keys = store_->ListAccessKeys(Identity::Root(other_account_)).value();
  ASSERT_EQ(other_keys.size(), other_before);
  EXPECT_TRUE(other_keys[0].active);
}

}  // namespace
}  // namespace annex::iam
