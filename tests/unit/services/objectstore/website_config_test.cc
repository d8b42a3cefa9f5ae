#include "services/objectstore/website_config.h"

#include <gtest/gtest.h>

namespace annex::objectstore {
namespace {

WebsiteConfig Parse(std::string_view body) {
  auto config = ParseWebsiteConfig(body);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : WebsiteConfig();
}

std::string ErrorOf(std::string_view body) { return std::string(ParseWebsiteConfig(body).status().subcode()); }

constexpr std::string_view kRules = R"(<WebsiteConfiguration>
  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
  <ErrorDocument><Key>error.html</Key></ErrorDocument>
  <RoutingRules>
    <RoutingRule><Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>
      <Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect></RoutingRule>
    <RoutingRule><Condition><KeyPrefixEquals>old</KeyPrefixEquals></Condition>
      <Redirect><HostName>new.example.com</HostName><Protocol>https</Protocol><ReplaceKeyWith>new.html</ReplaceKeyWith>
      <HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>
    <RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><HostName>fallback.example.com</HostName></Redirect></RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>)";

TEST(WebsiteConfigTest, ParsesAndRendersAllParts) {
  WebsiteConfig c = Parse(kRules);
  EXPECT_EQ(c.index_suffix, "index.html");
  EXPECT_EQ(c.error_key, "error.html");
  ASSERT_EQ(c.rules.size(), 3u);
  EXPECT_EQ(c.rules[1].redirect.replace_key_with, "new.html");
  WebsiteConfig again = Parse(RenderWebsiteConfig(c));
  EXPECT_EQ(RenderWebsiteConfig(again), RenderWebsiteConfig(c));
  ASSERT_EQ(again.rules.size(), 3u);
  EXPECT_EQ(again.rules[2].http_error_code_returned_equals, "404");
}

TEST(WebsiteConfigTest, RoutingRulesRedirectAsS3Does) {
  WebsiteConfig c = Parse(kRules);
  auto r = MatchRoutingRules(c, "docs/a/b.html", 0, "site.s3-website.example");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 301);
  EXPECT_EQ(r->location, "http://site.s3-website.example/documents/a/b.html");
  r = MatchRoutingRules(c, "older/page", 0, "h");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->location, "https://new.example.com/new.html");
  // Error-code rules apply only once the error is known.
  EXPECT_FALSE(MatchRoutingRules(c, "missing.html", 0, "h").has_value());
  r = MatchRoutingRules(c, "missing.html", 404, "h");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->location, "http://fallback.example.com/missing.html");
  EXPECT_FALSE(MatchRoutingRules(c, "private.html", 403, "h").has_value());
}

TEST(WebsiteConfigTest, RedirectAllRequests) {
  WebsiteConfig c = Parse(
      "<WebsiteConfiguration><RedirectAllRequestsTo><HostName>example.com</HostName><Protocol>https</Protocol>"
      "</RedirectAllRequestsTo></WebsiteConfiguration>");
  EXPECT_EQ(RedirectAll(c, "/a/b").location, "https://example.com/a/b");
  EXPECT_EQ(RedirectAll(c, "/a/b").status, 301);
}

TEST(WebsiteConfigTest, RefusesWhatS3Refuses) {
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration></WebsiteConfiguration>"), "InvalidArgument");
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration><IndexDocument><Suffix>a/b</Suffix></IndexDocument>"
                    "</WebsiteConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration><RedirectAllRequestsTo><HostName>x</HostName></RedirectAllRequestsTo>"
                    "<IndexDocument><Suffix>i.html</Suffix></IndexDocument></WebsiteConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules>"
                    "<RoutingRule><Redirect><ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b"
                    "</ReplaceKeyPrefixWith></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules>"
                    "<RoutingRule><Redirect><HttpRedirectCode>300</HttpRedirectCode></Redirect></RoutingRule>"
                    "</RoutingRules></WebsiteConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules>"
                    "<RoutingRule><Condition><HttpErrorCodeReturnedEquals>200</HttpErrorCodeReturnedEquals>"
                    "</Condition><Redirect><HostName>x</HostName></Redirect></RoutingRule></RoutingRules>"
                    "</WebsiteConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(ErrorOf("<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules>"
                    "<RoutingRule><Redirect><Protocol>ftp</Protocol></Redirect></RoutingRule></RoutingRules>"
                    "</WebsiteConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(ErrorOf("<NotWebsite/>"), "MalformedXML");
}

}  // namespace
}  // namespace annex::objectstore
