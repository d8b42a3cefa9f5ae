#pragma once
// The Query protocol's request and answer (IAM, STS, and RDS to come):
// parameters in the URL and in a form body together, an Action among
// them, an XML answer.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"
#include "appliance/service/request_context.h"

namespace annex::service {

// The shape of every Query answer: <ActionResponse xmlns=…> with an optional
// <ActionResult> and the request id in <ResponseMetadata>.
class QueryResponder {
 public:
  QueryResponder(std::string_view action, const std::string& request_id, std::string_view xml_namespace)
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

// A list parameter of structures, as Query clients flatten it:
// `Tags.Tag.1.Key=a&Tags.Tag.1.Value=b&Tags.Tag.2.Key=…` for
// QueryStructList(p, "Tags", "Tag") gives [{Key: a, Value: b}, {Key: …}].
// `member` is the list shape's member locationName ("member" when the model
// names none). Items in index order; indexes need not be contiguous.
std::vector<std::map<std::string, std::string>> QueryStructList(const http::QueryParams& params,
                                                                 std::string_view list, std::string_view member);
// A list parameter of strings: `TagKeys.member.1=a&TagKeys.member.2=b`.
std::vector<std::string> QueryStringList(const http::QueryParams& params, std::string_view list,
                                         std::string_view member);

// The request's parameters (body up to 1 MiB): MalformedQueryString when
// they do not parse, MissingAction without an Action.
http::Task<Result<http::QueryParams>> ReadQueryRequest(RequestContext& ctx);

// Sends `xml` as the answer (200, text/xml).
http::Task<Status> SendQueryResponse(RequestContext& ctx, std::string xml);

}  // namespace annex::service
