#include "appliance/policy/condition.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

#include "appliance/core/strings.h"
#include "appliance/policy/variables.h"
#include "appliance/policy/wildcard.h"

namespace annex::policy {
namespace {

// The literal text of an escaped pattern (variables.h).
std::string Unescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\' && i + 1 < escaped.size()) ++i;
    out.push_back(escaped[i]);
  }
  return out;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

// ISO 8601 (date, or date and time with optional fraction and zone) or epoch seconds.
std::optional<double> ParseDate(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return ParseNumber(s);
  }
  std::string text(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3) return std::nullopt;
  std::string_view rest = std::string_view(text).substr(static_cast<size_t>(used));
  double fraction = 0;
  int offset_seconds = 0;
  if (!rest.empty()) {
    if (rest[0] != 'T' && rest[0] != 't') return std::nullopt;
    std::string tail(rest.substr(1));
    int n = 0;
    if (std::sscanf(tail.c_str(), "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3) return std::nullopt;
    std::string_view zone = std::string_view(tail).substr(static_cast<size_t>(n));
    if (!zone.empty() && zone[0] == '.') {
      size_t digits = 1;
      while (digits < zone.size() && std::isdigit(static_cast<unsigned char>(zone[digits]))) ++digits;
      auto f = ParseNumber(std::string("0") + std::string(zone.substr(0, digits)));
      if (!f) return std::nullopt;
      fraction = *f;
      zone.remove_prefix(digits);
    }
    if (zone == "Z" || zone == "z" || zone.empty()) {
      offset_seconds = 0;
    } else if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 6 && zone[3] == ':') {
      int oh = std::atoi(std::string(zone.substr(1, 2)).c_str()), om = std::atoi(std::string(zone.substr(4, 2)).c_str());
      offset_seconds = (zone[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else {
      return std::nullopt;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<double>(timegm(&tm)) - offset_seconds + fraction;
}

// An address within a CIDR block (a bare address is a /32 or /128).
bool InCidr(std::string_view block, std::string_view address) {
  std::string cidr(block);
  int bits = -1;
  if (size_t slash = cidr.find('/'); slash != std::string::npos) {
    auto n = ParseNumber(cidr.substr(slash + 1));
    if (!n || *n < 0 || *n != static_cast<int>(*n)) return false;
    bits = static_cast<int>(*n);
    cidr.resize(slash);
  }
  unsigned char net[16], addr[16];
  std::string a(address);
  int family = cidr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  size_t length = family == AF_INET6 ? 16 : 4;
  if (inet_pton(family, cidr.c_str(), net) != 1 || inet_pton(family, a.c_str(), addr) != 1) return false;
  if (bits < 0) bits = static_cast<int>(length * 8);
  if (bits > static_cast<int>(length * 8)) return false;
  for (size_t i = 0; i < length && bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xFF : static_cast<unsigned char>(0xFF << (8 - bits));
    if ((net[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

// ARNs compare part by part: arn:partition:service:region:account:resource.
bool ArnMatch(std::string_view pattern, std::string_view arn) {
  auto split = [](std::string_view s, std::string_view parts[6]) {
    for (int i = 0; i < 5; ++i) {
      size_t colon = s.find(':');
      if (colon == std::string_view::npos) return false;
      parts[i] = s.substr(0, colon);
      s.remove_prefix(colon + 1);
    }
    parts[5] = s;
    return true;
  };
  std::string_view p[6], a[6];
  if (!split(pattern, p) || !split(arn, a)) return false;
  for (int i = 0; i < 6; ++i) {
    if (!EscapedWildcardMatch(p[i], a[i])) return false;
  }
  return true;
}

bool Negated(std::string_view op) {
  return op == "StringNotEquals" || op == "StringNotEqualsIgnoreCase" || op == "StringNotLike" ||
         op == "NumericNotEquals" || op == "DateNotEquals" || op == "NotIpAddress" || op == "ArnNotEquals" ||
         op == "ArnNotLike";
}

// The positive form of `op` (StringNotLike → StringLike) applied to one
// request value and one policy value (escaped: variables.h).
bool Compare(std::string_view op, std::string_view value, std::string_view escaped_policy) {
  if (op == "StringEquals" || op == "StringNotEquals") return value == Unescape(escaped_policy);
  if (op == "StringEqualsIgnoreCase" || op == "StringNotEqualsIgnoreCase") {
    return EqualsIgnoreCase(value, Unescape(escaped_policy));
  }
  if (op == "StringLike" || op == "StringNotLike") return EscapedWildcardMatch(escaped_policy, value);
  if (op == "Bool") return EqualsIgnoreCase(value, Unescape(escaped_policy));
  if (op == "BinaryEquals") return value == Unescape(escaped_policy);
  if (op == "IpAddress" || op == "NotIpAddress") return InCidr(Unescape(escaped_policy), value);
  if (op.starts_with("Arn")) return ArnMatch(escaped_policy, value);
  if (op.starts_with("Numeric") || op.starts_with("Date")) {
    bool date = op.starts_with("Date");
    auto parse = date ? ParseDate : ParseNumber;
    auto left = parse(value), right = parse(Unescape(escaped_policy));
    if (!left || !right) return false;
    std::string_view relation = op.substr(date ? 4 : 7);
    if (relation == "Equals" || relation == "NotEquals") return *left == *right;
    if (relation == "LessThan") return *left < *right;
    if (relation == "LessThanEquals") return *left <= *right;
    if (relation == "GreaterThan") return *left > *right;
    if (relation == "GreaterThanEquals") return *left >= *right;
  }
  return false;
}

bool ClauseHolds(const ConditionClause& c, const RequestContext& context, bool variables) {
  const std::vector<std::string>* values = context.Get(c.key);
  bool absent = !values || values->empty();
  if (c.op == "Null") {
    for (const auto& v : c.values) {
      if (EqualsIgnoreCase(v, "true") ? absent : EqualsIgnoreCase(v, "false") ? !absent : false) return true;
    }
    return false;
  }
  if (absent) {
    if (c.if_exists) return true;
    if (c.set == SetQualifier::kForAllValues) return true;
    if (c.set == SetQualifier::kForAnyValue) return false;
    return Negated(c.op);
  }
  std::vector<std::string> patterns;
  patterns.reserve(c.values.size());
  for (const auto& v : c.values) {
    auto substituted = SubstituteVariables(v, context, variables);
    if (substituted) patterns.push_back(std::move(*substituted));  // a missing variable matches nothing
  }
  bool negated = Negated(c.op);
  // Whether one request value satisfies the clause: matches some policy value, or, negated, none.
  auto satisfies = [&](const std::string& value) {
    bool any = std::any_of(patterns.begin(), patterns.end(),
                           [&](const std::string& p) { return Compare(c.op, value, p); });
    return negated ? !any : any;
  };
  switch (c.set) {
    case SetQualifier::kForAllValues:
      return std::all_of(values->begin(), values->end(), satisfies);
    case SetQualifier::kForAnyValue:
      return std::any_of(values->begin(), values->end(), satisfies);
    case SetQualifier::kNone:
      break;
  }
  // A multi-valued key without a qualifier: some value must match, or, negated, none may.
  return negated ? std::all_of(values->begin(), values->end(), satisfies)
                 : std::any_of(values->begin(), values->end(), satisfies);
}

}  // namespace

bool ConditionsHold(const std::vector<ConditionClause>& clauses, const RequestContext& context, bool variables) {
  for (const auto& c : clauses) {
    if (!ClauseHolds(c, context, variables)) return false;
  }
  return true;
}

}  // namespace annex::policy
