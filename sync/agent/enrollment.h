#pragma once
// The appliance's side of enrollment: trust the control plane on first
// contact by the CA fingerprint in the token, then trade the token and a CSR
// for a client certificate.
//
// The CA is learnt from the control plane's own TLS handshake (its chain
// includes the CA) and accepted only if its SHA-256 equals the token's pin;
// from then on every connection verifies the control plane against it.

#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::sync {

// Connects to `host_port` with TLS, without trusting anything yet, and returns
// (PEM) the certificate of the presented chain whose SHA-256 is `ca_sha256`.
// PermissionDenied if no certificate in the chain matches (a different or
// impostor control plane); Unavailable if it cannot be reached.
Result<std::string> FetchPinnedCa(const std::string& host_port, std::string_view ca_sha256);

struct Enrollment {
  std::string zone;
  std::string region;
  std::string key_pem;   // generated here, never leaves the appliance
  std::string cert_pem;  // issued by the control plane
  std::string ca_pem;    // the pinned CA
};

// The whole exchange. The server name checked in TLS is "annex-control",
// whatever address the control plane is reached at: its certificate is
// trusted through the pinned CA, not through DNS.
Result<Enrollment> Enroll(const std::string& host_port, std::string_view token, std::string_view agent_version);

inline constexpr std::string_view kControlPlaneServerName = "annex-control";

}  // namespace annex::sync
