#pragma once
// Authorizer: the platform's one answer to "may this principal perform this
// action on this resource in this context?", as IAM decides it
// (appliance/policy). A service describes the request — the action and
// resource from its operation table, the resource's owner and policy, its
// own condition keys — and the platform adds the caller's identity
// policies and the global keys (aws:SourceIp, aws:CurrentTime,
// aws:username, …). One implementation (iam::PolicyAuthorizer), handed to
// every service in its Environment.

#include <string>

#include "appliance/policy/evaluation.h"
#include "appliance/policy/policy.h"
#include "appliance/policy/request_context.h"
#include "appliance/service/request_context.h"

namespace annex::service {

struct AccessRequest {
  std::string action;            // "s3:GetObject"
  std::string resource;          // its ARN; "*" for an action on no resource
  std::string resource_account;  // the owner's account; empty: the caller's
  const policy::Policy* resource_policy = nullptr;
  bool resource_policy_required = false;  // a role's trust policy: its Allow is needed in any case
  policy::RequestContext context;  // the service's keys (s3:prefix, …)
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // The verdict. `request` is consumed; `evaluated`, when given,
  // receives the request as evaluated (the caller and global keys added),
  // for policy::DenialMessage.
  virtual policy::Verdict Check(const RequestContext& ctx, AccessRequest& request,
                                policy::AuthorizationRequest* evaluated = nullptr) const = 0;
};

}  // namespace annex::service
