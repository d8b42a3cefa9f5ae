#include "appliance/policy/variables.h"

namespace annex::policy {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The policy's own text: wildcards stay, backslashes become literal.
void AppendPolicyText(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
}

}  // namespace

std::string EscapeWildcards(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '?' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::optional<std::string> SubstituteVariables(std::string_view text, const RequestContext& context, bool variables) {
  std::string out;
  out.reserve(text.size());
  if (!variables) {
    AppendPolicyText(out, text);
    return out;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) break;  // not a variable: literal text
    AppendPolicyText(out, text.substr(pos, open - pos));
    std::string_view inside = text.substr(open + 2, close - open - 2);
    pos = close + 1;
    if (inside == "*" || inside == "?" || inside == "$") {
      out += EscapeWildcards(inside);
      continue;
    }
    std::optional<std::string_view> fallback;
    if (size_t comma = inside.find(','); comma != std::string_view::npos) {
      std::string_view d = Trim(inside.substr(comma + 1));
      if (d.size() >= 2 && d.front() == '\'' && d.back() == '\'') fallback = d.substr(1, d.size() - 2);
      inside = inside.substr(0, comma);
    }
    const std::vector<std::string>* values = context.Get(Trim(inside));
    if (values && values->size() == 1) {
      out += EscapeWildcards(values->front());
    } else if (fallback) {
      out += EscapeWildcards(*fallback);
    } else {
      return std::nullopt;  // missing, or a multi-valued key: no single value to put here
    }
  }
  AppendPolicyText(out, text.substr(pos));
  return out;
}

}  // namespace annex::policy
