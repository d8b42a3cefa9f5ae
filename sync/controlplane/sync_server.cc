#include "sync/controlplane/sync_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>

namespace annex::sync {

Result<std::unique_ptr<SyncServer>> SyncServer::Start(Registry& registry, SyncServiceOptions options,
                                                      const KeyAndCert& server_chain, const std::string& listen) {
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = options.ca.cert_pem;
  ssl.pem_key_cert_pairs.push_back({server_chain.key_pem, server_chain.cert_pem});
  std::unique_ptr<SyncServer> s(new SyncServer());
  s->service_ = MakeSyncService(registry, std::move(options));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::SslServerCredentials(ssl), &s->port_);
  builder.RegisterService(s->service_.get());
  // Dead peers (a pulled cable) are noticed by keepalive, not by a write that never fails.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) return Status::Unavailable("cannot listen on " + listen);
  return s;
}

SyncServer::SyncServer() = default;
SyncServer::~SyncServer() { Shutdown(); }

void SyncServer::Shutdown() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }
}

}  // namespace annex::sync
