#include "appliance/crypto/certificate_fingerprint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace annex::crypto {

Result<std::string> CertificateSha256Fingerprint(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!cert) return Status::InvalidArgument("no PEM certificate");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  bool ok = X509_digest(cert, EVP_sha256(), digest, &n) == 1;
  X509_free(cert);
  if (!ok) return Status::Internal("hashing the certificate failed");
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace annex::crypto
