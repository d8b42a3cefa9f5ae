// Manifests by tag or digest: PUT stores the bytes exactly as sent (their
// sha256 is the image's digest) once every blob they reference is in the
// repository; GET and HEAD return them with their stored media type;
// DELETE by digest removes the image, by tag only the tag.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/exchange.h"
#include "services/registry/digest.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"
#include "services/registry/image_tag.h"
#include "services/registry/manifest.h"

namespace annex::registry {
namespace {

struct Reference {
  bool is_digest = false;
  std::string value;
};

// A tag or a digest: anything with a ':' must be a valid digest.
Result<Reference> ParseReference(std::string_view ref) {
  if (ref.find(':') != std::string_view::npos) {
    if (!IsValidDigest(ref)) return DistributionError("DIGEST_INVALID", "invalid digest: " + std::string(ref.substr(0, 80)));
    return Reference{true, std::string(ref)};
  }
  if (!IsValidImageTag(ref)) {
    return DistributionError("TAG_INVALID", "invalid tag: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  }
  return Reference{false, std::string(ref)};
}

Status TooLarge() {
  return DistributionError("MANIFEST_INVALID", "manifest is larger than the " +
                                                   std::to_string(kMaxManifestBytes) + "-byte limit");
}

// The body, refused past the limit without holding more than the limit.
Task<Result<std::string>> ReadManifestBody(DistributionCall& call) {
  if (call.request().content_length.value_or(0) > kMaxManifestBytes) co_return TooLarge();
  Result<std::string> body = co_await http::ReadSmallBody(call.ctx.body, kMaxManifestBytes);
  if (body.ok()) co_return body;
  if (body.status().subcode() == "MaxMessageLengthExceeded") co_return TooLarge();
  co_return DistributionError("MANIFEST_INVALID", "the manifest body was cut short");
}

// The store's refusal of a manifest, in the words ECR uses.
Status PutRefusal(const DistributionCall& call, const Status& failure, const Reference& ref) {
  const std::string& code = failure.subcode();
  if (code == "ImageTagAlreadyExistsException" || code == "TAG_INVALID") {
    return DistributionError("TAG_INVALID", "The image tag '" + ref.value + "' already exists in the '" +
                                                call.path.name +
                                                "' repository and cannot be overwritten because the repository "
                                                "is immutable.");
  }
  if (code.empty() && failure.code() == StatusCode::kInvalidArgument) {
    return DistributionError("MANIFEST_INVALID", failure.message());
  }
  return failure;
}

Task<Status> PutManifest(DistributionCall& call) {
  call.ctx.operation = "PutImage";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:PutImage").status());
  ANNEX_CO_ASSIGN_OR_RETURN(Reference ref, ParseReference(call.path.reference));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string bytes, co_await ReadManifestBody(call));
  call.ctx.bytes_in += bytes.size();
  std::string digest = DigestOf(bytes);
  if (ref.is_digest && digest != ref.value) {
    co_return DistributionError("DIGEST_INVALID", "the manifest's digest is " + digest + ", not " + ref.value);
  }
  Result<Manifest> parsed = ParseManifest(bytes, call.request().headers.GetOr("content-type", ""));
  if (!parsed.ok()) {
    if (parsed.status().subcode() == "MANIFEST_INVALID") co_return parsed.status();
    co_return DistributionError("MANIFEST_INVALID", parsed.status().message());
  }
  std::string tag = ref.is_digest ? std::string() : ref.value;
  Result<RegistryStore::PutManifestResult> stored = co_await call.ctx.blocking.Run(
      [&] { return call.store().PutManifest(call.account, call.path.name, bytes, *parsed, tag); });
  if (!stored.ok()) co_return PutRefusal(call, stored.status(), ref);
  http::Response r = DistributionResponse(201);
  r.headers.Set("location", "/v2/" + call.path.name + "/manifests/" + stored->digest);
  r.headers.Set("docker-content-digest", stored->digest);
  if (!parsed->subject_digest.empty()) r.headers.Set("oci-subject", parsed->subject_digest);
  co_return co_await call.ctx.response.Send(std::move(r));
}

Task<Status> GetManifest(DistributionCall& call, bool head) {
  call.ctx.operation = head ? "HeadImage" : "BatchGetImage";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:BatchGetImage").status());
  ANNEX_CO_ASSIGN_OR_RETURN(Reference ref, ParseReference(call.path.reference));
  Result<ManifestRecord> manifest = call.store().GetManifest(call.account, call.path.name, ref.value);
  if (!manifest.ok()) {
    if (!manifest.status().IsNotFound()) co_return manifest.status();
    co_return DistributionError("MANIFEST_UNKNOWN", "Requested image not found");
  }
  // The stored bytes with their stored type: clients accept what they
  // pushed, and rewriting would change the digest.
  http::Response r = DistributionResponse(200);
  r.headers.Set("content-type", manifest->media_type);
  r.headers.Set("docker-content-digest", manifest->digest);
  r.headers.Set("etag", "\"" + manifest->digest + "\"");
  if (!head) call.ctx.bytes_out += manifest->bytes.size();
  r.body = std::move(manifest->bytes);
  ANNEX_CO_RETURN_IF_ERROR(co_await call.ctx.response.Send(std::move(r)));
  if (!head) {
    // In memory: the pull time is bookkeeping no pull should wait for.
    call.store().NotePull(call.account, call.path.name, manifest->digest);
  }
  co_return Status::OK();
}

Task<Status> DeleteManifest(DistributionCall& call) {
  call.ctx.operation = "BatchDeleteImage";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:BatchDeleteImage").status());
  ANNEX_CO_ASSIGN_OR_RETURN(Reference ref, ParseReference(call.path.reference));
  Status deleted = co_await call.ctx.blocking.Run([&]() -> Status {
    if (ref.is_digest) return call.store().DeleteManifest(call.account, call.path.name, ref.value);
    return call.store().DeleteTag(call.account, call.path.name, ref.value, false).status();
  });
  if (deleted.IsNotFound()) co_return DistributionError("MANIFEST_UNKNOWN", "Requested image not found");
  if (deleted.code() == StatusCode::kFailedPrecondition) {
    co_return DistributionError("DENIED", "the image is referenced by an index in the repository: " +
                                              deleted.message());
  }
  ANNEX_CO_RETURN_IF_ERROR(deleted);
  co_return co_await call.ctx.response.Send(DistributionResponse(202));
}

}  // namespace

Task<Status> HandleManifestRequest(DistributionCall& call) {
  const std::string& method = call.request().method;
  if (method == "GET" || method == "HEAD") co_return co_await GetManifest(call, method == "HEAD");
  if (method == "PUT") co_return co_await PutManifest(call);
  if (method == "DELETE") co_return co_await DeleteManifest(call);
  co_return DistributionError("UNSUPPORTED", "The operation is unsupported.");
}

}  // namespace annex::registry
