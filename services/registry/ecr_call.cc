// Helpers shared by the ECR operations: errors, repository JSON, tokens.

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/registry/ecr_call.h"
#include "services/registry/ecr_errors.h"

namespace annex::registry {
namespace {

constexpr std::string_view kTokenPrefix = "ecr1:";

bool IsEcrCode(std::string_view code) {
  for (const auto& e : kEcrErrors) {
    if (e.code == code) return true;
  }
  return code == "SerializationException";
}

}  // namespace

Status RepositoryNotFound(const EcrCall& call, std::string_view name) {
  return http::ApiStatus("RepositoryNotFoundException", "The repository with name '" + std::string(name) +
                                                            "' does not exist in the registry with id '" +
                                                            call.account + "'");
}

Result<RepositoryRecord> RequireRepository(const EcrCall& call) {
  if (!call.repository) return RepositoryNotFound(call, call.repository_name);
  return *call.repository;
}

Status ToEcrError(const EcrCall& call, Status s) {
  if (s.ok() || IsEcrCode(s.subcode())) return s;
  switch (s.code()) {
    case StatusCode::kNotFound: return RepositoryNotFound(call, call.repository_name);
    case StatusCode::kAlreadyExists:
      return http::ApiStatus("RepositoryAlreadyExistsException",
                             "The repository with name '" + call.repository_name +
                                 "' already exists in the registry with id '" + call.account + "'");
    case StatusCode::kInvalidArgument: return service::InvalidParameter(s.message());
    default: return s;
  }
}

std::string RepositoryUri(const EcrCall& call, std::string_view name) {
  return call.registry.RegistryHost(call.account) + "/" + std::string(name);
}

double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

Json RepositoryJson(const EcrCall& call, const RepositoryRecord& repo) {
  return Json{
      {"repositoryArn", call.registry.RepositoryArn(repo.account, repo.name)},
      {"registryId", repo.account},
      {"repositoryName", repo.name},
      {"repositoryUri", call.registry.RegistryHost(repo.account) + "/" + repo.name},
      {"createdAt", EpochSeconds(repo.created_ms)},
      {"imageTagMutability", repo.tag_mutability == TagMutability::kImmutable ? "IMMUTABLE" : "MUTABLE"},
      {"imageScanningConfiguration", {{"scanOnPush", repo.scan_on_push}}},
      {"encryptionConfiguration", {{"encryptionType", repo.encryption_type}}},
  };
}

std::string MakeNextToken(std::string_view position) {
  return Base64Encode(std::string(kTokenPrefix) + std::string(position));
}

Result<std::string> ReadNextToken(const EcrCall& call) {
  ANNEX_ASSIGN_OR_RETURN(auto token, call.params.String("nextToken"));
  if (!token || token->empty()) return std::string();
  std::optional<std::string> decoded = Base64Decode(*token);
  if (!decoded || !decoded->starts_with(kTokenPrefix) || decoded->size() == kTokenPrefix.size()) {
    return service::InvalidParameter("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
  }
  return decoded->substr(kTokenPrefix.size());
}

Task<Result<RepositoryRecord>> UpdateRepository(EcrCall& call, std::function<Status(RepositoryRecord&)> change) {
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  // One transaction: the record read for authorization may be stale by now,
  // and a concurrent change must not be lost.
  Result<RepositoryRecord> updated = co_await call.Blocking(
      [&] { return call.registry.store->UpdateRepository(call.account, call.repository_name, change); });
  if (!updated.ok()) co_return ToEcrError(call, updated.status());
  call.repository = *updated;
  co_return updated;
}

}  // namespace annex::registry
