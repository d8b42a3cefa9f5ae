#pragma once
// The public-key infrastructure of the appliance <-> control plane link. The
// control plane runs a private CA (P-256, ECDSA-SHA256) and issues each
// enrolled appliance a client certificate from the appliance's CSR; the
// appliance pins that CA by CertSha256() of its certificate, which its
// enrollment token carries (see enrollment_token.h).
//
// Keys, certificates and CSRs cross this API as PEM text. Every function is a
// pure transformation (no files, no global state besides OpenSSL's RNG), so
// it is safe to call from any thread. Failures come back as Status; OpenSSL's
// thread-local error queue is left empty either way.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/core/status.h"

namespace annex::sync {

struct KeyAndCert {
  std::string key_pem;   // PKCS#8 PEM private key
  std::string cert_pem;  // PEM certificate
};

// A new P-256 private key (PKCS#8 PEM, unencrypted).
Result<std::string> GenerateKey();

// A self-signed CA certificate (CA:TRUE, keyCertSign + cRLSign, 10 years) with the given common name and a fresh
// key. Validity starts an hour in the past to tolerate clock skew between the control plane and appliances.
// InvalidArgument for an empty, over-long (> 64) or control-character common name.
Result<KeyAndCert> CreateCa(std::string_view common_name);

// A server certificate with a fresh key, signed by `ca`, with subjectAltNames for `dns_names` and `ips` (IPv4 or
// IPv6 literals), serverAuth, valid from an hour ago for `days` days. InvalidArgument for a bad name or IP, for no
// SAN at all (TLS clients ignore the CN) or for days <= 0; InvalidArgument too if `ca` is not a CA or its key does
// not match its certificate.
Result<KeyAndCert> IssueServerCert(const KeyAndCert& ca, std::string_view common_name,
                                   const std::vector<std::string>& dns_names, const std::vector<std::string>& ips,
                                   int days);

// A PEM certificate signing request for `key_pem` with CN = common_name, signed by that key.
Result<std::string> MakeCsr(std::string_view key_pem, std::string_view common_name);

// Signs a CSR as a client certificate (clientAuth, CA:FALSE) valid in [not_before_unix, not_before_unix + validity).
// The subject is exactly CN = common_name regardless of what the CSR asked for, and no CSR extension is copied: the
// control plane decides the appliance's identity and powers, not the appliance. The CSR's own signature is verified
// first; InvalidArgument if it is bad, if the CSR does not parse, if its key is weaker than 112-bit security or if
// validity <= 0. Serial numbers are random 128-bit positives.
Result<std::string> SignClientCsr(const KeyAndCert& ca, std::string_view csr_pem, std::string_view common_name,
                                  int64_t not_before_unix, std::chrono::seconds validity);

// SHA-256 (64 lower-case hex digits) of the DER encoding of the first certificate in `cert_pem`.
// InvalidArgument if there is none.
Result<std::string> CertSha256(std::string_view cert_pem);

// Facts of one certificate.
struct CertInfo {
  std::string common_name;  // first CN of the subject, UTF-8; empty if none
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;  // the first second at which the certificate is no longer valid
  std::string serial_hex;      // lower-case hex, as OpenSSL prints it (even number of digits)
  bool is_ca = false;          // basicConstraints CA:TRUE
};

// Facts of the first certificate in `cert_pem`; InvalidArgument if there is none.
Result<CertInfo> ReadCert(std::string_view cert_pem);

// OK if `cert_pem` was issued by `ca_cert_pem` (signature, names, CA constraints) and both are valid at `now_unix`
// (not_before <= now < not_after). PermissionDenied with OpenSSL's reason otherwise (other CA, expired, not yet
// valid); InvalidArgument if either PEM does not parse.
Status VerifyIssuedBy(std::string_view cert_pem, std::string_view ca_cert_pem, int64_t now_unix);

// The certificates of a PEM chain (e.g. "server cert + CA"), each re-encoded as PEM, in order. Non-certificate PEM
// blocks are skipped. InvalidArgument for a chain without certificates or with one that does not parse.
Result<std::vector<std::string>> SplitPemChain(std::string_view chain_pem);

// When an appliance should rotate `cert`: the point at 70 % + 20 % * uniform01 of its lifetime (uniform01 in [0, 1),
// clamped), so a fleet issued at once does not renew at once. not_before for a certificate with no lifetime.
int64_t RenewalTime(const CertInfo& cert, double uniform01);

}  // namespace annex::sync
