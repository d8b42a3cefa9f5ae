#include "services/objectstore/tagging.h"

#include <set>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxKeyChars = 128;
constexpr size_t kMaxValueChars = 256;

Status InvalidTag(std::string message) { return http::ApiStatus("InvalidTag", std::move(message)); }

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Letters and digits of any script (every non-ASCII character is taken as
// one), spaces and + - = . _ : / @.
bool AllowedCharacters(std::string_view s) {
  if (!IsValidUtf8(s)) return false;
  for (unsigned char c : s) {
    if (c >= 0x80 || std::isalnum(c)) continue;
    if (std::string_view(" +-=._:/@").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

Status ValidateTags(const TagSet& tags, size_t max_tags) {
  if (tags.size() > max_tags) {
    return InvalidTag(max_tags == kMaxObjectTags ? "Object tags cannot be greater than 10"
                                                 : "Bucket tag count cannot be greater than 50");
  }
  std::set<std::string_view> seen;
  for (const auto& [key, value] : tags) {
    if (key.empty() || !AllowedCharacters(key)) return InvalidTag("The TagKey you have provided is invalid");
    if (Utf8Length(key) > kMaxKeyChars) return InvalidTag("The TagKey you have provided is too long, max 128");
    if (!AllowedCharacters(value)) return InvalidTag("The TagValue you have provided is invalid");
    if (Utf8Length(value) > kMaxValueChars) return InvalidTag("The TagValue you have provided is too long, max 256");
    if (StartsWith(key, "aws:")) return InvalidTag("Your TagKey cannot be prefixed with aws:");
    if (!seen.insert(key).second) return InvalidTag("Cannot provide multiple Tags with the same key");
  }
  return Status::OK();
}

}  // namespace

Result<TagSet> ParseTaggingDocument(std::string_view body, size_t max_tags) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "Tagging"));
  ANNEX_RETURN_IF_ERROR(ExpectChildren(doc.document_element(), {"TagSet"}));
  pugi::xml_node set = doc.document_element().child("TagSet");
  if (!set) return MalformedXml();
  ANNEX_RETURN_IF_ERROR(ExpectChildren(set, {}, {"Tag"}));
  TagSet tags;
  for (pugi::xml_node tag : set.children("Tag")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(tag, {"Key", "Value"}));
    if (!tag.child("Key") || !tag.child("Value")) return MalformedXml();
    tags.emplace_back(http::ChildText(tag, "Key"), http::ChildText(tag, "Value"));
    if (tags.size() > max_tags) break;  // refused below; no need to read the rest
  }
  ANNEX_RETURN_IF_ERROR(ValidateTags(tags, max_tags));
  return tags;
}

Result<TagSet> ParseTaggingHeader(std::string_view header) {
  auto params = http::QueryParams::Parse(header, /*plus_is_space=*/true);
  if (!params.ok()) {
    return InvalidTag("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
                      "without tag name duplicates.");
  }
  TagSet tags(params->params().begin(), params->params().end());
  ANNEX_RETURN_IF_ERROR(ValidateTags(tags, kMaxObjectTags));
  return tags;
}

std::string RenderTagging(const TagSet& tags) {
  http::XmlDocument doc("Tagging", http::kS3XmlNamespace);
  http::XmlNode set = doc.root().Child("TagSet");
  for (const auto& [key, value] : tags) set.Child("Tag").Add("Key", key).Add("Value", value);
  return doc.Render();
}

}  // namespace annex::objectstore
