#include "appliance/http/xml.h"

#include <cctype>

#include "appliance/http/api_error.h"

namespace annex::http {

XmlNode& XmlNode::Add(std::string_view name, std::string_view text) {
  pugi::xml_node child = node_.append_child(std::string(name).c_str());
  child.append_child(pugi::node_pcdata).set_value(std::string(text).c_str());
  return *this;
}

XmlNode& XmlNode::Add(std::string_view name, uint64_t value) { return Add(name, std::to_string(value)); }

XmlNode& XmlNode::AddBool(std::string_view name, bool value) { return Add(name, value ? "true" : "false"); }

XmlNode XmlNode::Child(std::string_view name) { return XmlNode(node_.append_child(std::string(name).c_str())); }

XmlNode& XmlNode::Attribute(std::string_view name, std::string_view value) {
  node_.append_attribute(std::string(name).c_str()).set_value(std::string(value).c_str());
  return *this;
}

XmlDocument::XmlDocument(std::string_view root, std::string_view ns) {
  root_ = doc_.append_child(std::string(root).c_str());
  if (!ns.empty()) root_.append_attribute("xmlns").set_value(std::string(ns).c_str());
}

namespace {
struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
};
}  // namespace

std::string XmlDocument::Render() const {
  StringWriter w;
  w.out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  doc_.save(w, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return std::move(w.out);
}

Result<pugi::xml_document> ParseXml(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  // pugixml accepts fragments; a document has exactly one root element.
  size_t roots = 0;
  for (pugi::xml_node n = doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_element) ++roots;
    if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) roots += 2;  // text outside the root
  }
  // pugixml also drops text before or after the root silently.
  std::string_view trimmed = body;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.remove_suffix(1);
  bool ends_in_markup = !trimmed.empty() && trimmed.back() == '>';
  if (!r || roots != 1 || !ends_in_markup) {
    return ApiStatus("MalformedXML",
                     "The XML you provided was not well-formed or did not validate against our published schema");
  }
  return doc;
}

std::string_view ChildText(const pugi::xml_node& node, const char* name) {
  return node.child(name).text().as_string("");
}

}  // namespace annex::http
