#include "sync/common/pki.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "sync/common/enrollment_token.h"

namespace annex::sync {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kDay = 24 * 3600;

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct X509Free {
  void operator()(X509* c) const { X509_free(c); }
};
using CertPtr = std::unique_ptr<X509, X509Free>;

CertPtr ParseX509(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// The DER inside the first PEM block.
std::string PemToDer(const std::string& pem) {
  size_t begin = pem.find('\n', pem.find("-----BEGIN")) + 1;
  std::string body;
  for (char c : pem.substr(begin, pem.find("-----END") - begin)) {
    if (c != '\n') body.push_back(c);
  }
  return Base64Decode(body).value();
}

std::string DerToPem(const std::string& der, const std::string& label) {
  std::string b64 = Base64Encode(der), pem = "-----BEGIN " + label + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END " + label + "-----\n";
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateCa("Annex control plane CA");
    ASSERT_TRUE(ca.ok()) << ca.status().message();
    ca_ = *ca;
    auto info = ReadCert(ca_.cert_pem);
    ASSERT_TRUE(info.ok()) << info.status().message();
    ca_info_ = *info;
  }
  void TearDown() override { EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left non-empty"; }

  KeyAndCert ca_;
  CertInfo ca_info_;
};

TEST_F(PkiTest, GenerateKeyGivesFreshPkcs8P256Keys) {
  auto a = GenerateKey(), b = GenerateKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_NE(*a, *b);
}

TEST_F(PkiTest, CaFacts) {
  EXPECT_EQ(ca_.key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(ca_.cert_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(ca_info_.common_name, "Annex control plane CA");
  EXPECT_TRUE(ca_info_.is_ca);
  // Backdated an hour for clock skew, then ten years.
  EXPECT_NEAR(static_cast<double>(ca_info_.not_before_unix), static_cast<double>(NowUnix() - 3600), 120.0);
  EXPECT_EQ(ca_info_.not_after_unix - ca_info_.not_before_unix, 3650 * kDay + 3600);
  EXPECT_FALSE(ca_info_.serial_hex.empty());
  EXPECT_LE(ca_info_.serial_hex.size(), 32u);
  EXPECT_EQ(ca_info_.serial_hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(ReadCert(CreateCa("Annex control plane CA")->cert_pem)->serial_hex, ca_info_.serial_hex);
  EXPECT_TRUE(VerifyIssuedBy(ca_.cert_pem, ca_.cert_pem, NowUnix()).ok());
}

TEST_F(PkiTest, BadCommonNamesAreRefused) {
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("a\nb"), std::string("a\0b", 3)}) {
    auto ca = CreateCa(bad);
    ASSERT_FALSE(ca.ok());
    EXPECT_EQ(ca.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(CreateCa(std::string(64, 'a')).ok());
}

TEST_F(PkiTest, ServerCertWithSansVerifiesAgainstItsCa) {
  auto server = IssueServerCert(ca_, "cp.example.net", {"cp.example.net", "localhost"}, {"192.0.2.7", "::1"}, 30);
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto info = ReadCert(server->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "cp.example.net");
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->not_after_unix - info->not_before_unix, 30 * kDay + 3600);
  EXPECT_TRUE(VerifyIssuedBy(server->cert_pem, ca_.cert_pem, NowUnix()).ok());

  CertPtr cert = ParseX509(server->cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_host(cert.get(), "cp.example.net", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "other.example.net", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.0.2.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.0.2.8", 0), 0);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_NE(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
}

TEST_F(PkiTest, ServerCertRefusesBadInput) {
  auto other = CreateCa("other");
  ASSERT_TRUE(other.ok());
  auto server = IssueServerCert(ca_, "s", {"s"}, {}, 30);
  ASSERT_TRUE(server.ok());
  struct Case {
    KeyAndCert ca;
    std::vector<std::string> dns, ips;
    int days;
  };
  for (const Case& c :
       {Case{ca_, {}, {}, 30}, Case{ca_, {"a,IP:10.0.0.1"}, {}, 30}, Case{ca_, {""}, {}, 30},
        Case{ca_, {}, {"300.1.1.1"}, 30}, Case{ca_, {}, {"cp.example.net"}, 30}, Case{ca_, {"s"}, {}, 0},
        Case{KeyAndCert{other->key_pem, ca_.cert_pem}, {"s"}, {}, 30}, Case{*server, {"s"}, {}, 30}}) {
    auto r = IssueServerCert(c.ca, "s", c.dns, c.ips, c.days);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
  }
}

TEST_F(PkiTest, ClientCertFromCsr) {
  auto key = GenerateKey();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCsr(*key, "appliance-wants-to-be-admin");
  ASSERT_TRUE(csr.ok()) << csr.status().message();
  EXPECT_EQ(csr->rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0u);

  const int64_t start = ca_info_.not_before_unix + kDay;
  auto client = SignClientCsr(ca_, *csr, "site-lisbon-1", start, 90 * 24h);
  ASSERT_TRUE(client.ok()) << client.status().message();
  auto info = ReadCert(*client);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "site-lisbon-1");
  EXPECT_EQ(info->not_before_unix, start);
  EXPECT_EQ(info->not_after_unix, start + 90 * kDay);
  EXPECT_FALSE(info->is_ca);
  EXPECT_NE(info->serial_hex, ca_info_.serial_hex);

  CertPtr cert = ParseX509(*client);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 1);  // CN only, nothing from the CSR
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_NE(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key->data(), static_cast<int>(key->size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  EXPECT_EQ(X509_check_private_key(cert.get(), pkey.get()), 1);

  // Valid in [not_before, not_after).
  EXPECT_TRUE(VerifyIssuedBy(*client, ca_.cert_pem, start).ok());
  EXPECT_TRUE(VerifyIssuedBy(*client, ca_.cert_pem, start + 45 * kDay).ok());
  EXPECT_TRUE(VerifyIssuedBy(*client, ca_.cert_pem, info->not_after_unix - 1).ok());
  Status early = VerifyIssuedBy(*client, ca_.cert_pem, start - 1);
  EXPECT_EQ(early.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(early.message().find("not yet valid"), std::string::npos) << early.message();
  Status late = VerifyIssuedBy(*client, ca_.cert_pem, info->not_after_unix);
  EXPECT_EQ(late.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(late.message().find("expired"), std::string::npos) << late.message();

  // Another CA, even one with the same name, did not issue it.
  auto other = CreateCa("Annex control plane CA");
  ASSERT_TRUE(other.ok());
  Status foreign = VerifyIssuedBy(*client, other->cert_pem, start + kDay);
  EXPECT_EQ(foreign.code(), StatusCode::kPermissionDenied) << foreign.message();
  EXPECT_FALSE(foreign.message().empty());
}

TEST_F(PkiTest, ClientSerialsAreRandom) {
  auto csr = MakeCsr(*GenerateKey(), "a");
  ASSERT_TRUE(csr.ok());
  auto a = SignClientCsr(ca_, *csr, "a", ca_info_.not_before_unix, 1h);
  auto b = SignClientCsr(ca_, *csr, "a", ca_info_.not_before_unix, 1h);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(ReadCert(*a)->serial_hex, ReadCert(*b)->serial_hex);
}

TEST_F(PkiTest, TamperedCsrIsRefused) {
  auto csr = MakeCsr(*GenerateKey(), "appliance-x");
  ASSERT_TRUE(csr.ok());
  // Change the requested name inside the signed part: still well-formed DER, but the signature no longer matches.
  std::string der = PemToDer(*csr);
  size_t at = der.find("appliance-x");
  ASSERT_NE(at, std::string::npos);
  der[at + 10] = 'y';
  auto signed_cert = SignClientCsr(ca_, DerToPem(der, "CERTIFICATE REQUEST"), "site", NowUnix(), 24h);
  ASSERT_FALSE(signed_cert.ok());
  EXPECT_EQ(signed_cert.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(signed_cert.status().message().find("signature"), std::string::npos) << signed_cert.status().message();

  // The untampered request still signs.
  EXPECT_TRUE(SignClientCsr(ca_, *csr, "site", NowUnix(), 24h).ok());
  for (const std::string& bad : {std::string(), std::string("not a csr"), ca_.cert_pem}) {
    EXPECT_EQ(SignClientCsr(ca_, bad, "site", NowUnix(), 24h).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(SignClientCsr(ca_, *csr, "site", NowUnix(), 0s).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, WeakCsrKeyIsRefused) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> rsa(EVP_RSA_gen(1024), EVP_PKEY_free);
  ASSERT_TRUE(rsa);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), rsa.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  auto csr = MakeCsr(std::string(data, static_cast<size_t>(n)), "weak");
  ASSERT_TRUE(csr.ok()) << csr.status().message();
  EXPECT_EQ(SignClientCsr(ca_, *csr, "weak", NowUnix(), 24h).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, CertSha256IsTheDerHash) {
  auto a = CertSha256(ca_.cert_pem);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(*a, crypto::Sha256Hex(PemToDer(ca_.cert_pem)));
  EXPECT_EQ(*CertSha256(ca_.cert_pem), *a);
  EXPECT_TRUE(NewEnrollmentToken("lisbon-1", *a).ok());  // the form enrollment tokens pin

  auto other = CreateCa("Annex control plane CA");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*CertSha256(other->cert_pem), *a);
  // The first certificate of a chain counts.
  EXPECT_EQ(*CertSha256(ca_.cert_pem + other->cert_pem), *a);
  EXPECT_EQ(CertSha256("garbage").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, SplitPemChain) {
  auto server = IssueServerCert(ca_, "cp", {"cp"}, {}, 30);
  ASSERT_TRUE(server.ok());
  auto parts = SplitPemChain(server->cert_pem + ca_.cert_pem);
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], server->cert_pem);
  EXPECT_EQ((*parts)[1], ca_.cert_pem);
  EXPECT_TRUE(VerifyIssuedBy((*parts)[0], (*parts)[1], NowUnix()).ok());

  EXPECT_EQ(SplitPemChain("").status().code(), StatusCode::kInvalidArgument);
  std::string broken = ca_.cert_pem;
  broken[broken.size() / 2] = '!';
  EXPECT_EQ(SplitPemChain(server->cert_pem + broken).status().code(), StatusCode::kInvalidArgument);
}

TEST(RenewalTime, FallsBetween70And90PercentOfTheLifetime) {
  CertInfo cert;
  cert.not_before_unix = 1'700'000'000;
  cert.not_after_unix = cert.not_before_unix + 90 * kDay;
  const int64_t lifetime = 90 * kDay;
  int64_t previous = 0;
  for (double u : {0.0, 0.5, 0.999}) {
    int64_t t = RenewalTime(cert, u);
    EXPECT_GE(t, cert.not_before_unix + lifetime * 7 / 10) << u;
    EXPECT_LE(t, cert.not_before_unix + lifetime * 9 / 10) << u;
    EXPECT_GT(t, previous) << u;
    previous = t;
  }
  EXPECT_EQ(RenewalTime(cert, 0.0), cert.not_before_unix + lifetime * 7 / 10);
  EXPECT_EQ(RenewalTime(cert, 0.5), cert.not_before_unix + lifetime * 8 / 10);
  // Out-of-range draws are clamped rather than trusted.
  EXPECT_EQ(RenewalTime(cert, -1.0), RenewalTime(cert, 0.0));
  EXPECT_EQ(RenewalTime(cert, std::nan("")), RenewalTime(cert, 0.0));
  EXPECT_LE(RenewalTime(cert, 7.0), cert.not_before_unix + lifetime * 9 / 10);
  cert.not_after_unix = cert.not_before_unix;
  EXPECT_EQ(RenewalTime(cert, 0.5), cert.not_before_unix);
}

}  // namespace
}  // namespace annex::sync
