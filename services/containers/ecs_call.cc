// Helpers shared by the ECS operations: errors, names, pagination.

#include "services/containers/ecs_call.h"

#include <algorithm>
#include <cctype>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::containers {
namespace {

constexpr std::string_view kTokenPrefix = "ecs1:";

bool ValidClusterName(std::string_view s) {
  return !s.empty() && s.size() <= 255 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

}  // namespace

Status ClientError(std::string message) { return http::ApiStatus("ClientException", std::move(message)); }
Status InvalidParameter(std::string message) { return http::ApiStatus("InvalidParameterException", std::move(message)); }
Status ClusterNotFound() { return http::ApiStatus("ClusterNotFoundException", "Cluster not found."); }

bool OneOf(std::string_view value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::string_view LastPathPart(std::string_view arn_or_id) {
  size_t slash = arn_or_id.rfind('/');
  return slash == std::string_view::npos ? arn_or_id : arn_or_id.substr(slash + 1);
}

Result<std::string> ClusterName(const EcsCall& call, std::string_view member) {
  ANNEX_ASSIGN_OR_RETURN(auto given, call.params.String(member));
  if (!given || given->empty()) return std::string("default");
  std::string_view name = *given;
  if (name.starts_with("arn:")) {
    // arn:aws:ecs:<region>:<account>:cluster/<name>, in the caller's account only.
    std::string prefix = call.ecs.Arn(call.account, "cluster/");
    if (!name.starts_with(prefix)) return ClusterNotFound();
    name.remove_prefix(prefix.size());
  }
  if (!ValidClusterName(name)) return ClusterNotFound();
  return std::string(name);
}

Task<Result<Json>> RequireActiveCluster(EcsCall& call, const std::string& cluster) {
  Result<std::optional<Json>> doc =
      co_await call.Blocking([&] { return call.ecs.store->Get(EcsKind::kCluster, EcsKey({call.account, cluster})); });
  if (!doc.ok()) co_return doc.status();
  if (!*doc || (**doc).value("status", "") != "ACTIVE") co_return ClusterNotFound();
  co_return std::move(**doc);
}

std::string MakeNextToken(std::string_view position) {
  return Base64Encode(std::string(kTokenPrefix) + std::string(position));
}

Result<std::string> ReadNextToken(const EcsCall& call) {
  ANNEX_ASSIGN_OR_RETURN(auto token, call.params.String("nextToken"));
  if (!token || token->empty()) return std::string();
  std::optional<std::string> decoded = Base64Decode(*token);
  // A token names a position in the caller's own keys, never another account's.
  if (!decoded || !decoded->starts_with(kTokenPrefix) ||
      !std::string_view(*decoded).substr(kTokenPrefix.size()).starts_with(call.account + "/")) {
    return InvalidParameter("Invalid token " + *token);
  }
  return decoded->substr(kTokenPrefix.size());
}

Result<size_t> ReadMaxResults(const EcsCall& call, size_t fallback) {
  ANNEX_ASSIGN_OR_RETURN(auto n, call.params.Long("maxResults"));
  if (!n) return fallback;
  if (*n < 1 || *n > 100) return InvalidParameter("maxResults must be between 1 and 100.");
  return static_cast<size_t>(*n);
}

}  // namespace annex::containers
