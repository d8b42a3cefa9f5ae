#pragma once
// The control plane's side of the Sync gRPC service (sync/proto/sync.proto).
//
//  Enroll   token + CSR → client certificate for <region>-annex-<site>; the
//           token is consumed (one-time) only once the certificate exists.
//  Renew    a new certificate for the caller's zone (mutual TLS).
//  Connect  the session. The zone is the client certificate's common name;
//           a Hello naming another zone, or a certificate that is no longer
//           the zone's current one, ends the stream. Records are applied
//           exactly once in sequence order and acknowledged cumulatively;
//           pending commands are pushed as they appear.
//
// gRPC headers stay out of this header: the service is built behind
// MakeSyncService and only sync_server.cc sees grpcpp.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "sync/common/pki.h"
#include "sync/controlplane/registry.h"

namespace grpc {
class Service;
}

namespace annex::sync {

struct SyncServiceOptions {
  KeyAndCert ca;                                    // issues client certificates
  std::chrono::seconds client_cert_validity{std::chrono::hours(24 * 30)};
  // How often a session wakes to check it is still live (and, every tenth
  // time, re-reads its pending commands); new commands wake it at once.
  std::chrono::milliseconds command_poll{500};
  std::function<int64_t()> now_unix_ms;             // the clock (tests fake it)
};

std::unique_ptr<grpc::Service> MakeSyncService(Registry& registry, SyncServiceOptions options);

}  // namespace annex::sync
