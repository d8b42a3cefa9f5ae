#pragma once
// IAM's Query answers (service::QueryResponder in IAM's namespace) and
// parameter helpers.

#include <string>
#include <string_view>

#include "appliance/core/strings.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"
#include "appliance/service/query_protocol.h"

namespace annex::iam {

inline constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

// IAM's answers, in IAM's namespace by default.
class Responder : public service::QueryResponder {
 public:
  Responder(std::string_view action, const std::string& request_id, std::string_view xml_namespace = kIamNamespace)
      : QueryResponder(action, request_id, xml_namespace) {}
};

// IAM returns policy documents URL-encoded (RFC 3986); clients decode them.
inline std::string EncodeDocument(std::string_view document) { return UriEncode(document, /*keep_slash=*/false); }

// A validated parameter's value, or "" when absent.
inline std::string Param(const http::QueryParams& p, std::string_view name) {
  const std::string* v = p.Get(name);
  return v ? *v : std::string();
}

}  // namespace annex::iam
