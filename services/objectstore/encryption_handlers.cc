// Put/Get/DeleteBucketEncryption. Every new object is SSE-S3 unless a
// request asks for SSE-C (object_encryption.h), as in S3 since 2023, so the
// bucket's default is always AES256; KMS is not on the appliance.

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxEncryptionBody = 64 * 1024;

Status CheckEncryptionConfiguration(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "ServerSideEncryptionConfiguration"));
  pugi::xml_node root = doc.document_element();
  ANNEX_RETURN_IF_ERROR(ExpectChildren(root, {}, {"Rule"}));
  if (!root.child("Rule")) return MalformedXml();
  for (pugi::xml_node rule : root.children("Rule")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(rule, {"ApplyServerSideEncryptionByDefault", "BucketKeyEnabled",
                                                "BlockedEncryptionTypes"}));
    pugi::xml_node apply = rule.child("ApplyServerSideEncryptionByDefault");
    if (!apply) return MalformedXml();
    ANNEX_RETURN_IF_ERROR(ExpectChildren(apply, {"SSEAlgorithm", "KMSMasterKeyID"}));
    if (pugi::xml_node bucket_key = rule.child("BucketKeyEnabled")) {
      std::string_view v = bucket_key.text().get();
      if (v != "true" && v != "false") return MalformedXml();
    }
    // Blocking an encryption type is a promise to refuse uploads: one the appliance would not keep.
    if (pugi::xml_node blocked = rule.child("BlockedEncryptionTypes"); blocked && ChildElementCount(blocked) > 0) {
      return http::ApiStatus("InvalidArgument", "BlockedEncryptionTypes is not supported on this appliance.");
    }
    std::string_view algorithm = http::ChildText(apply, "SSEAlgorithm");
    if (algorithm == "aws:kms" || algorithm == "aws:kms:dsse") {
      return http::ApiStatus("InvalidArgument",
                             "Server-side encryption with KMS keys is not available on this appliance: use AES256.");
    }
    if (algorithm != "AES256") return MalformedXml();
    if (apply.child("KMSMasterKeyID")) {
      return http::ApiStatus("InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is "
                                                "not aws:kms or aws:kms:dsse");
    }
  }
  return Status::OK();
}

}  // namespace

http::Task<Status> GetBucketEncryption(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  http::XmlDocument doc("ServerSideEncryptionConfiguration", http::kS3XmlNamespace);
  http::XmlNode rule = doc.root().Child("Rule");
  rule.Child("ApplyServerSideEncryptionByDefault").Add("SSEAlgorithm", "AES256");
  rule.AddBool("BucketKeyEnabled", false);
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> PutBucketEncryption(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxEncryptionBody));
  ANNEX_CO_RETURN_IF_ERROR(CheckEncryptionConfiguration(body));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

// S3 then applies its default again: SSE-S3, which is what the bucket has.
http::Task<Status> DeleteBucketEncryption(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

}  // namespace annex::objectstore
