#pragma once
// Evaluate: may this caller perform this action on this resource in this
// context? AWS's policy evaluation logic, for the policy types the
// appliance has:
//
//   1. An explicit Deny in any applicable policy (identity, permissions
//      boundary, session, resource) decides: denied.
//   2. The caller's identity policies must allow — unless the caller is its
//      account's root acting in its own account, which they do not limit —
//      and, where set, so must its permissions boundary and its session
//      policies (an assumed role's).
//   3. Within one account, an Allow from the resource's policy that names
//      the caller itself (its user ARN, its role session ARN, or "*")
//      suffices on its own; one that names the role (not the session)
//      still goes through the boundary and session policies; one that names
//      only the account delegates to the account's identity policies.
//   4. Across accounts, both the identity side (2) and the resource policy
//      must allow.
//   5. Otherwise denied implicitly, and the verdict says which policy type
//      was missing an Allow, for AWS's message.
//
// Pure; thread-safe.

#include <string>
#include <vector>

#include "appliance/policy/policy.h"
#include "appliance/policy/request_context.h"

namespace annex::policy {

enum class CallerType { kAnonymous, kRoot, kUser, kRoleSession };

struct Caller {
  CallerType type = CallerType::kAnonymous;
  std::string account_id;
  // arn:aws:iam::A:root, arn:aws:iam::A:user/NAME or
  // arn:aws:sts::A:assumed-role/ROLE/SESSION.
  std::string arn;
  // For a role session: arn:aws:iam::A:role/ROLE (with its path), which a
  // resource or trust policy may name instead of the session.
  std::string role_arn;
};

struct AuthorizationRequest {
  Caller caller;
  std::string action;            // "s3:GetObject"
  std::string resource;          // its ARN ("*" for actions on no resource)
  std::string resource_account;  // the owner's account; empty: the caller's
  RequestContext context;        // condition keys, variables' values included
};

// The policies that apply to one request.
struct PolicySet {
  std::vector<const Policy*> identity{};  // inline and attached: the caller's, its groups'
  const Policy* boundary = nullptr;     // permissions boundary, when set
  bool has_session_policies = false;    // an assumed role's session was narrowed
  std::vector<const Policy*> session{};
  const Policy* resource = nullptr;     // the resource's own policy, when it has one
  // The resource policy must allow in any case, as a role's trust policy
  // must (AWS's exception to rule 3): without its Allow, denied.
  bool resource_required = false;
};

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

// Which kind of policy decided a denial (or lacked the Allow).
enum class PolicyType { kNone, kIdentity, kBoundary, kSession, kResource };

struct Verdict {
  Decision decision = Decision::kImplicitDeny;
  PolicyType because = PolicyType::kNone;
  bool allowed() const { return decision == Decision::kAllow; }
};

Verdict Evaluate(const AuthorizationRequest& request, const PolicySet& policies);

// AWS's wording for JSON and Query services: "User: ARN is not authorized to
// perform: ACTION on resource: \"RESOURCE\" because no identity-based policy
// allows the ACTION action" (or "with an explicit deny in a … policy").
std::string DenialMessage(const AuthorizationRequest& request, const Verdict& verdict);

// Whether a statement's Principal/NotPrincipal covers the caller (resource
// and trust policies); `direct` tells whether it named the caller itself
// rather than its account. Exposed for trust policy checks (AssumeRole).
bool PrincipalMatches(const Statement& s, const Caller& caller, bool* direct = nullptr);

}  // namespace annex::policy
