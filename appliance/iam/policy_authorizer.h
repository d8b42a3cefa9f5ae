#pragma once
// PolicyAuthorizer: service::Authorizer by IAM policy evaluation. It knows
// the caller from the request's principal, finds the caller's identity
// policies in the PolicyStore (compiled once per change), adds the global
// condition keys the appliance can know, and evaluates (appliance/policy).
//
// Thread-safe.

#include <string>

#include "appliance/iam/policy_store.h"
#include "appliance/service/authorizer.h"

namespace annex::iam {

class PolicyAuthorizer final : public service::Authorizer {
 public:
  explicit PolicyAuthorizer(const PolicyStore& policies) : policies_(policies) {}

  policy::Verdict Check(const service::RequestContext& ctx, service::AccessRequest& request,
                        policy::AuthorizationRequest* evaluated = nullptr) const override;

 private:
  const PolicyStore& policies_;
};

// The request's global condition keys — aws:SourceIp, aws:CurrentTime,
// aws:EpochTime, aws:SecureTransport, aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:RequestedRegion, aws:username, aws:userid,
// aws:MultiFactorAuthPresent (false: the appliance has no MFA) — each
// computed when a policy first reads it. `ctx` must outlive `context`.
void AddGlobalKeys(const service::RequestContext& ctx, policy::RequestContext& context);

}  // namespace annex::iam
