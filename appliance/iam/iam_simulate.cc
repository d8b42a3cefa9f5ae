#include "appliance/iam/iam_simulate.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "appliance/core/strings.h"
#include "appliance/iam/iam_paging.h"
#include "appliance/iam/iam_response.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/policy/evaluation.h"

namespace annex::iam {
namespace {

// "Prefix.member.1", "Prefix.member.2", … until the first missing one.
std::vector<std::string> MemberList(const http::QueryParams& p, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 1;; ++i) {
    const std::string* v = p.Get(prefix + ".member." + std::to_string(i));
    if (!v) break;
    out.push_back(*v);
  }
  return out;
}

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "InvalidInput");
}

Status Malformed(const Status& parse, std::string_view what) {
  return Status(StatusCode::kInvalidArgument, std::string(what) + ": " + parse.message(), "MalformedPolicyDocument");
}

// The entity a PolicySourceArn names in `account`.
struct Source {
  EntityType type;
  std::string name;
  std::string arn;
  std::string unique_id;
};

Result<Source> ResolveSource(const std::string& arn, const std::string& account, const IdentityStore& identities) {
  const std::string prefix = "arn:aws:iam::" + account + ":";
  Status missing(StatusCode::kNotFound, "Entity " + arn + " does not exist.", "NoSuchEntity");
  if (!arn.starts_with(prefix)) return Invalid("Invalid ARN " + arn + ": not an entity of this account.");
  std::string_view resource = std::string_view(arn).substr(prefix.size());
  std::string name(resource.substr(resource.rfind('/') + 1));
  if (resource.starts_with("user/")) {
    auto u = identities.GetUser(account, name);
    if (!u.ok() || u->arn != arn) return missing;
    return Source{EntityType::kUser, name, arn, u->user_id};
  }
  if (resource.starts_with("group/")) {
    auto g = identities.GetGroup(account, name);
    if (!g.ok() || g->arn != arn) return missing;
    return Source{EntityType::kGroup, name, arn, g->group_id};
  }
  if (resource.starts_with("role/")) {
    auto r = identities.GetRole(account, name);
    if (!r.ok() || r->arn != arn) return missing;
    return Source{EntityType::kRole, name, arn, r->role_id};
  }
  return Invalid("Invalid ARN " + arn + ": a user, group or role is required.");
}

// ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}.
Status AddContextEntries(const http::QueryParams& p, policy::RequestContext& context) {
  for (int i = 1;; ++i) {
    std::string base = "ContextEntries.member." + std::to_string(i);
    const std::string* name = p.Get(base + ".ContextKeyName");
    if (!name) break;
    if (name->empty() || name->size() > 256) return Invalid("ContextKeyName must have 5-256 characters.");
    context.SetAll(*name, MemberList(p, base + ".ContextKeyValues"));
  }
  return Status::OK();
}

std::string_view DecisionName(policy::Decision d) {
  switch (d) {
    case policy::Decision::kAllow: return "allowed";
    case policy::Decision::kExplicitDeny: return "explicitDeny";
    case policy::Decision::kImplicitDeny: return "implicitDeny";
  }
  return "implicitDeny";
}

struct Simulation {
  policy::Caller caller;
  std::string resource_account;
  policy::PolicySet set;
  CompiledPolicyHold hold;                 // the source's compiled policies
  std::vector<policy::Policy> input;       // PolicyInputList
  std::vector<policy::Policy> boundaries;  // PermissionsBoundaryPolicyInputList
  std::optional<policy::Policy> resource;  // ResourcePolicy
  policy::RequestContext base_context;
};

Status ParseInputs(const http::QueryParams& p, Simulation& sim) {
  for (const std::string& doc : MemberList(p, "PolicyInputList")) {
    auto parsed = policy::ParsePolicy(doc, policy::PolicyKind::kIdentity);
    if (!parsed.ok()) return Malformed(parsed.status(), "PolicyInputList");
    sim.input.push_back(std::move(*parsed));
  }
  for (const std::string& doc : MemberList(p, "PermissionsBoundaryPolicyInputList")) {
    auto parsed = policy::ParsePolicy(doc, policy::PolicyKind::kIdentity);
    if (!parsed.ok()) return Malformed(parsed.status(), "PermissionsBoundaryPolicyInputList");
    sim.boundaries.push_back(std::move(*parsed));
  }
  if (sim.boundaries.size() > 1) return Invalid("At most one permissions boundary policy may be given.");
  if (const std::string* doc = p.Get("ResourcePolicy")) {
    auto parsed = policy::ParsePolicy(*doc, policy::PolicyKind::kResource);
    if (!parsed.ok()) return Malformed(parsed.status(), "ResourcePolicy");
    sim.resource = std::move(*parsed);
  }
  for (const auto& policy : sim.input) sim.set.identity.push_back(&policy);
  if (!sim.boundaries.empty()) sim.set.boundary = &sim.boundaries.front();
  if (sim.resource) sim.set.resource = &*sim.resource;
  return AddContextEntries(p, sim.base_context);
}

// What the appliance would know about the caller of a live request.
void AddCallerKeys(const Simulation& sim, const std::optional<Source>& source, const os::Clock& clock,
                   policy::RequestContext& context) {
  auto set_default = [&](std::string_view key, std::string value) {
    if (!context.Get(key)) context.Set(key, std::move(value));
  };
  auto now = clock.Now();
  set_default("aws:CurrentTime", FormatIso8601(now));
  set_default("aws:EpochTime",
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  set_default("aws:MultiFactorAuthPresent", "false");
  if (sim.caller.arn.empty()) return;
  set_default("aws:PrincipalArn", sim.caller.type == policy::CallerType::kRoleSession ? sim.caller.role_arn
                                                                                      : sim.caller.arn);
  set_default("aws:PrincipalAccount", sim.caller.account_id);
  if (!source) return;
  if (source->type == EntityType::kUser) {
    set_default("aws:username", source->name);
    set_default("aws:userid", source->unique_id);
    set_default("aws:PrincipalType", "User");
  } else if (source->type == EntityType::kRole) {
    set_default("aws:PrincipalType", "AssumedRole");
  }
}

}  // namespace

bool IsSimulateAction(std::string_view action) {
  return action == "SimulatePrincipalPolicy" || action == "SimulateCustomPolicy";
}

Result<std::string> RunSimulateAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                                      const std::string& request_id, const IdentityStore& identities,
                                      const PolicyStore& policies, const os::Clock& clock) {
  std::vector<std::string> actions = MemberList(p, "ActionNames");
  if (actions.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member "
                  "must not be null",
                  "ValidationError");
  }
  std::vector<std::string> resources = MemberList(p, "ResourceArns");
  if (resources.empty()) resources.push_back("*");

  Simulation sim;
  ANNEX_RETURN_IF_ERROR(ParseInputs(p, sim));
  std::optional<Source> source;
  if (action == "SimulatePrincipalPolicy") {
    ANNEX_ASSIGN_OR_RETURN(source, ResolveSource(Param(p, "PolicySourceArn"), account, identities));
    // A boundary given to simulate replaces the source's own.
    const policy::Policy* given_boundary = sim.set.boundary;
    if (!CollectEntityPolicies(identities, policies, account, source->type, source->name, sim.hold, sim.set)) {
      return Status::Internal("the policies of " + source->arn + " cannot be read");
    }
    if (given_boundary) sim.set.boundary = given_boundary;
    sim.caller.account_id = account;
    sim.caller.arn = source->arn;
    sim.caller.type = source->type == EntityType::kRole ? policy::CallerType::kRoleSession : policy::CallerType::kUser;
    if (source->type == EntityType::kRole) sim.caller.role_arn = source->arn;
  } else {
    sim.caller.account_id = account;
    sim.caller.type = policy::CallerType::kUser;
  }
  if (const std::string* caller = p.Get("CallerArn")) sim.caller.arn = *caller;
  if (sim.resource && sim.caller.arn.empty()) {
    return Invalid("CallerArn is required to simulate a resource policy for a custom policy.");
  }
  sim.resource_account = account;
  if (const std::string* owner = p.Get("ResourceOwner")) {
    std::string_view o = *owner;
    constexpr std::string_view kPrefix = "arn:aws:iam::";
    if (o.starts_with(kPrefix) && o.size() >= kPrefix.size() + 12) sim.resource_account = std::string(o.substr(kPrefix.size(), 12));
  }

  struct Evaluated {
    std::string key;  // paging key: the position, zero-padded
    std::string action, resource;
    policy::Decision decision;
  };
  std::vector<Evaluated> results;
  for (const std::string& a : actions) {
    for (const std::string& r : resources) {
      policy::AuthorizationRequest request;
      request.caller = sim.caller;
      request.action = a;
      request.resource = r;
      request.resource_account = sim.resource_account;
      request.context = sim.base_context;
      AddCallerKeys(sim, source, clock, request.context);
      policy::Verdict verdict = policy::Evaluate(request, sim.set);
      char key[16];
      std::snprintf(key, sizeof key, "%08zu", results.size());
      results.push_back({key, a, r, verdict.decision});
    }
  }

  Responder out(action, request_id);
  auto page = Paginate(results, p, [](const Evaluated& r) { return r.key; });
  auto list = out.Result().Child("EvaluationResults");
  for (const Evaluated& r : page.items) {
    auto node = list.Child("member");
    node.Add("EvalActionName", r.action).Add("EvalResourceName", r.resource)
        .Add("EvalDecision", DecisionName(r.decision));
    node.Child("MatchedStatements");
    node.Child("MissingContextValues");
  }
  page.Finish(out.Result());
  return out.Finish();
}

}  // namespace annex::iam
