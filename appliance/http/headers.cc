#include "appliance/http/headers.h"

#include <algorithm>

#include "appliance/core/strings.h"

namespace annex::http {

void Headers::Add(std::string_view name, std::string_view value) {
  fields_.push_back({ToLower(name), std::string(value)});
}

void Headers::Set(std::string_view name, std::string_view value) {
  Remove(name);
  Add(name, value);
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return EqualsIgnoreCase(f.name, name); });
}

const std::string* Headers::Get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (EqualsIgnoreCase(f.name, name)) return &f.value;
  }
  return nullptr;
}

std::string_view Headers::GetOr(std::string_view name, std::string_view fallback) const {
  const std::string* v = Get(name);
  return v ? std::string_view(*v) : fallback;
}

}  // namespace annex::http
