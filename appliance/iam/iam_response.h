#pragma once
// The shape of every IAM Query answer: <ActionResponse> with an optional
// <ActionResult> and the request id in <ResponseMetadata>.

#include <string>
#include <string_view>

#include "appliance/core/strings.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"

namespace annex::iam {

inline constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

class Responder {
 public:
  Responder(std::string_view action, const std::string& request_id,
            std::string_view xml_namespace = kIamNamespace)
      : doc_(std::string(action) + "Response", xml_namespace), action_(action), request_id_(request_id) {}
  // The <ActionResult> element, created on first use.
  http::XmlNode Result() {
    if (!result_) result_ = doc_.root().Child(std::string(action_) + "Result").raw();
    return http::XmlNode(result_);
  }
  std::string Finish() {
    doc_.root().Child("ResponseMetadata").Add("RequestId", request_id_);
    return doc_.Render();
  }

 private:
  http::XmlDocument doc_;
  std::string_view action_;
  const std::string& request_id_;
  pugi::xml_node result_;
};

// IAM returns policy documents URL-encoded (RFC 3986); clients decode them.
inline std::string EncodeDocument(std::string_view document) { return UriEncode(document, /*keep_slash=*/false); }

// A validated parameter's value, or "" when absent.
inline std::string Param(const http::QueryParams& p, std::string_view name) {
  const std::string* v = p.Get(name);
  return v ? *v : std::string();
}

}  // namespace annex::iam
