#pragma once
// XML for the REST-XML and Query protocols, on pugixml: building responses
// with correct escaping, and parsing untrusted request bodies (pugixml does
// not expand external entities, so XXE is not possible).

#include <cstdint>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "appliance/core/result.h"

namespace annex::http {

// The S3 response namespace.
inline constexpr std::string_view kS3XmlNamespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// A handle to an element being built.
class XmlNode {
 public:
  explicit XmlNode(pugi::xml_node node) : node_(node) {}
  // Appends <name>text</name>; returns *this for chaining.
  XmlNode& Add(std::string_view name, std::string_view text);
  XmlNode& Add(std::string_view name, uint64_t value);
  XmlNode& AddBool(std::string_view name, bool value);
  // Appends an empty <name/> and returns it for filling.
  XmlNode Child(std::string_view name);
  XmlNode& Attribute(std::string_view name, std::string_view value);
  pugi::xml_node raw() const { return node_; }

 private:
  pugi::xml_node node_;
};

class XmlDocument {
 public:
  // A document whose root element is `root`, with xmlns=`ns` when non-empty.
  explicit XmlDocument(std::string_view root, std::string_view ns = {});
  XmlNode root() { return XmlNode(root_); }
  // <?xml version="1.0" encoding="UTF-8"?> followed by the compact document,
  // always well-formed XML 1.0: text reads back byte for byte (a CR as &#13;),
  // except that what XML 1.0 cannot carry (invalid UTF-8, control characters
  // other than TAB, LF, CR) is written as U+FFFD.
  std::string Render() const;

 private:
  pugi::xml_document doc_;
  pugi::xml_node root_;
};

// Parses an untrusted body. Fails with the S3 "MalformedXML" code. Text
// keeps every byte: whitespace-only text and CRs are not dropped or rewritten.
Result<pugi::xml_document> ParseXml(std::string_view body);

// Text of the direct child `name` of `node`, or "" when absent.
std::string_view ChildText(const pugi::xml_node& node, const char* name);

}  // namespace annex::http
