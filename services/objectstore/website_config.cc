#include "services/objectstore/website_config.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

Status Invalid(std::string message) { return http::ApiStatus("InvalidArgument", std::move(message)); }

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status CheckProtocol(std::string_view protocol) {
  if (protocol.empty() || protocol == "http" || protocol == "https") return Status::OK();
  return Invalid(
      "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected "
      "automatically.");
}

Result<WebsiteRedirect> ParseRedirect(const pugi::xml_node& node) {
  if (!node) return MalformedXml();
  ANNEX_RETURN_IF_ERROR(
      ExpectChildren(node, {"Protocol", "HostName", "ReplaceKeyPrefixWith", "ReplaceKeyWith", "HttpRedirectCode"}));
  WebsiteRedirect r;
  r.protocol = http::ChildText(node, "Protocol");
  r.host_name = http::ChildText(node, "HostName");
  r.has_replace_key_prefix = static_cast<bool>(node.child("ReplaceKeyPrefixWith"));
  r.replace_key_prefix_with = http::ChildText(node, "ReplaceKeyPrefixWith");
  r.has_replace_key = static_cast<bool>(node.child("ReplaceKeyWith"));
  r.replace_key_with = http::ChildText(node, "ReplaceKeyWith");
  r.http_redirect_code = http::ChildText(node, "HttpRedirectCode");
  ANNEX_RETURN_IF_ERROR(CheckProtocol(r.protocol));
  if (r.has_replace_key_prefix && r.has_replace_key) {
    return Invalid("You can only define ReplaceKeyPrefix or ReplaceKey but not both.");
  }
  if (!r.http_redirect_code.empty()) {
    const std::string& c = r.http_redirect_code;
    if (!IsDigits(c) || c.size() != 3 || c[0] != '3' || c == "300") {
      return Invalid("The provided HTTP redirect code (" + c + ") is not valid. Valid codes are 3XX except 300.");
    }
  }
  if (r.protocol.empty() && r.host_name.empty() && !r.has_replace_key_prefix && !r.has_replace_key &&
      r.http_redirect_code.empty()) {
    return Invalid(
        "Redirect must contain at least one of following: Protocol, HostName, ReplaceKeyPrefixWith, "
        "ReplaceKeyWith or HttpRedirectCode.");
  }
  return r;
}

Result<RoutingRule> ParseRule(const pugi::xml_node& node) {
  RoutingRule rule;
  // A misspelt Condition ignored would make the rule redirect every request.
  ANNEX_RETURN_IF_ERROR(ExpectChildren(node, {"Condition", "Redirect"}));
  if (pugi::xml_node condition = node.child("Condition")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(condition, {"KeyPrefixEquals", "HttpErrorCodeReturnedEquals"}));
    rule.key_prefix_equals = http::ChildText(condition, "KeyPrefixEquals");
    rule.http_error_code_returned_equals = http::ChildText(condition, "HttpErrorCodeReturnedEquals");
    const std::string& c = rule.http_error_code_returned_equals;
    if (!c.empty() && (!IsDigits(c) || c.size() != 3 || (c[0] != '4' && c[0] != '5'))) {
      return Invalid("The provided HTTP error code (" + c + ") is not valid. Valid codes are 4XX or 5XX.");
    }
    if (rule.key_prefix_equals.empty() && c.empty()) {
      return Invalid(
          "Condition cannot be empty. To redirect all requests without a condition, the condition element "
          "shouldn't be present.");
    }
  }
  ANNEX_ASSIGN_OR_RETURN(rule.redirect, ParseRedirect(node.child("Redirect")));
  return rule;
}

void RenderRedirect(http::XmlNode node, const WebsiteRedirect& r) {
  if (!r.host_name.empty()) node.Add("HostName", r.host_name);
  if (!r.http_redirect_code.empty()) node.Add("HttpRedirectCode", r.http_redirect_code);
  if (!r.protocol.empty()) node.Add("Protocol", r.protocol);
  if (r.has_replace_key_prefix) node.Add("ReplaceKeyPrefixWith", r.replace_key_prefix_with);
  if (r.has_replace_key) node.Add("ReplaceKeyWith", r.replace_key_with);
}

}  // namespace

Result<WebsiteConfig> ParseWebsiteConfig(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "WebsiteConfiguration"));
  pugi::xml_node root = doc.document_element();
  ANNEX_RETURN_IF_ERROR(
      ExpectChildren(root, {"IndexDocument", "ErrorDocument", "RedirectAllRequestsTo", "RoutingRules"}));
  WebsiteConfig config;
  pugi::xml_node index = root.child("IndexDocument");
  pugi::xml_node error = root.child("ErrorDocument");
  pugi::xml_node all = root.child("RedirectAllRequestsTo");
  pugi::xml_node rules = root.child("RoutingRules");
  if (all) {
    if (index || error || rules) {
      return Invalid("RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.");
    }
    ANNEX_RETURN_IF_ERROR(ExpectChildren(all, {"HostName", "Protocol"}));
    if (!all.child("HostName")) return MalformedXml();
    config.redirect_all_host = http::ChildText(all, "HostName");
    config.redirect_all_protocol = http::ChildText(all, "Protocol");
    ANNEX_RETURN_IF_ERROR(CheckProtocol(config.redirect_all_protocol));
    return config;
  }
  if (!index) return Invalid("A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty");
  ANNEX_RETURN_IF_ERROR(ExpectChildren(index, {"Suffix"}));
  config.index_suffix = http::ChildText(index, "Suffix");
  if (config.index_suffix.empty() || config.index_suffix.find('/') != std::string::npos) {
    return Invalid("The IndexDocument Suffix is not well formed");
  }
  if (error) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(error, {"Key"}));
    config.error_key = http::ChildText(error, "Key");
    if (config.error_key.empty()) return Invalid("The ErrorDocument Key is not well formed");
  }
  ANNEX_RETURN_IF_ERROR(ExpectChildren(rules, {}, {"RoutingRule"}));
  for (pugi::xml_node rule : rules.children("RoutingRule")) {
    ANNEX_ASSIGN_OR_RETURN(RoutingRule parsed, ParseRule(rule));
    config.rules.push_back(std::move(parsed));
  }
  if (rules && config.rules.empty()) return MalformedXml();
  return config;
}

std::string RenderWebsiteConfig(const WebsiteConfig& config) {
  http::XmlDocument doc("WebsiteConfiguration", http::kS3XmlNamespace);
  if (config.redirect_all_host) {
    http::XmlNode all = doc.root().Child("RedirectAllRequestsTo");
    all.Add("HostName", *config.redirect_all_host);
    if (!config.redirect_all_protocol.empty()) all.Add("Protocol", config.redirect_all_protocol);
    return doc.Render();
  }
  doc.root().Child("IndexDocument").Add("Suffix", config.index_suffix);
  if (!config.error_key.empty()) doc.root().Child("ErrorDocument").Add("Key", config.error_key);
  if (!config.rules.empty()) {
    http::XmlNode rules = doc.root().Child("RoutingRules");
    for (const RoutingRule& rule : config.rules) {
      http::XmlNode node = rules.Child("RoutingRule");
      if (!rule.key_prefix_equals.empty() || !rule.http_error_code_returned_equals.empty()) {
        http::XmlNode condition = node.Child("Condition");
        if (!rule.http_error_code_returned_equals.empty()) {
          condition.Add("HttpErrorCodeReturnedEquals", rule.http_error_code_returned_equals);
        }
        if (!rule.key_prefix_equals.empty()) condition.Add("KeyPrefixEquals", rule.key_prefix_equals);
      }
      RenderRedirect(node.Child("Redirect"), rule.redirect);
    }
  }
  return doc.Render();
}

std::optional<WebsiteRedirectTarget> MatchRoutingRules(const WebsiteConfig& config, std::string_view key,
                                                       int error_status, std::string_view request_host) {
  for (const RoutingRule& rule : config.rules) {
    const std::string& code = rule.http_error_code_returned_equals;
    if (error_status == 0 ? !code.empty() : code != std::to_string(error_status)) continue;
    if (!StartsWith(key, rule.key_prefix_equals)) continue;
    const WebsiteRedirect& r = rule.redirect;
    std::string new_key(key);
    if (r.has_replace_key) {
      new_key = r.replace_key_with;
    } else if (r.has_replace_key_prefix) {
      new_key = r.replace_key_prefix_with + std::string(key.substr(rule.key_prefix_equals.size()));
    }
    WebsiteRedirectTarget target;
    target.status = r.http_redirect_code.empty() ? 301 : std::stoi(r.http_redirect_code);
    std::string protocol = r.protocol.empty() ? "http" : r.protocol;
    std::string host = r.host_name.empty() ? std::string(request_host) : r.host_name;
    target.location = protocol + "://" + host + "/" + new_key;
    return target;
  }
  return std::nullopt;
}

WebsiteRedirectTarget RedirectAll(const WebsiteConfig& config, std::string_view path) {
  std::string protocol = config.redirect_all_protocol.empty() ? "http" : config.redirect_all_protocol;
  WebsiteRedirectTarget target;
  target.location = protocol + "://" + config.redirect_all_host.value_or("") + std::string(path);
  return target;
}

}  // namespace annex::objectstore
