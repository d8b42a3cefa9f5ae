#pragma once
// Descriptor: what a service tells the platform about itself, so the router,
// the edge and the error renderer need no service's name or codes.
//
//   routes      which requests are its: SigV4 signing names, X-Amz-Target
//               prefixes, path prefixes, Host names and suffixes, and at most one
//               service that takes what no other claims (S3: anonymous GETs
//               of public objects carry no hint at all)
//   protocol    the wire shape of its requests and errors
//   auth        how its callers authenticate
//   errors      its own error codes with their HTTP statuses; the platform's
//               (authentication, throttling, internal errors) come on top
//
// The edge picks a service in this order: X-Amz-Target prefix, Host name or suffix,
// SigV4 signing name, path prefix, the catch-all.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http/api_error.h"

namespace annex::service {

enum class Protocol {
  kRestXml,   // S3
  kRestJson,  // Lambda, API Gateway
  kQuery,     // IAM, STS, RDS, CloudWatch: Action=…&Version=…, XML answers
  kJson10,
  kJson11,  // ECR, ECS, CloudWatch Logs, EventBridge
  kRpcV2Cbor,
};

enum class AuthMode {
  kSigV4,             // every request signed
  kSigV4OrAnonymous,  // unsigned requests reach the service, which decides (public-read objects)
  kOwnCheck,          // a non-SigV4 Authorization (bearer/basic) goes to the service's own check
  kNone,              // listeners only sandboxes reach
};

struct Descriptor {
  std::string name;  // for metrics and logs; the first signing name by convention
  std::vector<std::string> signing_names;
  std::vector<std::string> target_prefixes;
  std::vector<std::string> path_prefixes;
  std::vector<std::string> host_suffixes;  // "execute-api.localhost": Host "<id>.execute-api.localhost"
  std::vector<std::string> hosts;          // exact Host names: "169.254.170.2", ECS's task endpoint
  bool catch_all = false;
  Protocol protocol = Protocol::kRestXml;
  AuthMode auth = AuthMode::kSigV4;
  bool accepts_sigv2 = false;  // legacy S3 signatures (s3cmd's default)
  // The largest body the edge reads for the service before it sees the
  // request (signed Query and JSON bodies, hashed for the signature): a
  // larger Content-Length is refused with 413 unread. 0: the platform's
  // bound (80 MiB, a Lambda zip as base64). Services that stream their
  // bodies themselves (S3 uploads) enforce their own limits.
  uint64_t max_request_body_bytes = 0;
  std::vector<http::ErrorCodeStatus> errors;
};

// The error shape of `protocol`.
inline http::Response RenderError(Protocol protocol, const http::ApiError& error, std::string_view request_id) {
  switch (protocol) {
    case Protocol::kRestXml:
      return http::RenderRestXmlError(error, request_id);
    case Protocol::kQuery:
      return http::RenderQueryError(error, request_id);
    default:
      return http::RenderJsonError(error, request_id);
  }
}

// What an unknown access key is called in `protocol`: S3 says
// InvalidAccessKeyId, the Query services InvalidClientTokenId, the JSON ones
// UnrecognizedClientException.
inline std::string_view UnknownAccessKeyCode(Protocol protocol) {
  switch (protocol) {
    case Protocol::kRestXml:
      return "InvalidAccessKeyId";
    case Protocol::kQuery:
      return "InvalidClientTokenId";
    default:
      return "UnrecognizedClientException";
  }
}

}  // namespace annex::service
