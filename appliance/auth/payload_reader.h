#pragma once
// PayloadReader: passes a single-chunk request body through while checking
// what the signature promised about it — the sha256 from
// x-amz-content-sha256 (hashed as the bytes stream, never in a second pass)
// and the Content-Length.
//
// At end of body: a digest mismatch fails with XAmzContentSHA256Mismatch and
// a short body with IncompleteBody, so a bad body fails on its last Read()
// before the caller commits anything. Not thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "appliance/crypto/hash.h"
#include "appliance/http/exchange.h"

namespace annex::auth {

class PayloadReader final : public http::BodyReader {
 public:
  // `expected_sha256_hex`: nullopt for an unsigned payload. `expected_length`:
  // the request's Content-Length, when it had one. `raw` must outlive this.
  PayloadReader(http::BodyReader& raw, std::optional<std::string> expected_sha256_hex,
                std::optional<uint64_t> expected_length);

  // http::BodyReader
  http::Task<Result<size_t>> Read(std::span<char> buf) override;

 private:
  Status CheckComplete();

  http::BodyReader& raw_;
  std::optional<std::string> expected_sha256_hex_;
  std::optional<uint64_t> expected_length_;
  std::optional<crypto::Hasher> hasher_;  // made at the first body byte: most requests have none
  uint64_t total_ = 0;
  bool done_ = false;
  Status error_;
};

}  // namespace annex::auth
