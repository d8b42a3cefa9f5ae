#pragma once
// AwsChunkedReader: decodes an S3 "aws-chunked" request body while it
// streams, verifying each chunk signature (signed modes) and the trailing
// headers, and yields the decoded payload.
//
// Wire format:
//   <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n      (repeated)
//   0[;chunk-signature=<sig>]\r\n                          (final chunk)
//   [name:value\r\n ...]                                   (trailers)
//   [x-amz-trailer-signature:<sig>\r\n]                     (signed trailer)
//   \r\n
//
// Memory stays bounded: the reader buffers at most one header line plus one
// raw read; chunk data is handed through (and hashed) as it arrives. A chunk
// whose signature is wrong fails the Read() after its data was returned, so
// callers must not commit anything before Read() returns 0.
//
// Errors carry S3 codes: SignatureDoesNotMatch (chunk or trailer signature),
// InvalidChunkSizeError (chunk larger than max_chunk_size), IncompleteBody
// (truncated or malformed framing, or a decoded length other than
// x-amz-decoded-content-length).
//
// Not thread-safe; used from one coroutine at a time.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "appliance/crypto/hash.h"
#include "appliance/http/exchange.h"
#include "appliance/http/headers.h"

namespace annex::auth {

struct AwsChunkedOptions {
  // Verify chunk-signature extensions (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).
  bool signed_chunks = false;
  // Require and verify x-amz-trailer-signature (…-PAYLOAD-TRAILER).
  bool signed_trailer = false;
  // Signing material for the signed modes.
  std::string signing_key;
  std::string amz_date;
  std::string scope;
  std::string seed_signature;
  // x-amz-decoded-content-length, when the request carried it.
  std::optional<uint64_t> decoded_content_length;
  // Larger chunks are rejected; real SDKs send 64 KiB – 8 MiB.
  uint64_t max_chunk_size = 16 * 1024 * 1024;
};

class AwsChunkedReader final : public http::BodyReader {
 public:
  // `raw` and `trailers` (may be null) must outlive the reader. Trailers are
  // stored (lower-case names) once the body completes.
  AwsChunkedReader(http::BodyReader& raw, AwsChunkedOptions options, http::Headers* trailers);

  // http::BodyReader
  http::Task<Result<size_t>> Read(std::span<char> buf) override;

 private:
  enum class State { kChunkHeader, kChunkData, kChunkEnd, kTrailers, kDone, kFailed };

  http::Task<Result<size_t>> ReadData(std::span<char> buf);
  // Makes a full "\r\n"-terminated line available at buffered(); returns its
  // length without the CRLF, or nullopt at a clean end of the raw body.
  http::Task<Result<std::optional<size_t>>> NextLine();
  // Reads more raw bytes into the buffer; 0 at end of body.
  http::Task<Result<size_t>> Fill();

  Status ParseChunkHeader(std::string_view line);
  Status FinishChunk();
  Status AddTrailer(std::string_view line);
  Status Finish();
  Status Fail(Status status);

  std::string_view buffered() const { return {buf_.data() + begin_, end_ - begin_}; }

  http::BodyReader& raw_;
  AwsChunkedOptions options_;
  http::Headers* trailers_;
  State state_ = State::kChunkHeader;
  Status error_;

  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool raw_eof_ = false;

  uint64_t chunk_remaining_ = 0;
  uint64_t decoded_total_ = 0;
  std::string chunk_signature_;  // declared for the current chunk
  std::string previous_signature_;
  crypto::Hasher chunk_hash_{crypto::HashKind::kSha256};
  http::Headers pending_trailers_;
  std::string trailer_text_;  // "name:value\n" as signed
  std::string trailer_signature_;
};

}  // namespace annex::auth
