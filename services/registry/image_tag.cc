#include "services/registry/image_tag.h"

#include <string>

#include "appliance/http/api_error.h"

namespace annex::registry {
namespace {

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

}  // namespace

bool IsValidImageTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxImageTagChars) return false;
  if (!IsAsciiAlnum(tag.front()) && tag.front() != '_') return false;
  for (char c : tag) {
    if (!IsAsciiAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

Status ValidateImageTag(std::string_view tag, std::string_view member) {
  if (IsValidImageTag(tag)) return Status::OK();
  return http::ApiStatus("InvalidParameterException",
                         "Invalid parameter at '" + std::string(member) +
                             "' failed to satisfy constraint: 'must satisfy regular expression "
                             "'[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}''");
}

}  // namespace annex::registry
