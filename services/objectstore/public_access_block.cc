#include "services/objectstore/public_access_block.h"

#include <algorithm>
#include <array>

#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/acl.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

struct Setting {
  const char* element;
  bool PublicAccessBlock::*field;
};
constexpr std::array<Setting, 4> kSettings = {{
    {"BlockPublicAcls", &PublicAccessBlock::block_public_acls},
    {"IgnorePublicAcls", &PublicAccessBlock::ignore_public_acls},
    {"BlockPublicPolicy", &PublicAccessBlock::block_public_policy},
    {"RestrictPublicBuckets", &PublicAccessBlock::restrict_public_buckets},
}};

}  // namespace

Result<PublicAccessBlock> ParsePublicAccessBlock(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "PublicAccessBlockConfiguration"));
  PublicAccessBlock block;
  for (pugi::xml_node child : doc.document_element().children()) {
    if (child.type() != pugi::node_element) continue;
    auto setting = std::find_if(kSettings.begin(), kSettings.end(),
                                [&](const Setting& s) { return std::string_view(child.name()) == s.element; });
    std::string_view value = child.text().get();
    if (setting == kSettings.end() || (value != "true" && value != "false")) return MalformedXml();
    block.*(setting->field) = value == "true";
  }
  return block;
}

std::string RenderPublicAccessBlock(const PublicAccessBlock& block) {
  http::XmlDocument doc("PublicAccessBlockConfiguration", http::kS3XmlNamespace);
  for (const Setting& s : kSettings) doc.root().AddBool(s.element, block.*(s.field));
  return doc.Render();
}

Status CheckAclNotBlocked(const BucketRecord& bucket, const AccessControlList& acl) {
  if (HasPublicGrant(acl) && bucket.public_access_block && bucket.public_access_block->block_public_acls) {
    return http::ApiStatus("AccessDenied", "Access Denied");
  }
  return Status::OK();
}

bool PublicAclsHonoured(const BucketRecord& bucket) {
  return !bucket.public_access_block || !bucket.public_access_block->ignore_public_acls;
}

bool PublicPolicyRestricted(const BucketRecord& bucket) {
  return bucket.public_access_block && bucket.public_access_block->restrict_public_buckets;
}

}  // namespace annex::objectstore
