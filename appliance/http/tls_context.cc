#include "appliance/http/tls_context.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

}  // namespace

Result<TlsFiles> EnsureTlsFiles(const std::string& dir, const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses) {
  os::FileSystem& fs = os::PosixFileSystem();
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  if (fs.Exists(files.ca_cert) && fs.Exists(files.server_cert) && fs.Exists(files.server_key)) return files;
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(dir));

  KeyPtr ca_key = NewKey(), server_key = NewKey();
  if (!ca_key || !server_key) return Status::Internal("EC key generation failed");
  CertPtr ca = NewCert(ca_key.get(), "Annex appliance CA", nullptr, nullptr, 3650);
  CertPtr server = NewCert(server_key.get(), dns_names.empty() ? "localhost" : dns_names.front(), ca.get(),
                           ca_key.get(), 825);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!AddExtension(server.get(), ca.get(), NID_subject_alt_name, san) ||
      !AddExtension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth") ||
      !AddExtension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always")) {
    return Status::Internal("building the server certificate failed");
  }
  X509_sign(server.get(), ca_key.get(), EVP_sha256());

  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, dir + "/ca.key", KeyToPem(ca_key.get()), 0600));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, files.server_key, KeyToPem(server_key.get()), 0600));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, files.server_cert, CertToPem(server.get()) + CertToPem(ca.get())));
  // The CA certificate last: its presence marks the set complete.
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, files.ca_cert, CertToPem(ca.get())));
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
