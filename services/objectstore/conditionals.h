#pragma once
// Conditional requests: If-Match / If-None-Match / If-Modified-Since /
// If-Unmodified-Since on GET and HEAD, their x-amz-copy-source-if-* twins on
// copies, and If-None-Match: * / If-Match on PUT.
//
// Precedence (RFC 9110 §13.2.2, which S3 follows): If-Match, else
// If-Unmodified-Since; then If-None-Match, else If-Modified-Since. Dates
// compare at one-second resolution, as Last-Modified is sent.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/strings.h"
#include "appliance/http/headers.h"

namespace annex::objectstore {

struct Preconditions {
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_match;
  std::optional<SystemTime> if_modified_since;
  std::optional<SystemTime> if_unmodified_since;

  bool empty() const { return !if_match && !if_none_match && !if_modified_since && !if_unmodified_since; }
};

enum class ConditionOutcome { kProceed, kNotModified, kPreconditionFailed };

// Reads the four headers, each name prefixed by `prefix` ("" or
// "x-amz-copy-source-"). Unparseable dates are ignored, as HTTP requires.
Preconditions ParsePreconditions(const http::Headers& headers, std::string_view prefix = "");

// Evaluates against an existing object's ETag (unquoted) and Last-Modified.
ConditionOutcome EvaluatePreconditions(const Preconditions& p, std::string_view etag, SystemTime last_modified);

// True when an entity-tag list ("a", W/"b", *) names `etag`.
bool EtagListMatches(std::string_view list, std::string_view etag);

}  // namespace annex::objectstore
