#include "services/objectstore/s3_xml.h"

#include <algorithm>
#include <vector>

#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"

namespace annex::objectstore {

Status MalformedXml() {
  return http::ApiStatus("MalformedXML",
                         "The XML you provided was not well-formed or did not validate against our published schema");
}

Result<pugi::xml_document> ParseS3Document(std::string_view body, std::string_view root) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, http::ParseXml(body));
  size_t elements = 0;
  for (pugi::xml_node n : doc.children()) {
    if (n.type() == pugi::node_element) ++elements;
    if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) return MalformedXml();
  }
  if (elements != 1 || std::string_view(doc.document_element().name()) != root) return MalformedXml();
  return doc;
}

Status ExpectChildren(const pugi::xml_node& node, std::initializer_list<std::string_view> once,
                      std::initializer_list<std::string_view> repeated) {
  std::vector<std::string_view> seen;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = child.name();
    if (std::find(repeated.begin(), repeated.end(), name) != repeated.end()) continue;
    if (std::find(once.begin(), once.end(), name) == once.end()) return MalformedXml();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) return MalformedXml();
    seen.push_back(name);
  }
  return Status::OK();
}

size_t ChildElementCount(const pugi::xml_node& node) {
  size_t n = 0;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    n += child.type() == pugi::node_element ? 1 : 0;
  }
  return n;
}

}  // namespace annex::objectstore
