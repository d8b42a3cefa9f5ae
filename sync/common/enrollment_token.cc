#include "sync/common/enrollment_token.h"

#include <algorithm>
#include <cctype>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/random.h"
#include "sync/common/zone.h"

namespace annex::sync {
namespace {

constexpr std::string_view kPrefix = "AXT1";
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

std::string Base64Url(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

bool IsBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status CheckParts(std::string_view site, std::string_view secret, std::string_view ca) {
  if (!IsValidSiteName(site)) return Status::InvalidArgument("enrollment token: the site name is not valid");
  if (secret.size() != kSecretChars || !IsBase64Url(secret)) {
    return Status::InvalidArgument("enrollment token: the secret is malformed");
  }
  if (ca.size() != 64 || !IsLowerHex(ca)) {
    return Status::InvalidArgument("enrollment token: the CA fingerprint is not a SHA-256 in hex");
  }
  return Status::OK();
}

}  // namespace

Result<EnrollmentToken> NewEnrollmentToken(std::string_view site, std::string_view ca_sha256) {
  EnrollmentToken t{std::string(site), Base64Url(*HexDecode(os::RandomHex(kSecretBytes))), std::string(ca_sha256)};
  ANNEX_RETURN_IF_ERROR(CheckParts(t.site, t.secret, t.ca_sha256));
  return t;
}

std::string EncodeToken(const EnrollmentToken& t) {
  return std::string(kPrefix) + "." + t.site + "." + t.secret + "." + t.ca_sha256;
}

Result<EnrollmentToken> ParseToken(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  auto parts = Split(text, '.');
  if (parts.size() != 4 || parts[0] != kPrefix) {
    return Status::InvalidArgument("enrollment token: not an Annex enrollment token (AXT1.<site>.<secret>.<ca>)");
  }
  ANNEX_RETURN_IF_ERROR(CheckParts(parts[1], parts[2], parts[3]));
  return EnrollmentToken{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

std::string SecretHash(std::string_view secret) { return crypto::Sha256Hex(secret); }

}  // namespace annex::sync
