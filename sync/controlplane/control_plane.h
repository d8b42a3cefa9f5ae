#pragma once
// ControlPlane: annex-control's data directory, opened. It holds
//
//   <data-dir>/LOCK          flock'd by the serving process for its lifetime
//   <data-dir>/registry/     the Registry (LMDB)
//   <data-dir>/tls/          ca.pem, ca.key (0600): the CA that issues appliance certificates and that
//                            enrollment tokens pin; server.pem (server certificate + CA) and
//                            server.key (0600) for the gRPC listener. Created on first use, reused later.
//   <data-dir>/credentials   the operator API's admin key (0600, AWS shared-credentials profile
//                            [annex-control]) when it was generated rather than taken from the environment
//
// Two ways to open it. Serve() is for the server: it takes LOCK, so a second
// server on the same directory is refused. Shared() is for `annex-control
// sites ...` while a server may be running: it takes no LOCK (LMDB lets two
// processes share the registry) and touches only the registry and the CA.
// Creating the CA is serialized between processes by tls/LOCK, so a server
// and a `sites create` starting together on a fresh directory agree on one CA.
//
// Thread safety: the accessors are const and safe from any thread; the
// Registry is itself thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "sync/common/pki.h"
#include "sync/controlplane/registry.h"

namespace annex::sync {

struct AdminKey {
  std::string access_key_id;
  std::string secret_access_key;
};

struct ControlPlaneOptions {
  std::string data_dir;
  std::string region = "us-east-1";
  // Names and IP literals the gRPC server certificate covers besides "annex-control", "localhost",
  // 127.0.0.1 and ::1 (the host of --listen). Wildcard addresses are skipped.
  std::vector<std::string> server_hosts;
  // ANNEX_ROOT_ACCESS_KEY_ID / ANNEX_ROOT_SECRET_ACCESS_KEY; unset: the key in <data-dir>/credentials,
  // generated on first start. There is no built-in default secret.
  std::optional<AdminKey> admin_from_env;
};

class ControlPlane {
 public:
  // Opens `options.data_dir` (created if missing) for serving. FailedPrecondition if another process serves it;
  // InvalidArgument for a bad region or host; the registry's errors (e.g. FailedPrecondition for a registry of
  // another region) otherwise.
  static Result<std::unique_ptr<ControlPlane>> Serve(const ControlPlaneOptions& options);
  // Opens the registry and the CA only (creating the CA if the server never ran), without LOCK.
  // server_chain() and admin() are empty. `server_hosts` and `admin_from_env` are ignored.
  static Result<std::unique_ptr<ControlPlane>> Shared(const ControlPlaneOptions& options);

  ~ControlPlane();  // releases LOCK
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  Registry& registry() const { return *registry_; }
  const KeyAndCert& ca() const { return ca_; }
  // SHA-256 of the CA certificate, as enrollment tokens carry it.
  const std::string& ca_sha256() const { return ca_sha256_; }
  // The gRPC server's key and chain (server certificate followed by the CA).
  const KeyAndCert& server_chain() const { return server_chain_; }
  const AdminKey& admin() const { return admin_; }
  // <data-dir>/credentials, or empty when the admin key came from the environment.
  const std::string& credentials_file() const { return credentials_file_; }

 private:
  ControlPlane() = default;
  Status OpenShared(const ControlPlaneOptions& options);

  int lock_fd_ = -1;
  std::unique_ptr<Registry> registry_;
  KeyAndCert ca_;
  std::string ca_sha256_;
  KeyAndCert server_chain_;
  AdminKey admin_;
  std::string credentials_file_;
};

}  // namespace annex::sync
