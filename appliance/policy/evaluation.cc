#include "appliance/policy/evaluation.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "appliance/core/strings.h"
#include "appliance/policy/condition.h"
#include "appliance/policy/variables.h"
#include "appliance/policy/wildcard.h"

namespace annex::policy {
namespace {

// How a Principal entry covers the caller, weakest first.
enum class Cover { kNo, kAccount, kRole, kDirect };

Cover EntryCovers(const std::string& entry, const Caller& c) {
  if (entry == "*") return Cover::kDirect;
  if (c.type == CallerType::kAnonymous) return Cover::kNo;
  if (entry == c.account_id || entry == "arn:aws:iam::" + c.account_id + ":root") {
    return c.type == CallerType::kRoot ? Cover::kDirect : Cover::kAccount;
  }
  if (entry == c.arn) return Cover::kDirect;
  if (c.type == CallerType::kRoleSession && entry == c.role_arn) return Cover::kRole;
  return Cover::kNo;
}

// NotPrincipal exempts the caller only when it names every principal the
// caller stands for, as AWS requires: its account, and its user, or its
// role and its session. Naming alice alone still denies alice.
bool NamesWholeChain(const PrincipalSet& set, const Caller& c) {
  if (set.everyone) return true;
  auto listed = [&set](std::string_view arn) {
    return std::find(set.aws.begin(), set.aws.end(), arn) != set.aws.end();
  };
  bool account = listed(c.account_id) || listed("arn:aws:iam::" + c.account_id + ":root");
  switch (c.type) {
    case CallerType::kAnonymous: return false;
    case CallerType::kRoot: return account;
    case CallerType::kUser: return account && listed(c.arn);
    case CallerType::kRoleSession: return account && listed(c.arn) && listed(c.role_arn);
  }
  return false;
}

Cover PrincipalCover(const Statement& s, const Caller& caller) {
  if (!s.principal) return Cover::kDirect;  // an identity policy: its owner is the caller
  if (s.not_principal) return NamesWholeChain(*s.principal, caller) ? Cover::kNo : Cover::kDirect;
  Cover best = s.principal->everyone ? Cover::kDirect : Cover::kNo;
  for (const auto& entry : s.principal->aws) best = std::max(best, EntryCovers(entry, caller));
  return best;
}

// The request's action in lower case, on the stack unless it is unusually long.
class LowerAction {
 public:
  explicit LowerAction(std::string_view action) {
    if (action.size() > sizeof(buffer_)) {
      heap_ = ToLower(action);
      view_ = heap_;
      return;
    }
    for (size_t i = 0; i < action.size(); ++i) {
      char c = action[i];
      buffer_[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    view_ = std::string_view(buffer_, action.size());
  }
  LowerAction(const LowerAction&) = delete;
  LowerAction& operator=(const LowerAction&) = delete;
  std::string_view view() const { return view_; }

 private:
  char buffer_[128];
  std::string heap_;
  std::string_view view_;
};

// `action` is lower case, as the compiled patterns are.
bool ActionMatches(const Statement& s, std::string_view action) {
  bool any = false;
  for (size_t i = 0; i < s.actions.size() && !any; ++i) {
    any = action.starts_with(s.action_prefixes[i]) && WildcardMatch(s.actions[i], action);
  }
  return s.not_action ? !any : any;
}

bool PatternMatches(std::string_view pattern, const PatternShape& shape, const AuthorizationRequest& r,
                    bool variables) {
  std::string_view resource = r.resource;
  if (resource.size() < shape.literal || std::memcmp(resource.data(), pattern.data(), shape.literal) != 0) {
    return false;  // its literal beginning rules it out: no substitution can change that
  }
  if (shape.needs_substitution) {
    auto substituted = SubstituteVariables(pattern, r.context, variables);
    return substituted && EscapedWildcardMatch(*substituted, resource);
  }
  if (shape.anything_after) return true;
  if (shape.literal == pattern.size()) return resource.size() == pattern.size();
  return WildcardMatch(pattern.substr(shape.literal), resource.substr(shape.literal));
}

bool ResourceMatches(const Statement& s, const AuthorizationRequest& r, bool variables) {
  if (!s.has_resource) return true;
  bool any = false;
  if (s.resource_shapes.size() == s.resources.size()) {
    for (size_t i = 0; i < s.resources.size() && !any; ++i) {
      any = PatternMatches(s.resources[i], s.resource_shapes[i], r, variables);
    }
  } else {
    // A statement assembled by hand rather than parsed: each pattern as written.
    for (size_t i = 0; i < s.resources.size() && !any; ++i) {
      auto pattern = SubstituteVariables(s.resources[i], r.context, variables);
      any = pattern && EscapedWildcardMatch(*pattern, r.resource);
    }
  }
  return s.not_resource ? !any : any;
}

// What the statements of some policies say about the request.
struct Findings {
  bool allow = false;
  bool deny = false;
  Cover allow_cover = Cover::kNo;  // the strongest principal match of an Allow
};

void Consider(const Statement& s, const AuthorizationRequest& r, bool variables, Findings& f) {
  if (!ResourceMatches(s, r, variables)) return;
  Cover cover = PrincipalCover(s, r.caller);
  if (cover == Cover::kNo) return;
  if (!ConditionsHold(s.conditions, r.context, variables)) return;
  if (s.effect == Effect::kDeny) {
    f.deny = true;
  } else {
    f.allow = true;
    f.allow_cover = std::max(f.allow_cover, cover);
  }
}

// The statements whose action matches, through the policy's index when it
// has one (ParsePolicy builds it), each in turn otherwise: the index only
// leaves out statements that could not apply, and keeps their order.
void Scan(const Policy& policy, const AuthorizationRequest& r, const StatementIndex::Action& action, Findings& f) {
  const bool variables = policy.variables();
  if (!policy.index.Covers(policy.statements.size())) {
    for (const Statement& s : policy.statements) {
      if (ActionMatches(s, action.text)) Consider(s, r, variables, f);
    }
    return;
  }
  StatementMatches matches;
  policy.index.Find(action, r.resource, matches);
  for (uint32_t i : matches.Sorted()) Consider(policy.statements[i], r, variables, f);
}

Findings ScanAll(std::span<const Policy* const> policies, const AuthorizationRequest& r,
                 const StatementIndex::Action& action) {
  Findings f;
  for (const Policy* p : policies) {
    if (p) Scan(*p, r, action, f);
  }
  return f;
}

}  // namespace

bool PrincipalMatches(const Statement& s, const Caller& caller, bool* direct) {
  Cover cover = PrincipalCover(s, caller);
  if (direct) *direct = cover == Cover::kDirect || cover == Cover::kRole;
  return cover != Cover::kNo;
}

Verdict Evaluate(const AuthorizationRequest& r, const PolicySet& policies) {
  const bool anonymous = r.caller.type == CallerType::kAnonymous;
  // Actions compare without case: lowered once, as the patterns were.
  LowerAction lowered(r.action);
  const StatementIndex::Action action(lowered.view());
  Findings identity = anonymous ? Findings{} : ScanAll(policies.identity, r, action);
  Findings boundary = policies.boundary && !anonymous ? ScanAll({&policies.boundary, 1}, r, action) : Findings{};
  Findings session = policies.has_session_policies && !anonymous ? ScanAll(policies.session, r, action) : Findings{};
  Findings resource = policies.resource ? ScanAll({&policies.resource, 1}, r, action) : Findings{};

  if (identity.deny) return {Decision::kExplicitDeny, PolicyType::kIdentity};
  if (boundary.deny) return {Decision::kExplicitDeny, PolicyType::kBoundary};
  if (session.deny) return {Decision::kExplicitDeny, PolicyType::kSession};
  if (resource.deny) return {Decision::kExplicitDeny, PolicyType::kResource};

  if (policies.resource_required && !resource.allow) return {Decision::kImplicitDeny, PolicyType::kResource};
  if (anonymous) {
    if (resource.allow && resource.allow_cover == Cover::kDirect) return {Decision::kAllow, PolicyType::kNone};
    return {Decision::kImplicitDeny, PolicyType::kResource};
  }

  const bool root = r.caller.type == CallerType::kRoot;
  const bool identity_ok = root || identity.allow;  // the root is not limited by identity policies
  const bool boundary_ok = !policies.boundary || boundary.allow;
  const bool session_ok = !policies.has_session_policies || session.allow;
  const bool identity_side = identity_ok && boundary_ok && session_ok;
  const PolicyType lacking = !identity_ok ? PolicyType::kIdentity
                             : !boundary_ok ? PolicyType::kBoundary
                                            : PolicyType::kSession;
  const bool same_account = r.resource_account.empty() || r.resource_account == r.caller.account_id;

  if (same_account) {
    if (identity_side) return {Decision::kAllow, PolicyType::kNone};
    if (resource.allow) {
      if (resource.allow_cover == Cover::kDirect) return {Decision::kAllow, PolicyType::kNone};
      if (resource.allow_cover == Cover::kRole && boundary_ok && session_ok) return {Decision::kAllow, PolicyType::kNone};
    }
    return {Decision::kImplicitDeny, lacking};
  }
  if (!identity_side) return {Decision::kImplicitDeny, lacking};
  if (resource.allow) return {Decision::kAllow, PolicyType::kNone};
  return {Decision::kImplicitDeny, PolicyType::kResource};
}

std::string DenialMessage(const AuthorizationRequest& r, const Verdict& v) {
  std::string who = r.caller.type == CallerType::kAnonymous ? "anonymous" : r.caller.arn;
  std::string out = "User: " + who + " is not authorized to perform: " + r.action + " on resource: \"" + r.resource +
                    "\"";
  auto kind = [](PolicyType t) -> std::string {
    switch (t) {
      case PolicyType::kBoundary: return "permissions boundary";
      case PolicyType::kSession: return "session policy";
      case PolicyType::kResource: return "resource-based policy";
      default: return "identity-based policy";
    }
  };
  if (v.decision == Decision::kExplicitDeny) {
    std::string k = kind(v.because);
    bool vowel = k.front() == 'i';
    return out + " with an explicit deny in " + (vowel ? "an " : "a ") + k;
  }
  return out + " because no " + kind(v.because) + " allows the " + r.action + " action";
}

}  // namespace annex::policy
