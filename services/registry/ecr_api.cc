#include "services/registry/ecr_api.h"

#include <array>
#include <utility>

#include "appliance/core/log.h"
#include "appliance/http/api_error.h"
#include "services/registry/ecr_call.h"
#include "services/registry/registry_authorize.h"
#include "services/registry/repository_name.h"

namespace annex::registry {
namespace {

// UploadLayerPart carries up to 20 MiB of layer as base64 in the JSON body.
constexpr size_t kMaxBody = size_t{32} << 20;

using Operation = Task<Answer> (*)(EcrCall&);

// How an operation names the repository it acts on.
enum class Target { kNone, kName, kArn };

struct NamedOperation {
  std::string_view name;
  Operation run;
  Target target;
};

constexpr auto kOperations = std::to_array<NamedOperation>({
    {"BatchCheckLayerAvailability", BatchCheckLayerAvailability, Target::kName},
    {"BatchDeleteImage", BatchDeleteImage, Target::kName},
    {"BatchGetImage", BatchGetImage, Target::kName},
    {"CompleteLayerUpload", CompleteLayerUpload, Target::kName},
    {"CreateRepository", CreateRepository, Target::kName},
    {"DeleteLifecyclePolicy", DeleteLifecyclePolicy, Target::kName},
    {"DeleteRepository", DeleteRepository, Target::kName},
    {"DeleteRepositoryPolicy", DeleteRepositoryPolicy, Target::kName},
    {"DescribeImages", DescribeImages, Target::kName},
    {"DescribeRegistry", DescribeRegistry, Target::kNone},
    {"DescribeRepositories", DescribeRepositories, Target::kNone},
    {"GetAuthorizationToken", GetAuthorizationToken, Target::kNone},
    {"GetDownloadUrlForLayer", GetDownloadUrlForLayer, Target::kName},
    {"GetLifecyclePolicy", GetLifecyclePolicy, Target::kName},
    {"GetLifecyclePolicyPreview", GetLifecyclePolicyPreview, Target::kName},
    {"GetRepositoryPolicy", GetRepositoryPolicy, Target::kName},
    {"InitiateLayerUpload", InitiateLayerUpload, Target::kName},
    {"ListImages", ListImages, Target::kName},
    {"ListTagsForResource", ListTagsForResource, Target::kArn},
    {"PutImage", PutImage, Target::kName},
    {"PutImageScanningConfiguration", PutImageScanningConfiguration, Target::kName},
    {"PutImageTagMutability", PutImageTagMutability, Target::kName},
    {"PutLifecyclePolicy", PutLifecyclePolicy, Target::kName},
    {"SetRepositoryPolicy", SetRepositoryPolicy, Target::kName},
    {"StartLifecyclePolicyPreview", StartLifecyclePolicyPreview, Target::kName},
    {"TagResource", TagResource, Target::kArn},
    {"UntagResource", UntagResource, Target::kArn},
    {"UploadLayerPart", UploadLayerPart, Target::kName},
});

const NamedOperation* FindOperation(std::string_view name) {
  for (const auto& op : kOperations) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

bool IsAccountId(std::string_view s) {
  return s.size() == 12 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Fills the call's registry and repository name from registryId and
// repositoryName, or from resourceArn for the tagging operations.
Status ResolveTarget(EcrCall& call, Target target) {
  call.account = call.ctx.principal.account_id;
  if (target == Target::kArn) {
    ANNEX_ASSIGN_OR_RETURN(std::string arn, call.params.RequiredString("resourceArn", 1, 2048));
    std::string prefix = "arn:aws:ecr:" + call.registry.env.region + ":";
    std::string_view rest(arn);
    if (!rest.starts_with(prefix)) return service::InvalidParameter("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'");
    rest.remove_prefix(prefix.size());
    if (rest.size() < 12 + 12 || !IsAccountId(rest.substr(0, 12)) || rest.substr(12, 12) != ":repository/") {
      return service::InvalidParameter("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'");
    }
    call.account = std::string(rest.substr(0, 12));
    call.repository_name = std::string(rest.substr(24));
    return ValidateRepositoryName(call.repository_name, "resourceArn");
  }
  ANNEX_ASSIGN_OR_RETURN(auto registry_id, call.params.String("registryId"));
  if (registry_id) {
    if (!IsAccountId(*registry_id)) {
      return service::ConstraintError("registryId", "must satisfy regular expression '[0-9]{12}'");
    }
    call.account = *registry_id;
  }
  if (target == Target::kName) {
    ANNEX_ASSIGN_OR_RETURN(call.repository_name, call.params.RequiredString("repositoryName"));
    ANNEX_RETURN_IF_ERROR(ValidateRepositoryName(call.repository_name));
  }
  return Status::OK();
}

Task<Status> Respond(service::RequestContext& ctx, const Json& answer) {
  http::Response response;
  response.headers.Set("content-type", "application/x-amz-json-1.1");
  response.body = answer.dump(-1, ' ', false, Json::error_handler_t::replace);
  ctx.bytes_out = response.body.size();
  co_return co_await ctx.response.Send(std::move(response));
}

}  // namespace

// As registry_authorize.h decides for every API. GetAuthorizationToken and
// DescribeRegistry are on "*" (IAM's resource type for them); listings
// without a name are on all of the registry's repositories.
Status AuthorizeOn(const EcrCall& call, std::string_view op, std::string_view name, const RepositoryRecord* repo) {
  RegistryAccess access;
  access.action = "ecr:" + std::string(op);
  const bool registry_wide = op == "GetAuthorizationToken" || op == "DescribeRegistry";
  access.resource = registry_wide ? "*" : call.registry.RepositoryArn(call.account, name.empty() ? "*" : name);
  access.account = call.account;
  access.repository = repo;
  Status s = AuthorizeRegistry(call.registry, call.ctx, access);
  if (s.code() == StatusCode::kPermissionDenied) return http::ApiStatus("AccessDeniedException", s.message());
  return s;
}

http::Task<Status> HandleEcr(Registry& registry, service::RequestContext& ctx) {
  const std::string* target = ctx.request.headers.Get("x-amz-target");
  std::string_view name = target ? std::string_view(*target) : std::string_view();
  const NamedOperation* op =
      name.starts_with(kEcrTargetPrefix) ? FindOperation(name.substr(kEcrTargetPrefix.size())) : nullptr;
  // Unknown names stay out of metrics labels: the client chooses them.
  ctx.operation = op ? std::string(op->name) : "UnknownOperation";
  if (!op) co_return http::ApiStatus("UnknownOperationException", "Unknown operation " + std::string(name));
  if (ctx.principal.anonymous) {
    co_return http::ApiStatus("MissingAuthenticationToken", "Missing Authentication Token");
  }
  Result<std::string> body = co_await http::ReadSmallBody(ctx.body, kMaxBody);
  if (!body.ok()) {
    if (body.status().subcode() == "MaxMessageLengthExceeded") {
      co_return service::InvalidParameter("Request body larger than " + std::to_string(kMaxBody) + " bytes");
    }
    co_return body.status();
  }
  ANNEX_CO_ASSIGN_OR_RETURN(service::JsonParams params, service::JsonParams::Parse(*body));
  EcrCall call{ctx, params, registry, "", "", std::nullopt, os::ToUnixMillis(ctx.clock.Now())};
  ANNEX_CO_RETURN_IF_ERROR(ResolveTarget(call, op->target));
  if (!call.repository_name.empty()) {
    Result<RepositoryRecord> repo = co_await call.Blocking(
        [&] { return registry.store->GetRepository(call.account, call.repository_name); });
    if (repo.ok()) call.repository = std::move(*repo);
    else if (repo.status().code() != StatusCode::kNotFound) co_return repo.status();
  }
  // DescribeRepositories with names authorizes each repository itself.
  bool per_repository = op->name == "DescribeRepositories" && params.Member("repositoryNames");
  if (!per_repository) {
    ANNEX_CO_RETURN_IF_ERROR(AuthorizeOn(call, op->name, call.repository_name, call.repository ? &*call.repository : nullptr));
  }
  Answer answer = co_await op->run(call);
  if (!answer.ok()) co_return answer.status();
  co_return co_await Respond(ctx, *answer);
}

}  // namespace annex::registry
