// Get/Put/DeleteBucketPolicy, GetBucketPolicyStatus and
// Get/Put/DeletePublicAccessBlock: the bucket policy and Block Public
// Access settings, stored in the bucket's record.

#include <functional>
#include <memory>

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/bucket_policy.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/public_access_block.h"

namespace annex::objectstore {
namespace {

// Room for a policy at the limit with generous indentation; past it the
// document cannot be under the limit in any reasonable layout.
constexpr size_t kMaxPolicyBody = 256 * 1024;
constexpr size_t kMaxBlockBody = 64 * 1024;

Status NoSuchBucketPolicy() { return http::ApiStatus("NoSuchBucketPolicy", "The bucket policy does not exist"); }

// S3 lets only the bucket owner's account manage the policy: another account
// that a policy lets through still gets 405.
Status RequireOwnerAccount(const S3Call& call, const BucketRecord& bucket) {
  if (IsOwner(call.ctx.principal, bucket)) return Status::OK();
  return http::ApiStatus("MethodNotAllowed", "The specified method is not allowed against this resource.");
}

Result<std::shared_ptr<CompiledBucketPolicy>> Compile(std::string_view document, std::string_view bucket) {
  ANNEX_ASSIGN_OR_RETURN(policy::Policy parsed, ParseBucketPolicy(document, bucket));
  auto compiled = std::make_shared<CompiledBucketPolicy>();
  compiled->is_public = IsPublicPolicy(parsed);
  compiled->policy = std::move(parsed);
  return compiled;
}

}  // namespace

http::Task<Status> GetBucketPolicy(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_RETURN_IF_ERROR(RequireOwnerAccount(call, bucket));
  if (!bucket.has_policy()) co_return NoSuchBucketPolicy();
  http::Response r;
  r.headers.Set("content-type", "application/json");
  r.body = std::move(bucket.policy);
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Task<Status> PutBucketPolicy(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_RETURN_IF_ERROR(RequireOwnerAccount(call, bucket));
  Result<std::string> body = co_await http::ReadSmallBody(call.ctx.body, kMaxPolicyBody);
  if (!body.ok() && body.status().subcode() == "MaxMessageLengthExceeded") {
    co_return http::ApiStatus("PolicyTooLarge", "Policy exceeds the maximum allowed document size.");
  }
  ANNEX_CO_RETURN_IF_ERROR(body.status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::shared_ptr<CompiledBucketPolicy> compiled, Compile(*body, call.bucket()));
  const uint64_t id = NewPolicyId();
  uint64_t replaced = 0;
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    // Checked against the settings as committed, so a racing
    // PutPublicAccessBlock cannot let a public policy slip in.
    if (compiled->is_public && current.public_access_block && current.public_access_block->block_public_policy) {
      return http::ApiStatus("AccessDenied", "Access Denied");
    }
    replaced = current.policy_id;
    current.policy = *body;
    current.policy_id = id;
    return Status::OK();
  }));
  call.store.bucket_policies().Forget(replaced);
  call.store.bucket_policies().Remember(id, std::move(compiled));
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

http::Task<Status> DeleteBucketPolicy(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_RETURN_IF_ERROR(RequireOwnerAccount(call, bucket));
  uint64_t removed = 0;
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    removed = current.policy_id;
    current.policy.clear();
    current.policy_id = 0;
    return Status::OK();
  }));
  call.store.bucket_policies().Forget(removed);
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

http::Task<Status> GetBucketPolicyStatus(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(auto compiled, call.store.bucket_policies().For(bucket));
  if (!compiled) co_return NoSuchBucketPolicy();
  http::XmlDocument doc("PolicyStatus", http::kS3XmlNamespace);
  doc.root().AddBool("IsPublic", compiled->is_public);
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> GetPublicAccessBlock(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (!bucket.public_access_block) {
    co_return http::ApiStatus("NoSuchPublicAccessBlockConfiguration",
                              "The public access block configuration was not found");
  }
  co_return co_await call.ctx.response.Send(XmlResponse(RenderPublicAccessBlock(*bucket.public_access_block)));
}

http::Task<Status> PutPublicAccessBlock(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxBlockBody));
  ANNEX_CO_ASSIGN_OR_RETURN(PublicAccessBlock block, ParsePublicAccessBlock(body));
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    current.public_access_block = block;
    return Status::OK();
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> DeletePublicAccessBlock(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [](BucketRecord& current) -> Status {
    current.public_access_block.reset();
    return Status::OK();
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

}  // namespace annex::objectstore
