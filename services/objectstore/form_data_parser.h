#pragma once
// FormDataParser: a multipart/form-data body (RFC 7578, the framing of RFC
// 2046) parsed as it arrives, so a browser's POST upload streams to storage
// in fixed-size pieces however large its file is. The caller reads the body
// straight into the parser's buffer (Space, then Commit) and pulls events:
//
//   kPartBegin  a part's head is parsed: head() names it
//   kData       a piece of the part's content: data(), valid until Space()
//   kPartEnd    the part's content is complete
//   kEnd        the closing delimiter; anything after it (the epilogue) is ignored
//   kNeedMore   read more of the body (or CommitEnd at its end)
//
// Memory is bounded by the buffer: at most a delimiter's length of content
// is held back while the parser decides whether it starts the delimiter, a
// part's head may take kMaxPartHead bytes and a preamble kMaxPreamble.
// Anything malformed — a body that ends early, a head without
// `Content-Disposition: form-data; name=…` — is MalformedPOSTRequest.
//
// Not thread-safe; one body per parser.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::objectstore {

// What the Content-Type of a form upload allows. S3 answers a POST that is
// not multipart/form-data with PreconditionFailed and one without a
// boundary with MalformedPOSTRequest: `boundary` is empty for the latter.
struct FormContentType {
  bool is_form_data = false;
  std::string boundary;
};
FormContentType ParseFormContentType(std::string_view content_type);

// The S3 error for a body that is not well-formed multipart/form-data.
Status MalformedPostRequest();

struct FormPartHead {
  std::string name;                     // as sent (S3 compares names case-insensitively)
  std::optional<std::string> filename;  // Content-Disposition's filename, when given
  std::string content_type;             // the part's Content-Type, empty when absent
};

class FormDataParser {
 public:
  static constexpr size_t kMaxBoundary = 200;  // RFC 2046 says 70; browsers stay far below
  static constexpr size_t kMaxPartHead = 8 * 1024;
  static constexpr size_t kMaxPreamble = 64 * 1024;
  static constexpr size_t kDefaultBufferSize = 256 * 1024;

  enum class Event { kNeedMore, kPartBegin, kData, kPartEnd, kEnd };

  // `boundary` from ParseFormContentType (non-empty). A buffer smaller than
  // a part head plus a delimiter is enlarged to that.
  explicit FormDataParser(std::string_view boundary, size_t buffer_size = kDefaultBufferSize);

  // Free space for the next bytes of the body; never empty after Next()
  // returned kNeedMore. Invalidates data().
  std::span<char> Space();
  // `n` bytes were written at the start of Space().
  void Commit(size_t n);
  // The body ended: what is still missing makes Next() fail.
  void CommitEnd() { ended_ = true; }

  Result<Event> Next();

  const FormPartHead& head() const { return head_; }
  std::string_view data() const { return data_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHead, kContent, kDone };

  std::string_view Pending() const { return {buffer_.data() + begin_, end_ - begin_}; }
  void Consume(size_t n) { begin_ += n; }
  Result<Event> FindFirstDelimiter();
  Result<Event> AfterDelimiter();
  Result<Event> ParseHead();
  Result<Event> Content();

  std::string delimiter_;  // "\r\n--" + boundary
  std::vector<char> buffer_;
  size_t begin_ = 0;  // first unparsed byte
  size_t end_ = 0;    // one past the last byte read
  bool ended_ = false;
  bool in_preamble_ = false;  // the body did not open with the delimiter
  size_t preamble_size_ = 0;
  State state_ = State::kPreamble;
  FormPartHead head_;
  std::string_view data_;
};

}  // namespace annex::objectstore
