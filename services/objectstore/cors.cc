#include "services/objectstore/cors.h"

#include <algorithm>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxRules = 100;

bool IsCorsMethod(std::string_view m) {
  return m == "GET" || m == "PUT" || m == "POST" || m == "DELETE" || m == "HEAD";
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out.append(sep);
    out.append(s);
  }
  return out;
}

Result<CorsRule> ParseRule(const pugi::xml_node& node) {
  CorsRule rule;
  ANNEX_RETURN_IF_ERROR(ExpectChildren(node, {"ID", "MaxAgeSeconds"},
                                       {"AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader"}));
  rule.id = http::ChildText(node, "ID");
  for (auto n : node.children("AllowedOrigin")) rule.allowed_origins.emplace_back(n.text().as_string());
  for (auto n : node.children("AllowedMethod")) rule.allowed_methods.emplace_back(n.text().as_string());
  for (auto n : node.children("AllowedHeader")) rule.allowed_headers.emplace_back(n.text().as_string());
  for (auto n : node.children("ExposeHeader")) rule.expose_headers.emplace_back(n.text().as_string());
  std::string_view max_age = http::ChildText(node, "MaxAgeSeconds");
  if (!max_age.empty()) {
    auto v = ParseUint(max_age);
    if (!v) return http::ApiStatus("MalformedXML", "MaxAgeSeconds must be a non-negative integer.");
    rule.max_age_seconds = static_cast<int64_t>(*v);
  }
  if (rule.allowed_origins.empty() || rule.allowed_methods.empty()) {
    return http::ApiStatus("MalformedXML",
                           "The XML you provided was not well-formed or did not validate against our published schema");
  }
  for (const auto& m : rule.allowed_methods) {
    if (!IsCorsMethod(m)) {
      return http::ApiStatus("InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is " + m);
    }
  }
  for (const auto& o : rule.allowed_origins) {
    if (std::count(o.begin(), o.end(), '*') > 1) {
      return http::ApiStatus("InvalidRequest", "AllowedOrigin \"" + o + "\" can not have more than one wildcard.");
    }
  }
  return rule;
}

}  // namespace

Result<std::vector<CorsRule>> ParseCorsConfiguration(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "CORSConfiguration"));
  pugi::xml_node root = doc.document_element();
  ANNEX_RETURN_IF_ERROR(ExpectChildren(root, {}, {"CORSRule"}));
  std::vector<CorsRule> rules;
  for (auto node : root.children("CORSRule")) {
    ANNEX_ASSIGN_OR_RETURN(CorsRule rule, ParseRule(node));
    rules.push_back(std::move(rule));
  }
  if (rules.empty() || rules.size() > kMaxRules) {
    return http::ApiStatus("MalformedXML",
                           "The XML you provided was not well-formed or did not validate against our published schema");
  }
  return rules;
}

std::string RenderCorsConfiguration(const std::vector<CorsRule>& rules) {
  http::XmlDocument doc("CORSConfiguration", http::kS3XmlNamespace);
  for (const auto& rule : rules) {
    http::XmlNode node = doc.root().Child("CORSRule");
    if (!rule.id.empty()) node.Add("ID", rule.id);
    for (const auto& h : rule.allowed_headers) node.Add("AllowedHeader", h);
    for (const auto& m : rule.allowed_methods) node.Add("AllowedMethod", m);
    for (const auto& o : rule.allowed_origins) node.Add("AllowedOrigin", o);
    for (const auto& e : rule.expose_headers) node.Add("ExposeHeader", e);
    if (rule.max_age_seconds >= 0) node.Add("MaxAgeSeconds", static_cast<uint64_t>(rule.max_age_seconds));
  }
  return doc.Render();
}


const CorsRule* MatchCorsRule(const std::vector<CorsRule>& rules, std::string_view origin, std::string_view method,
                              const std::vector<std::string>& request_headers) {
  for (const auto& rule : rules) {
    bool origin_ok = false;
    for (const auto& o : rule.allowed_origins) origin_ok = origin_ok || StarMatch(origin, o, false);
    if (!origin_ok) continue;
    bool method_ok = false;
    for (const auto& m : rule.allowed_methods) method_ok = method_ok || m == method;
    if (!method_ok) continue;
    bool headers_ok = true;
    for (const auto& h : request_headers) {
      bool one = false;
      for (const auto& a : rule.allowed_headers) one = one || StarMatch(h, a, true);
      headers_ok = headers_ok && one;
    }
    if (headers_ok) return &rule;
  }
  return nullptr;
}

void AddCorsHeaders(const CorsRule& rule, std::string_view origin, bool preflight,
                    std::string_view requested_headers, http::Headers& out) {
  bool any_origin = rule.allowed_origins.size() == 1 && rule.allowed_origins[0] == "*";
  out.Set("access-control-allow-origin", any_origin ? std::string_view("*") : origin);
  if (!any_origin) out.Set("access-control-allow-credentials", "true");
  out.Set("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
  out.Set("access-control-allow-methods", Join(rule.allowed_methods, ", "));
  if (preflight) {
    if (!requested_headers.empty()) out.Set("access-control-allow-headers", requested_headers);
    if (rule.max_age_seconds >= 0) out.Set("access-control-max-age", std::to_string(rule.max_age_seconds));
  }
  if (!rule.expose_headers.empty()) out.Set("access-control-expose-headers", Join(rule.expose_headers, ", "));
}

}  // namespace annex::objectstore
