#include "appliance/iam/iam_params.h"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace annex::iam {
namespace {

enum class Kind {
  kUserName,          // userNameType: 1-64, [\w+=,.@-]+
  kExistingUserName,  // existingUserNameType: 1-128, [\w+=,.@-]+
  kAccessKeyId,       // accessKeyIdType: 16-128, [\w]+
  kStatus,            // statusType: Active | Inactive
  kPath,              // pathType: 1-512, (/)|(/[\u0021-\u007F]+/)
  kPathPrefix,        // pathPrefixType: 1-512, /[\u0021-\u007F]*
  kMarker,            // markerType: 1-320, [\u0020-\u00FF]+
  kMaxItems,          // maxItemsType: integer 1-1000
  kArn,               // arnType: 20-2048
  kPolicyName,        // policyNameType: 1-128, [\w+=,.@-]+
  kPolicyDocument,    // policyDocumentType: 1-131072, [\u0009\u000A\u000D\u0020-\u00FF]+
  kDescription,       // policyDescriptionType: 0-1000
  kVersionId,         // policyVersionIdType: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?
  kBool,              // booleanType: true | false
  kScope,             // policyScopeType: All | AWS | Local
  kGroupName,         // groupNameType: 1-128, [\w+=,.@-]+
  kRoleName,          // roleNameType: 1-64, [\w+=,.@-]+
  kRoleDescription,   // roleDescriptionType: 0-1000
  kMaxSessionDuration,  // roleMaxSessionDurationType: 3600-43200
  kRoleSessionName,   // roleSessionNameType: 2-64, [\w+=,.@-]*
  kExternalId,        // externalIdType: 2-1224, [\w+=,.@:\/-]*
  kSessionPolicy,     // sessionPolicyDocumentType: 1-2048
  kRoleDuration,      // roleDurationSecondsType: 900-43200
  kSessionTokenDuration,  // durationSecondsType: 900-129600
};

struct ParamRule {
  std::string_view name;    // as sent: "UserName"
  std::string_view member;  // as IAM's messages name it: "userName"
  Kind kind;
  bool required;
};

constexpr size_t kMaxTags = 50;  // tagListType

using RuleMap = std::map<std::string_view, std::vector<ParamRule>, std::less<>>;
RuleMap BaseRules();

// The attached and inline policy actions of groups and roles, as users'.
void AddEntityPolicyRules(RuleMap& rules, std::string_view entity, ParamRule name) {
  static std::deque<std::string> names;  // stable: the map's keys view them
  auto add = [&](std::string verb_prefix, std::string suffix, std::vector<ParamRule> params) {
    names.push_back(verb_prefix + std::string(entity) + suffix);
    params.insert(params.begin(), name);
    rules.emplace(names.back(), std::move(params));
  };
  ParamRule arn{"PolicyArn", "policyArn", Kind::kArn, true};
  ParamRule policy_name{"PolicyName", "policyName", Kind::kPolicyName, true};
  ParamRule marker{"Marker", "marker", Kind::kMarker, false}, max_items{"MaxItems", "maxItems", Kind::kMaxItems, false};
  add("Attach", "Policy", {arn});
  add("Detach", "Policy", {arn});
  add("ListAttached", "Policies", {{"PathPrefix", "pathPrefix", Kind::kPathPrefix, false}, marker, max_items});
  add("Put", "Policy", {policy_name, {"PolicyDocument", "policyDocument", Kind::kPolicyDocument, true}});
  add("Get", "Policy", {policy_name});
  add("Delete", "Policy", {policy_name});
  add("List", "Policies", {marker, max_items});
}

const RuleMap& Rules() {
  static const RuleMap* rules = [] {
    auto* r = new RuleMap(BaseRules());
    AddEntityPolicyRules(*r, "Group", {"GroupName", "groupName", Kind::kGroupName, true});
    AddEntityPolicyRules(*r, "Role", {"RoleName", "roleName", Kind::kRoleName, true});
    return r;
  }();
  return *rules;
}

RuleMap BaseRules() {
  return RuleMap{
      {"CreateUser",
       {{"UserName", "userName", Kind::kUserName, true},
        {"Path", "path", Kind::kPath, false},
        {"PermissionsBoundary", "permissionsBoundary", Kind::kArn, false}}},
      {"GetUser", {{"UserName", "userName", Kind::kExistingUserName, false}}},
      {"ListUsers",
       {{"PathPrefix", "pathPrefix", Kind::kPathPrefix, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"DeleteUser", {{"UserName", "userName", Kind::kExistingUserName, true}}},
      {"CreateAccessKey", {{"UserName", "userName", Kind::kExistingUserName, false}}},
      {"ListAccessKeys",
       {{"UserName", "userName", Kind::kExistingUserName, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"DeleteAccessKey",
       {{"UserName", "userName", Kind::kExistingUserName, false},
        {"AccessKeyId", "accessKeyId", Kind::kAccessKeyId, true}}},
      {"UpdateAccessKey",
       {{"UserName", "userName", Kind::kExistingUserName, false},
        {"AccessKeyId", "accessKeyId", Kind::kAccessKeyId, true},
        {"Status", "status", Kind::kStatus, true}}},
      // Managed policies and their versions.
      {"CreatePolicy",
       {{"PolicyName", "policyName", Kind::kPolicyName, true},
        {"Path", "path", Kind::kPath, false},
        {"PolicyDocument", "policyDocument", Kind::kPolicyDocument, true},
        {"Description", "description", Kind::kDescription, false}}},
      {"GetPolicy", {{"PolicyArn", "policyArn", Kind::kArn, true}}},
      {"DeletePolicy", {{"PolicyArn", "policyArn", Kind::kArn, true}}},
      {"ListPolicies",
       {{"Scope", "scope", Kind::kScope, false},
        {"OnlyAttached", "onlyAttached", Kind::kBool, false},
        {"PathPrefix", "pathPrefix", Kind::kPathPrefix, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"CreatePolicyVersion",
       {{"PolicyArn", "policyArn", Kind::kArn, true},
        {"PolicyDocument", "policyDocument", Kind::kPolicyDocument, true},
        {"SetAsDefault", "setAsDefault", Kind::kBool, false}}},
      {"GetPolicyVersion",
       {{"PolicyArn", "policyArn", Kind::kArn, true}, {"VersionId", "versionId", Kind::kVersionId, true}}},
      {"DeletePolicyVersion",
       {{"PolicyArn", "policyArn", Kind::kArn, true}, {"VersionId", "versionId", Kind::kVersionId, true}}},
      {"SetDefaultPolicyVersion",
       {{"PolicyArn", "policyArn", Kind::kArn, true}, {"VersionId", "versionId", Kind::kVersionId, true}}},
      {"ListPolicyVersions",
       {{"PolicyArn", "policyArn", Kind::kArn, true},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"ListEntitiesForPolicy",
       {{"PolicyArn", "policyArn", Kind::kArn, true},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      // A user's attached and inline policies.
      {"AttachUserPolicy",
       {{"UserName", "userName", Kind::kExistingUserName, true}, {"PolicyArn", "policyArn", Kind::kArn, true}}},
      {"DetachUserPolicy",
       {{"UserName", "userName", Kind::kExistingUserName, true}, {"PolicyArn", "policyArn", Kind::kArn, true}}},
      {"ListAttachedUserPolicies",
       {{"UserName", "userName", Kind::kExistingUserName, true},
        {"PathPrefix", "pathPrefix", Kind::kPathPrefix, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"PutUserPolicy",
       {{"UserName", "userName", Kind::kExistingUserName, true},
        {"PolicyName", "policyName", Kind::kPolicyName, true},
        {"PolicyDocument", "policyDocument", Kind::kPolicyDocument, true}}},
      {"GetUserPolicy",
       {{"UserName", "userName", Kind::kExistingUserName, true}, {"PolicyName", "policyName", Kind::kPolicyName, true}}},
      {"DeleteUserPolicy",
       {{"UserName", "userName", Kind::kExistingUserName, true}, {"PolicyName", "policyName", Kind::kPolicyName, true}}},
      {"ListUserPolicies",
       {{"UserName", "userName", Kind::kExistingUserName, true},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"PutUserPermissionsBoundary",
       {{"UserName", "userName", Kind::kExistingUserName, true},
        {"PermissionsBoundary", "permissionsBoundary", Kind::kArn, true}}},
      {"DeleteUserPermissionsBoundary", {{"UserName", "userName", Kind::kExistingUserName, true}}},
      // Groups.
      {"CreateGroup",
       {{"GroupName", "groupName", Kind::kGroupName, true}, {"Path", "path", Kind::kPath, false}}},
      {"GetGroup",
       {{"GroupName", "groupName", Kind::kGroupName, true},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"ListGroups",
       {{"PathPrefix", "pathPrefix", Kind::kPathPrefix, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"DeleteGroup", {{"GroupName", "groupName", Kind::kGroupName, true}}},
      {"AddUserToGroup",
       {{"GroupName", "groupName", Kind::kGroupName, true}, {"UserName", "userName", Kind::kExistingUserName, true}}},
      {"RemoveUserFromGroup",
       {{"GroupName", "groupName", Kind::kGroupName, true}, {"UserName", "userName", Kind::kExistingUserName, true}}},
      {"ListGroupsForUser",
       {{"UserName", "userName", Kind::kExistingUserName, true},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      // Roles.
      {"CreateRole",
       {{"RoleName", "roleName", Kind::kRoleName, true},
        {"Path", "path", Kind::kPath, false},
        {"AssumeRolePolicyDocument", "assumeRolePolicyDocument", Kind::kPolicyDocument, true},
        {"Description", "description", Kind::kRoleDescription, false},
        {"MaxSessionDuration", "maxSessionDuration", Kind::kMaxSessionDuration, false},
        {"PermissionsBoundary", "permissionsBoundary", Kind::kArn, false}}},
      {"GetRole", {{"RoleName", "roleName", Kind::kRoleName, true}}},
      {"ListRoles",
       {{"PathPrefix", "pathPrefix", Kind::kPathPrefix, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"DeleteRole", {{"RoleName", "roleName", Kind::kRoleName, true}}},
      {"UpdateRole",
       {{"RoleName", "roleName", Kind::kRoleName, true},
        {"Description", "description", Kind::kRoleDescription, false},
        {"MaxSessionDuration", "maxSessionDuration", Kind::kMaxSessionDuration, false}}},
      {"UpdateAssumeRolePolicy",
       {{"RoleName", "roleName", Kind::kRoleName, true},
        {"PolicyDocument", "policyDocument", Kind::kPolicyDocument, true}}},
      {"PutRolePermissionsBoundary",
       {{"RoleName", "roleName", Kind::kRoleName, true},
        {"PermissionsBoundary", "permissionsBoundary", Kind::kArn, true}}},
      {"DeleteRolePermissionsBoundary", {{"RoleName", "roleName", Kind::kRoleName, true}}},
      // The policy simulator; its lists (ActionNames, ContextEntries, …) are read by the action.
      {"SimulatePrincipalPolicy",
       {{"PolicySourceArn", "policySourceArn", Kind::kArn, true},
        {"ResourcePolicy", "resourcePolicy", Kind::kPolicyDocument, false},
        {"ResourceOwner", "resourceOwner", Kind::kArn, false},
        {"CallerArn", "callerArn", Kind::kArn, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
      {"SimulateCustomPolicy",
       {{"ResourcePolicy", "resourcePolicy", Kind::kPolicyDocument, false},
        {"ResourceOwner", "resourceOwner", Kind::kArn, false},
        {"CallerArn", "callerArn", Kind::kArn, false},
        {"Marker", "marker", Kind::kMarker, false},
        {"MaxItems", "maxItems", Kind::kMaxItems, false}}},
  };
}

bool TakesTags(std::string_view action) {
  return action == "CreateUser" || action == "CreatePolicy" || action == "CreateRole" || action == "AssumeRole";
}

// Decodes UTF-8 into code points; nullopt for malformed input (overlong
// forms, surrogates, truncated sequences), which no IAM pattern matches.
std::optional<std::u32string> DecodeUtf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return std::nullopt;
    char32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out.push_back(cp);
    i += n;
  }
  return out;
}

bool IsWordChar(char32_t c) {  // Java's \w: ASCII only
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// [\p{L}\p{Z}\p{N}_.:/=+\-@] without Unicode tables: ASCII exactly; beyond
// ASCII every code point except the controls, symbols, punctuation and
// format characters that an IAM tag can not hold in practice.
bool IsTagChar(char32_t c) {
  constexpr std::u32string_view kAsciiPunctuation = U" _.:/=+-@";
  // Latin-1 letters, numbers and the no-break space among U+00A0-U+00BF.
  constexpr std::u32string_view kLatin1Signs = U"\u00A0\u00AA\u00B2\u00B3\u00B5\u00B9\u00BA\u00BC\u00BD\u00BE";
  if (c < 0x80) return IsWordChar(c) || kAsciiPunctuation.find(c) != std::u32string_view::npos;
  if (c < 0xA0) return false;  // C1 controls
  if (c < 0xC0) return kLatin1Signs.find(c) != std::u32string_view::npos;
  if (c == 0xD7 || c == 0xF7) return false;  // × ÷
  if (c >= 0x2000 && c <= 0x206F) return c <= 0x200A || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F;
  if (c >= 0xE000 && c <= 0xF8FF) return false;                        // private use
  if (c == 0xFEFF || c >= 0xFFF0) return c >= 0x10000 && c < 0xF0000;  // specials; planes 15-16 are private
  return true;
}

using Pattern = bool (*)(const std::u32string&);

bool MatchesUserName(const std::u32string& v) {
  for (char32_t c : v) {
    if (!IsWordChar(c) && std::u32string_view(U"+=,.@-").find(c) == std::u32string_view::npos) return false;
  }
  return true;
}
bool MatchesWord(const std::u32string& v) {
  for (char32_t c : v) {
    if (!IsWordChar(c)) return false;
  }
  return true;
}
bool MatchesPrintable(const std::u32string& v, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (v[i] < 0x21 || v[i] > 0x7F) return false;
  }
  return true;
}
bool MatchesPath(const std::u32string& v) {
  return v == U"/" || (v.size() >= 3 && v.front() == '/' && v.back() == '/' && MatchesPrintable(v, 1, v.size() - 1));
}
bool MatchesPathPrefix(const std::u32string& v) {
  return !v.empty() && v[0] == '/' && MatchesPrintable(v, 1, v.size());
}
bool MatchesMarker(const std::u32string& v) {
  for (char32_t c : v) {
    if (c < 0x20 || c > 0xFF) return false;
  }
  return true;
}
bool MatchesArn(const std::u32string& v) {
  for (char32_t c : v) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}
bool MatchesPolicyName(const std::u32string& v) { return MatchesUserName(v); }
bool MatchesDocument(const std::u32string& v) {
  for (char32_t c : v) {
    if (!(c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0xFF))) return false;
  }
  return true;
}
bool MatchesAnything(const std::u32string&) { return true; }
bool MatchesExternalId(const std::u32string& v) {
  for (char32_t c : v) {
    if (!IsWordChar(c) && std::u32string_view(U"+=,.@:/-").find(c) == std::u32string_view::npos) return false;
  }
  return true;
}
bool MatchesRoleDescription(const std::u32string& v) {
  for (char32_t c : v) {
    if (!(c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || (c >= 0xA1 && c <= 0xFF))) return false;
  }
  return true;
}
bool MatchesVersionId(const std::u32string& v) {
  if (v.size() < 2 || v[0] != 'v' || v[1] < '1' || v[1] > '9') return false;
  size_t i = 2;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
  if (i == v.size()) return true;
  if (v[i] != '.') return false;
  for (++i; i < v.size(); ++i) {
    char32_t c = v[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}
bool MatchesTag(const std::u32string& v) {
  for (char32_t c : v) {
    if (!IsTagChar(c)) return false;
  }
  return true;
}

// The constraint `value` breaks, in IAM's words, or nullopt.
std::optional<std::string> CheckString(std::string_view value, size_t min, size_t max, Pattern matches,
                                       std::string_view pattern) {
  std::optional<std::u32string> cps = DecodeUtf8(value);
  size_t length = cps ? cps->size() : value.size();
  if (length < min) return "Member must have length greater than or equal to " + std::to_string(min);
  if (length > max) return "Member must have length less than or equal to " + std::to_string(max);
  if (!cps || !matches(*cps)) return "Member must satisfy regular expression pattern: " + std::string(pattern);
  return std::nullopt;
}

std::optional<std::string> CheckIntegerRange(std::string_view value, int min, int max) {
  if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::string("Member must be an integer");
  }
  int n = std::stoi(std::string(value));
  if (n < min) return "Member must have value greater than or equal to " + std::to_string(min);
  if (n > max) return "Member must have value less than or equal to " + std::to_string(max);
  return std::nullopt;
}

std::optional<std::string> CheckMaxItems(std::string_view value) { return CheckIntegerRange(value, 1, 1000); }

std::optional<std::string> Check(Kind kind, std::string_view v) {
  switch (kind) {
    case Kind::kUserName:
      return CheckString(v, 1, 64, MatchesUserName, "[\\w+=,.@-]+");
    case Kind::kExistingUserName:
      return CheckString(v, 1, 128, MatchesUserName, "[\\w+=,.@-]+");
    case Kind::kAccessKeyId:
      return CheckString(v, 16, 128, MatchesWord, "[\\w]+");
    case Kind::kPath:
      return CheckString(v, 1, 512, MatchesPath, "(\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)");
    case Kind::kPathPrefix:
      return CheckString(v, 1, 512, MatchesPathPrefix, "\\u002F[\\u0021-\\u007F]*");
    case Kind::kMarker:
      return CheckString(v, 1, 320, MatchesMarker, "[\\u0020-\\u00FF]+");
    case Kind::kArn:
      return CheckString(v, 20, 2048, MatchesArn, "[\\u0020-\\u007E\\u0080-\\U0010FFFF]+");
    case Kind::kMaxItems:
      return CheckMaxItems(v);
    case Kind::kStatus:
      if (v == "Active" || v == "Inactive") return std::nullopt;
      return std::string("Member must satisfy enum value set: [Active, Inactive]");
    case Kind::kPolicyName:
      return CheckString(v, 1, 128, MatchesPolicyName, "[\\w+=,.@-]+");
    case Kind::kPolicyDocument:
      return CheckString(v, 1, 131072, MatchesDocument, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    case Kind::kDescription:
      return CheckString(v, 0, 1000, MatchesAnything, ".*");
    case Kind::kVersionId:
      return CheckString(v, 1, 128, MatchesVersionId, "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?");
    case Kind::kBool:
      if (v == "true" || v == "false") return std::nullopt;
      return std::string("Member must be a boolean");
    case Kind::kScope:
      if (v == "All" || v == "AWS" || v == "Local") return std::nullopt;
      return std::string("Member must satisfy enum value set: [All, AWS, Local]");
    case Kind::kGroupName:
      return CheckString(v, 1, 128, MatchesUserName, "[\\w+=,.@-]+");
    case Kind::kRoleName:
      return CheckString(v, 1, 64, MatchesUserName, "[\\w+=,.@-]+");
    case Kind::kRoleDescription:
      return CheckString(v, 0, 1000, MatchesRoleDescription, "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*");
    case Kind::kMaxSessionDuration:
      return CheckIntegerRange(v, 3600, 43200);
    case Kind::kRoleSessionName:
      return CheckString(v, 2, 64, MatchesUserName, "[\\w+=,.@-]*");
    case Kind::kExternalId:
      return CheckString(v, 2, 1224, MatchesExternalId, "[\\w+=,.@:\\/-]*");
    case Kind::kSessionPolicy:
      return CheckString(v, 1, 2048, MatchesDocument, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    case Kind::kRoleDuration:
      return CheckIntegerRange(v, 900, 43200);
    case Kind::kSessionTokenDuration:
      return CheckIntegerRange(v, 900, 129600);
  }
  return std::string("Member is not valid");
}

class Problems {
 public:
  void Add(std::string_view member, std::string constraint, bool null = false) {
    list_.push_back(std::string(null ? "Value null" : "Value") + " at '" + std::string(member) +
                    "' failed to satisfy constraint: " + constraint);
  }
  Status ToStatus() const {
    if (list_.empty()) return Status::OK();
    std::string msg =
        std::to_string(list_.size()) + (list_.size() == 1 ? " validation error" : " validation errors") + " detected: ";
    for (size_t i = 0; i < list_.size(); ++i) msg += (i ? "; " : "") + list_[i];
    return Status(StatusCode::kInvalidArgument, std::move(msg), "ValidationError");
  }

 private:
  std::vector<std::string> list_;
};

// "Tags.member.N.Key" → (N, "Key"); nullopt for any other name.
std::optional<std::pair<size_t, std::string_view>> ParseTagParam(std::string_view name) {
  constexpr std::string_view kPrefix = "Tags.member.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  size_t dot = name.find('.');
  std::string_view index = name.substr(0, dot), field = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (index.empty() || index.size() > 3 || index[0] == '0' ||
      index.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::make_pair(size_t{0}, field);
  }
  return std::make_pair(static_cast<size_t>(std::stoi(std::string(index))), field);
}

void CheckTags(const http::QueryParams& params, Problems& problems) {
  std::map<size_t, std::pair<const std::string*, const std::string*>> tags;  // index → (key, value)
  for (const auto& [name, value] : params.params()) {
    auto tag = ParseTagParam(name);
    if (!tag) continue;
    auto [index, field] = *tag;
    if (index < 1 || index > kMaxTags || (field != "Key" && field != "Value")) {
      problems.Add("tags", "Member must be a list of at most 50 members with a Key and a Value");
      continue;
    }
    (field == "Key" ? tags[index].first : tags[index].second) = &value;
  }
  for (const auto& [index, kv] : tags) {
    std::string member = "tags." + std::to_string(index) + ".member.";
    if (!kv.first)
      problems.Add(member + "key", "Member must not be null", true);
    else if (auto bad = CheckString(*kv.first, 1, 128, MatchesTag, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"))
      problems.Add(member + "key", *bad);
    if (!kv.second)
      problems.Add(member + "value", "Member must not be null", true);
    else if (auto bad = CheckString(*kv.second, 0, 256, MatchesTag, "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"))
      problems.Add(member + "value", *bad);
  }
}

// PolicyArns.member.N.arn (AssumeRole's managed session policies): at most
// 10, each an ARN.
void CheckPolicyArnList(const http::QueryParams& params, Problems& problems) {
  constexpr std::string_view kPrefix = "PolicyArns.member.";
  size_t count = 0;
  for (const auto& [name, value] : params.params()) {
    if (!std::string_view(name).starts_with(kPrefix)) continue;
    if (++count > 10) {
      problems.Add("policyArns", "Member must have length less than or equal to 10");
      return;
    }
    if (auto bad = Check(Kind::kArn, value)) problems.Add("policyArns.member.arn", *bad);
  }
}

// Every parameter this action reads, and Action itself, at most once.
void CheckDuplicates(std::string_view action, const std::vector<ParamRule>& rules, const http::QueryParams& params,
                     Problems& problems) {
  std::map<std::string_view, int> seen;
  for (const auto& param : params.params()) {
    const std::string& name = param.first;
    bool read = name == "Action" || (TakesTags(action) && ParseTagParam(name));
    for (const ParamRule& r : rules) read = read || name == r.name;
    if (read && ++seen[name] == 2) problems.Add(name, "Member must be given at most once");
  }
}

}  // namespace

bool IsSupportedIamAction(std::string_view action) { return Rules().contains(action); }

namespace {

// Validates against `rules`, the action's entry in a service's table.
Status ValidateWith(const RuleMap& rules, std::string_view action, const http::QueryParams& params) {
  auto it = rules.find(action);
  if (it == rules.end()) {
    // Echoed only when it is a plausible action name: the message goes back in XML.
    bool plain = !action.empty() && action.size() <= 64 && MatchesWord(std::u32string(action.begin(), action.end()));
    return Status(StatusCode::kInvalidArgument,
                  "Could not find operation" + (plain ? " " + std::string(action) : std::string()), "InvalidAction");
  }
  Problems problems;
  CheckDuplicates(action, it->second, params, problems);
  for (const ParamRule& rule : it->second) {
    const std::string* value = params.Get(rule.name);
    if (!value) {
      if (rule.required) problems.Add(rule.member, "Member must not be null", true);
      continue;
    }
    if (auto bad = Check(rule.kind, *value)) problems.Add(rule.member, *bad);
  }
  if (TakesTags(action)) CheckTags(params, problems);
  CheckPolicyArnList(params, problems);
  return problems.ToStatus();
}

// STS's model (botocore data/sts/2011-06-15): roleSessionNameType,
// externalIdType, sessionPolicyDocumentType, roleDurationSecondsType,
// durationSecondsType.
const RuleMap& StsRules() {
  static const RuleMap* rules = new RuleMap{
      {"GetCallerIdentity", {}},
      {"AssumeRole",
       {{"RoleArn", "roleArn", Kind::kArn, true},
        {"RoleSessionName", "roleSessionName", Kind::kRoleSessionName, true},
        {"Policy", "policy", Kind::kSessionPolicy, false},
        {"DurationSeconds", "durationSeconds", Kind::kRoleDuration, false},
        {"ExternalId", "externalId", Kind::kExternalId, false}}},
      {"GetSessionToken", {{"DurationSeconds", "durationSeconds", Kind::kSessionTokenDuration, false}}},
  };
  return *rules;
}

}  // namespace

Status ValidateIamParams(std::string_view action, const http::QueryParams& params) {
  return ValidateWith(Rules(), action, params);
}

bool IsSupportedStsAction(std::string_view action) { return StsRules().contains(action); }

Status ValidateStsParams(std::string_view action, const http::QueryParams& params) {
  return ValidateWith(StsRules(), action, params);
}

}  // namespace annex::iam
