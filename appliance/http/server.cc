#include <utility>

#include "appliance/http/server.h"

#include <sys/sendfile.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"

namespace annex::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kFileChunk = 256 * 1024;
constexpr uint64_t kMaxDrainBytes = 256 * 1024;  // unread body small enough to skip instead of closing

std::string NewRequestId() {
  std::string id = os::RandomHex(8);
  for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return id;
}

Status NetError(const beast::error_code& ec, std::string_view what) {
  return Status::IOError(std::string(what) + ": " + ec.message());
}

// One request/response on a connection. Implements the three faces a handler sees.
template <class Stream>
class ExchangeImpl final : public Exchange, public BodyReader, public ResponseWriter {
 public:
  ExchangeImpl(Stream& stream, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::buffer_body>& parser,
               Request request, const ServerOptions& options)
      : stream_(stream), buffer_(buffer), parser_(parser), request_(std::move(request)), options_(options) {
    is_head_ = request_.method == "HEAD";
    const std::string* expect = request_.headers.Get("expect");
    expect_continue_ = expect && EqualsIgnoreCase(*expect, "100-continue");
    keep_alive_ = parser_.get().keep_alive();
  }

  // Exchange
  const Request& request() const override { return request_; }
  BodyReader& body() override { return *this; }
  ResponseWriter& response() override { return *this; }

  // BodyReader
  Task<Result<size_t>> Read(std::span<char> buf) override {
    if (body_failed_) co_return Status(StatusCode::kIOError, "body read failed earlier", "IncompleteBody");
    if (buf.empty()) co_return Status::InvalidArgument("empty read buffer");
    if (parser_.is_done()) co_return size_t{0};
    if (expect_continue_ && !continue_sent_) {
      continue_sent_ = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::error_code ec;
      beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
      co_await asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Fail(ec);
    }
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = buf.data();
      body.size = buf.size();
      beast::error_code ec;
      beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
      co_await bhttp::async_read_some(stream_, buffer_, parser_, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      size_t n = buf.size() - body.size;
      body.data = nullptr;
      if (ec) co_return Fail(ec);
      if (n > 0) co_return n;
    }
    co_return size_t{0};
  }

  // ResponseWriter
  Task<Status> Send(Response response) override {
    if (head_sent_) co_return Status::FailedPrecondition("response already started");
    head_sent_ = true;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
    FillHead(res, response.headers);
    uint64_t length = response.body.size();
    bool no_body = response.status == 204 || response.status == 304 || (response.status >= 100 && response.status < 200);
    if (!no_body) res.content_length(length);
    res.body() = std::move(response.body);
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    if (is_head_ || no_body) {
      bhttp::response_serializer<bhttp::string_body> sr{res};
      co_await bhttp::async_write_header(stream_, sr, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await bhttp::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
      bytes_sent_ = length;
    }
    promised_ = is_head_ || no_body ? 0 : length;
    if (ec) co_return Broken(ec);
    co_return Status::OK();
  }

  Task<Status> SendHead(Response head, uint64_t content_length) override {
    if (head_sent_) co_return Status::FailedPrecondition("response already started");
    head_sent_ = true;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(head.status), 11};
    FillHead(res, head.headers);
    res.content_length(content_length);
    promised_ = is_head_ ? 0 : content_length;
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    co_await bhttp::async_write_header(stream_, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Broken(ec);
    co_return Status::OK();
  }

  Task<Status> SendBody(std::string_view chunk) override {
    if (is_head_) co_return Status::OK();
    if (broken_) co_return Status::IOError("connection broken");
    if (bytes_sent_ + chunk.size() > promised_) co_return Status::Internal("body longer than Content-Length");
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    co_await asio::async_write(stream_, asio::buffer(chunk.data(), chunk.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Broken(ec);
    bytes_sent_ += chunk.size();
    co_return Status::OK();
  }

  Task<Status> SendFile(const os::RandomAccessFile& file, uint64_t offset, uint64_t length) override {
    if (is_head_) co_return Status::OK();
    if (bytes_sent_ + length > promised_) co_return Status::Internal("body longer than Content-Length");
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      if (file.NativeHandle() >= 0) co_return co_await SendFileZeroCopy(file.NativeHandle(), offset, length);
    }
    std::string buf(std::min<uint64_t>(kFileChunk, length), '\0');
    while (length > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length));
      Result<size_t> n = file.ReadAt(offset, {buf.data(), want});
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return Status::IOError("file shorter than expected");
      Status s = co_await SendBody(std::string_view(buf.data(), *n));
      if (!s.ok()) co_return s;
      offset += *n;
      length -= *n;
    }
    co_return Status::OK();
  }

  bool head_sent() const override { return head_sent_; }

  // After the handler: may the connection carry another request?
  bool Reusable() const {
    return keep_alive_ && !broken_ && !body_failed_ && head_sent_ && bytes_sent_ == promised_ && parser_.is_done();
  }
  bool HasUnreadBody() const { return !parser_.is_done() && !body_failed_; }
  bool keep_alive() const { return keep_alive_; }
  bool continue_sent() const { return continue_sent_ || !expect_continue_; }

 private:
  template <class Msg>
  void FillHead(Msg& res, const Headers& headers) {
    for (const auto& f : headers) res.insert(f.name, f.value);
    // A body left unread (handler answered early) cannot be skipped safely
    // unless small: ask the client to reconnect instead.
    if (!parser_.is_done() && !SmallRemainder()) keep_alive_ = false;
    res.keep_alive(keep_alive_);
  }

  bool SmallRemainder() const {
    auto remaining = parser_.content_length_remaining();
    return remaining && *remaining <= kMaxDrainBytes && continue_sent();
  }

  Task<Status> SendFileZeroCopy(int fd, uint64_t offset, uint64_t length) {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.native_non_blocking(true);
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(length, size_t{1} << 30));
      ssize_t n = ::sendfile(socket.native_handle(), fd, &off, want);
      if (n > 0) {
        length -= static_cast<uint64_t>(n);
        bytes_sent_ += static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) co_return Status::IOError("file shorter than expected");
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        broken_ = true;
        co_return Status::FromErrno(errno, "sendfile");
      }
      beast::error_code ec;
      co_await socket.async_wait(tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Broken(ec);
    }
    co_return Status::OK();
  }

  Status Fail(const beast::error_code& ec) {
    body_failed_ = true;
    keep_alive_ = false;
    return Status(StatusCode::kIOError, "request body: " + ec.message(), "IncompleteBody");
  }
  Status Broken(const beast::error_code& ec) {
    broken_ = true;
    return NetError(ec, "write response");
  }

  Stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  Request request_;
  const ServerOptions& options_;
  bool is_head_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool keep_alive_ = true;
  bool head_sent_ = false;
  bool broken_ = false;
  bool body_failed_ = false;
  uint64_t promised_ = 0;
  uint64_t bytes_sent_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  asio::io_context& io;
  RequestHandler& handler;
  ServerOptions options;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::atomic<size_t> active{0};
  std::atomic<bool> stopping{false};

  Task<void> AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor, asio::ssl::context* tls);
  template <class Stream>
  Task<void> ServeConnection(Stream stream, std::string remote, bool tls);
  template <class Stream>
  Task<bool> ServeOne(Stream& stream, beast::flat_buffer& buffer, const std::string& remote, bool tls);
  template <class Stream>
  Task<void> WriteRaw(Stream& stream, Response response);
};

template <class Stream>
Task<void> HttpServer::Impl::WriteRaw(Stream& stream, Response response) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
  for (const auto& f : response.headers) res.insert(f.name, f.value);
  res.body() = std::move(response.body);
  res.prepare_payload();
  res.keep_alive(false);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(options.io_timeout);
  co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
}

// Serves one request; returns whether the connection may be reused.
template <class Stream>
Task<bool> HttpServer::Impl::ServeOne(Stream& stream, beast::flat_buffer& buffer, const std::string& remote, bool tls) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(buffer.size() > 0 ? options.header_timeout : options.idle_timeout);
  co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    std::string request_id = NewRequestId();
    if (ec == bhttp::error::header_limit) {
      co_await WriteRaw(stream, RenderRestXmlError(MakeApiError("RequestHeaderSectionTooLarge",
                                                                "Your request header section exceeds the maximum allowed size."),
                                                   request_id));
    } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
               ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
               buffer.size() > 0) {
      co_await WriteRaw(stream, RenderRestXmlError(MakeApiError("InvalidRequest", "Malformed HTTP request: " + ec.message()),
                                                   request_id));
    }
    co_return false;
  }
  Request request;
  auto& msg = parser.get();
  request.method = std::string(msg.method_string());
  request.remote_address = remote;
  request.tls = tls;
  request.request_id = NewRequestId();
  for (const auto& f : msg) request.headers.Add(f.name_string(), f.value());
  if (msg.has_content_length() || !msg.chunked()) request.content_length = parser.content_length().value_or(0);
  Status target = ParseTarget(msg.target(), request);
  if (!target.ok()) {
    co_await WriteRaw(stream, RenderRestXmlError(ApiErrorFromStatus(target), request.request_id));
    co_return false;
  }

  ExchangeImpl<Stream> exchange(stream, buffer, parser, std::move(request), options);
  active.fetch_add(1, std::memory_order_relaxed);
  co_await handler.Serve(exchange);
  active.fetch_sub(1, std::memory_order_relaxed);
  if (!exchange.head_sent()) co_return false;  // handler gave up on a broken connection

  // Skip a small unread body so the connection survives; otherwise close.
  if (exchange.keep_alive() && exchange.HasUnreadBody()) {
    char sink[16 * 1024];
    while (true) {
      Result<size_t> n = co_await exchange.Read(sink);
      if (!n.ok() || *n == 0) break;
    }
  }
  co_return exchange.Reusable() && !stopping.load(std::memory_order_relaxed);
}

template <class Stream>
Task<void> HttpServer::Impl::ServeConnection(Stream stream, std::string remote, bool tls) {
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options.header_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
  beast::flat_buffer buffer;
  while (co_await ServeOne(stream, buffer, remote, tls)) {
  }
  beast::error_code ec;
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
}

Task<void> HttpServer::Impl::AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor, asio::ssl::context* tls) {
  while (!stopping.load()) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor->async_accept(asio::make_strand(io), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) co_return;
      log::Warn("accept failed", {{"error", ec.message()}});
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::string remote;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    auto executor = socket.get_executor();
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
      asio::co_spawn(executor, ServeConnection(std::move(stream), std::move(remote), true), asio::detached);
    } else {
      asio::co_spawn(executor, ServeConnection(beast::tcp_stream(std::move(socket)), std::move(remote), false),
                     asio::detached);
    }
  }
}

HttpServer::HttpServer(asio::io_context& io, RequestHandler& handler, ServerOptions options)
    : impl_(new Impl{io, handler, options, {}, {}, {}}) {}

HttpServer::~HttpServer() = default;

Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& host_port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("expected HOST:PORT, got '" + host_port + "'");
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = ParseUint(std::string_view(host_port).substr(colon + 1));
  if (!port || *port > 65535) return Status::InvalidArgument("bad port in '" + host_port + "'");
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, static_cast<uint16_t>(*port));
}

Result<uint16_t> HttpServer::Listen(const std::string& host_port, asio::ssl::context* tls) {
  ANNEX_ASSIGN_OR_RETURN(auto hp, ParseHostPort(host_port));
  beast::error_code ec;
  auto address = asio::ip::make_address(hp.first, ec);
  if (ec) return Status::InvalidArgument("bad listen address '" + hp.first + "': " + ec.message());
  tcp::endpoint endpoint(address, hp.second);
  auto acceptor = std::make_shared<tcp::acceptor>(impl_->io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen on " + host_port + ": " + ec.message());
  uint16_t port = acceptor->local_endpoint().port();
  impl_->acceptors.push_back(acceptor);
  asio::co_spawn(impl_->io, impl_->AcceptLoop(acceptor, tls), asio::detached);
  return port;
}

void HttpServer::StopAccepting() {
  impl_->stopping.store(true);
  for (auto& acceptor : impl_->acceptors) {
    asio::post(acceptor->get_executor(), [acceptor] {
      beast::error_code ec;
      acceptor->close(ec);
    });
  }
}

size_t HttpServer::active_requests() const { return impl_->active.load(); }

}  // namespace annex::http
