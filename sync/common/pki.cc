#include "sync/common/pki.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <memory>
#include <span>

#include "appliance/core/strings.h"

namespace annex::sync {
namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Freer<X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Freer<X509_REQ_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Freer<GENERAL_NAMES_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Freer<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Freer<X509_STORE_CTX_free>>;

constexpr int kCaDays = 3650;
// Certificates made "now" start this much earlier, so a peer whose clock lags still accepts them.
constexpr long kClockSkewSeconds = 3600;
// PEM inputs (a CSR comes off the network) are small; anything larger is refused before parsing.
constexpr size_t kMaxPemBytes = 1 << 20;

// Empties OpenSSL's thread-local error queue (stale entries confuse later TLS calls on this thread) and returns
// the reason of the earliest error, which is usually the root cause.
std::string DrainErrors() {
  unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return "";
  const char* reason = ERR_reason_error_string(first);
  return reason ? reason : "OpenSSL error " + std::to_string(first);
}

Status SslError(StatusCode code, std::string what) {
  std::string reason = DrainErrors();
  if (!reason.empty()) what += ": " + reason;
  return Status(code, std::move(what));
}

// Encrypted keys are not supported; without this OpenSSL would prompt on the terminal.
int NoPassword(char*, int, int, void*) { return -1; }

Result<BioPtr> ReadBio(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return Status::InvalidArgument("PEM input too large");
  BioPtr bio(BIO_new_mem_buf(pem.empty() ? "" : pem.data(), static_cast<int>(pem.size())));
  if (!bio) return SslError(StatusCode::kInternal, "allocating a BIO");
  return bio;
}

Result<KeyPtr> ParseKey(std::string_view pem) {
  ANNEX_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) return SslError(StatusCode::kInvalidArgument, "parsing the private key");
  return key;
}

Result<CertPtr> ParseCert(std::string_view pem) {
  ANNEX_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem));
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (!cert) return SslError(StatusCode::kInvalidArgument, "parsing the certificate");
  return cert;
}

Result<ReqPtr> ParseCsr(std::string_view pem) {
  ANNEX_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem));
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, NoPassword, nullptr));
  if (!req) return SslError(StatusCode::kInvalidArgument, "parsing the CSR");
  return req;
}

// Runs `write(bio)` into a memory BIO and returns what it wrote.
template <typename Write>
Result<std::string> WritePem(Write write, const char* what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return SslError(StatusCode::kInternal, std::string("writing ") + what);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  return WritePem([key](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); },
                  "private key");
}

Result<std::string> CertPem(X509* cert) {
  return WritePem([cert](BIO* b) { return PEM_write_bio_X509(b, cert); }, "certificate");
}

Result<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError(StatusCode::kInternal, "EC key generation");
  return key;
}

// RFC 5280's upper bound for a CN (in bytes here, stricter than characters). Control characters are refused so no
// name can hide a NUL or a line break from whoever reads it.
Status SetCommonName(X509_NAME* name, std::string_view cn) {
  if (cn.empty() || cn.size() > 64) return Status::InvalidArgument("common name must be 1 to 64 bytes");
  for (unsigned char c : cn) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("common name contains a control character");
  }
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1) {
    return SslError(StatusCode::kInvalidArgument, "bad common name");
  }
  return Status::OK();
}

// 128 random bits, never zero: RFC 5280 wants positive serials of at most 20 octets.
Status SetRandomSerial(X509* cert) {
  BnPtr bn(BN_new());
  if (!bn) return SslError(StatusCode::kInternal, "allocating a serial");
  do {
    if (BN_rand(bn.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return SslError(StatusCode::kInternal, "drawing a serial");
    }
  } while (BN_is_zero(bn.get()));
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) return SslError(StatusCode::kInternal, "serial");
  return Status::OK();
}

// A v3 certificate for `subject_key` with subject CN = common_name and a random serial, issued by `issuer` (by
// itself when null). Validity, extensions and the signature are the caller's.
Result<CertPtr> NewCert(EVP_PKEY* subject_key, std::string_view common_name, X509* issuer) {
  CertPtr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_pubkey(cert.get(), subject_key) != 1) {
    return SslError(StatusCode::kInternal, "building a certificate");
  }
  ANNEX_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  ANNEX_RETURN_IF_ERROR(SetCommonName(X509_get_subject_name(cert.get()), common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer ? issuer : cert.get())) != 1) {
    return SslError(StatusCode::kInternal, "setting the issuer");
  }
  return cert;
}

// ASN1_TIME_set picks UTCTime or GeneralizedTime by year, as RFC 5280 requires.
Status SetValidity(X509* cert, int64_t not_before, int64_t not_after) {
  if (!ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after))) {
    return SslError(StatusCode::kInvalidArgument, "validity out of range");
  }
  return Status::OK();
}

// From kClockSkewSeconds ago until `days` from now; OpenSSL reads the clock, as in http/tls_context.cc.
Status SetValidityFromNow(X509* cert, int days) {
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), -kClockSkewSeconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, nullptr)) {
    return SslError(StatusCode::kInvalidArgument, "validity out of range");
  }
  return Status::OK();
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  bool ok = ext && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!ok) return SslError(StatusCode::kInternal, std::string("adding extension ") + OBJ_nid2sn(nid));
  return Status::OK();
}

// What every issued end-entity certificate carries; `eku` is "serverAuth" or "clientAuth". Only digitalSignature:
// the keys are ECDSA and TLS uses them to sign handshakes, never to encrypt.
Status AddLeafExtensions(X509* cert, X509* ca, const char* eku) {
  ANNEX_RETURN_IF_ERROR(AddExtension(cert, ca, NID_basic_constraints, "critical,CA:FALSE"));
  ANNEX_RETURN_IF_ERROR(AddExtension(cert, ca, NID_key_usage, "critical,digitalSignature"));
  ANNEX_RETURN_IF_ERROR(AddExtension(cert, ca, NID_ext_key_usage, eku));
  ANNEX_RETURN_IF_ERROR(AddExtension(cert, ca, NID_subject_key_identifier, "hash"));
  return AddExtension(cert, ca, NID_authority_key_identifier, "keyid:always");
}

// Host names as TLS matches them (wildcard only as the first label); refusing anything else also keeps commas and
// NULs out of the certificate.
bool IsDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || (c == '*' && i == 0 && name.size() > 1 && name[1] == '.');
    if (!ok) return false;
  }
  return true;
}

// Built as GENERAL_NAMEs rather than from a "DNS:a,IP:b" config string, so no value can smuggle in another entry.
Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& dns_names, const std::vector<std::string>& ips) {
  if (dns_names.empty() && ips.empty()) {
    return Status::InvalidArgument("a server certificate needs a DNS name or an IP address");
  }
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return SslError(StatusCode::kInternal, "allocating subjectAltName");
  auto add = [&](int type, const std::string& value) -> Status {
    GENERAL_NAME* gn = a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0);
    if (!gn) return SslError(StatusCode::kInvalidArgument, "bad subjectAltName \"" + value + "\"");
    if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
      GENERAL_NAME_free(gn);
      return SslError(StatusCode::kInternal, "building subjectAltName");
    }
    return Status::OK();
  };
  for (const auto& name : dns_names) {
    if (!IsDnsName(name)) return Status::InvalidArgument("bad DNS name \"" + name + "\"");
    ANNEX_RETURN_IF_ERROR(add(GEN_DNS, name));
  }
  for (const auto& ip : ips) ANNEX_RETURN_IF_ERROR(add(GEN_IPADD, ip));
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return SslError(StatusCode::kInternal, "adding subjectAltName");
  }
  return Status::OK();
}

Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) return SslError(StatusCode::kInternal, "signing the certificate");
  return Status::OK();
}

struct Signer {
  CertPtr cert;
  KeyPtr key;
};

// The CA as a signer, refusing a key that is not the certificate's or a certificate that may not sign others.
Result<Signer> LoadCa(const KeyAndCert& ca) {
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, ParseCert(ca.cert_pem));
  ANNEX_ASSIGN_OR_RETURN(KeyPtr key, ParseKey(ca.key_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return SslError(StatusCode::kInvalidArgument, "the CA key does not match the CA certificate");
  }
  // 1: basicConstraints CA:TRUE and, if keyUsage is present, keyCertSign.
  if (X509_check_ca(cert.get()) != 1) return Status::InvalidArgument("the CA certificate is not a CA");
  return Signer{std::move(cert), std::move(key)};
}

Result<KeyAndCert> ToKeyAndCert(EVP_PKEY* key, X509* cert) {
  ANNEX_ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key));
  ANNEX_ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert));
  return KeyAndCert{std::move(key_pem), std::move(cert_pem)};
}

Result<int64_t> ToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return SslError(StatusCode::kInvalidArgument, "bad certificate time");
  using namespace std::chrono;
  sys_days day = year(tm.tm_year + 1900) / (tm.tm_mon + 1) / tm.tm_mday;
  return duration_cast<seconds>(day.time_since_epoch()).count() + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

}  // namespace

Result<std::string> GenerateKey() {
  ANNEX_ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  return KeyPem(key.get());
}

Result<KeyAndCert> CreateCa(std::string_view common_name) {
  ANNEX_ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, NewCert(key.get(), common_name, nullptr));
  ANNEX_RETURN_IF_ERROR(SetValidityFromNow(cert.get(), kCaDays));
  ANNEX_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  ANNEX_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  ANNEX_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  ANNEX_RETURN_IF_ERROR(Sign(cert.get(), key.get()));
  return ToKeyAndCert(key.get(), cert.get());
}

Result<KeyAndCert> IssueServerCert(const KeyAndCert& ca, std::string_view common_name,
                                   const std::vector<std::string>& dns_names, const std::vector<std::string>& ips,
                                   int days) {
  if (days <= 0) return Status::InvalidArgument("a server certificate needs a positive validity");
  ANNEX_ASSIGN_OR_RETURN(Signer signer, LoadCa(ca));
  ANNEX_ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, NewCert(key.get(), common_name, signer.cert.get()));
  ANNEX_RETURN_IF_ERROR(SetValidityFromNow(cert.get(), days));
  ANNEX_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), dns_names, ips));
  ANNEX_RETURN_IF_ERROR(AddLeafExtensions(cert.get(), signer.cert.get(), "serverAuth"));
  ANNEX_RETURN_IF_ERROR(Sign(cert.get(), signer.key.get()));
  return ToKeyAndCert(key.get(), cert.get());
}

Result<std::string> MakeCsr(std::string_view key_pem, std::string_view common_name) {
  ANNEX_ASSIGN_OR_RETURN(KeyPtr key, ParseKey(key_pem));
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return SslError(StatusCode::kInternal, "building the CSR");
  }
  ANNEX_RETURN_IF_ERROR(SetCommonName(X509_REQ_get_subject_name(req.get()), common_name));
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) return SslError(StatusCode::kInternal, "signing the CSR");
  return WritePem([&req](BIO* b) { return PEM_write_bio_X509_REQ(b, req.get()); }, "CSR");
}

Result<std::string> SignClientCsr(const KeyAndCert& ca, std::string_view csr_pem, std::string_view common_name,
                                  int64_t not_before_unix, std::chrono::seconds validity) {
  if (validity.count() <= 0 || not_before_unix > std::numeric_limits<int64_t>::max() - validity.count()) {
    return Status::InvalidArgument("bad client certificate validity");
  }
  ANNEX_ASSIGN_OR_RETURN(Signer signer, LoadCa(ca));
  ANNEX_ASSIGN_OR_RETURN(ReqPtr req, ParseCsr(csr_pem));
  // The signature proves the requester holds the private key of the public key it asks us to certify.
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req.get());
  if (!public_key || X509_REQ_verify(req.get(), public_key) != 1) {
    return SslError(StatusCode::kInvalidArgument, "the CSR signature does not verify");
  }
  if (EVP_PKEY_get_security_bits(public_key) < 112) return Status::InvalidArgument("the CSR key is too weak");
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, NewCert(public_key, common_name, signer.cert.get()));
  ANNEX_RETURN_IF_ERROR(SetValidity(cert.get(), not_before_unix, not_before_unix + validity.count()));
  ANNEX_RETURN_IF_ERROR(AddLeafExtensions(cert.get(), signer.cert.get(), "clientAuth"));
  ANNEX_RETURN_IF_ERROR(Sign(cert.get(), signer.key.get()));
  return CertPem(cert.get());
}

Result<std::string> CertSha256(std::string_view cert_pem) {
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, ParseCert(cert_pem));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // X509_digest hashes the DER encoding.
  if (X509_digest(cert.get(), EVP_sha256(), digest, &n) != 1) return SslError(StatusCode::kInternal, "hashing");
  return HexEncode(std::span<const uint8_t>(digest, n));
}

Result<CertInfo> ReadCert(std::string_view cert_pem) {
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, ParseCert(cert_pem));
  CertInfo info;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (n < 0) return SslError(StatusCode::kInvalidArgument, "undecodable common name");
    info.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  ANNEX_ASSIGN_OR_RETURN(info.not_before_unix, ToUnix(X509_get0_notBefore(cert.get())));
  ANNEX_ASSIGN_OR_RETURN(info.not_after_unix, ToUnix(X509_get0_notAfter(cert.get())));
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
  if (!hex) return SslError(StatusCode::kInternal, "reading the serial");
  info.serial_hex = ToLower(hex);
  OPENSSL_free(hex);
  info.is_ca = (X509_get_extension_flags(cert.get()) & EXFLAG_CA) != 0;
  return info;
}

Status VerifyIssuedBy(std::string_view cert_pem, std::string_view ca_cert_pem, int64_t now_unix) {
  ANNEX_ASSIGN_OR_RETURN(CertPtr cert, ParseCert(cert_pem));
  ANNEX_ASSIGN_OR_RETURN(CertPtr ca, ParseCert(ca_cert_pem));
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return SslError(StatusCode::kInternal, "setting up verification");
  }
  // The CA is the only trust anchor; the full path check also enforces the CA's own validity and constraints.
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now_unix));
  if (X509_verify_cert(ctx.get()) == 1) return Status::OK();
  int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return Status::PermissionDenied(std::string("certificate not accepted: ") + X509_verify_cert_error_string(error));
}

Result<std::vector<std::string>> SplitPemChain(std::string_view chain_pem) {
  ANNEX_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(chain_pem));
  std::vector<std::string> certs;
  while (CertPtr cert{PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)}) {
    ANNEX_ASSIGN_OR_RETURN(std::string pem, CertPem(cert.get()));
    certs.push_back(std::move(pem));
  }
  // The loop ends at the first failure; only "no further BEGIN line" means the chain ended cleanly.
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) != ERR_LIB_PEM || ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    return SslError(StatusCode::kInvalidArgument,
                    "certificate " + std::to_string(certs.size() + 1) + " of the chain does not parse");
  }
  ERR_clear_error();
  if (certs.empty()) return Status::InvalidArgument("no certificate in the chain");
  return certs;
}

int64_t RenewalTime(const CertInfo& cert, double uniform01) {
  int64_t lifetime = cert.not_after_unix - cert.not_before_unix;
  if (lifetime <= 0) return cert.not_before_unix;
  double u = std::isnan(uniform01) ? 0.0 : std::clamp(uniform01, 0.0, 1.0);
  // The 70 % floor in integers, so u = 0 gives exactly that point; the jitter rounds.
  return cert.not_before_unix + lifetime * 7 / 10 + std::llround(static_cast<double>(lifetime) * 0.2 * u);
}

}  // namespace annex::sync
