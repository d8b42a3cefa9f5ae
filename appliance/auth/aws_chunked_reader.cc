#include "appliance/auth/aws_chunked_reader.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "appliance/auth/sigv4.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::auth {
namespace {

// Raw reads go through this buffer only for header lines and small pieces;
// large chunk data is read straight into the caller's buffer.
constexpr size_t kBufferSize = 64 * 1024;
// A chunk header is "<16 hex digits>;chunk-signature=<64 hex>"; trailer
// lines carry short checksums. Anything longer is not aws-chunked.
constexpr size_t kMaxLineLength = 4096;
constexpr size_t kMaxTrailers = 32;

Status Malformed(std::string_view what) {
  return http::ApiStatus("IncompleteBody", "Malformed aws-chunked body: " + std::string(what));
}

Status Truncated() {
  return http::ApiStatus("IncompleteBody",
                         "The request body terminated before the final aws-chunked chunk.");
}

Status BadSignature(std::string_view what) {
  return http::ApiStatus(
      "SignatureDoesNotMatch",
      "The " + std::string(what) + " signature we calculated does not match the one you provided.");
}

std::optional<uint64_t> ParseHexSize(std::string_view hex) {
  if (hex.empty() || hex.size() > 15) return std::nullopt;  // 15 digits cannot overflow
  uint64_t v = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

AwsChunkedReader::AwsChunkedReader(http::BodyReader& raw, AwsChunkedOptions options,
                                   http::Headers* trailers)
    : raw_(raw), options_(std::move(options)), trailers_(trailers), buf_(kBufferSize) {
  previous_signature_ = options_.seed_signature;
}

Status AwsChunkedReader::Fail(Status status) {
  state_ = State::kFailed;
  error_ = status;
  return status;
}

http::Task<Result<size_t>> AwsChunkedReader::Read(std::span<char> buf) {
  while (true) {
    switch (state_) {
      case State::kFailed:
        co_return error_;
      case State::kDone:
        co_return size_t{0};
      case State::kChunkData:
        co_return co_await ReadData(buf);
      case State::kChunkHeader:
      case State::kTrailers: {
        Result<std::optional<size_t>> line = co_await NextLine();
        if (!line.ok()) co_return Fail(line.status());
        Status s;
        if (!line->has_value()) {
          // The raw body ended on a line boundary. Tolerated after the final
          // chunk (some SDKs omit the closing blank line), never before it.
          s = state_ == State::kTrailers ? Finish() : Truncated();
        } else {
          std::string_view text = buffered().substr(0, **line);
          if (state_ == State::kChunkHeader) {
            s = ParseChunkHeader(text);
          } else {
            s = text.empty() ? Finish() : AddTrailer(text);
          }
          begin_ += **line + 2;
        }
        if (!s.ok()) co_return Fail(std::move(s));
        break;
      }
      case State::kChunkEnd: {
        while (buffered().size() < 2 && !raw_eof_) {
          Result<size_t> n = co_await Fill();
          if (!n.ok()) co_return Fail(n.status());
        }
        if (buffered().size() < 2) co_return Fail(Truncated());
        if (buffered().substr(0, 2) != "\r\n")
          co_return Fail(Malformed("chunk data not followed by CRLF"));
        begin_ += 2;
        Status s = FinishChunk();
        if (!s.ok()) co_return Fail(std::move(s));
        state_ = State::kChunkHeader;
        break;
      }
    }
  }
}

http::Task<Result<size_t>> AwsChunkedReader::ReadData(std::span<char> buf) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), chunk_remaining_));
  size_t n = 0;
  if (begin_ < end_) {
    n = std::min(want, end_ - begin_);
    std::memcpy(buf.data(), buf_.data() + begin_, n);
    begin_ += n;
  } else {
    Result<size_t> got = co_await raw_.Read(buf.first(want));
    if (!got.ok()) co_return Fail(got.status());
    if (*got == 0) co_return Fail(Truncated());
    n = *got;
  }
  if (options_.signed_chunks) chunk_hash_.Update(std::string_view(buf.data(), n));
  chunk_remaining_ -= n;
  decoded_total_ += n;
  if (chunk_remaining_ == 0) state_ = State::kChunkEnd;
  co_return n;
}

http::Task<Result<std::optional<size_t>>> AwsChunkedReader::NextLine() {
  size_t scanned = 0;
  while (true) {
    std::string_view b = buffered();
    size_t pos = b.find("\r\n", scanned);
    if (pos != std::string_view::npos) co_return std::optional<size_t>(pos);
    if (b.size() >= kMaxLineLength) co_return Malformed("header line too long");
    scanned = b.empty() ? 0 : b.size() - 1;  // a CR may end the buffer
    if (raw_eof_) {
      if (b.empty()) co_return std::optional<size_t>();
      co_return Truncated();
    }
    Result<size_t> n = co_await Fill();
    if (!n.ok()) co_return n.status();
  }
}

http::Task<Result<size_t>> AwsChunkedReader::Fill() {
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  Result<size_t> n = co_await raw_.Read(std::span<char>(buf_.data() + end_, buf_.size() - end_));
  if (!n.ok()) co_return n.status();
  if (*n == 0) raw_eof_ = true;
  end_ += *n;
  co_return *n;
}

Status AwsChunkedReader::ParseChunkHeader(std::string_view line) {
  size_t semi = line.find(';');
  std::optional<uint64_t> size = ParseHexSize(Trim(line.substr(0, semi)));
  if (!size) return Malformed("bad chunk size");
  if (*size > options_.max_chunk_size) {
    return http::ApiStatus("InvalidChunkSizeError", "Chunk of " + std::to_string(*size) +
                                                        " bytes exceeds the maximum chunk size.");
  }
  chunk_signature_.clear();
  if (semi != std::string_view::npos) {
    for (std::string_view ext : Split(line.substr(semi + 1), ';')) {
      size_t eq = ext.find('=');
      if (eq != std::string_view::npos && Trim(ext.substr(0, eq)) == "chunk-signature") {
        chunk_signature_ = std::string(Trim(ext.substr(eq + 1)));
      }
    }
  }
  if (options_.signed_chunks && chunk_signature_.empty()) {
    return http::ApiStatus("SignatureDoesNotMatch", "A chunk is missing its chunk-signature.");
  }
  if (options_.decoded_content_length &&
      decoded_total_ + *size > *options_.decoded_content_length) {
    return http::ApiStatus("IncompleteBody",
                           "The aws-chunked body is longer than x-amz-decoded-content-length.");
  }
  chunk_remaining_ = *size;
  if (*size > 0) {
    state_ = State::kChunkData;
    return Status::OK();
  }
  ANNEX_RETURN_IF_ERROR(FinishChunk());
  state_ = State::kTrailers;
  return Status::OK();
}

Status AwsChunkedReader::FinishChunk() {
  if (!options_.signed_chunks) return Status::OK();
  std::string data_hash = chunk_hash_.FinalHex();
  chunk_hash_ = crypto::Hasher(crypto::HashKind::kSha256);
  std::string expected = SignatureHex(
      options_.signing_key,
      ChunkStringToSign(options_.amz_date, options_.scope, previous_signature_, data_hash));
  if (!SignaturesEqual(expected, chunk_signature_)) return BadSignature("chunk");
  previous_signature_ = std::move(expected);
  return Status::OK();
}

Status AwsChunkedReader::AddTrailer(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return Malformed("bad trailer line");
  std::string name = ToLower(Trim(line.substr(0, colon)));
  std::string_view value = Trim(line.substr(colon + 1));
  if (name == "x-amz-trailer-signature") {
    trailer_signature_ = std::string(value);
    return Status::OK();
  }
  if (pending_trailers_.size() >= kMaxTrailers) return Malformed("too many trailers");
  pending_trailers_.Add(name, value);
  trailer_text_.append(name).append(":").append(value).append("\n");
  return Status::OK();
}

Status AwsChunkedReader::Finish() {
  if (options_.signed_trailer) {
    if (trailer_signature_.empty()) {
      return http::ApiStatus("SignatureDoesNotMatch", "The trailer signature is missing.");
    }
    std::string expected = SignatureHex(
        options_.signing_key,
        TrailerStringToSign(options_.amz_date, options_.scope, previous_signature_, trailer_text_));
    if (!SignaturesEqual(expected, trailer_signature_)) return BadSignature("trailer");
  }
  if (options_.decoded_content_length && decoded_total_ != *options_.decoded_content_length) {
    return http::ApiStatus("IncompleteBody",
                           "The aws-chunked body is shorter than x-amz-decoded-content-length.");
  }
  if (trailers_ != nullptr) {
    for (const auto& field : pending_trailers_) trailers_->Add(field.name, field.value);
  }
  state_ = State::kDone;
  return Status::OK();
}

}  // namespace annex::auth
