#include "services/registry/image_transfer_api.h"

namespace annex::registry {

http::Task<Status> HandleImageTransfer(Registry&, service::RequestContext&) {
  co_return http::ApiStatus("NotImplemented", "image transfer is being built");
}

}  // namespace annex::registry
