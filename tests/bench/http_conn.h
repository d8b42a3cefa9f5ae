#pragma once
// HttpConnection: one blocking HTTP/1.1 keep-alive client connection over a
// POSIX TCP socket, made for the load generator. It sends pre-built request
// bytes and reads one response at a time into a fixed buffer, so a body of any
// size is drained without ever being held whole in memory.
//
// Thread safety: none; each load-generator thread owns its connections.

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace annex::bench {

// "host:port" split; port 80 when absent.
struct Endpoint {
  std::string host;
  int port = 80;
  static bool Parse(std::string_view text, Endpoint& out);
  std::string HostHeader() const { return host + ":" + std::to_string(port); }
};

struct HttpResponse {
  int status = 0;
  uint64_t body_bytes = 0;   // bytes of (de-chunked) body received
  bool keep_alive = true;    // false on "Connection: close" or HTTP/1.0
  std::string body_prefix;   // first bytes of a non-2xx body, for diagnostics
};

class HttpConnection {
 public:
  HttpConnection();
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Connects (TCP_NODELAY, send/receive timeouts of `timeout_seconds`).
  // Returns an empty string on success, else a description of the failure.
  std::string Connect(const Endpoint& endpoint, int timeout_seconds);
  bool connected() const { return fd_ >= 0; }
  void Close();

  // Sends every byte of the iovecs (retrying short writes). False on error.
  bool SendAll(struct iovec* iov, int count);
  bool SendAll(std::string_view data);

  // Reads one response. `head` means the response has no body whatever its
  // headers say. Returns an empty string on success, else the failure.
  std::string ReadResponse(HttpResponse& response, bool head = false);

 private:
  // Makes at least one more byte available in buf_; false on EOF or error.
  bool Fill();
  // Consumes up to `n` body bytes (already buffered or from the socket).
  bool Drain(uint64_t n, HttpResponse& response);
  bool ReadChunked(HttpResponse& response);
  // Reads a CRLF-terminated line (without CRLF) into `line`.
  bool ReadLine(std::string& line);
  void Keep(HttpResponse& response, const char* data, size_t n);

  int fd_ = -1;
  std::vector<char> buf_;
  size_t begin_ = 0;  // unread data is buf_[begin_, end_)
  size_t end_ = 0;
};

}  // namespace annex::bench
