#pragma once
// One-time enrollment tokens. The operator creates a site on the control
// plane and hands its token to the appliance (first-boot config, flag or
// annexctl). The token names the site, carries a random secret (the control
// plane keeps only its SHA-256, and accepts it once), and pins the control
// plane's CA by the SHA-256 of its DER certificate, so the appliance can
// trust the control plane on first contact without any other setup.
//
// Text form: "AXT1.<site>.<secret: 43 chars base64url>.<ca sha256: 64 hex>".

#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::sync {

struct EnrollmentToken {
  std::string site;
  std::string secret;     // base64url of 32 random bytes
  std::string ca_sha256;  // lower-case hex
};

// A token for `site` with a fresh secret; InvalidArgument for a bad site or hash.
Result<EnrollmentToken> NewEnrollmentToken(std::string_view site, std::string_view ca_sha256);

std::string EncodeToken(const EnrollmentToken& token);
// InvalidArgument, saying what is wrong, for anything but a well-formed token.
Result<EnrollmentToken> ParseToken(std::string_view text);

// What the control plane stores instead of the secret.
std::string SecretHash(std::string_view secret);

}  // namespace annex::sync
