#pragma once
// The appliance's TLS identity: on first start a private CA and a server
// certificate signed by it are generated under <data>/tls (keys 0600); later
// starts reuse them. Clients trust <data>/tls/ca.pem (e.g. AWS_CA_BUNDLE).
// The CA is kept for good (clients were given it); the server certificate
// is issued again, by the same CA, when the names it must carry change, when
// it nears expiry, or when it or its key is damaged.

#include <memory>
#include <string>
#include <vector>

#include "appliance/core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace annex::http {

struct TlsFiles {
  std::string ca_cert;      // <dir>/ca.pem
  std::string server_cert;  // <dir>/server.pem (chain: server + CA)
  std::string server_key;   // <dir>/server.key
  bool created_ca = false;           // this call generated the CA
  bool issued_server_cert = false;   // this call issued the server certificate
};

// Makes sure `dir` holds the CA and a server certificate whose
// subjectAltName is exactly `dns_names` and `ip_addresses` (compared as sets:
// DNS names case-insensitively, addresses by value). The first DNS name is
// the certificate's CN. InvalidArgument for an address that does not parse.
Result<TlsFiles> EnsureTlsFiles(const std::string& dir, const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses);

// A server context (TLS 1.2+) loaded from `files`.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

}  // namespace annex::http
