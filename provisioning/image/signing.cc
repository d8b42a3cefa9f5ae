#include "provisioning/image/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <utility>

#include "appliance/crypto/hash.h"

namespace annex::image {
namespace {

constexpr size_t kPublicKeySize = 32;
constexpr size_t kSignatureSize = 64;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// Errors are reported through Status; leave nothing in OpenSSL's per-thread queue for unrelated callers to trip on.
Status OpenSslError(Status status) {
  ERR_clear_error();
  return status;
}

// Refuses passphrase-protected keys instead of letting OpenSSL prompt on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

BioPtr ReadBio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

Result<PkeyPtr> CheckEd25519(EVP_PKEY* raw, std::string_view what) {
  PkeyPtr key(raw, &EVP_PKEY_free);
  if (!key) return OpenSslError(Status::InvalidArgument("unparsable " + std::string(what) + " PEM"));
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
    return OpenSslError(Status::InvalidArgument(std::string(what) + " is not an Ed25519 key"));
  }
  return key;
}

Result<PkeyPtr> LoadPrivateKey(std::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (!bio) return OpenSslError(Status::Internal("BIO_new_mem_buf failed"));
  return CheckEd25519(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr), "private key");
}

Result<PkeyPtr> LoadPublicKey(std::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (!bio) return OpenSslError(Status::Internal("BIO_new_mem_buf failed"));
  return CheckEd25519(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr), "public key");
}

// Runs a PEM writer into memory and returns the text.
template <typename Write>
Result<std::string> ToPem(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || write(bio.get()) != 1) return OpenSslError(Status::Internal("writing PEM failed"));
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<std::string> PublicPem(EVP_PKEY* key) {
  return ToPem([key](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key); });
}

// OpenSSL wants a non-null pointer even for an empty message.
const unsigned char* Bytes(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<KeyPair> GenerateSigningKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
  if (!key) return OpenSslError(Status::Internal("Ed25519 key generation failed"));
  KeyPair pair;
  ANNEX_ASSIGN_OR_RETURN(pair.private_pem, ToPem([&key](BIO* bio) {
                           return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
                         }));
  ANNEX_ASSIGN_OR_RETURN(pair.public_pem, PublicPem(key.get()));
  return pair;
}

Result<std::string> PublicKeyFromPrivate(std::string_view private_pem) {
  ANNEX_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivateKey(private_pem));
  return PublicPem(key.get());
}

Result<std::string> KeyId(std::string_view public_pem) {
  ANNEX_ASSIGN_OR_RETURN(PkeyPtr key, LoadPublicKey(public_pem));
  unsigned char raw[kPublicKeySize];
  size_t size = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key.get(), raw, &size) != 1 || size != kPublicKeySize) {
    return OpenSslError(Status::Internal("cannot extract the raw Ed25519 public key"));
  }
  return crypto::Sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), size)).substr(0, 16);
}

Result<std::string> Sign(std::string_view private_pem, std::string_view message) {
  ANNEX_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivateKey(private_pem));
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string signature(kSignatureSize, '\0');
  size_t size = signature.size();
  // Ed25519 is "pure": no digest is named and the whole message goes to one call.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, Bytes(message),
                     message.size()) != 1 ||
      size != kSignatureSize) {
    return OpenSslError(Status::Internal("Ed25519 signing failed"));
  }
  return signature;
}

Status VerifySignature(std::string_view public_pem, std::string_view message, std::string_view signature) {
  ANNEX_ASSIGN_OR_RETURN(PkeyPtr key, LoadPublicKey(public_pem));
  Status mismatch = Status::PermissionDenied("signature does not match");
  if (signature.size() != kSignatureSize) return mismatch;
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return OpenSslError(Status::Internal("Ed25519 verification setup failed"));
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message), message.size()) != 1) {
    return OpenSslError(std::move(mismatch));
  }
  return Status::OK();
}

}  // namespace annex::image
