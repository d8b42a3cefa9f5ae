#pragma once
// A control plane for tests: the registry and the gRPC Sync server over real
// TLS on a loopback port, which can be stopped and started again on the same
// port (the registry survives, like annex-control's data dir).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "sync/agent/enrollment.h"
#include "sync/common/pki.h"
#include "sync/controlplane/registry.h"
#include "sync/controlplane/sync_server.h"

namespace annex::sync::testing {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class TestControlPlane {
 public:
  explicit TestControlPlane(const std::string& dir, std::chrono::seconds client_validity = std::chrono::hours(24))
      : client_validity_(client_validity) {
    std::filesystem::create_directories(dir);
    registry_ = std::move(Registry::Open(dir + "/registry", "us-east-1").value());
    ca_ = CreateCa("annex-control CA").value();
    auto server = IssueServerCert(ca_, kControlPlaneServerName, {std::string(kControlPlaneServerName), "localhost"},
                                  {"127.0.0.1"}, 365)
                      .value();
    chain_ = KeyAndCert{server.key_pem, server.cert_pem + ca_.cert_pem};
    ca_sha256_ = CertSha256(ca_.cert_pem).value();
  }

  // Starts serving (on the previous port after a Stop).
  bool Start() {
    SyncServiceOptions options{ca_, client_validity_, std::chrono::milliseconds(50), NowMs};
    auto started = SyncServer::Start(*registry_, options, chain_, "127.0.0.1:" + std::to_string(port_));
    if (!started.ok()) return false;
    server_ = std::move(*started);
    port_ = server_->port();
    return true;
  }
  void Stop() { server_.reset(); }

  std::string NewToken(const std::string& site) {
    return EncodeToken(registry_->CreateSite(site, ca_sha256_, NowMs()).value());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Registry& registry() { return *registry_; }
  const KeyAndCert& ca() const { return ca_; }

 private:
  std::unique_ptr<Registry> registry_;
  KeyAndCert ca_, chain_;
  std::string ca_sha256_;
  std::chrono::seconds client_validity_;
  std::unique_ptr<SyncServer> server_;
  int port_ = 0;
};

}  // namespace annex::sync::testing
