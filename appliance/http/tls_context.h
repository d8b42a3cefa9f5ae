#pragma once
// The appliance's TLS identity: on first start a private CA and a server
// certificate signed by it are generated under <data>/tls (keys 0600); later
// starts reuse them. Clients trust <data>/tls/ca.pem (e.g. AWS_CA_BUNDLE).

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
};

// Creates the CA and server certificate in `dir` unless present. `dns_names`
// and `ip_addresses` go into the server certificate's subjectAltName.
Result<TlsFiles> EnsureTlsFiles(const std::string& dir, const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses);

// A server context (TLS 1.2+) loaded from `files`.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

}  // namespace annex::http
