// ECR authorization tokens: what a client logs in with, and every way a
// token stops working (forged, expired, key deleted, session ended).

#include "services/registry/registry_token.h"

#include <gtest/gtest.h>

#include <map>
#include <sys/stat.h>

#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class MapCredentials final : public auth::CredentialLookup {
 public:
  std::optional<auth::Credential> Find(std::string_view id) const override {
    auto it = keys.find(std::string(id));
    if (it == keys.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, auth::Credential> keys;
};

auth::Principal User(const std::string& account, const std::string& name) {
  auth::Principal p;
  p.anonymous = false;
  p.account_id = account;
  p.user_name = name;
  p.arn = "arn:aws:iam::" + account + ":user/" + name;
  return p;
}

class RegistryTokenTest : public ::testing::Test {
 protected:
  RegistryTokenTest() : clock_(os::SystemTime(std::chrono::seconds(1'700'000'000))) {
    credentials_.keys["AKIAUSER"] = {"AKIAUSER", "secret", User("111122223333", "alice")};
    key_path_ = dir_.path() + "/token.key";
  }
  std::unique_ptr<RegistryTokens> Open() {
    auto tokens = RegistryTokens::Open(os::PosixFileSystem(), key_path_, credentials_, clock_);
    EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
    return tokens.ok() ? std::move(*tokens) : nullptr;
  }
  static std::string Basic(const std::string& password) { return "Basic " + Base64Encode("AWS:" + password); }

  testing::TempDir dir_;
  std::string key_path_;
  MapCredentials credentials_;
  os::ManualClock clock_;
};

TEST_F(RegistryTokenTest, IssuedTokenAuthenticatesAsBasicAndBearer) {
  auto tokens = Open();
  IssuedToken t = tokens->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER");
  EXPECT_EQ(Base64Decode(t.token), "AWS:" + t.password);
  EXPECT_EQ(t.expires_at, clock_.Now() + hours(12));
  for (const std::string& header : {Basic(t.password), "Bearer " + t.password, "basic  " + Base64Encode("AWS:" + t.password)}) {
    auto p = tokens->Authenticate(header);
    ASSERT_TRUE(p.ok()) << header << ": " << p.status().ToString();
    EXPECT_EQ(p->arn, "arn:aws:iam::111122223333:user/alice");
    EXPECT_EQ(p->access_key_id, "AKIAUSER");
    EXPECT_FALSE(p->anonymous);
  }
}

TEST_F(RegistryTokenTest, KeyFileIsCreatedPrivateAndReused) {
  IssuedToken t = Open()->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER");
  struct stat st {};
  ASSERT_EQ(::stat(key_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A restart reads the same key: tokens issued before it still work.
  EXPECT_TRUE(Open()->Authenticate(Basic(t.password)).ok());
}

TEST_F(RegistryTokenTest, CorruptKeyFileIsRefused) {
  ASSERT_TRUE(os::WriteFileAtomic(os::PosixFileSystem(), key_path_, "not hex").ok());
  auto tokens = RegistryTokens::Open(os::PosixFileSystem(), key_path_, credentials_, clock_);
  EXPECT_EQ(tokens.status().code(), StatusCode::kCorruption);
}

TEST_F(RegistryTokenTest, ExpiresAfterTwelveHours) {
  auto tokens = Open();
  IssuedToken t = tokens->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER");
  clock_.Advance(hours(12) - minutes(1));
  EXPECT_TRUE(tokens->Authenticate(Basic(t.password)).ok());
  clock_.Advance(minutes(1));
  auto p = tokens->Authenticate(Basic(t.password));
  EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(p.status().subcode(), "UNAUTHORIZED");
}

TEST_F(RegistryTokenTest, DeletedKeyEndsTheToken) {
  auto tokens = Open();
  IssuedToken t = tokens->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER");
  credentials_.keys.erase("AKIAUSER");
  EXPECT_EQ(tokens->Authenticate(Basic(t.password)).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(RegistryTokenTest, SessionTokenEndsWithTheSession) {
  auth::Credential session{"ASIASESSION", "s", User("111122223333", "alice")};
  auto s = std::make_shared<auth::Session>();
  s->token = "tok";
  s->expiration = clock_.Now() + hours(1);
  session.principal.session = s;
  credentials_.keys["ASIASESSION"] = session;
  auto tokens = Open();
  IssuedToken t = tokens->Issue(session.principal, "ASIASESSION");
  EXPECT_EQ(t.expires_at, s->expiration);
  EXPECT_TRUE(tokens->Authenticate(Basic(t.password)).ok());
  clock_.Advance(hours(1));
  EXPECT_EQ(tokens->Authenticate(Basic(t.password)).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(RegistryTokenTest, ForgedAndMalformedTokensAreRefused) {
  auto tokens = Open();
  IssuedToken t = tokens->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER");
  std::string tampered = t.password;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  // Another appliance's key signs tokens this one must refuse.
  testing::TempDir other;
  auto foreign = RegistryTokens::Open(os::PosixFileSystem(), other.path() + "/k", credentials_, clock_);
  ASSERT_TRUE(foreign.ok());
  std::string forged = (*foreign)->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER").password;
  for (const std::string& header :
       {Basic(tampered), Basic(forged), std::string(""), std::string("Basic"), std::string("Basic !!!"),
        "Basic " + Base64Encode("root:" + t.password), "Bearer " + t.password + "x", std::string("Bearer v1.."),
        "Digest " + t.password, Basic("v1.a.b.c"), Basic(std::string(5000, 'v'))}) {
    auto p = tokens->Authenticate(header);
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << header;
  }
}

TEST_F(RegistryTokenTest, TokenOfAnotherAccountsKeyIsRefused) {
  auto tokens = Open();
  // The key now belongs to someone else (its account changed): the claim no longer holds.
  IssuedToken t = tokens->Issue(credentials_.keys["AKIAUSER"].principal, "AKIAUSER");
  credentials_.keys["AKIAUSER"].principal.account_id = "999988887777";
  EXPECT_EQ(tokens->Authenticate(Basic(t.password)).status().code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace annex::registry
