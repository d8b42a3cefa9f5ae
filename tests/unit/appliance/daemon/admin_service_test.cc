// The admin API answers only the appliance root's own identity, refuses
// bodies without a usable identifier, and survives random input.

#include "appliance/daemon/admin_service.h"

#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <set>

#include "appliance/core/log.h"
#include "appliance/iam/identity_store.h"
#include "tests/unit/testing/service_driver.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::daemon {
namespace {

using annex::testing::DriverResponse;

std::mutex g_log_mu;
std::vector<std::string> g_refusals;
void CaptureRefusals(std::string_view line) {
  std::lock_guard lock(g_log_mu);
  if (line.find("privileged request refused") != std::string_view::npos && g_refusals.size() < 100) {
    g_refusals.emplace_back(line);
  }
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink(CaptureRefusals);
    std::lock_guard lock(g_log_mu);
    g_refusals.clear();
    store_ = iam::IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    auto root = store_->CreateAccount("root").value();
    root_account_ = root.first.id;
    root_key_ = root.second.access_key_id;
    service_ = NewAdminService(*store_, root_account_);
    driver_ = std::make_unique<annex::testing::ServiceDriver>(*service_);
    EXPECT_TRUE(store_->CreateUser(root_account_, "ops").ok());
    ops_key_ = store_->CreateAccessKey(iam::Identity::User(root_account_, "ops"))->access_key_id;
    other_key_ = store_->CreateAccount("tenant")->second.access_key_id;
  }

  void TearDown() override { log::SetSink(nullptr); }

  auth::Principal As(const std::string& key) { return store_->Find(key).value().principal; }
  size_t AccountCount() { return store_->ListAccounts().value().size(); }

  DriverResponse CreateAccount(const auth::Principal& who, const std::string& body) {
    return driver_->Send(who, "POST", "/_annex/api/accounts", body);
  }

  // Principals that hold some key near the root but are not the root itself.
  std::vector<std::pair<std::string, auth::Principal>> NotTheRoot() {
    std::vector<std::pair<std::string, auth::Principal>> out;
    out.emplace_back("anonymous", auth::Principal{});
    out.emplace_back("a user of the root account", As(ops_key_));
    out.emplace_back("another account's root", As(other_key_));
    auth::Principal mixed = As(root_key_);
    mixed.arn = "arn:aws:iam::" + root_account_ + ":user/ops";  // root account id, not the root's ARN
    out.emplace_back("an inconsistent principal", mixed);
    auth::Principal wrong_account = As(other_key_);
    wrong_account.arn = "arn:aws:iam::" + root_account_ + ":root";
    out.emplace_back("the root's ARN on another account", wrong_account);
    return out;
  }

  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  std::unique_ptr<iam::IdentityStore> store_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<annex::testing::ServiceDriver> driver_;
  std::string root_account_, root_key_, ops_key_, other_key_;
};

TEST_F(AdminServiceTest, OnlyTheApplianceRootItself) {
  auto listed = driver_->Send(As(root_key_), "GET", "/_annex/api/accounts");
  EXPECT_EQ(listed.status, 200) << listed.body;
  auto created = CreateAccount(As(root_key_), R"({"name": "team-a"})");
  EXPECT_EQ(created.status, 200) << created.body;
  size_t accounts = AccountCount();
  for (const auto& [what, who] : NotTheRoot()) {
    auto r = CreateAccount(who, R"({"name": "stolen"})");
    EXPECT_EQ(r.status, 403) << what << ": " << r.body;
    EXPECT_NE(r.body.find("AccessDenied"), std::string::npos) << what;
    EXPECT_EQ(driver_->Send(who, "GET", "/_annex/api/accounts").status, 403) << what;
  }
  EXPECT_EQ(AccountCount(), accounts);
  std::lock_guard lock(g_log_mu);
  ASSERT_EQ(g_refusals.size(), 2 * NotTheRoot().size());
  const std::string& ops = g_refusals[2];  // the user of the root account, creating
  EXPECT_NE(ops.find("principal=arn:aws:iam::" + root_account_ + ":user/ops"), std::string::npos) << ops;
  EXPECT_NE(ops.find("access_key_id=" + ops_key_), std::string::npos) << ops;
  EXPECT_NE(ops.find("action=annex:POST target=/_annex/api/accounts code=AccessDenied remote=192.0.2.7:40000"),
            std::string::npos)
      << ops;
}

TEST_F(AdminServiceTest, MissingOrEmptyIdentifiersAreRefused) {
  size_t accounts = AccountCount();
  for (const char* body :
       {"", "{}", "[]", "null", R"({"name": ""})", R"({"name": null})", R"({"name": 7})", R"({"name": ["a"]})",
        R"({"Name": "x"})", R"({"name": "bad name"})", "{\"name\": \"a\\u0000b\"}", R"({"name": "root"})"}) {
    auto r = CreateAccount(As(root_key_), body);
    EXPECT_GE(r.status, 400) << body << ": " << r.body;
    EXPECT_LT(r.status, 500) << body << ": " << r.body;
    if (std::string_view(body) != R"({"name": "root"})") {
      EXPECT_NE(r.body.find("ValidationError"), std::string::npos) << body << ": " << r.body;
    }
  }
  EXPECT_EQ(AccountCount(), accounts);
}

// Random JSON-ish bodies, paths and methods (fixed seed, bounded): nothing
// crashes, no caller but the root ever gets a 2xx, and whatever the root
// creates has a real name.
TEST_F(AdminServiceTest, RandomBodiesFuzz) {
  std::mt19937 rng(424242);
  auto below = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const std::vector<std::string> pieces = {"{",
                                           "}",
                                           "[",
                                           "]",
                                           "\"name\"",
                                           ":",
                                           ",",
                                           "\"\"",
                                           "null",
                                           "true",
                                           "1e999",
                                           "\"a\"",
                                           "\"team\"",
                                           "\"\\u0000\"",
                                           "\"\xff\"",
                                           " ",
                                           "\"control_plane\"",
                                           "\"token\"",
                                           "\"force\"",
                                           "-0",
                                           "\"root\"",
                                           "{\"name\":"};
  const std::vector<std::string> paths = {"/_annex/api/accounts",    "/_annex/api/accounts/", "/_annex/api/sync",
                                          "/_annex/api/sync/enroll", "/_annex/api/",          "/_annex/api/accounts?x"};
  auto others = NotTheRoot();
  auth::Principal root = As(root_key_);
  std::set<std::string> names_before;
  auto accounts_before = store_->ListAccounts().value();
  for (const auto& a : accounts_before) names_before.insert(a.name);
  for (int i = 0; i < 2000; ++i) {
    std::string body;
    for (size_t n = below(8); n > 0; --n) body += pieces[below(pieces.size())];
    if (below(10) == 0) body = "{\"name\": \"n" + std::to_string(i) + "\"}";
    const std::string& path = paths[below(paths.size())];
    std::string method = below(3) == 0 ? "GET" : "POST";
    bool as_root = below(2) == 0;
    const auto& [what, who] = others[below(others.size())];
    auto r = driver_->Send(as_root ? root : who, method, path, body);
    ASSERT_NE(r.status, 0) << body;
    if (!as_root) {
      ASSERT_FALSE(r.status >= 200 && r.status < 300) << what << " got " << r.status << " for " << body;
    }
  }
  auto accounts_after = store_->ListAccounts().value();
  for (const auto& a : accounts_after) {
    if (names_before.contains(a.name)) continue;
    EXPECT_TRUE(iam::IsValidUserName(a.name)) << "created account '" << a.name << "'";
  }
}

}  // namespace
}  // namespace annex::daemon
