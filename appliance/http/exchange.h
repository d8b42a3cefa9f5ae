#pragma once
// Exchange: one request being served — its head, a stream to read its body
// from, and a writer for the response. Bodies are never buffered whole: a
// handler pulls them in chunks and pushes the response the same way.
//
// An Exchange is used from one coroutine at a time.

#include <utility>


#include <span>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/core/task.h"
#include "appliance/http/request.h"

namespace annex::os {
class RandomAccessFile;
}

namespace annex::http {

template <typename T>
using Task = annex::Task<T>;

// A source of body bytes. Decorators (payload hashing, aws-chunked decoding)
// wrap the raw body and present the same interface.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to buf.size() bytes; 0 means the body is complete and valid.
  // An error means the body was truncated, malformed or failed verification;
  // its Status may carry the protocol error code (e.g. "IncompleteBody").
  virtual Task<Result<size_t>> Read(std::span<char> buf) = 0;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends a complete response (head + body). Content-Length is set here.
  virtual Task<Status> Send(Response response) = 0;
  // Starts a streamed response of exactly `content_length` body bytes; the
  // head's own body is ignored. Follow with SendBody/SendFile calls.
  virtual Task<Status> SendHead(Response head, uint64_t content_length) = 0;
  virtual Task<Status> SendBody(std::string_view chunk) = 0;
  // Sends `length` bytes of `file` from `offset` (zero-copy where possible).
  virtual Task<Status> SendFile(const os::RandomAccessFile& file, uint64_t offset, uint64_t length) = 0;
  // True once a head has gone out; after that an error can only close the connection.
  virtual bool head_sent() const = 0;
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  virtual BodyReader& body() = 0;
  virtual ResponseWriter& response() = 0;
};

// Reads the whole body into a string, failing with EntityTooLarge-style
// ResourceExhausted past `limit` bytes. For small XML/JSON/form bodies only.
Task<Result<std::string>> ReadSmallBody(BodyReader& body, size_t limit);

}  // namespace annex::http
