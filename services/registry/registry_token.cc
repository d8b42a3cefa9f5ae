#include "services/registry/registry_token.h"

#include <algorithm>

#include "appliance/auth/sigv4.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/random.h"

namespace annex::registry {
namespace {

// "v1.<payload>.<mac>", both parts base64url without padding, so the
// password survives HTTP Basic ("AWS:<password>" splits at the first ':').
constexpr std::string_view kVersion = "v1";
constexpr size_t kKeyBytes = 32;

Status Unauthorized(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message), "UNAUTHORIZED");
}

std::string Base64Url(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  std::replace(s.begin(), s.end(), '+', '-');
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

std::optional<std::string> FromBase64Url(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '+' || c == '/' || c == '=') return std::nullopt;  // only the url alphabet
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s.push_back('=');
  return Base64Decode(s);
}

std::string Mac(std::string_view key, std::string_view payload) {
  return std::string(crypto::AsBytes(crypto::HmacSha256(key, std::string(kVersion) + "." + std::string(payload))));
}

struct Claims {
  std::string access_key_id;
  std::string account;
  int64_t expires_s = 0;
};

// The claims of a password whose MAC checks out, else nullopt.
std::optional<Claims> Verify(std::string_view key, std::string_view password) {
  std::vector<std::string_view> parts = Split(password, '.');
  if (parts.size() != 3 || parts[0] != kVersion) return std::nullopt;
  std::optional<std::string> payload = FromBase64Url(parts[1]);
  std::optional<std::string> mac = FromBase64Url(parts[2]);
  if (!payload || !mac || !auth::SignaturesEqual(*mac, Mac(key, parts[1]))) return std::nullopt;
  std::vector<std::string_view> fields = Split(*payload, '\n');
  if (fields.size() != 3) return std::nullopt;
  std::optional<uint64_t> expires = ParseUint(fields[2]);
  if (!expires || *expires > uint64_t{1} << 40) return std::nullopt;
  return Claims{std::string(fields[0]), std::string(fields[1]), static_cast<int64_t>(*expires)};
}

// The password inside "Basic base64(AWS:<password>)" or "Bearer <password>".
std::optional<std::string> PasswordOf(std::string_view authorization) {
  authorization = Trim(authorization);
  size_t space = authorization.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view scheme = authorization.substr(0, space);
  std::string_view value = Trim(authorization.substr(space + 1));
  if (EqualsIgnoreCase(scheme, "Bearer")) return std::string(value);
  if (!EqualsIgnoreCase(scheme, "Basic")) return std::nullopt;
  std::optional<std::string> decoded = Base64Decode(value);
  // ECR's user name is always "AWS".
  if (!decoded || !StartsWith(*decoded, "AWS:")) return std::nullopt;
  return decoded->substr(4);
}

}  // namespace

Result<std::unique_ptr<RegistryTokens>> RegistryTokens::Open(os::FileSystem& fs, const std::string& key_path,
                                                             const auth::CredentialLookup& credentials,
                                                             const os::Clock& clock) {
  Result<std::string> stored = os::ReadFileToString(fs, key_path);
  std::string hex;
  if (stored.ok()) {
    hex = std::move(*stored);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
  } else if (stored.status().IsNotFound()) {
    // First start: a fresh key, readable by annexd alone.
    hex = os::RandomHex(kKeyBytes);
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, key_path, hex + "\n", 0600));
  } else {
    return stored.status();
  }
  std::optional<std::string> key = HexDecode(hex);
  if (!key || key->size() != kKeyBytes) {
    return Status::Corruption("registry token key " + key_path + " is not " + std::to_string(kKeyBytes) +
                              " hex-encoded bytes");
  }
  return std::unique_ptr<RegistryTokens>(new RegistryTokens(std::move(*key), credentials, clock));
}

IssuedToken RegistryTokens::Issue(const auth::Principal& principal, std::string_view access_key_id) const {
  os::SystemTime expires = clock_.Now() + kLifetime;
  // A session's token ends with the session; it would be refused after that anyway.
  if (principal.session && principal.session->expiration < expires) expires = principal.session->expiration;
  int64_t expires_s = std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count();
  std::string payload =
      Base64Url(std::string(access_key_id) + "\n" + principal.account_id + "\n" + std::to_string(expires_s));
  IssuedToken t;
  t.password = std::string(kVersion) + "." + payload + "." + Base64Url(Mac(key_, payload));
  t.token = Base64Encode("AWS:" + t.password);
  t.expires_at = os::SystemTime(std::chrono::seconds(expires_s));
  return t;
}

Result<auth::Principal> RegistryTokens::Authenticate(std::string_view authorization) const {
  std::optional<std::string> password = PasswordOf(authorization);
  if (!password) return Unauthorized("authentication required");
  std::optional<Claims> claims = Verify(key_, *password);
  if (!claims) return Unauthorized("Your authorization token is invalid.");
  const os::SystemTime now = clock_.Now();
  if (now >= os::SystemTime(std::chrono::seconds(claims->expires_s))) {
    return Unauthorized("Your authorization token has expired. Reauthenticate and try again.");
  }
  // Looked up on every use: a deleted key or user ends the token at once.
  std::optional<auth::Credential> credential = credentials_.Find(claims->access_key_id);
  if (!credential || credential->principal.anonymous || credential->principal.account_id != claims->account) {
    return Unauthorized("Your authorization token is no longer valid: its access key is gone.");
  }
  if (credential->principal.session && now >= credential->principal.session->expiration) {
    return Unauthorized("Your authorization token has expired: the session it was issued for has ended.");
  }
  auth::Principal principal = std::move(credential->principal);
  principal.access_key_id = claims->access_key_id;
  return principal;
}

}  // namespace annex::registry
