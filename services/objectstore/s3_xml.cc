#include "services/objectstore/s3_xml.h"

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

}  // namespace annex::objectstore
