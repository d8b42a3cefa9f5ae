#pragma once
// The SHA-256 fingerprint of an X.509 certificate, in the form
// `openssl x509 -noout -fingerprint -sha256` prints and browsers show:
// upper-case hex byte pairs joined by colons. Operators compare it, read off
// the appliance's console, with the CA certificate a client was given.

#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::crypto {

// The fingerprint of the first certificate in `pem`; InvalidArgument if
// `pem` holds no certificate.
Result<std::string> CertificateSha256Fingerprint(std::string_view pem);

}  // namespace annex::crypto
