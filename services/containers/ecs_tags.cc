#include "services/containers/ecs_tags.h"

#include "appliance/http/api_error.h"

namespace annex::containers {

Result<service::Json> ParseTags(const service::JsonParams& params, std::string_view member) {
  ANNEX_ASSIGN_OR_RETURN(const service::Json* list, params.ObjectList(member, 0, 50));
  service::Json tags = service::Json::array();
  if (!list) return tags;
  for (const service::Json& tag : *list) {
    ANNEX_ASSIGN_OR_RETURN(auto key, service::NestedString(tag, "key", member));
    ANNEX_ASSIGN_OR_RETURN(auto value, service::NestedString(tag, "value", member));
    if (!key || key->empty() || key->size() > 128) {
      return http::ApiStatus("InvalidParameterException", "Tag keys must be between 1 and 128 characters.");
    }
    if (value && value->size() > 256) {
      return http::ApiStatus("InvalidParameterException", "Tag values must be at most 256 characters.");
    }
    tags.push_back({{"key", *key}, {"value", value.value_or("")}});
  }
  return tags;
}

}  // namespace annex::containers
