#include "appliance/http/xml.h"

#include <gtest/gtest.h>

namespace annex::http {
namespace {

TEST(Xml, RendersEscapedTextWithNamespace) {
  XmlDocument doc("ListBucketResult", kS3XmlNamespace);
  doc.root().Add("Name", "b").Add("Key", "a<&>\"b").Add("MaxKeys", uint64_t{1000}).AddBool("IsTruncated", false);
  std::string xml = doc.Render();
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);
  EXPECT_NE(xml.find("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"), std::string::npos);
  EXPECT_NE(xml.find("<Key>a&lt;&amp;&gt;\"b</Key>"), std::string::npos);
  EXPECT_NE(xml.find("<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"), std::string::npos);
}

TEST(Xml, ParseRejectsMalformedBodies) {
  EXPECT_EQ(ParseXml("<Delete><Object>").status().subcode(), "MalformedXML");
  EXPECT_EQ(ParseXml("").status().subcode(), "MalformedXML");
  EXPECT_EQ(ParseXml("not xml").status().subcode(), "MalformedXML");
  EXPECT_EQ(ParseXml("<Delete></Delete><Delete/>").status().subcode(), "MalformedXML");
  EXPECT_EQ(ParseXml("<Delete></Delete>trailing").status().subcode(), "MalformedXML");
  auto doc = ParseXml("<Delete><Quiet>true</Quiet></Delete>");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(ChildText(doc->document_element(), "Quiet"), "true");
  EXPECT_EQ(ChildText(doc->document_element(), "Missing"), "");
}

TEST(Xml, ExternalEntitiesAreNotExpanded) {
  auto doc = ParseXml(
      "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x><y>&e;</y></x>");
  if (doc.ok()) {
    EXPECT_EQ(std::string(ChildText(doc->document_element(), "y")).find("root:"), std::string::npos);
  }
}

}  // namespace
}  // namespace annex::http
