#pragma once
// ApplianceEndpoints: where a service's own helpers reach the appliance's
// APIs from this machine — annexd's plain listener, and a TLS listener on
// the loopback address that annexd always opens, whatever --tls-listen says,
// for clients that speak only HTTPS (pgBackRest's S3 driver). The daemon
// builds it before the services (the CA file is known then) and fills in the
// ports once its listeners are up, after the services are built: a port of 0
// means "not yet", and a service that needs one waits for it.
//
// Thread-safe: the ports are atomics; the strings never change after start.

#include <atomic>
#include <cstdint>
#include <string>

namespace annex::service {

struct ApplianceEndpoints {
  std::atomic<uint16_t> http_port{0};  // on 127.0.0.1
  std::atomic<uint16_t> tls_port{0};   // on 127.0.0.1
  // The name to connect to over TLS: one the server certificate carries as
  // a DNS name (some clients check DNS names only, never IP addresses).
  std::string tls_host = "localhost";
  std::string ca_file;  // the appliance CA's certificate (PEM), readable by root
};

}  // namespace annex::service
