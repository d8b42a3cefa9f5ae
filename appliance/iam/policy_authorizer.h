#pragma once
// PolicyAuthorizer: service::Authorizer by IAM policy evaluation. It knows
// the caller from the request's principal, finds the caller's identity
// policies in the PolicyStore (compiled once per change) — a user's own and
// its groups', or a role session's role's — with the permissions boundary
// and the session's policies, adds the global condition keys the appliance
// can know, and evaluates (appliance/policy).
//
// Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"
#include "appliance/service/authorizer.h"

namespace annex::iam {

// Keeps the compiled policies a PolicySet points into alive.
using CompiledPolicyHold = std::vector<std::shared_ptr<const CompiledPolicies>>;

// Adds the identity policies and permissions boundary of an entity to
// `set`: a user's own and its groups', a group's, or a role's. False when
// they cannot be read (the caller must then allow nothing).
bool CollectEntityPolicies(const IdentityStore& identities, const PolicyStore& policies, const std::string& account,
                           EntityType type, const std::string& name, CompiledPolicyHold& hold,
                           policy::PolicySet& set);

class PolicyAuthorizer final : public service::Authorizer {
 public:
  PolicyAuthorizer(const IdentityStore& identities, const PolicyStore& policies)
      : identities_(identities), policies_(policies) {}

  policy::Verdict Check(const service::RequestContext& ctx, service::AccessRequest& request,
                        policy::AuthorizationRequest* evaluated = nullptr) const override;

 private:
  const IdentityStore& identities_;
  const PolicyStore& policies_;
};

// The request's global condition keys — aws:SourceIp, aws:CurrentTime,
// aws:EpochTime, aws:SecureTransport, aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:RequestedRegion, aws:username, aws:userid,
// aws:PrincipalTag/* (session tags), aws:MultiFactorAuthPresent (false:
// the appliance has no MFA) — each
// computed when a policy first reads it. `ctx` must outlive `context`.
void AddGlobalKeys(const service::RequestContext& ctx, policy::RequestContext& context);

}  // namespace annex::iam
