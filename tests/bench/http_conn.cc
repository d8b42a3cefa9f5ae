#include "tests/bench/http_conn.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace annex::bench {
namespace {

constexpr size_t kBufferSize = 256 * 1024;  // also bounds the response header block
constexpr size_t kKeepBodyBytes = 512;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct HeaderInfo {
  int status = 0;
  bool http10 = false;
  bool has_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
  bool close = false;
  bool keep_alive_header = false;
};

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n..." (without the final CRLFCRLF).
bool ParseHeaderBlock(std::string_view block, HeaderInfo& info) {
  size_t eol = block.find("\r\n");
  std::string_view status_line = block.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
  info.http10 = status_line.substr(0, 8) == "HTTP/1.0";
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, info.status);
  if (ec != std::errc()) return false;
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = block.find("\r\n", start);
    std::string_view line = block.substr(start, eol == std::string_view::npos ? block.npos : eol - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      auto r = std::from_chars(value.data(), value.data() + value.size(), info.content_length);
      if (r.ec != std::errc()) return false;
      info.has_length = true;
    } else if (IEquals(name, "transfer-encoding")) {
      info.chunked = value.find("chunked") != std::string_view::npos;
    } else if (IEquals(name, "connection")) {
      if (IEquals(value, "close")) info.close = true;
      if (IEquals(value, "keep-alive")) info.keep_alive_header = true;
    }
  }
  return true;
}

}  // namespace

bool Endpoint::Parse(std::string_view text, Endpoint& out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(text);
    out.port = 80;
    return !out.host.empty();
  }
  out.host = std::string(text.substr(0, colon));
  std::string_view port = text.substr(colon + 1);
  auto r = std::from_chars(port.data(), port.data() + port.size(), out.port);
  return r.ec == std::errc() && out.port > 0 && out.port < 65536 && !out.host.empty();
}

HttpConnection::HttpConnection() : buf_(kBufferSize) {}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  begin_ = end_ = 0;
}

std::string HttpConnection::Connect(const Endpoint& endpoint, int timeout_seconds) {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) return std::string("resolve ") + endpoint.host + ": " + gai_strerror(rc);
  std::string error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      timeval tv{timeout_seconds, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      fd_ = fd;
      error.clear();
      break;
    }
    error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(result);
  return error;
}

bool HttpConnection::SendAll(struct iovec* iov, int count) {
  while (count > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

bool HttpConnection::SendAll(std::string_view data) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  return SendAll(&iov, 1);
}

bool HttpConnection::Fill() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == buf_.size()) {
    if (begin_ == 0) return false;  // a header line larger than the buffer
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    ssize_t n = ::recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

void HttpConnection::Keep(HttpResponse& response, const char* data, size_t n) {
  if (response.status >= 200 && response.status < 300) return;
  size_t room = kKeepBodyBytes - std::min(kKeepBodyBytes, response.body_prefix.size());
  response.body_prefix.append(data, std::min(room, n));
}

bool HttpConnection::Drain(uint64_t n, HttpResponse& response) {
  while (n > 0) {
    if (begin_ == end_ && !Fill()) return false;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, end_ - begin_));
    Keep(response, buf_.data() + begin_, take);
    begin_ += take;
    n -= take;
    response.body_bytes += take;
  }
  return true;
}

bool HttpConnection::ReadLine(std::string& line) {
  for (;;) {
    std::string_view avail(buf_.data() + begin_, end_ - begin_);
    size_t eol = avail.find("\r\n");
    if (eol != std::string_view::npos) {
      line.assign(avail.substr(0, eol));
      begin_ += eol + 2;
      return true;
    }
    if (!Fill()) return false;
  }
}

bool HttpConnection::ReadChunked(HttpResponse& response) {
  std::string line;
  for (;;) {
    if (!ReadLine(line)) return false;
    uint64_t size = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (r.ec != std::errc()) return false;
    if (size == 0) break;
    if (!Drain(size, response) || !ReadLine(line) || !line.empty()) return false;
  }
  do {  // trailers up to the empty line
    if (!ReadLine(line)) return false;
  } while (!line.empty());
  return true;
}

std::string HttpConnection::ReadResponse(HttpResponse& response, bool head) {
  response = HttpResponse{};
  size_t header_end;
  for (;;) {
    std::string_view avail(buf_.data() + begin_, end_ - begin_);
    header_end = avail.find("\r\n\r\n");
    if (header_end != std::string_view::npos) break;
    if (!Fill()) return end_ == begin_ ? "connection closed" : "response header too large or cut";
  }
  HeaderInfo info;
  if (!ParseHeaderBlock(std::string_view(buf_.data() + begin_, header_end), info)) {
    return "malformed response header";
  }
  begin_ += header_end + 4;
  response.status = info.status;
  response.keep_alive = !info.close && (!info.http10 || info.keep_alive_header);
  bool bodiless = head || info.status == 204 || info.status == 304 || info.status / 100 == 1;
  if (bodiless) return "";
  if (info.chunked) return ReadChunked(response) ? "" : "bad chunked body";
  if (info.has_length) return Drain(info.content_length, response) ? "" : "body cut short";
  // No length: the body runs to EOF.
  response.keep_alive = false;
  while (Fill()) Drain(end_ - begin_, response);
  return "";
}

}  // namespace annex::bench
