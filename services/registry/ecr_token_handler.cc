// GetAuthorizationToken: a registry token for `podman login` / `docker login`,
// and the endpoint to log in to.

#include "appliance/core/strings.h"
#include "services/registry/ecr_call.h"

namespace annex::registry {

// The registry endpoint as the client can reach it. A client that came in
// by a name under the appliance's domain gets the ECR-style host
// (<account>.dkr.ecr.<region>.<domain>) on the same port; one that came by
// an address or another name (http://127.0.0.1:4566) gets exactly that,
// since the ECR-style name would not resolve for it.
std::string ClientEndpoint(const EcrCall& call) {
  const Registry& r = call.registry;
  std::string scheme = call.ctx.request.tls ? "https://" : "http://";
  const std::string* host_header = call.ctx.request.headers.Get("host");
  std::string host = host_header ? ToLower(*host_header) : std::string();
  if (host.empty()) return scheme + r.RegistryHost(call.account);
  std::string name = host, port;
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon);
  }
  std::string domain = ToLower(r.env.domain);
  bool under_domain = !domain.empty() && name.size() > domain.size() && name.ends_with("." + domain);
  if (under_domain && name != "localhost") return scheme + r.RegistryHost(call.account) + port;
  return scheme + host;
}

Task<Answer> GetAuthorizationToken(EcrCall& call) {
  // registryIds is deprecated; the token serves every registry the caller may use.
  ANNEX_CO_ASSIGN_OR_RETURN(auto ids, call.params.StringList("registryIds", 1, 10));
  (void)ids;
  if (!call.registry.tokens) co_return Status::Unavailable("registry tokens are not ready");
  const auth::Principal& p = call.ctx.principal;
  IssuedToken issued = call.registry.tokens->Issue(p, p.access_key_id);
  Json data = {{"authorizationToken", issued.token},
               {"expiresAt", EpochSeconds(os::ToUnixMillis(issued.expires_at))},
               {"proxyEndpoint", ClientEndpoint(call)}};
  co_return Json{{"authorizationData", Json::array({data})}};
}

}  // namespace annex::registry
