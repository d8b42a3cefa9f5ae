#include "appliance/http/xml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// XML 1.0 allows no control characters but TAB, LF and CR — not even as
// character references (&#1; breaks expat, hence botocore) — and only valid
// UTF-8. Such text becomes U+FFFD; everything else reads back exactly.
TEST(Xml, RendersOnlyWellFormedXml10) {
  XmlDocument doc("DeleteResult");
  doc.root()
      .Add("Key", std::string("a\x01" "b\x1f" "c\x7f" "d\te\nf\rg"))
      .Add("Key", "bad\xff" "utf8\xc3")
      .Add("Key", "\xed\xa0\x80 \xef\xbf\xbe \xc0\xaf")  // a surrogate, U+FFFE, an overlong '/'
      .Add("Key", "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac")
      .Add("Key", " ");
  doc.root().Child("Grantee").Attribute("note", "q\"t\tn\nr\r<&");
  std::string xml = doc.Render();
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_NE(xml.find("<Key>a" + fffd + "b" + fffd + "c\x7f" "d\te\nf&#13;g</Key>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Key>bad" + fffd + "utf8" + fffd + "</Key>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Key>" + fffd + fffd + fffd + " " + fffd + fffd + fffd + " " + fffd + fffd + "</Key>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<Key>caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac</Key>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Key> </Key>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Grantee note=\"q&quot;t&#9;n&#10;r&#13;&lt;&amp;\"/>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("&#1;"), std::string::npos);
}

// Keys are data: whitespace-only text and CRs survive parsing (and render back).
TEST(Xml, ParseKeepsEveryByteOfText) {
  auto doc = ParseXml(
      "<Delete>\n  <Object><Key> </Key></Object>\n  <Object><Key>a\rb\r\nc</Key></Object>\n"
      "  <Object><Key>x&#13;y</Key></Object>\n  <Object><Key>\t</Key></Object>\n  <Quiet>true</Quiet>\n</Delete>");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  std::vector<std::string> keys;
  for (pugi::xml_node o : doc->document_element().children("Object")) keys.emplace_back(ChildText(o, "Key"));
  EXPECT_EQ(keys, (std::vector<std::string>{" ", "a\rb\r\nc", "x\ry", "\t"}));
  EXPECT_EQ(ChildText(doc->document_element(), "Quiet"), "true");
  EXPECT_TRUE(ParseXml("  <Delete><Object><Key>k</Key></Object></Delete>\r\n").ok());

  XmlDocument out("Key");
  out.root().Add("Key", "a\rb\r\nc");
  auto back = ParseXml(out.Render());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ChildText(back->document_element(), "Key"), "a\rb\r\nc");
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
