#include "appliance/http/tls_context.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/ssl/context.hpp>

#include "appliance/crypto/certificate_fingerprint.h"

namespace annex::http {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tls_context_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/tls";
  }
  void TearDown() override { fs::remove_all(fs::path(dir_).parent_path()); }

  TlsFiles Ensure(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
    auto files = EnsureTlsFiles(dir_, dns, ips);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    return files.ok() ? *files : TlsFiles{};
  }

  std::string dir_;
};

TEST_F(TlsFilesTest, FirstCallCreatesTheCaThenReusesEverything) {
  TlsFiles first = Ensure({"localhost", "*.s3.example.net"}, {"127.0.0.1", "::1"});
  EXPECT_TRUE(first.created_ca);
  EXPECT_TRUE(first.issued_server_cert);
  EXPECT_EQ(fs::status(dir_ + "/ca.key").permissions() & fs::perms::group_all, fs::perms::none);
  std::string server = Read(first.server_cert);
  // The same names in another order and spelling: nothing changes.
  TlsFiles again = Ensure({"*.S3.example.net", "localhost"}, {"0:0:0:0:0:0:0:1", "127.0.0.1"});
  EXPECT_FALSE(again.created_ca);
  EXPECT_FALSE(again.issued_server_cert);
  EXPECT_EQ(Read(again.server_cert), server);
  EXPECT_TRUE(MakeServerTlsContext(again).ok());
}

TEST_F(TlsFilesTest, NewNamesGetANewServerCertificateFromTheSameCa) {
  TlsFiles first = Ensure({"localhost"}, {"127.0.0.1"});
  std::string ca = Read(first.ca_cert), server = Read(first.server_cert);
  TlsFiles renamed = Ensure({"localhost", "annex-1.example.net"}, {"127.0.0.1", "10.20.0.11"});
  EXPECT_FALSE(renamed.created_ca);
  EXPECT_TRUE(renamed.issued_server_cert);
  EXPECT_EQ(Read(renamed.ca_cert), ca);
  EXPECT_NE(Read(renamed.server_cert), server);
  EXPECT_TRUE(MakeServerTlsContext(renamed).ok());
  // Fewer names is a change too.
  EXPECT_TRUE(Ensure({"localhost"}, {"127.0.0.1"}).issued_server_cert);
}

TEST_F(TlsFilesTest, AServerKeyThatDoesNotMatchItsCertificateIsReplaced) {
  TlsFiles first = Ensure({"localhost"}, {});
  // A key from another appliance (as a crash between the two writes could leave).
  auto other = EnsureTlsFiles(dir_ + "-other", {"localhost"}, {});
  ASSERT_TRUE(other.ok());
  fs::copy_file(other->server_key, first.server_key, fs::copy_options::overwrite_existing);
  TlsFiles repaired = Ensure({"localhost"}, {});
  EXPECT_FALSE(repaired.created_ca);
  EXPECT_TRUE(repaired.issued_server_cert);
  EXPECT_TRUE(MakeServerTlsContext(repaired).ok());
  // A certificate from another CA is replaced as well.
  fs::copy_file(other->server_cert, first.server_cert, fs::copy_options::overwrite_existing);
  fs::copy_file(other->server_key, first.server_key, fs::copy_options::overwrite_existing);
  EXPECT_TRUE(Ensure({"localhost"}, {}).issued_server_cert);
}

TEST_F(TlsFilesTest, RejectsAnAddressThatDoesNotParse) {
  EXPECT_EQ(EnsureTlsFiles(dir_, {"localhost"}, {"10.0.0.300"}).status().code(), StatusCode::kInvalidArgument);
}

TEST(CertificateFingerprint, MatchesOpensslFormat) {
  char tmpl[] = "/tmp/tls_fp_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  auto files = EnsureTlsFiles(std::string(tmpl) + "/tls", {"localhost"}, {});
  ASSERT_TRUE(files.ok());
  auto fp = crypto::CertificateSha256Fingerprint(Read(files->ca_cert));
  ASSERT_TRUE(fp.ok());
  ASSERT_EQ(fp->size(), 32u * 3 - 1);
  for (size_t i = 0; i < fp->size(); ++i) {
    char c = (*fp)[i];
    if (i % 3 == 2) EXPECT_EQ(c, ':');
    else EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) << *fp;
  }
  EXPECT_FALSE(crypto::CertificateSha256Fingerprint("not a certificate").ok());
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace annex::http
