#include "appliance/http/query.h"

#include "appliance/core/strings.h"

namespace annex::http {

Result<QueryParams> QueryParams::Parse(std::string_view raw, bool plus_is_space) {
  QueryParams q;
  if (raw.empty()) return q;
  for (std::string_view part : Split(raw, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view name = part.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    auto n = UriDecode(name, plus_is_space);
    auto v = UriDecode(value, plus_is_space);
    if (!n || !v) return Status::InvalidArgument("bad percent-encoding in query string");
    q.Add(std::move(*n), std::move(*v));
  }
  return q;
}

const std::string* QueryParams::Get(std::string_view name) const {
  for (const auto& [k, v] : params_) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace annex::http
