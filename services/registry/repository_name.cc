#include "services/registry/repository_name.h"

#include <string>

#include "appliance/http/api_error.h"

namespace annex::registry {
namespace {

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool MatchesComponent(std::string_view c) {
  size_t i = 0;
  auto run = [&] {
    size_t start = i;
    while (i < c.size() && IsAlnum(c[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

}  // namespace

bool MatchesRepositoryPattern(std::string_view name) {
  while (true) {
    size_t slash = name.find('/');
    if (!MatchesComponent(name.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    name.remove_prefix(slash + 1);
  }
}

Status ValidateRepositoryName(std::string_view name, std::string_view member) {
  std::string prefix = "Invalid parameter at '" + std::string(member) + "' failed to satisfy constraint: '";
  if (name.size() < kMinRepositoryName) {
    return http::ApiStatus("InvalidParameterException",
                           prefix + "must have length greater than or equal to " + std::to_string(kMinRepositoryName) + "'");
  }
  if (name.size() > kMaxRepositoryName) {
    return http::ApiStatus("InvalidParameterException",
                           prefix + "must have length less than or equal to " + std::to_string(kMaxRepositoryName) + "'");
  }
  if (!MatchesRepositoryPattern(name)) {
    return http::ApiStatus("InvalidParameterException",
                           prefix + "must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'");
  }
  return Status::OK();
}

}  // namespace annex::registry
