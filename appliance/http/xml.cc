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

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// The length of the UTF-8 sequence starting `s` when it encodes a character
// XML 1.0 allows (its Char production), else 0. Control characters other than
// TAB, LF and CR are not allowed even as character references.
size_t XmlCharLength(std::string_view s) {
  auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || len > s.size()) return 0;
  uint32_t cp = c & (0x7F >> len);
  for (size_t i = 1; i < len; ++i) {
    auto cc = static_cast<unsigned char>(s[i]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF) return 0;      // overlong, out of range
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return 0;  // surrogates, non-characters
  return len;
}

// Appends `text` escaped so that any XML 1.0 parser reads back exactly it.
// What XML 1.0 cannot carry at all — invalid UTF-8, most control characters
// — becomes U+FFFD: a response must stay well-formed (keys may hold anything
// but NUL; clients that need those bytes ask for encoding-type=url).
void AppendEscaped(std::string& out, std::string_view text, bool attribute) {
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      // End-of-line handling would turn a literal CR into LF.
      case '\r': out += "&#13;"; ++i; continue;
      default: break;
    }
    if (attribute && (c == '"' || c == '\t' || c == '\n')) {
      // Attribute-value normalization would turn TAB and LF into spaces.
      out += c == '"' ? "&quot;" : c == '\t' ? "&#9;" : "&#10;";
      ++i;
      continue;
    }
    size_t n = XmlCharLength(text.substr(i));
    if (n == 0) {
      out += kReplacementChar;
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
}

// Writes what XmlNode builds (elements, attributes, text) compactly.
void AppendElement(std::string& out, const pugi::xml_node& element) {
  out += '<';
  out += element.name();
  for (const pugi::xml_attribute& a : element.attributes()) {
    out += ' ';
    out += a.name();
    out += "=\"";
    AppendEscaped(out, a.value(), /*attribute=*/true);
    out += '"';
  }
  if (!element.first_child()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const pugi::xml_node& child : element.children()) {
    if (child.type() == pugi::node_element) {
      AppendElement(out, child);
    } else {
      AppendEscaped(out, child.value(), /*attribute=*/false);
    }
  }
  out += "</";
  out += element.name();
  out += '>';
}

}  // namespace

std::string XmlDocument::Render() const {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  AppendElement(out, root_);
  return out;
}

Result<pugi::xml_document> ParseXml(std::string_view body) {
  pugi::xml_document doc;
  // Text is data (an object key may be " " or hold a CR): keep a text that is
  // only whitespace, and do not rewrite CR or CRLF to LF as end-of-line handling
  // would — SDKs send a CR in a key literally, not as &#13;.
  constexpr unsigned kOptions = (pugi::parse_default | pugi::parse_ws_pcdata_single) & ~pugi::parse_eol;
  pugi::xml_parse_result r = doc.load_buffer(body.data(), body.size(), kOptions, pugi::encoding_utf8);
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
