#pragma once
// SigV2Verifier: S3's legacy Signature Version 2 — `Authorization: AWS
// AKID:signature` and presigned `?AWSAccessKeyId=&Expires=&Signature=`.
// Still the default of boto3's generate_presigned_url and of older tools, so
// S3 accepts it; other services do not.
//
// The payload is not signed in V2 (Content-MD5, when sent, is checked by S3).
// Errors carry S3 codes: InvalidAccessKeyId, SignatureDoesNotMatch,
// RequestTimeTooSkewed, AccessDenied (expired URL).
//
// Thread-safe.

#include <string>
#include <vector>

#include "appliance/auth/sigv4_verifier.h"

namespace annex::auth {

// True for `Authorization: AWS …` or a query with AWSAccessKeyId and Signature.
bool IsSigV2Signed(const http::Request& request);

class SigV2Verifier {
 public:
  // `virtual_host_suffixes`: Host "bucket.<suffix>" names a bucket, which V2
  // puts at the front of the canonical resource.
  SigV2Verifier(const CredentialLookup& credentials, const os::Clock& clock,
                std::vector<std::string> virtual_host_suffixes);

  // On success the result has payload_mode kUnsigned and service "s3".
  Result<AuthResult> Verify(const http::Request& request) const;

  // Who signed the `policy` field of a V2 form upload (S3 POST Object):
  // `signature` is base64(HMAC-SHA1(secret, policy)). InvalidAccessKeyId,
  // InvalidToken, SignatureDoesNotMatch.
  Result<Principal> VerifyPostPolicy(std::string_view policy, std::string_view access_key_id,
                                     std::string_view signature, std::string_view session_token) const;

  // The string V2 signs (exposed for tests and clients).
  std::string StringToSign(const http::Request& request, std::string_view date_or_expires) const;

 private:
  std::string CanonicalResource(const http::Request& request) const;

  const CredentialLookup& credentials_;
  const os::Clock& clock_;
  std::vector<std::string> suffixes_;
};

}  // namespace annex::auth
