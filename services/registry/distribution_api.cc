#include "services/registry/distribution_api.h"

namespace annex::registry {

http::Task<Status> HandleDistribution(Registry&, service::RequestContext&) {
  co_return http::ApiStatus("NotImplemented", "the distribution API is being built");
}

}  // namespace annex::registry
