#include "appliance/policy/policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <span>

#include <nlohmann/json.hpp>

#include "appliance/core/strings.h"
#include "appliance/policy/condition.h"

namespace annex::policy {
namespace {

using Json = nlohmann::json;

Status Malformed(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "MalformedPolicyDocument");
}

constexpr auto kOperators = std::to_array<std::string_view>({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
});

// A string or a non-empty list of strings; `what` names the element in errors.
Result<std::vector<std::string>> StringOrList(const Json& j, std::string_view what) {
  std::vector<std::string> out;
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
    return out;
  }
  if (!j.is_array()) return Malformed("Syntax errors in policy: " + std::string(what) + " must be a string or a list of strings.");
  for (const Json& item : j) {
    if (!item.is_string()) {
      return Malformed("Syntax errors in policy: " + std::string(what) + " must be a string or a list of strings.");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

// "iam:CreateUser", "s3:*", "*": a vendor prefix and a name, or a bare "*".
Status CheckAction(const std::string& action) {
  if (action == "*") return Status::OK();
  size_t colon = action.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == action.size()) {
    return Malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  }
  for (char c : action.substr(0, colon)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return Malformed("Vendor " + action.substr(0, colon) + " is not valid");
    }
  }
  return Status::OK();
}

Status CheckResource(const std::string& resource) {
  if (resource == "*" || resource.starts_with("arn:")) {
    // An ARN needs its six parts: arn:partition:service:region:account:resource.
    if (resource != "*" && std::count(resource.begin(), resource.end(), ':') < 5) {
      return Malformed("Resource " + resource + " must be in ARN format or \"*\".");
    }
    return Status::OK();
  }
  return Malformed("Resource " + resource + " must be in ARN format or \"*\".");
}

Result<PrincipalSet> ParsePrincipal(const Json& j, std::string_view element) {
  PrincipalSet set;
  if (j.is_string()) {
    if (j.get<std::string>() != "*") return Malformed("Invalid principal in policy: " + j.get<std::string>());
    set.everyone = true;
    return set;
  }
  if (!j.is_object() || j.empty()) {
    return Malformed("Syntax errors in policy: " + std::string(element) + " must be \"*\" or an object.");
  }
  for (const auto& [type, value] : j.items()) {
    ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> names, StringOrList(value, std::string(element) + "." + type));
    if (names.empty()) return Malformed("Invalid principal in policy: empty " + type + " list");
    if (type == "AWS") {
      for (const auto& n : names) {
        bool account_id = n.size() == 12 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (n == "*") {
          set.everyone = true;
        } else if (!account_id && !n.starts_with("arn:")) {
          return Malformed("Invalid principal in policy: \"AWS\":\"" + n + "\"");
        }
        set.aws.push_back(n);
      }
    } else if (type == "Service") {
      set.services = std::move(names);
    } else if (type == "Federated") {
      set.federated = std::move(names);
    } else if (type == "CanonicalUser") {
      set.canonical_users = std::move(names);
    } else {
      return Malformed("Invalid principal in policy: unknown principal type \"" + type + "\"");
    }
  }
  return set;
}

Result<std::vector<ConditionClause>> ParseConditions(const Json& j) {
  if (!j.is_object()) return Malformed("Syntax errors in policy: Condition must be an object.");
  std::vector<ConditionClause> out;
  for (const auto& [name, keys] : j.items()) {
    ConditionClause base;
    std::string_view op = name;
    if (op.starts_with("ForAnyValue:")) {
      base.set = SetQualifier::kForAnyValue;
      op.remove_prefix(12);
    } else if (op.starts_with("ForAllValues:")) {
      base.set = SetQualifier::kForAllValues;
      op.remove_prefix(13);
    }
    if (op.ends_with("IfExists") && op != "Null") {
      base.if_exists = true;
      op.remove_suffix(8);
    }
    if (!IsConditionOperator(op) || (op == "Null" && base.if_exists)) {
      return Malformed("Invalid Condition type : " + name);
    }
    base.op = std::string(op);
    if (!keys.is_object() || keys.empty()) {
      return Malformed("Syntax errors in policy: the condition " + name + " must map keys to values.");
    }
    for (const auto& [key, value] : keys.items()) {
      if (key.find(':') == std::string::npos) {
        return Malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
      }
      ConditionClause clause = base;
      clause.key = ToLower(key);
      std::vector<std::string> values;
      auto add = [&](const Json& v) -> Status {
        if (v.is_string()) {
          values.push_back(v.get<std::string>());
        } else if (v.is_boolean()) {
          values.push_back(v.get<bool>() ? "true" : "false");
        } else if (v.is_number_integer()) {
          values.push_back(std::to_string(v.get<int64_t>()));
        } else if (v.is_number()) {
          values.push_back(v.dump());
        } else {
          return Malformed("Syntax errors in policy: condition values must be strings, numbers or booleans.");
        }
        return Status::OK();
      };
      if (value.is_array()) {
        if (value.empty()) return Malformed("Syntax errors in policy: empty value list for condition key " + key);
        for (const Json& v : value) ANNEX_RETURN_IF_ERROR(add(v));
      } else {
        ANNEX_RETURN_IF_ERROR(add(value));
      }
      clause.values = std::move(values);
      PrepareCondition(clause);
      out.push_back(std::move(clause));
    }
  }
  return out;
}

Result<Statement> ParseStatement(const Json& j, PolicyKind kind) {
  if (!j.is_object()) return Malformed("Syntax errors in policy: a statement must be an object.");
  static constexpr auto kKnown = std::to_array<std::string_view>(
      {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"});
  for (const auto& [field, value] : j.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), field) == kKnown.end()) {
      return Malformed("Syntax errors in policy: unknown field " + field);
    }
  }
  Statement s;
  if (auto sid = j.find("Sid"); sid != j.end()) {
    if (!sid->is_string()) return Malformed("Syntax errors in policy: Sid must be a string.");
    s.sid = sid->get<std::string>();
    if (!std::all_of(s.sid.begin(), s.sid.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }) &&
        kind == PolicyKind::kIdentity) {
      return Malformed("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
                       "expression [0-9A-Za-z]*");
    }
  }
  auto effect = j.find("Effect");
  if (effect == j.end()) return Malformed("Missing required field Effect");
  if (!effect->is_string() || (*effect != "Allow" && *effect != "Deny")) {
    return Malformed("Invalid effect: " + (effect->is_string() ? effect->get<std::string>() : effect->dump()));
  }
  s.effect = *effect == "Allow" ? Effect::kAllow : Effect::kDeny;

  bool has_principal = j.contains("Principal"), has_not_principal = j.contains("NotPrincipal");
  if (has_principal && has_not_principal) return Malformed("Statement can not have both Principal and NotPrincipal.");
  if (kind == PolicyKind::kIdentity && (has_principal || has_not_principal)) {
    return Malformed("Policy document should not specify a principal.");
  }
  if (kind != PolicyKind::kIdentity) {
    if (!has_principal && !has_not_principal) {
      return Malformed(kind == PolicyKind::kTrust ? "AssumeRolepolicy contained an invalid principal: missing Principal"
                                                  : "Missing required field Principal");
    }
    if (kind == PolicyKind::kTrust && has_not_principal) {
      return Malformed("AssumeRolepolicy contained an invalid principal: NotPrincipal is not allowed");
    }
    s.not_principal = has_not_principal;
    ANNEX_ASSIGN_OR_RETURN(s.principal,
                           ParsePrincipal(j.at(has_principal ? "Principal" : "NotPrincipal"),
                                          has_principal ? "Principal" : "NotPrincipal"));
  }

  bool has_action = j.contains("Action"), has_not_action = j.contains("NotAction");
  if (has_action && has_not_action) return Malformed("Statement can not have both Action and NotAction.");
  if (!has_action && !has_not_action) return Malformed("Policy statement must contain actions.");
  s.not_action = has_not_action;
  ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> actions,
                         StringOrList(j.at(has_action ? "Action" : "NotAction"), has_action ? "Action" : "NotAction"));
  if (actions.empty()) return Malformed("Policy statement must contain actions.");
  for (auto& a : actions) {
    ANNEX_RETURN_IF_ERROR(CheckAction(a));
    s.actions.push_back(ToLower(a));
    s.action_prefixes.push_back(s.actions.back().substr(0, s.actions.back().find_first_of("*?")));
  }

  bool has_resource = j.contains("Resource"), has_not_resource = j.contains("NotResource");
  if (has_resource && has_not_resource) return Malformed("Statement can not have both Resource and NotResource.");
  if (kind == PolicyKind::kTrust) {
    if (has_resource || has_not_resource) return Malformed("Has prohibited field Resource");
  } else {
    if (!has_resource && !has_not_resource) return Malformed("Policy statement must contain resources.");
    s.has_resource = true;
    s.not_resource = has_not_resource;
    ANNEX_ASSIGN_OR_RETURN(s.resources, StringOrList(j.at(has_resource ? "Resource" : "NotResource"),
                                                     has_resource ? "Resource" : "NotResource"));
    if (s.resources.empty()) return Malformed("Policy statement must contain resources.");
    for (const auto& r : s.resources) {
      ANNEX_RETURN_IF_ERROR(CheckResource(r));
      s.resource_shapes.push_back(ShapeOf(r));
    }
  }

  if (auto condition = j.find("Condition"); condition != j.end()) {
    ANNEX_ASSIGN_OR_RETURN(s.conditions, ParseConditions(*condition));
  }
  return s;
}

}  // namespace

PatternShape ShapeOf(std::string_view pattern) {
  PatternShape shape;
  shape.literal = std::min(pattern.find_first_of("*?$\\"), pattern.size());
  shape.needs_substitution = pattern.find_first_of("$\\") != std::string_view::npos;
  std::string_view rest = pattern.substr(shape.literal);
  shape.anything_after = !rest.empty() && rest.find_first_not_of('*') == std::string_view::npos;
  return shape;
}

bool IsConditionOperator(std::string_view op) {
  return std::find(kOperators.begin(), kOperators.end(), op) != kOperators.end();
}

size_t PolicySizeWithoutWhitespace(std::string_view document) {
  return static_cast<size_t>(std::count_if(document.begin(), document.end(), [](char c) {
    return c != ' ' && c != '\t' && c != '\n' && c != '\r';
  }));
}

Result<Policy> ParsePolicy(std::string_view document, PolicyKind kind, size_t max_chars) {
  if (max_chars > 0) {
    size_t size = PolicySizeWithoutWhitespace(document);
    if (size > max_chars) {
      return Status(StatusCode::kResourceExhausted,
                    "Cannot exceed quota for PolicySize: " + std::to_string(max_chars), "LimitExceeded");
    }
  }
  Json doc = Json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Malformed("Syntax errors in policy.");
  if (!doc.is_object()) return Malformed("Syntax errors in policy: the document must be a JSON object.");
  for (const auto& [field, value] : doc.items()) {
    if (field != "Version" && field != "Statement" && field != "Id") {
      return Malformed("Syntax errors in policy: unknown field " + field);
    }
  }
  Policy policy;
  policy.version = "2008-10-17";  // IAM's reading of a document without one
  if (auto version = doc.find("Version"); version != doc.end()) {
    if (!version->is_string() || (*version != "2012-10-17" && *version != "2008-10-17")) {
      return Malformed("The policy failed legacy parsing");
    }
    policy.version = version->get<std::string>();
  }
  auto statements = doc.find("Statement");
  if (statements == doc.end()) return Malformed("Syntax errors in policy: missing Statement.");
  if (statements->is_object()) {
    ANNEX_ASSIGN_OR_RETURN(Statement s, ParseStatement(*statements, kind));
    policy.statements.push_back(std::move(s));
  } else if (statements->is_array() && !statements->empty()) {
    for (const Json& j : *statements) {
      ANNEX_ASSIGN_OR_RETURN(Statement s, ParseStatement(j, kind));
      policy.statements.push_back(std::move(s));
    }
  } else {
    return Malformed("Syntax errors in policy: Statement must be an object or a non-empty list.");
  }
  // Sids are unique within a policy (IAM refuses duplicates).
  std::vector<std::string> sids;
  for (const auto& s : policy.statements) {
    if (s.sid.empty()) continue;
    if (std::find(sids.begin(), sids.end(), s.sid) != sids.end()) {
      return Malformed("Statement IDs (SID) in a single policy must be unique");
    }
    sids.push_back(s.sid);
  }
  for (size_t i = 0; i < policy.statements.size(); ++i) {
    const Statement& s = policy.statements[i];
    std::span<const std::string> resources;  // none rule a resource out unless a Resource element lists them
    if (s.has_resource && !s.not_resource) resources = s.resources;
    policy.index.Add(static_cast<uint32_t>(i), s.actions, s.not_action, resources);
  }
  policy.index.Finish();
  return policy;
}

}  // namespace annex::policy
