#include "appliance/auth/payload_reader.h"

#include <utility>

#include "appliance/auth/sigv4.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::auth {

PayloadReader::PayloadReader(http::BodyReader& raw, std::optional<std::string> expected_sha256_hex,
                             std::optional<uint64_t> expected_length)
    : raw_(raw),
      expected_sha256_hex_(std::move(expected_sha256_hex)),
      expected_length_(expected_length) {}

http::Task<Result<size_t>> PayloadReader::Read(std::span<char> buf) {
  if (!error_.ok()) co_return error_;
  if (done_) co_return size_t{0};
  Result<size_t> n = co_await raw_.Read(buf);
  if (!n.ok()) {
    error_ = n.status();
    co_return error_;
  }
  if (*n == 0) {
    error_ = CheckComplete();
    if (!error_.ok()) co_return error_;
    done_ = true;
    co_return size_t{0};
  }
  total_ += *n;
  if (expected_length_ && total_ > *expected_length_) {
    error_ = http::ApiStatus("IncompleteBody", "The request body is longer than Content-Length.");
    co_return error_;
  }
  if (expected_sha256_hex_) {
    if (!hasher_) hasher_.emplace(crypto::HashKind::kSha256);
    hasher_->Update(std::string_view(buf.data(), *n));
  }
  co_return *n;
}

Status PayloadReader::CheckComplete() {
  if (expected_length_ && total_ != *expected_length_) {
    return http::ApiStatus("IncompleteBody",
                           "You did not provide the number of bytes specified by the "
                           "Content-Length HTTP header.");
  }
  if (expected_sha256_hex_ &&
      (hasher_ ? hasher_->FinalHex() : std::string(kEmptyPayloadSha256)) != ToLower(*expected_sha256_hex_)) {
    return http::ApiStatus("XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what "
                           "was computed.");
  }
  return Status::OK();
}

}  // namespace annex::auth
