#pragma once
// A bucket's static website configuration (PutBucketWebsite): its
// WebsiteConfiguration document, checked as S3 checks it, and the routing
// rules' redirects, which the website endpoint (website_endpoint.h) applies.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::objectstore {

// Where a redirect sends the request. Empty fields: keep the request's.
struct WebsiteRedirect {
  std::string protocol;  // "http" | "https"
  std::string host_name;
  std::string replace_key_prefix_with;
  std::string replace_key_with;
  std::string http_redirect_code;  // "301" … (3XX but 300)
  bool has_replace_key_prefix = false;
  bool has_replace_key = false;
};

struct RoutingRule {
  // The condition; both empty: every request.
  std::string key_prefix_equals;
  std::string http_error_code_returned_equals;  // "404" …
  WebsiteRedirect redirect;
};

struct WebsiteConfig {
  std::string index_suffix;  // IndexDocument.Suffix ("index.html")
  std::string error_key;     // ErrorDocument.Key, may be empty
  // RedirectAllRequestsTo: every request goes to this host instead.
  std::optional<std::string> redirect_all_host;
  std::string redirect_all_protocol;
  std::vector<RoutingRule> rules;
};

// <WebsiteConfiguration>: MalformedXML for a document that is not one,
// InvalidArgument (with S3's wording) for one S3 refuses.
Result<WebsiteConfig> ParseWebsiteConfig(std::string_view body);
std::string RenderWebsiteConfig(const WebsiteConfig& config);

// A redirect the endpoint answers with: 301 … and the Location header.
struct WebsiteRedirectTarget {
  int status = 301;
  std::string location;
};

// The first routing rule matching `key` (the request's key, no leading '/')
// and `error_status` (0: before the key is looked up, when only rules
// without an error-code condition apply; else the error the request would
// get), as the redirect it makes. `request_host`: the Host the request was
// sent to, kept when the rule names none.
std::optional<WebsiteRedirectTarget> MatchRoutingRules(const WebsiteConfig& config, std::string_view key,
                                                       int error_status, std::string_view request_host);

// RedirectAllRequestsTo's redirect for a request of `path` ("/a/b").
WebsiteRedirectTarget RedirectAll(const WebsiteConfig& config, std::string_view path);

}  // namespace annex::objectstore
