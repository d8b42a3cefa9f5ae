#pragma once
// Bucket CORS: the CORSConfiguration document (parse, validate, render) and
// rule matching for browser preflight (OPTIONS) and actual requests.
//
// A rule matches when the Origin matches one of its AllowedOrigins (each may
// hold one '*' wildcard), the method is one of its AllowedMethods and every
// requested header matches one of its AllowedHeaders (case-insensitive,
// wildcards allowed). The first matching rule wins, as in S3.

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

// MalformedXML / InvalidRequest on an invalid document.
Result<std::vector<CorsRule>> ParseCorsConfiguration(std::string_view body);
std::string RenderCorsConfiguration(const std::vector<CorsRule>& rules);

// The first rule allowing `origin` + `method` + `request_headers`, or null.
const CorsRule* MatchCorsRule(const std::vector<CorsRule>& rules, std::string_view origin, std::string_view method,
                              const std::vector<std::string>& request_headers);

// Access-Control-* response headers for a matched rule. `preflight` adds
// Allow-Methods/Allow-Headers/Max-Age; otherwise Expose-Headers.
void AddCorsHeaders(const CorsRule& rule, std::string_view origin, bool preflight,
                    std::string_view requested_headers, http::Headers& out);

}  // namespace annex::objectstore
