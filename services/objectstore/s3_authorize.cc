// AuthorizeS3 and AuthorizeS3Account (s3_call.h): S3's authorization as AWS
// documents it. This file only describes the request — the action and
// resource from s3_actions.cc, the bucket's owner and compiled policy, the
// s3: condition keys — and reads the platform Authorizer's verdict; the
// policies themselves are evaluated there (appliance/policy), and the ACLs
// and Block Public Access settings add S3's own rules around it.

#include <optional>

#include "appliance/http/api_error.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {
namespace {

Status Denied() { return http::ApiStatus("AccessDenied", "Access Denied"); }

// The request's s3: condition keys (listing parameters, the canned ACL asked for).
void AddS3Keys(const S3Call& call, policy::RequestContext& context) {
  for (std::string_view name : {"prefix", "delimiter", "max-keys"}) {
    if (const std::string* v = call.query().Get(name)) context.Set("s3:" + std::string(name), *v);
  }
  const http::Headers& headers = call.form_headers ? *call.form_headers : call.headers();
  if (const std::string* acl = headers.Get("x-amz-acl")) context.Set("s3:x-amz-acl", *acl);
  if (const std::string* source = call.headers().Get("x-amz-copy-source")) context.Set("s3:x-amz-copy-source", *source);
}

// S3's lockout protection: the bucket owner's root may always read, replace
// and delete the bucket policy, whatever the policy denies.
bool LockoutExempt(S3Op op) {
  return op == S3Op::kGetBucketPolicy || op == S3Op::kPutBucketPolicy || op == S3Op::kDeleteBucketPolicy;
}

// The action and resource the call asks for; nullopt when nothing is
// checked here (the CORS preflight; DeleteObjects, whose handler asks for
// each key).
std::optional<S3Target> Requested(const S3Call& call) {
  S3Permission permission = PermissionFor(call.op);
  switch (permission.resource) {
    case S3Resource::kPublic:
    case S3Resource::kPerKey:
      return std::nullopt;
    case S3Resource::kNone:
      return S3Target{permission.action, "*"};
    case S3Resource::kBucket:
      return S3Target{permission.action, BucketArn(call.bucket())};
    case S3Resource::kObject: {
      std::string_view action = call.query().Has("versionId") ? VersionAction(permission.action) : permission.action;
      return S3Target{action, ObjectArn(call.bucket(), call.key())};
    }
  }
  return S3Target{"s3:*", BucketArn(call.bucket())};  // unreachable: every kind is handled
}

policy::Verdict Ask(const S3Call& call, const S3Target& target, std::string_view owner,
                    const policy::Policy* bucket_policy) {
  service::AccessRequest request;
  request.action = std::string(target.action);
  request.resource = target.resource;
  request.resource_account = std::string(owner);
  request.resource_policy = bucket_policy;
  AddS3Keys(call, request.context);
  return call.store.options().authorizer->Check(call.ctx, request);
}

}  // namespace

Status AuthorizeS3(const S3Call& call, const BucketRecord& bucket, Access access, const ObjectRecord* object,
                   const S3Target* target) {
  std::optional<S3Target> requested = target ? std::optional<S3Target>(*target) : Requested(call);
  if (!requested) return Status::OK();
  const auth::Principal& caller = call.ctx.principal;
  const bool own_account = IsOwner(caller, bucket);
  if (!call.store.options().authorizer) {  // the engine alone: the owner does everything, others what ACLs grant
    return own_account || AclGrants(caller, bucket, access, object) ? Status::OK() : Denied();
  }
  // The owner's root is bound by nothing but a bucket policy's Deny: without
  // a policy (the common case) there is nothing to evaluate.
  if (own_account && caller.is_root() && (!bucket.has_policy() || (!target && LockoutExempt(call.op)))) {
    return Status::OK();
  }
  ANNEX_ASSIGN_OR_RETURN(auto compiled, call.store.bucket_policies().For(bucket));
  policy::Verdict verdict = Ask(call, *requested, bucket.owner_id, compiled ? &compiled->policy : nullptr);
  // RestrictPublicBuckets: a public policy grants nothing outside the
  // owner's account. An outsider is only ever allowed with the bucket
  // policy's Allow, so its Allow is the policy's and does not count.
  const bool restricted = !own_account && compiled && compiled->is_public && PublicPolicyRestricted(bucket);
  if (verdict.allowed() && !restricted) return Status::OK();
  if (verdict.decision == policy::Decision::kExplicitDeny) return Denied();
  // An ACL grant stands in for the bucket's side: beside the identity
  // policies of the owner's own principals; for an outsider only when the
  // bucket's side was all that was missing (its identity policies allow).
  const bool only_bucket_side_missing = verdict.allowed() || verdict.because == policy::PolicyType::kResource;
  if ((own_account || only_bucket_side_missing) && AclGrants(caller, bucket, access, object)) return Status::OK();
  return Denied();
}

Status AuthorizeS3Account(const S3Call& call) {
  const auth::Principal& caller = call.ctx.principal;
  if (caller.anonymous) return Denied();
  if (!call.store.options().authorizer || caller.is_root()) return Status::OK();
  S3Permission permission = PermissionFor(call.op);
  S3Target target{permission.action, permission.resource == S3Resource::kNone ? "*" : BucketArn(call.bucket())};
  return Ask(call, target, caller.account_id, nullptr).allowed() ? Status::OK() : Denied();
}

}  // namespace annex::objectstore
