#include "appliance/http/tls_context.h"

#include <arpa/inet.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>
#include <optional>
#include <set>

#include <boost/asio/ssl/context.hpp>

#include "appliance/os/file_system.h"

namespace annex::http {
namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using CertPtr = std::unique_ptr<X509, CertDeleter>;

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256")); }

std::string KeyToPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string CertToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

CertPtr NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key, long days) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Annex"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (!issuer) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  }
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

// A server certificate is issued again this long before it expires.
constexpr long kRenewBeforeSeconds = 30L * 24 * 3600;

KeyPtr ReadKey(os::FileSystem& fs, const std::string& path) {
  auto pem = os::ReadFileToString(fs, path);
  if (!pem.ok()) return nullptr;
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  KeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

CertPtr ReadCert(os::FileSystem& fs, const std::string& path) {
  auto pem = os::ReadFileToString(fs, path);
  if (!pem.ok()) return nullptr;
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  CertPtr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "DNS:name" / "IP:address" entries, addresses in inet_ntop's form.
std::optional<std::string> IpEntry(const unsigned char* bytes, int length) {
  char text[INET6_ADDRSTRLEN] = {};
  int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : 0;
  if (!family || !inet_ntop(family, bytes, text, sizeof text)) return std::nullopt;
  return "IP:" + std::string(text);
}

Result<std::set<std::string>> WantedNames(const std::vector<std::string>& dns_names,
                                          const std::vector<std::string>& ip_addresses) {
  std::set<std::string> out;
  for (const auto& d : dns_names) out.insert("DNS:" + Lower(d));
  for (const auto& ip : ip_addresses) {
    unsigned char buf[16];
    bool v6 = ip.find(':') != std::string::npos;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), buf) != 1) {
      return Status::InvalidArgument("not an IP address: " + ip);
    }
    out.insert(*IpEntry(buf, v6 ? 16 : 4));
  }
  return out;
}

std::set<std::string> CertNames(X509* cert) {
  std::set<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const ASN1_IA5STRING* d = n->d.dNSName;
      out.insert("DNS:" + Lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(d)),
                                            static_cast<size_t>(ASN1_STRING_length(d)))));
    } else if (n->type == GEN_IPADD) {
      auto ip = IpEntry(ASN1_STRING_get0_data(n->d.iPAddress), ASN1_STRING_length(n->d.iPAddress));
      if (ip) out.insert(*ip);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The server certificate and key on disk can stay: they load, belong
// together, were signed by `ca`, carry exactly `wanted`, and are not about
// to expire.
bool ServerCertStillGood(os::FileSystem& fs, const TlsFiles& files, X509* ca, const std::set<std::string>& wanted) {
  CertPtr cert = ReadCert(fs, files.server_cert);
  KeyPtr key = ReadKey(fs, files.server_key);
  if (!cert || !key || X509_check_private_key(cert.get(), key.get()) != 1) return false;
  EVP_PKEY* ca_key = X509_get0_pubkey(ca);
  if (!ca_key || X509_verify(cert.get(), ca_key) != 1) return false;
  time_t renew_at = time(nullptr) + kRenewBeforeSeconds;
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &renew_at) < 0) return false;
  return CertNames(cert.get()) == wanted;
}

Status IssueServerCert(os::FileSystem& fs, const TlsFiles& files, X509* ca, EVP_PKEY* ca_key,
                       const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses) {
  KeyPtr server_key = NewKey();
  if (!server_key) return Status::Internal("EC key generation failed");
  CertPtr server =
      NewCert(server_key.get(), dns_names.empty() ? "localhost" : dns_names.front(), ca, ca_key, 825);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!AddExtension(server.get(), ca, NID_subject_alt_name, san) ||
      !AddExtension(server.get(), ca, NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(server.get(), ca, NID_ext_key_usage, "serverAuth") ||
      !AddExtension(server.get(), ca, NID_authority_key_identifier, "keyid:always")) {
    return Status::Internal("building the server certificate failed");
  }
  X509_sign(server.get(), ca_key, EVP_sha256());
  // Key first: a crash between the two writes leaves a pair that does not
  // match, which the next start detects and replaces.
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, files.server_key, KeyToPem(server_key.get()), 0600));
  return os::WriteFileAtomic(fs, files.server_cert, CertToPem(server.get()) + CertToPem(ca));
}

}  // namespace

Result<TlsFiles> EnsureTlsFiles(const std::string& dir, const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses) {
  os::FileSystem& fs = os::PosixFileSystem();
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  const std::string ca_key_path = dir + "/ca.key";
  ANNEX_ASSIGN_OR_RETURN(std::set<std::string> wanted, WantedNames(dns_names, ip_addresses));
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(dir));

  // The CA certificate is written last: its presence marks the CA complete.
  CertPtr ca = ReadCert(fs, files.ca_cert);
  KeyPtr ca_key = ca ? ReadKey(fs, ca_key_path) : nullptr;
  if (ca && (!ca_key || X509_check_private_key(ca.get(), ca_key.get()) != 1)) {
    return Status::FailedPrecondition(files.ca_cert + " has no matching key in " + ca_key_path +
                                      "; move " + dir + " away to start a new CA (clients must trust it again)");
  }
  if (!ca) {
    ca_key = NewKey();
    if (!ca_key) return Status::Internal("EC key generation failed");
    ca = NewCert(ca_key.get(), "Annex appliance CA", nullptr, nullptr, 3650);
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, ca_key_path, KeyToPem(ca_key.get()), 0600));
    files.created_ca = true;
  }
  if (files.created_ca || !ServerCertStillGood(fs, files, ca.get(), wanted)) {
    ANNEX_RETURN_IF_ERROR(IssueServerCert(fs, files, ca.get(), ca_key.get(), dns_names, ip_addresses));
    files.issued_server_cert = true;
  }
  if (files.created_ca) ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, files.ca_cert, CertToPem(ca.get())));
  return files;
}

Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(files.server_cert, ec);
  if (!ec) ctx->use_private_key_file(files.server_key, ssl::context::pem, ec);
  if (ec) return Status::Internal("loading TLS certificate: " + ec.message());
  return ctx;
}

}  // namespace annex::http
