#pragma once
// Policy variables: `${aws:username}` in a Resource or a condition value
// stands for the request's value of that key, `${key, 'default'}` falls back
// to a default, and `${*}`, `${?}`, `${$}` stand for the characters. The
// result is an escaped pattern (wildcard.h): the request's values match
// literally, the policy's own `*` and `?` stay wildcards.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/policy/request_context.h"

namespace annex::policy {

// `text` with its variables replaced, escaped for EscapedWildcardMatch; nullopt
// when a variable has no value in `context` and no default (the element then
// matches nothing, as in IAM). Without `variables` (a 2008-10-17 policy) the
// text is taken literally.
std::optional<std::string> SubstituteVariables(std::string_view text, const RequestContext& context, bool variables);

// `text` escaped so that EscapedWildcardMatch reads it literally.
std::string EscapeWildcards(std::string_view text);

}  // namespace annex::policy
