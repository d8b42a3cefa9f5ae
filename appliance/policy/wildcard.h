#pragma once
// Wildcard matching as IAM policies use it: `*` matches any run of
// characters (none included), `?` exactly one; everything else literally.
// Linear in practice: one backtrack point, as for glob matching.
//
// Patterns that went through policy-variable substitution (variables.h) are
// escaped: `\*`, `\?` and `\\` stand for the characters themselves, so a
// value taken from the request never acts as a wildcard.

#include <string_view>

namespace annex::policy {

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case = false);
bool EscapedWildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case = false);

}  // namespace annex::policy
