#pragma once
// OperatorApi: annex-control's HTTP API for operators, the RequestHandler
// behind --api-listen (served by http::HttpServer).
//
//   GET  /health                          200 "ok", the only unauthenticated endpoint
//   POST / (form) | GET /?Action=...      EC2 Query protocol: DescribeAvailabilityZones (ec2_api.h)
//   /v1/...                               JSON: zones, resources, history, commands, sites (json_api.h)
//
// Every other request must be signed with SigV4 by the admin key. Any
// service name and region in the credential scope is accepted ("ec2" from
// awscli, "annex" from `curl --aws-sigv4 aws:amz:REGION:annex`). The body is
// read first (at most 1 MiB) and the payload hash is its SHA-256 whether or
// not x-amz-content-sha256 is sent (curl does not send it); aws-chunked
// bodies are refused.
//
// Errors are answered in the endpoint's dialect: EC2's XML
// (<Response><Errors>…<RequestID>) on "/", {"__type", "message"} JSON
// elsewhere; a wrong key or signature is 403. Every response carries
// x-amz-request-id, and every request is logged as one line.
//
// Thread safety: Serve may run concurrently on several io threads.

#include <memory>
#include <string>

#include "appliance/auth/credentials.h"
#include "appliance/http/server.h"
#include "appliance/os/clock.h"
#include "sync/controlplane/registry.h"

namespace annex::auth {
class SigV4Verifier;
}

namespace annex::sync {

struct OperatorApiOptions {
  Registry* registry = nullptr;      // must outlive the OperatorApi
  const os::Clock* clock = nullptr;  // likewise
  auth::Credential admin;            // the only key accepted
  std::string ca_sha256;             // pinned by the tokens of sites created through the API
};

class OperatorApi final : public http::RequestHandler {
 public:
  explicit OperatorApi(OperatorApiOptions options);
  ~OperatorApi() override;

  http::Task<void> Serve(http::Exchange& exchange) override;

 private:
  struct Outcome;
  enum class Dialect { kHealth, kEc2, kJson };

  http::Task<http::Response> Handle(http::Exchange& exchange, Outcome& outcome);
  Result<http::Response> Process(Dialect dialect, const http::Request& request, std::string_view body,
                                 Outcome& outcome);
  Status Authenticate(const http::Request& request, std::string_view body) const;
  http::Response RenderError(Dialect dialect, const Status& status, const http::Request& request,
                             Outcome& outcome) const;
  int64_t NowUnixMs() const;

  OperatorApiOptions options_;
  std::unique_ptr<auth::CredentialLookup> credentials_;
  std::unique_ptr<auth::SigV4Verifier> verifier_;
};

}  // namespace annex::sync
