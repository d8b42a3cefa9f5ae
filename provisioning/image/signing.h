#pragma once
// Ed25519 signing keys and detached signatures for image manifests (OpenSSL 3
// EVP). Keys travel as PEM: PKCS#8 for private keys, SubjectPublicKeyInfo for
// public keys. Only Ed25519 is accepted, so a key of another type can never
// stand in for the image key.
//
// Thread safety: plain functions; safe to call concurrently.

#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/core/status.h"

namespace annex::image {

struct KeyPair {
  std::string private_pem;  // PKCS#8, unencrypted
  std::string public_pem;   // SubjectPublicKeyInfo
};

// A fresh key pair. Internal if OpenSSL cannot generate one.
Result<KeyPair> GenerateSigningKey();

// The public PEM of an Ed25519 private PEM. InvalidArgument for an unparsable
// (or passphrase-protected) key or a key that is not Ed25519.
Result<std::string> PublicKeyFromPrivate(std::string_view private_pem);

// 16 lower-case hex chars: the first 8 bytes of SHA-256 over the raw 32-byte
// public key. InvalidArgument as for PublicKeyFromPrivate.
Result<std::string> KeyId(std::string_view public_pem);

// The 64 raw signature bytes of `message`. InvalidArgument as for PublicKeyFromPrivate.
Result<std::string> Sign(std::string_view private_pem, std::string_view message);

// OK only if `signature` is a valid Ed25519 signature of `message` by
// `public_pem`. PermissionDenied "signature does not match" otherwise;
// InvalidArgument for an unparsable key or a key that is not Ed25519.
Status VerifySignature(std::string_view public_pem, std::string_view message, std::string_view signature);

}  // namespace annex::image
