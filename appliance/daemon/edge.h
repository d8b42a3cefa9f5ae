#pragma once
// Edge: the RequestHandler behind the HTTP listener. For each request it
// answers the appliance's own endpoints (/_annex/health, /_annex/metrics,
// /_annex/ca.pem),
// routes to a service, authenticates (SigV4), wraps the body so the payload
// is verified as it streams, calls the service, renders its errors in the
// service's own protocol, and records metrics and an access log line.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "appliance/auth/sigv2_verifier.h"
#include "appliance/auth/sigv4_verifier.h"
#include "appliance/daemon/metrics.h"
#include "appliance/daemon/router.h"
#include "appliance/http/server.h"
#include "appliance/service/service.h"

namespace annex::daemon {

struct EdgeOptions {
  std::string region;
  os::Clock* clock;
  os::BlockingPool* blocking;
  const auth::SigV4Verifier* verifier;
  const auth::SigV2Verifier* v2_verifier;  // S3 only
  Metrics* metrics;
  // Signed Query/JSON bodies over 1 MiB are spooled here while they are
  // hashed, up to this size (a Lambda zip of 50 MB is ~67 MB as base64).
  std::string spool_dir;
  uint64_t max_signed_body_bytes = uint64_t{80} << 20;
};

class Edge final : public http::RequestHandler {
 public:
  explicit Edge(EdgeOptions options) : options_(options) {}

  // Registers `service`; its descriptor says which requests are its.
  void AddService(service::Service* service) { router_.Add(service); }
  // Health answers 200 only once set, and only while every service is ready.
  void SetReady(bool ready) { ready_.store(ready); }
  // A line /_annex/health adds after the services (e.g. "cgroups hybrid: …"). Before serving.
  void AddHealthNote(std::string line) { health_notes_.push_back(std::move(line)); }
  // The appliance CA certificate (PEM), served to anyone at /_annex/ca.pem:
  // it is public, and clients need it to trust the HTTPS listeners (they
  // check it against the fingerprint on the console). Set before serving.
  void SetCaCertificate(std::string pem) { ca_pem_ = std::move(pem); }

  http::Task<void> Serve(http::Exchange& exchange) override;

  // What the HTTP servers in front of the edge must add to every response:
  // the request id under AWS's three names, and Server.
  static http::ServerOptions ServerOptions();

 private:
  struct Outcome;
  http::Task<void> Dispatch(http::Exchange& exchange, http::ResponseWriter& writer, Outcome& outcome);
  http::Task<void> ServeInternal(const http::Request& request, http::ResponseWriter& writer, Outcome& outcome);

  EdgeOptions options_;
  Router router_;
  std::atomic<bool> ready_{false};
  std::string ca_pem_;  // empty: no HTTPS, /_annex/ca.pem is 404
  std::vector<std::string> health_notes_;
};

}  // namespace annex::daemon
