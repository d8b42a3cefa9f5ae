// Blob HEAD and GET: a repository serves only blobs linked to it (pushed
// into it or mounted); the bytes go out from the blob's file, zero-copy
// where the transport allows, with single byte ranges answered as 206.

#include <optional>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "services/registry/digest.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"

namespace annex::registry {
namespace {

struct ByteSpan {
  uint64_t first = 0;
  uint64_t length = 0;
};

enum class RangeOutcome { kWhole, kPartial, kUnsatisfiable };

// One "bytes=a-b", "bytes=a-" or "bytes=-n" range of a `size`-byte blob.
// Anything else (several ranges, other units, junk) is ignored, as HTTP
// allows: the whole blob is sent.
RangeOutcome ParseRange(std::string_view header, uint64_t size, ByteSpan& span) {
  if (!StartsWith(header, "bytes=")) return RangeOutcome::kWhole;
  std::string_view spec = Trim(header.substr(6));
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return RangeOutcome::kWhole;
  std::optional<uint64_t> a = ParseUint(spec.substr(0, dash));
  std::optional<uint64_t> b = ParseUint(spec.substr(dash + 1));
  if (!a && b) {  // suffix: the last b bytes
    if (*b == 0) return RangeOutcome::kUnsatisfiable;
    span.length = std::min(*b, size);
    span.first = size - span.length;
    return size == 0 ? RangeOutcome::kUnsatisfiable : RangeOutcome::kPartial;
  }
  if (!a || (b && *b < *a)) return RangeOutcome::kWhole;
  if (*a >= size) return RangeOutcome::kUnsatisfiable;
  uint64_t last = b ? std::min(*b, size - 1) : size - 1;
  span = {*a, last - *a + 1};
  return RangeOutcome::kPartial;
}

http::Task<Status> SendUnsatisfiable(DistributionCall& call, uint64_t size) {
  http::Response r = RenderDistributionError(DistributionError("RANGE_INVALID", "The requested range is not satisfiable"));
  r.headers.Set("content-range", "bytes */" + std::to_string(size));
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Task<Status> ServeBlob(DistributionCall& call, bool head) {
  call.ctx.operation = head ? "HeadBlob" : "GetBlob";
  const std::string& digest = call.path.reference;
  ANNEX_CO_RETURN_IF_ERROR(
      AuthorizeRepository(call, head ? "ecr:BatchCheckLayerAvailability" : "ecr:GetDownloadUrlForLayer").status());
  if (!IsValidDigest(digest)) co_return DistributionError("DIGEST_INVALID", "invalid digest: " + digest);
  Result<uint64_t> size = call.store().RepositoryBlob(call.account, call.path.name, digest);
  if (!size.ok()) {
    if (!size.status().IsNotFound()) co_return size.status();
    co_return DistributionError("BLOB_UNKNOWN", "blob unknown to registry: " + digest);
  }
  ByteSpan span{0, *size};
  RangeOutcome range = ParseRange(call.request().headers.GetOr("range", ""), *size, span);
  if (range == RangeOutcome::kUnsatisfiable) co_return co_await SendUnsatisfiable(call, *size);
  os::RandomAccessFilePtr file;
  if (!head) {
    Result<os::RandomAccessFilePtr> opened = call.blobs().Open(digest);
    if (!opened.ok()) {
      // Linked but gone: the collector won a race with this read.
      if (opened.status().IsNotFound()) co_return DistributionError("BLOB_UNKNOWN", "blob unknown to registry");
      co_return opened.status();
    }
    file = std::move(*opened);
  }
  http::Response response = DistributionResponse(range == RangeOutcome::kPartial ? 206 : 200);
  response.headers.Set("content-type", "application/octet-stream");
  response.headers.Set("docker-content-digest", digest);
  response.headers.Set("etag", "\"" + digest + "\"");
  response.headers.Set("accept-ranges", "bytes");
  response.headers.Set("cache-control", "max-age=31536000");  // content-addressed: never changes
  if (range == RangeOutcome::kPartial) {
    response.headers.Set("content-range", "bytes " + std::to_string(span.first) + "-" +
                                              std::to_string(span.first + span.length - 1) + "/" +
                                              std::to_string(*size));
  }
  ANNEX_CO_RETURN_IF_ERROR(co_await call.ctx.response.SendHead(std::move(response), span.length));
  if (head || span.length == 0) co_return Status::OK();
  call.ctx.bytes_out += span.length;
  co_return co_await call.ctx.response.SendFile(*file, span.first, span.length);
}

}  // namespace

Task<Status> HandleBlobRequest(DistributionCall& call) {
  const std::string& method = call.request().method;
  if (method == "GET" || method == "HEAD") co_return co_await ServeBlob(call, method == "HEAD");
  // DELETE included: ECR removes layers with the images that use them, never one by one.
  co_return DistributionError("UNSUPPORTED", "The operation is unsupported.");
}

}  // namespace annex::registry
