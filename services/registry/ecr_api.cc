#include "services/registry/ecr_api.h"

namespace annex::registry {

http::Task<Status> HandleEcr(Registry&, service::RequestContext&) {
  co_return http::ApiStatus("UnknownOperationException", "the ECR API is being built");
}

}  // namespace annex::registry
