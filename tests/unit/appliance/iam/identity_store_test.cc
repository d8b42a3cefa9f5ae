#include "appliance/iam/identity_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/unit/testing/temp_dir.h"

#include "appliance/iam/root_credentials.h"

namespace annex::iam {
namespace {

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = IdentityStore::Open(dir_ + "/iam", clock_).value(); }
  void TearDown() override { store_.reset(); }
  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  std::unique_ptr<IdentityStore> store_;
};

TEST_F(IdentityStoreTest, AccountKeysResolveToPrincipal) {
  auto created = store_->CreateAccount("team-a");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const auto& [account, key] = *created;
  EXPECT_EQ(account.id.size(), 12u);
  EXPECT_EQ(key.access_key_id.substr(0, 4), "AKIA");
  EXPECT_EQ(key.access_key_id.size(), 20u);
  EXPECT_EQ(key.secret_access_key.size(), 40u);
  auto cred = store_->Find(key.access_key_id);
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->secret_access_key, key.secret_access_key);
  EXPECT_EQ(cred->principal.account_id, account.id);
  EXPECT_EQ(cred->principal.account_name, "team-a");
  EXPECT_TRUE(cred->principal.is_root());
  EXPECT_EQ(store_->CreateAccount("team-a").status().subcode(), "EntityAlreadyExists");
  EXPECT_FALSE(store_->Find("AKIANOTAREALKEY00000"));
}

TEST_F(IdentityStoreTest, UsersAndKeysFollowIamRules) {
  auto account = store_->CreateAccount("acct")->first;
  EXPECT_EQ(store_->CreateUser(account.id, "bad name!").status().subcode(), "ValidationError");
  auto user = store_->CreateUser(account.id, "alice");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->arn, "arn:aws:iam::" + account.id + ":user/alice");
  EXPECT_EQ(store_->CreateUser(account.id, "alice").status().subcode(), "EntityAlreadyExists");
  const Identity alice = Identity::User(account.id, "alice");
  EXPECT_EQ(store_->CreateAccessKey(Identity::User(account.id, "bob")).status().subcode(), "NoSuchEntity");

  auto k1 = store_->CreateAccessKey(alice);
  auto k2 = store_->CreateAccessKey(alice);
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(store_->CreateAccessKey(alice).status().subcode(), "LimitExceeded");
  EXPECT_EQ(store_->ListAccessKeys(alice)->size(), 2u);
  EXPECT_EQ(store_->Find(k1->access_key_id)->principal.user_name, "alice");

  EXPECT_EQ(store_->DeleteUser(account.id, "alice").subcode(), "DeleteConflict");
  ASSERT_TRUE(store_->Find(k1->access_key_id));  // cached while active
  ASSERT_TRUE(store_->SetAccessKeyActive(alice, k1->access_key_id, false).ok());
  EXPECT_FALSE(store_->Find(k1->access_key_id));  // inactive keys do not authenticate
  ASSERT_TRUE(store_->DeleteAccessKey(alice, k1->access_key_id).ok());
  ASSERT_TRUE(store_->Find(k2->access_key_id));  // now cached
  ASSERT_TRUE(store_->DeleteAccessKey(alice, k2->access_key_id).ok());
  EXPECT_FALSE(store_->Find(k2->access_key_id));  // a deleted key stops working at once
  EXPECT_EQ(store_->DeleteAccessKey(alice, k2->access_key_id).subcode(), "NoSuchEntity");
  EXPECT_TRUE(store_->DeleteUser(account.id, "alice").ok());
}

// An empty or malformed user name is refused, never read as the account root:
// the root is only reachable through Identity::Root.
TEST_F(IdentityStoreTest, UserNamesNeverSelectTheRoot) {
  auto [account, root_key] = *store_->CreateAccount("acct");
  const Identity nobody = Identity::User(account.id, "");
  EXPECT_FALSE(nobody.is_root());
  EXPECT_EQ(store_->CreateAccessKey(nobody).status().subcode(), "ValidationError");
  EXPECT_EQ(store_->ListAccessKeys(nobody).status().subcode(), "ValidationError");
  EXPECT_EQ(store_->DeleteAccessKey(nobody, root_key.access_key_id).subcode(), "ValidationError");
  EXPECT_EQ(store_->SetAccessKeyActive(nobody, root_key.access_key_id, false).subcode(), "ValidationError");
  EXPECT_EQ(store_->GetUser(account.id, "").status().subcode(), "ValidationError");
  EXPECT_EQ(store_->DeleteUser(account.id, "").subcode(), "ValidationError");
  EXPECT_EQ(store_->GetUser(account.id, std::string("a\0b", 3)).status().subcode(), "ValidationError");
  EXPECT_EQ(store_->GetUser(account.id, std::string(129, 'a')).status().subcode(), "ValidationError");
  EXPECT_TRUE(store_->Find(root_key.access_key_id));  // untouched

  // The root, named explicitly, manages its own keys; a user's name reaches only the user's.
  auto root = Identity::Root(account.id);
  EXPECT_EQ(root.Arn(), "arn:aws:iam::" + account.id + ":root");
  EXPECT_EQ(store_->ListAccessKeys(root)->size(), 1u);
  EXPECT_EQ(store_->CreateAccessKey(Identity::Root("999999999999")).status().subcode(), "NoSuchEntity");
  ASSERT_TRUE(store_->CreateUser(account.id, "bob").ok());
  auto bob = Identity::User(account.id, "bob");
  EXPECT_EQ(bob.Arn(), "arn:aws:iam::" + account.id + ":user/bob");
  EXPECT_EQ(store_->DeleteAccessKey(bob, root_key.access_key_id).subcode(), "NoSuchEntity");
  auto bob_key = store_->CreateAccessKey(bob);
  ASSERT_TRUE(bob_key.ok());
  EXPECT_EQ(store_->DeleteAccessKey(root, bob_key->access_key_id).subcode(), "NoSuchEntity");
  EXPECT_EQ(store_->ListAccessKeys(root)->size(), 1u);
}

TEST_F(IdentityStoreTest, RootCredentialsAreGeneratedOnceAndPrivate) {
  auto first = EnsureRootCredentials(*store_, os::PosixFileSystem(), dir_, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(first->credentials_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = os::ReadFileToString(os::PosixFileSystem(), first->credentials_file);
  EXPECT_NE(text->find(first->secret_access_key), std::string::npos);
  auto second = EnsureRootCredentials(*store_, os::PosixFileSystem(), dir_, std::nullopt);
  EXPECT_EQ(second->access_key_id, first->access_key_id);
  EXPECT_EQ(second->account_id, first->account_id);
}

TEST_F(IdentityStoreTest, RootKeyFromEnvironmentIsUsedAndNotWritten) {
  RootKeyFromEnv env{"AKIAENVIRONMENTKEY01", "a-secret-of-sufficient-length"};
  auto root = EnsureRootCredentials(*store_, os::PosixFileSystem(), dir_, env);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_TRUE(root->credentials_file.empty());
  EXPECT_FALSE(os::PosixFileSystem().Exists(dir_ + "/credentials"));
  auto cred = store_->Find("AKIAENVIRONMENTKEY01");
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->secret_access_key, "a-secret-of-sufficient-length");
  // Only the environment's key authenticates the root account.
  EXPECT_EQ(store_->ListAccessKeys(Identity::Root(root->account_id))->size(), 1u);
}

}  // namespace
}  // namespace annex::iam
