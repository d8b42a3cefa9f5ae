#include "services/objectstore/body_receiver.h"

#include <algorithm>
#include <memory>
#include <span>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"

namespace annex::objectstore {
namespace {
constexpr size_t kReadChunk = 256 * 1024;
}  // namespace

http::Task<Result<WrittenData>> ReceiveBody(S3Call& call, size_t inline_threshold, const ChecksumRequest& checksum,
                                            std::string data_key) {
  // aws-chunked bodies announce their payload size separately.
  std::optional<uint64_t> length = call.request().content_length;
  if (const std::string* decoded = call.headers().Get("x-amz-decoded-content-length")) length = ParseUint(*decoded);
  if (length && *length > kMaxPutSize) {
    co_return http::ApiStatus("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.");
  }
  DataWriter writer(call.store.files(), call.ctx.blocking, inline_threshold, checksum.algorithm, std::move(data_key));
  // Sized to the body when it is small, and never zero-filled: a 4 KiB PUT
  // should not pay for clearing 256 KiB.
  size_t buf_size = length && *length < kReadChunk ? static_cast<size_t>(std::max<uint64_t>(*length, 1)) : kReadChunk;
  std::unique_ptr<char[]> storage(new char[buf_size]);
  std::span<char> buf(storage.get(), buf_size);
  uint64_t total = 0;
  while (true) {
    Result<size_t> n = co_await call.ctx.body.Read(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    total += *n;
    if (total > kMaxPutSize) {
      co_return http::ApiStatus("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.");
    }
    ANNEX_CO_RETURN_IF_ERROR(co_await writer.Append({buf.data(), *n}));
  }
  call.ctx.bytes_in += total;
  const http::Headers& headers = call.headers();
  const http::Headers& trailers = call.ctx.trailers;
  co_return co_await writer.Finish([&](const WrittenData& data) {
    ANNEX_RETURN_IF_ERROR(VerifyContentMd5(headers, data.md5));
    return VerifyChecksum(checksum, trailers, data.checksum);
  });
}

http::Task<Result<std::string>> ReadCheckedBody(S3Call& call, size_t limit) {
  ANNEX_CO_ASSIGN_OR_RETURN(ChecksumRequest checksum, ParseChecksumRequest(call.headers()));
  if (!HasIntegrityCheck(call.headers(), checksum)) {
    co_return http::ApiStatus("InvalidRequest", "Missing required header for this request: Content-MD5");
  }
  ANNEX_CO_RETURN_IF_ERROR(CheckContentMd5Syntax(call.headers()));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, limit));
  crypto::Hasher md5(crypto::HashKind::kMd5);
  md5.Update(body);
  ANNEX_CO_RETURN_IF_ERROR(VerifyContentMd5(call.headers(), md5.Final()));
  if (checksum.algorithm) {
    auto c = crypto::Checksummer::Create(*checksum.algorithm);
    c->Update(body);
    ANNEX_CO_RETURN_IF_ERROR(VerifyChecksum(checksum, call.ctx.trailers, crypto::ChecksumBase64(*c)));
  }
  co_return body;
}

}  // namespace annex::objectstore
