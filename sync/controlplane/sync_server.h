#pragma once
// The Sync service on a TLS port: the server presents its certificate chain
// (which includes the CA, so appliances can check the CA against their
// token's pin) and verifies client certificates against the CA when a client
// offers one — Enroll comes without, everything else needs one.

#include <memory>
#include <string>

#include "appliance/core/result.h"
#include "sync/controlplane/sync_service.h"

namespace grpc {
class Server;
}

namespace annex::sync {

class SyncServer {
 public:
  // `listen` is HOST:PORT (port 0: any free port, see port()).
  static Result<std::unique_ptr<SyncServer>> Start(Registry& registry, SyncServiceOptions options,
                                                   const KeyAndCert& server_chain, const std::string& listen);
  ~SyncServer();
  int port() const { return port_; }
  // Ends every session and stops accepting; also done by the destructor.
  void Shutdown();

 private:
  SyncServer();
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace annex::sync
