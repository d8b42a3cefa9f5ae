#include "provisioning/image/signing.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"

namespace annex::image {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// RFC 8032 §7.1, TEST 1 (empty message).
constexpr std::string_view kRfcSecret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfcSignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
    "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

template <typename Write>
std::string Pem(Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  EXPECT_EQ(write(bio.get()), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string PrivatePem(EVP_PKEY* key) {
  return Pem([key](BIO* bio) { return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
}

std::string PublicPem(EVP_PKEY* key) {
  return Pem([key](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key); });
}

std::string FlipBit(std::string s, size_t byte, int bit) {
  s[byte] = static_cast<char>(s[byte] ^ (1 << bit));
  return s;
}

KeyPair NewKey() {
  auto pair = GenerateSigningKey();
  EXPECT_TRUE(pair.ok()) << pair.status().ToString();
  return pair.ok() ? *pair : KeyPair{};
}

TEST(Signing, GeneratedKeysArePemPairs) {
  KeyPair pair = NewKey();
  EXPECT_TRUE(StartsWith(pair.private_pem, "-----BEGIN PRIVATE KEY-----\n")) << pair.private_pem;
  EXPECT_TRUE(StartsWith(pair.public_pem, "-----BEGIN PUBLIC KEY-----\n")) << pair.public_pem;
  auto derived = PublicKeyFromPrivate(pair.private_pem);
  ASSERT_TRUE(derived.ok()) << derived.status().ToString();
  EXPECT_EQ(*derived, pair.public_pem);
  EXPECT_NE(NewKey().public_pem, pair.public_pem);
}

TEST(Signing, SignThenVerify) {
  KeyPair pair = NewKey();
  const std::string message = "{\"format\": 1}\n";
  auto signature = Sign(pair.private_pem, message);
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_TRUE(VerifySignature(pair.public_pem, message, *signature).ok());
}

TEST(Signing, AnyFlippedBitFails) {
  KeyPair pair = NewKey();
  const std::string message = "manifest bytes";
  std::string signature = Sign(pair.private_pem, message).value();
  for (size_t byte : {size_t{0}, message.size() - 1}) {
    Status s = VerifySignature(pair.public_pem, FlipBit(message, byte, 3), signature);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(s.message(), "signature does not match");
  }
  for (size_t byte : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    EXPECT_EQ(VerifySignature(pair.public_pem, message, FlipBit(signature, byte, 0)).code(),
              StatusCode::kPermissionDenied)
        << "byte " << byte;
  }
  EXPECT_EQ(VerifySignature(pair.public_pem, message, signature.substr(0, 63)).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifySignature(pair.public_pem, message, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifySignature(pair.public_pem, message + "x", signature).code(), StatusCode::kPermissionDenied);
}

TEST(Signing, WrongKeyFails) {
  KeyPair signer = NewKey();
  KeyPair other = NewKey();
  std::string signature = Sign(signer.private_pem, "m").value();
  EXPECT_EQ(VerifySignature(other.public_pem, "m", signature).code(), StatusCode::kPermissionDenied);
}

TEST(Signing, NonEd25519KeysAreRejected) {
  PkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  ASSERT_TRUE(ec);
  std::string private_pem = PrivatePem(ec.get());
  std::string public_pem = PublicPem(ec.get());
  ASSERT_TRUE(StartsWith(private_pem, "-----BEGIN PRIVATE KEY-----"));
  EXPECT_EQ(Sign(private_pem, "m").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKeyFromPrivate(private_pem).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyId(public_pem).status().code(), StatusCode::kInvalidArgument);
  Status s = VerifySignature(public_pem, "m", std::string(64, '\0'));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not an Ed25519 key"), std::string::npos) << s.message();
}

TEST(Signing, UnparsableKeysAreRejected) {
  KeyPair pair = NewKey();
  EXPECT_EQ(Sign("not a key", "m").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyId("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifySignature("garbage", "m", std::string(64, '\0')).code(), StatusCode::kInvalidArgument);
  // Each kind of key only where it belongs.
  EXPECT_EQ(Sign(pair.public_pem, "m").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyId(pair.private_pem).status().code(), StatusCode::kInvalidArgument);
}

TEST(Signing, KeyIdIsStableHex) {
  KeyPair pair = NewKey();
  auto id = KeyId(pair.public_pem);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 16u);
  EXPECT_EQ(id->find_first_not_of("0123456789abcdef"), std::string::npos) << *id;
  EXPECT_EQ(KeyId(pair.public_pem).value(), *id);
  EXPECT_EQ(KeyId(PublicKeyFromPrivate(pair.private_pem).value()).value(), *id);
  EXPECT_NE(KeyId(NewKey().public_pem).value(), *id);
}

TEST(Signing, Rfc8032TestVector1) {
  std::string secret = Unhex(kRfcSecret);
  std::string raw_public = Unhex(kRfcPublic);
  PkeyPtr priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(secret.data()), secret.size()),
               &EVP_PKEY_free);
  PkeyPtr pub(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw_public.data()), raw_public.size()),
              &EVP_PKEY_free);
  ASSERT_TRUE(priv && pub);
  std::string private_pem = PrivatePem(priv.get());
  std::string public_pem = PublicPem(pub.get());

  EXPECT_EQ(PublicKeyFromPrivate(private_pem).value(), public_pem);
  auto signature = Sign(private_pem, "");
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_EQ(HexEncode(*signature), kRfcSignature);  // Ed25519 signatures are deterministic
  EXPECT_TRUE(VerifySignature(public_pem, "", Unhex(kRfcSignature)).ok());
  EXPECT_EQ(VerifySignature(public_pem, "x", Unhex(kRfcSignature)).code(), StatusCode::kPermissionDenied);
  // The key id is the head of SHA-256 over the raw 32-byte key.
  EXPECT_EQ(KeyId(public_pem).value(), crypto::Sha256Hex(raw_public).substr(0, 16));
  EXPECT_EQ(KeyId(public_pem).value(), "21fe31dfa154a261");
}

}  // namespace
}  // namespace annex::image
