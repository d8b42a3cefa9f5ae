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

// A CIDR block as a policy writes it (a bare address is a /32 or /128).
AddressBlock ParseBlock(std::string_view text) {
  AddressBlock block;
  std::string cidr(text);
  int bits = -1;
  if (size_t slash = cidr.find('/'); slash != std::string::npos) {
    auto n = ParseNumber(cidr.substr(slash + 1));
    if (!n || *n < 0 || *n != static_cast<int>(*n)) return block;
    bits = static_cast<int>(*n);
    cidr.resize(slash);
  }
  block.v6 = cidr.find(':') != std::string::npos;
  int length_bits = block.v6 ? 128 : 32;
  if (inet_pton(block.v6 ? AF_INET6 : AF_INET, cidr.c_str(), block.network) != 1) return block;
  if (bits < 0) bits = length_bits;
  if (bits > length_bits) return block;
  block.bits = bits;
  block.valid = true;
  return block;
}

// A request's address, read as IPv4 or IPv6 the first time a block of that
// family asks (a block reads the address in its own family, as inet_pton
// would: an IPv4 address never falls in an IPv6 block, nor the reverse).
class RequestAddress {
 public:
  explicit RequestAddress(std::string_view text) : text_(text) {}
  bool In(const AddressBlock& block) {
    if (!block.valid) return false;
    Parsed& p = block.v6 ? v6_ : v4_;
    if (!p.tried) {
      p.tried = true;
      char buffer[64];
      if (text_.size() < sizeof(buffer)) {
        text_.copy(buffer, text_.size());
        buffer[text_.size()] = '\0';
        p.ok = inet_pton(block.v6 ? AF_INET6 : AF_INET, buffer, p.bytes) == 1;
      }
    }
    if (!p.ok) return false;
    int bits = block.bits;
    for (size_t i = 0; bits > 0; ++i, bits -= 8) {
      unsigned char mask = bits >= 8 ? 0xFF : static_cast<unsigned char>(0xFF << (8 - bits));
      if ((block.network[i] & mask) != (p.bytes[i] & mask)) return false;
    }
    return true;
  }

 private:
  struct Parsed {
    bool tried = false, ok = false;
    unsigned char bytes[16] = {};
  };
  std::string_view text_;
  Parsed v4_, v6_;
};

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

bool Relate(Relation relation, double left, double right) {
  switch (relation) {
    case Relation::kEquals: return left == right;
    case Relation::kLessThan: return left < right;
    case Relation::kLessThanEquals: return left <= right;
    case Relation::kGreaterThan: return left > right;
    case Relation::kGreaterThanEquals: return left >= right;
  }
  return false;
}

std::optional<double> ParseFor(Comparison comparison, std::string_view s) {
  return comparison == Comparison::kDate ? ParseDate(s) : ParseNumber(s);
}

// The clause's comparison, in its positive form, of one request value with
// one policy value (escaped: variables.h).
bool Compare(const ConditionClause& c, std::string_view value, std::string_view escaped_policy) {
  switch (c.comparison) {
    case Comparison::kStringEquals:
    case Comparison::kBinaryEquals:
      return value == Unescape(escaped_policy);
    case Comparison::kStringEqualsIgnoreCase:
    case Comparison::kBool:
      return EqualsIgnoreCase(value, Unescape(escaped_policy));
    case Comparison::kStringLike: return EscapedWildcardMatch(escaped_policy, value);
    case Comparison::kIpAddress: return RequestAddress(value).In(ParseBlock(Unescape(escaped_policy)));
    case Comparison::kArn: return ArnMatch(escaped_policy, value);
    case Comparison::kNumeric:
    case Comparison::kDate: {
      auto left = ParseFor(c.comparison, value), right = ParseFor(c.comparison, Unescape(escaped_policy));
      return left && right && Relate(c.relation, *left, *right);
    }
    case Comparison::kNull: break;
  }
  return false;
}

// Whether one request value matches some of the clause's values, all
// literal and prepared: the request's value is read once (an address, a
// number), the policy's were read when it was parsed.
bool MatchesLiteral(const ConditionClause& c, std::string_view value) {
  const size_t n = c.values.size();
  switch (c.comparison) {
    case Comparison::kStringEquals:
    case Comparison::kBinaryEquals:
      for (size_t i = 0; i < n; ++i) {
        if (value == c.values[i]) return true;
      }
      return false;
    case Comparison::kStringEqualsIgnoreCase:
    case Comparison::kBool:
      for (size_t i = 0; i < n; ++i) {
        if (EqualsIgnoreCase(value, c.values[i])) return true;
      }
      return false;
    case Comparison::kStringLike:
      for (size_t i = 0; i < n; ++i) {
        if (WildcardMatch(c.values[i], value)) return true;  // no backslash: escaped as written
      }
      return false;
    case Comparison::kArn:
      for (size_t i = 0; i < n; ++i) {
        if (ArnMatch(c.values[i], value)) return true;
      }
      return false;
    case Comparison::kIpAddress: {
      RequestAddress address(value);
      for (size_t i = 0; i < n; ++i) {
        if (address.In(c.prepared_values[i].block)) return true;
      }
      return false;
    }
    case Comparison::kNumeric:
    case Comparison::kDate: {
      auto left = ParseFor(c.comparison, value);
      if (!left) return false;
      for (size_t i = 0; i < n; ++i) {
        const auto& right = c.prepared_values[i].number;
        if (right && Relate(c.relation, *left, *right)) return true;
      }
      return false;
    }
    case Comparison::kNull: break;
  }
  return false;
}

// The clause over the request's values of its key, given whether one value satisfies it.
template <typename Satisfies>
bool HoldsFor(const ConditionClause& c, const std::vector<std::string>& values, Satisfies satisfies) {
  switch (c.set) {
    case SetQualifier::kForAllValues:
      return std::all_of(values.begin(), values.end(), satisfies);
    case SetQualifier::kForAnyValue:
      return std::any_of(values.begin(), values.end(), satisfies);
    case SetQualifier::kNone:
      break;
  }
  // A multi-valued key without a qualifier: some value must match, or, negated, none may.
  return c.negated ? std::all_of(values.begin(), values.end(), satisfies)
                   : std::any_of(values.begin(), values.end(), satisfies);
}

bool ClauseHolds(const ConditionClause& c, const RequestContext& context, bool variables) {
  const std::vector<std::string>* values = context.Get(c.key);
  bool absent = !values || values->empty();
  if (c.comparison == Comparison::kNull) {
    for (const auto& v : c.values) {
      if (EqualsIgnoreCase(v, "true") ? absent : EqualsIgnoreCase(v, "false") ? !absent : false) return true;
    }
    return false;
  }
  if (absent) {
    if (c.if_exists) return true;
    if (c.set == SetQualifier::kForAllValues) return true;
    if (c.set == SetQualifier::kForAnyValue) return false;
    return c.negated;
  }
  // Whether one request value satisfies the clause: matches some policy value, or, negated, none.
  if (c.literal_values) {
    return HoldsFor(c, *values, [&c](const std::string& value) { return MatchesLiteral(c, value) != c.negated; });
  }
  std::vector<std::string> patterns;
  patterns.reserve(c.values.size());
  for (const auto& v : c.values) {
    auto substituted = SubstituteVariables(v, context, variables);
    if (substituted) patterns.push_back(std::move(*substituted));  // a missing variable matches nothing
  }
  return HoldsFor(c, *values, [&c, &patterns](const std::string& value) {
    bool any = std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return Compare(c, value, p); });
    return any != c.negated;
  });
}

}  // namespace

bool ConditionsHold(const std::vector<ConditionClause>& clauses, const RequestContext& context, bool variables) {
  for (const auto& c : clauses) {
    if (c.prepared) {
      if (!ClauseHolds(c, context, variables)) return false;
    } else {
      ConditionClause prepared = c;  // assembled by hand rather than parsed
      PrepareCondition(prepared);
      if (!ClauseHolds(prepared, context, variables)) return false;
    }
  }
  return true;
}

void PrepareCondition(ConditionClause& c) {
  std::string_view op = c.op;
  c.negated = op == "StringNotEquals" || op == "StringNotEqualsIgnoreCase" || op == "StringNotLike" ||
              op == "NumericNotEquals" || op == "DateNotEquals" || op == "NotIpAddress" || op == "ArnNotEquals" ||
              op == "ArnNotLike";
  c.relation = Relation::kEquals;
  if (op == "StringEquals" || op == "StringNotEquals") {
    c.comparison = Comparison::kStringEquals;
  } else if (op == "StringEqualsIgnoreCase" || op == "StringNotEqualsIgnoreCase") {
    c.comparison = Comparison::kStringEqualsIgnoreCase;
  } else if (op == "StringLike" || op == "StringNotLike") {
    c.comparison = Comparison::kStringLike;
  } else if (op == "Bool") {
    c.comparison = Comparison::kBool;
  } else if (op == "BinaryEquals") {
    c.comparison = Comparison::kBinaryEquals;
  } else if (op == "IpAddress" || op == "NotIpAddress") {
    c.comparison = Comparison::kIpAddress;
  } else if (op.starts_with("Arn")) {
    c.comparison = Comparison::kArn;
  } else if (op == "Null") {
    c.comparison = Comparison::kNull;
  } else if (op.starts_with("Numeric") || op.starts_with("Date")) {
    c.comparison = op.starts_with("Date") ? Comparison::kDate : Comparison::kNumeric;
    std::string_view relation = op.substr(c.comparison == Comparison::kDate ? 4 : 7);
    if (relation == "LessThan") c.relation = Relation::kLessThan;
    if (relation == "LessThanEquals") c.relation = Relation::kLessThanEquals;
    if (relation == "GreaterThan") c.relation = Relation::kGreaterThan;
    if (relation == "GreaterThanEquals") c.relation = Relation::kGreaterThanEquals;
  } else {
    c.comparison = Comparison::kStringEquals;  // ParsePolicy refuses other operators
  }
  // A value with a variable or a backslash is substituted and escaped per
  // request (variables.h); any other is its own escaped pattern.
  c.literal_values = std::none_of(c.values.begin(), c.values.end(), [](const std::string& v) {
    return v.find_first_of("$\\") != std::string::npos;
  });
  c.prepared_values.assign(c.values.size(), PreparedValue{});
  if (c.literal_values) {
    for (size_t i = 0; i < c.values.size(); ++i) {
      if (c.comparison == Comparison::kIpAddress) c.prepared_values[i].block = ParseBlock(c.values[i]);
      if (c.comparison == Comparison::kNumeric || c.comparison == Comparison::kDate) {
        c.prepared_values[i].number = ParseFor(c.comparison, c.values[i]);
      }
    }
  }
  c.prepared = true;
}

}  // namespace annex::policy
