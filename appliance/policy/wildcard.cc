#include "appliance/policy/wildcard.h"

#include <cctype>

namespace annex::policy {
namespace {

bool Match(std::string_view pattern, std::string_view text, bool ignore_case, bool escapes) {
  if (!ignore_case && !escapes) {
    // Most patterns fail in their literal prefix (another bucket, another
    // action): a plain comparison up to the first wildcard settles them.
    size_t i = 0;
    for (; i < pattern.size() && pattern[i] != '*' && pattern[i] != '?'; ++i) {
      if (i >= text.size() || text[i] != pattern[i]) return false;
    }
    if (i == pattern.size()) return text.size() == pattern.size();
    pattern.remove_prefix(i);
    text.remove_prefix(i);
  }
  auto same = [ignore_case](char a, char b) {
    if (!ignore_case) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, resume = 0;  // the last `*` and where its run ended
  while (t < text.size()) {
    bool matched = false;
    size_t width = 1;  // pattern characters the step consumes
    if (p < pattern.size()) {
      char c = pattern[p];
      if (escapes && c == '\\' && p + 1 < pattern.size()) {
        matched = same(pattern[p + 1], text[t]);
        width = 2;
      } else if (c == '?') {
        matched = true;
      } else if (c == '*') {
        star = p++;
        resume = t;
        continue;
      } else {
        matched = same(c, text[t]);
      }
    }
    if (matched) {
      p += width;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;  // let the last `*` take one more character
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  return Match(pattern, text, ignore_case, false);
}

bool EscapedWildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  return Match(pattern, text, ignore_case, true);
}

}  // namespace annex::policy
