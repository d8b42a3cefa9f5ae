#include <utility>

#include "appliance/http/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <exception>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"
#include "appliance/os/send_file.h"
#include "appliance/os/server_process.h"

namespace annex::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Sockets and streams bound to the io_context's executor, like Task.
using Socket = asio::basic_stream_socket<tcp, TaskExecutor>;
using PlainStream = beast::basic_stream<tcp, TaskExecutor>;
using TlsStream = beast::ssl_stream<PlainStream>;

namespace {

constexpr size_t kFileChunk = 256 * 1024;
constexpr uint64_t kCoalesceLimit = 64 * 1024;  // small files go out in one write with the head
constexpr uint64_t kMaxDrainBytes = 256 * 1024;  // unread body small enough to skip instead of closing

// 16 upper-case hex digits, unique per process: a per-thread random base
// plus a counter (one CSPRNG call per thread, not per request).
std::string NewRequestId() {
  thread_local uint64_t base = std::stoull(os::RandomHex(8), nullptr, 16);
  thread_local uint64_t counter = 0;
  uint64_t v = base + (++counter) * 0x9E3779B97F4A7C15ull;
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) id[static_cast<size_t>(i)] = kHex[v & 0xf];
  return id;
}

// A header value may come from the client (response-content-disposition…):
// never let CR/LF split the response.
void AppendSanitized(std::string& out, std::string_view v) {
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\r' && v[i] != '\n') continue;
    out.append(v.substr(start, i - start)).push_back(' ');
    start = i + 1;
  }
  out.append(v.substr(start));
}

// The Date header changes once a second; format it once per second per thread.
const std::string& DateHeader() {
  thread_local int64_t cached_second = -1;
  thread_local std::string cached;
  auto now = std::chrono::system_clock::now();
  int64_t second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (second != cached_second) {
    cached = FormatHttpDate(now);
    cached_second = second;
  }
  return cached;
}

// Fields the server writes itself, whatever the handler set.
bool ServerOwned(std::string_view name, const ServerOptions& options) {
  if (name == "content-length" || name == "connection" || name == "transfer-encoding" || name == "date" ||
      name == "server") {
    return true;
  }
  for (const std::string& id_header : options.request_id_headers) {
    if (name == id_header) return true;
  }
  return false;
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

std::string SerializeHead(int status, const Headers& headers, std::optional<uint64_t> content_length,
                          bool keep_alive, std::string_view request_id, const ServerOptions& options) {
  std::string out;
  out.reserve(320 + headers.size() * 48);
  char number[24];
  out.append("HTTP/1.1 ");
  out.append(number, static_cast<size_t>(std::to_chars(number, number + sizeof(number), status).ptr - number));
  out.push_back(' ');
  out.append(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  out.append("\r\n");
  for (const auto& f : headers) {
    if (ServerOwned(f.name, options)) continue;
    AppendSanitized(out, f.name);
    out.append(": ");
    AppendSanitized(out, f.value);
    out.append("\r\n");
  }
  for (const std::string& id_header : options.request_id_headers) AppendField(out, id_header, request_id);
  AppendField(out, "date", DateHeader());
  if (!options.server_name.empty()) AppendField(out, "server", options.server_name);
  if (content_length) {
    char* end = std::to_chars(number, number + sizeof(number), *content_length).ptr;
    AppendField(out, "content-length", std::string_view(number, static_cast<size_t>(end - number)));
  }
  if (!keep_alive) out.append("connection: close\r\n");
  out.append("\r\n");
  return out;
}

// Reads and drops the rest of a request body. A coroutine of its own so the
// buffer is not part of every request's frame.
Task<void> DrainBody(BodyReader& body) {
  char sink[16 * 1024];
  while (true) {
    Result<size_t> n = co_await body.Read(sink);
    if (!n.ok() || *n == 0) co_return;
  }
}

// The completion of a spawned coroutine: Asio's `detached` drops an escaped
// exception silently, so log it (the coroutine's own frames have already
// released its socket by the time this runs).
struct LogEscaped {
  const char* what;
  void operator()(const std::exception_ptr& e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error("http server: exception escaped", {{"in", what}, {"error", ex.what()}});
    } catch (...) {
      log::Error("http server: exception escaped", {{"in", what}, {"error", "unknown exception"}});
    }
  }
};

// S3's answer to a body that stops arriving short of its Content-Length.
Status RequestTimeoutStatus() {
  return Status(StatusCode::kIOError,
                "Your socket connection to the server was not read from or written to within the timeout period. "
                "Idle connections will be closed.",
                "RequestTimeout");
}

// The answer to a request abandoned at shutdown.
Status ShuttingDownStatus() {
  return Status(StatusCode::kUnavailable, "The server is shutting down. Please retry the request.",
                "ServiceUnavailable");
}

Status NetError(const beast::error_code& ec, std::string_view what) {
  return Status::IOError(std::string(what) + ": " + ec.message());
}

// One request/response on a connection. Implements the three faces a handler sees.
//
// Bodies with a Content-Length are read straight from the socket into the
// handler's buffer (no parser copy, reads as large as the buffer); chunked
// bodies go through Beast's parser. A streamed response's head is held back
// and written together with the first body bytes, so a small object costs
// one write.
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
    direct_ = !parser_.get().chunked();
    remaining_ = direct_ ? parser_.content_length().value_or(0) : 0;
  }

  // Exchange
  const Request& request() const override { return request_; }
  BodyReader& body() override { return *this; }
  ResponseWriter& response() override { return *this; }

  // BodyReader
  Task<Result<size_t>> Read(std::span<char> buf) override {
    if (abandoned_) co_return ShuttingDownStatus();
    if (body_failed_) co_return Status(StatusCode::kIOError, "body read failed earlier", "IncompleteBody");
    if (buf.empty()) co_return Status::InvalidArgument("empty read buffer");
    if (BodyDone()) co_return size_t{0};
    if (expect_continue_ && !continue_sent_) {
      continue_sent_ = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::error_code ec;
      beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
      co_await asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                                 asio::redirect_error(use_task, ec));
      if (ec) co_return Fail(ec);
    }
    if (direct_) co_return co_await ReadDirect(buf);
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = buf.data();
      body.size = buf.size();
      beast::error_code ec;
      ArmBodyTimer();
      co_await bhttp::async_read_some(stream_, buffer_, parser_, asio::redirect_error(use_task, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      if (DisarmBodyTimer(ec)) co_return TimedOut();
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
    bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
    std::optional<uint64_t> length;
    if (!no_body) length = response.body.size();
    PrepareKeepAlive();
    std::string head = InterimContinue() + SerializeHead(response.status, response.headers, length, keep_alive_,
                                                         request_.request_id, options_);
    promised_ = 0;
    if (is_head_ || no_body) co_return co_await WriteGather(head, {});
    co_return co_await WriteGather(head, response.body);
  }

  Task<Status> SendHead(Response head, uint64_t content_length) override {
    if (head_sent_) co_return Status::FailedPrecondition("response already started");
    head_sent_ = true;
    PrepareKeepAlive();
    pending_head_ = InterimContinue() + SerializeHead(head.status, head.headers, content_length, keep_alive_,
                                                      request_.request_id, options_);
    promised_ = is_head_ ? 0 : content_length;
    if (promised_ == 0) co_return co_await Flush();
    co_return Status::OK();
  }

  Task<Status> SendBody(std::string_view chunk) override {
    if (is_head_) co_return Status::OK();
    if (broken_) co_return Status::IOError("connection broken");
    if (bytes_sent_ + chunk.size() > promised_) co_return Status::Internal("body longer than Content-Length");
    std::string head = std::move(pending_head_);
    pending_head_.clear();
    Status s = co_await WriteGather(head, chunk);
    if (s.ok()) bytes_sent_ += chunk.size();
    co_return s;
  }

  Task<Status> SendFile(const os::RandomAccessFile& file, uint64_t offset, uint64_t length) override {
    if (is_head_) co_return Status::OK();
    if (bytes_sent_ + length > promised_) co_return Status::Internal("body longer than Content-Length");
    if constexpr (std::is_same_v<Stream, PlainStream>) {
      if (file.NativeHandle() >= 0 && (pending_head_.empty() || length > kCoalesceLimit)) {
        Status flushed = co_await Flush();
        if (!flushed.ok()) co_return flushed;
        co_return co_await SendFileZeroCopy(file.NativeHandle(), offset, length);
      }
    }
    std::string buf(static_cast<size_t>(std::min<uint64_t>(kFileChunk, length)), '\0');
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

  // Writes a head that is still held back (a handler that sent no body bytes).
  Task<Status> Flush() {
    if (pending_head_.empty()) co_return Status::OK();
    std::string head = std::move(pending_head_);
    pending_head_.clear();
    co_return co_await WriteGather(head, {});
  }

  // After the handler: may the connection carry another request?
  bool Reusable() const {
    return keep_alive_ && !broken_ && !body_failed_ && head_sent_ && bytes_sent_ == promised_ && BodyDone();
  }
  bool HasUnreadBody() const { return !BodyDone() && !body_failed_; }
  bool body_timed_out() const { return body_timed_out_; }
  bool abandoned() const { return abandoned_; }

  // Shutdown gave up waiting for this request: whatever socket operation
  // the handler waits on fails now, and a body read answers
  // ServiceUnavailable, which the handler passes on to the client (or the
  // server does, if the handler answers nothing). A response already
  // started can only be cut off.
  void Abandon() {
    abandoned_ = true;
    keep_alive_ = false;
    beast::get_lowest_layer(stream_).cancel();
  }
  bool keep_alive() const { return keep_alive_; }

 private:
  bool BodyDone() const { return direct_ ? remaining_ == 0 : parser_.is_done(); }

  Task<Result<size_t>> ReadDirect(std::span<char> buf) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), remaining_));
    if (buffer_.size() > 0) {  // bytes that arrived with the head
      size_t n = std::min(want, buffer_.size());
      asio::buffer_copy(asio::buffer(buf.data(), n), buffer_.data());
      buffer_.consume(n);
      remaining_ -= n;
      co_return n;
    }
    beast::error_code ec;
    ArmBodyTimer();
    size_t n = co_await stream_.async_read_some(asio::buffer(buf.data(), want),
                                                asio::redirect_error(use_task, ec));
    if (DisarmBodyTimer(ec)) co_return TimedOut();
    if (ec) co_return Fail(ec);
    remaining_ -= n;
    co_return n;
  }

  // S3 answers `Expect: 100-continue` with 100 even when the body is empty;
  // botocore misreads the next response on the connection otherwise.
  std::string InterimContinue() {
    if (!expect_continue_ || continue_sent_ || !BodyDone()) return {};
    continue_sent_ = true;
    return "HTTP/1.1 100 Continue\r\n\r\n";
  }

  // A body left unread (handler answered early) cannot be skipped safely
  // unless small and already on its way: otherwise ask the client to reconnect.
  void PrepareKeepAlive() {
    if (BodyDone()) return;
    bool small = direct_ && remaining_ <= kMaxDrainBytes && (continue_sent_ || !expect_continue_);
    if (!small) keep_alive_ = false;
  }

  Task<Status> WriteGather(std::string_view head, std::string_view body) {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(options_.io_timeout);
    if constexpr (std::is_same_v<Stream, PlainStream>) {
      std::array<asio::const_buffer, 2> buffers{asio::buffer(head.data(), head.size()),
                                                asio::buffer(body.data(), body.size())};
      co_await asio::async_write(stream_, buffers, asio::redirect_error(use_task, ec));
    } else {
      // Beast's TLS stream stalls on a two-buffer write whose second buffer
      // exceeds one TLS record; write the parts one after the other.
      if (!head.empty()) {
        co_await asio::async_write(stream_, asio::buffer(head.data(), head.size()),
                                   asio::redirect_error(use_task, ec));
      }
      if (!ec && !body.empty()) {
        co_await asio::async_write(stream_, asio::buffer(body.data(), body.size()),
                                   asio::redirect_error(use_task, ec));
      }
    }
    if (ec) co_return Broken(ec);
    co_return Status::OK();
  }

  Task<Status> SendFileZeroCopy(int fd, uint64_t offset, uint64_t length) {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.native_non_blocking(true);
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(length, size_t{1} << 30));
      ssize_t n = os::SendFileNoSignal(socket.native_handle(), fd, &off, want);
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
      co_await socket.async_wait(tcp::socket::wait_write, asio::redirect_error(use_task, ec));
      if (ec) co_return Broken(ec);
    }
    co_return Status::OK();
  }

  Status Fail(const beast::error_code& ec) {
    body_failed_ = true;
    keep_alive_ = false;
    if (abandoned_) return ShuttingDownStatus();
    return Status(StatusCode::kIOError, "request body: " + ec.message(), "IncompleteBody");
  }
  Status TimedOut() {
    body_failed_ = true;
    keep_alive_ = false;
    body_timed_out_ = true;
    return RequestTimeoutStatus();
  }

  // Body reads run under a timer of their own rather than the stream's:
  // Beast closes the socket when its timer fires, and a client whose body
  // stalls is owed an answer (S3's RequestTimeout). The timer only cancels
  // the read. `generation` tells a stale expiry (queued just as its read
  // completed) from the current one.
  struct BodyWatch {
    uint64_t generation = 0;
    bool reading = false;
    bool fired = false;
  };
  void ArmBodyTimer() {
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.expires_never();
    if (!body_timer_) {
      body_timer_.emplace(stream_.get_executor());
      watch_ = std::make_shared<BodyWatch>();
    }
    watch_->reading = true;
    watch_->fired = false;
    uint64_t generation = ++watch_->generation;
    body_timer_->expires_after(options_.io_timeout);
    body_timer_->async_wait([watch = watch_, generation, &lowest](const beast::error_code& ec) {
      if (ec || !watch->reading || watch->generation != generation) return;
      watch->fired = true;
      lowest.cancel();  // the read is still pending, so the exchange (and stream) is alive
    });
  }
  // Returns true if the read ended because the body timer fired.
  bool DisarmBodyTimer(const beast::error_code& ec) {
    watch_->reading = false;
    body_timer_->cancel();
    return ec == asio::error::operation_aborted && watch_->fired;
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
  bool body_timed_out_ = false;
  bool abandoned_ = false;
  bool direct_ = false;
  uint64_t remaining_ = 0;  // direct mode: body bytes not yet read
  std::string pending_head_;
  uint64_t promised_ = 0;
  uint64_t bytes_sent_ = 0;
  std::optional<asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                           TaskExecutor>>
      body_timer_;  // made at the first body read from the socket
  std::shared_ptr<BodyWatch> watch_;
};

// Counts one holder of a capped resource (a connection, an upload) until
// destroyed. It shares ownership of its counter: a connection's coroutine
// frame may be destroyed after the server, when its io_context shuts down.
class Slot {
 public:
  using Counter = std::shared_ptr<std::atomic<size_t>>;
  Slot() = default;
  Slot(Slot&& other) noexcept = default;
  Slot& operator=(Slot&& other) noexcept {
    if (this != &other) {
      Release();
      counter_ = std::move(other.counter_);
    }
    return *this;
  }
  ~Slot() { Release(); }
  // A slot if fewer than `cap` are held, else an empty one.
  static Slot TryTake(const Counter& counter, size_t cap) {
    if (counter->fetch_add(1, std::memory_order_relaxed) < cap) return Slot(counter);
    counter->fetch_sub(1, std::memory_order_relaxed);
    return Slot();
  }
  explicit operator bool() const { return counter_ != nullptr; }

 private:
  explicit Slot(Counter counter) : counter_(std::move(counter)) {}
  void Release() {
    if (counter_) counter_->fetch_sub(1, std::memory_order_relaxed);
    counter_.reset();
  }

  Counter counter_;
};

// A connection past max_connections waits at most this long for its head.
// Only an exempt path (a health check, from a nearby load balancer) is
// served past the cap, and a client sends its head right after connecting;
// kept short so a burst of idle connections holds the few over-cap slots
// only briefly.
constexpr std::chrono::milliseconds kOverCapWait{250};
// Connections past even the over-cap slots that may wait that long for
// their head to see whether it is a health check; beyond, it is peeked at once.
constexpr size_t kTriageSlots = 256;

Response SlowDown(std::string_view request_id) {
  return RenderRestXmlError(MakeApiError("SlowDown", "Please reduce your request rate."), request_id);
}

}  // namespace

struct HttpServer::Impl {
  Impl(std::vector<asio::io_context*> contexts, RequestHandler& handler, ServerOptions options)
      : contexts(std::move(contexts)), handler(handler), options(std::move(options)) {}

  std::vector<asio::io_context*> contexts;
  std::atomic<size_t> next_context{0};
  RequestHandler& handler;
  ServerOptions options;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::atomic<size_t> active{0};
  std::atomic<bool> stopping{false};
  Slot::Counter connections = std::make_shared<std::atomic<size_t>>(0);
  Slot::Counter over_cap = std::make_shared<std::atomic<size_t>>(0);
  Slot::Counter triaging = std::make_shared<std::atomic<size_t>>(0);
  Slot::Counter uploads = std::make_shared<std::atomic<size_t>>(0);
  os::DescriptorReserve reserve;  // used by the accept loops, which all run on contexts.front()
  // Requests being served, for AbandonRequests: each entry is added and
  // removed on its connection's thread, and its `abandon` runs only there.
  struct Tracked {
    TaskExecutor executor;
    std::function<void()> abandon;
  };
  std::mutex tracked_mu;
  std::unordered_map<uint64_t, Tracked> tracked;
  uint64_t next_key = 0;

  uint64_t Track(TaskExecutor executor, std::function<void()> abandon) {
    std::lock_guard<std::mutex> lock(tracked_mu);
    uint64_t key = ++next_key;
    tracked.emplace(key, Tracked{executor, std::move(abandon)});
    return key;
  }
  void Untrack(uint64_t key) {
    std::lock_guard<std::mutex> lock(tracked_mu);
    tracked.erase(key);
  }
  size_t AbandonAll();

  Task<void> AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor, asio::ssl::context* tls);
  Task<bool> AcceptFailed(tcp::acceptor& acceptor, const beast::error_code& ec, bool tls);
  void Dispatch(Socket socket, Slot slot, bool over_cap, asio::ssl::context* tls);
  template <class Stream>
  Task<void> ServeConnection(Stream stream, std::string remote, bool tls, Slot slot, bool over_cap);
  template <class Stream>
  Task<bool> ServeOne(Stream& stream, beast::flat_buffer& buffer, const std::string& remote, bool tls, bool over_cap);
  template <class Stream>
  Task<bool> ReadHead(Stream& stream, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::buffer_body>& parser,
                      bool over_cap);
  bool Exempt(const Request& request) const;
  bool AskedForExemptPath(Socket& socket) const;
  Task<void> Triage(Socket socket, Slot slot);
  void RefuseOverCap(Socket& socket);
  template <class Stream>
  Task<void> WriteRaw(Stream& stream, Response response, std::string_view request_id);
  Task<bool> ServeGuarded(Exchange& exchange);
};

// An exception escaping a coroutine spawned `detached` is swallowed by Asio:
// the connection would vanish without an answer or a log line, and the
// request would stay counted as active forever (holding up shutdown). The
// code below the handler throws only on bugs or exhaustion (bad_alloc,
// length_error, a library's own exceptions); catch them here and answer 500.
// Returns false if the handler threw.
Task<bool> HttpServer::Impl::ServeGuarded(Exchange& exchange) {
  std::string what;
  try {
    co_await handler.Serve(exchange);
    co_return true;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  const Request& r = exchange.request();
  log::Error("request handler threw", {{"id", r.request_id}, {"method", r.method}, {"path", r.raw_path},
                                       {"error", what}});
  co_return false;
}

template <class Stream>
Task<void> HttpServer::Impl::WriteRaw(Stream& stream, Response response, std::string_view request_id) {
  std::string head = SerializeHead(response.status, response.headers, response.body.size(), false, request_id, options);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body)};
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(options.io_timeout);
  co_await asio::async_write(stream, buffers, asio::redirect_error(use_task, ec));
}

bool HttpServer::Impl::Exempt(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") return false;
  return std::find(options.exempt_paths.begin(), options.exempt_paths.end(), request.path) != options.exempt_paths.end();
}

// Whether the request already waiting on `socket` (peeked, not consumed)
// is a GET or HEAD of an exempt path: a health check arriving amid a burst of
// connections, when even the over-cap slots are taken.
bool HttpServer::Impl::AskedForExemptPath(Socket& socket) const {
  char buf[512];
  ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return false;
  std::string_view head(buf, static_cast<size_t>(n));
  size_t space = head.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view method = head.substr(0, space);
  if (method != "GET" && method != "HEAD") return false;
  std::string_view target = head.substr(space + 1);
  target = target.substr(0, std::min(target.find(' '), target.find('?')));
  return std::find(options.exempt_paths.begin(), options.exempt_paths.end(), target) != options.exempt_paths.end();
}

// Reads a request head into `parser`. The keep-alive timeout runs until the
// first byte; from then on the head has header_timeout to arrive whole, so
// trickling bytes does not keep a connection open. Returns false (after
// answering what deserves an answer) if no usable head came.
template <class Stream>
Task<bool> HttpServer::Impl::ReadHead(Stream& stream, beast::flat_buffer& buffer,
                                      bhttp::request_parser<bhttp::buffer_body>& parser, bool over_cap) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::error_code ec;
  if (buffer.size() == 0) {
    lowest.expires_after(over_cap ? std::min(options.idle_timeout, kOverCapWait) : options.idle_timeout);
    size_t n = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 64 * 1024)),
                                               asio::redirect_error(use_task, ec));
    buffer.commit(n);
    if (ec) co_return false;  // closed, or idle too long
  }
  lowest.expires_after(over_cap ? std::min(options.header_timeout, kOverCapWait) : options.header_timeout);
  co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_task, ec));
  if (!ec) co_return true;
  {
    std::string request_id = NewRequestId();
    if (ec == bhttp::error::header_limit) {
      co_await WriteRaw(stream, RenderRestXmlError(MakeApiError("RequestHeaderSectionTooLarge",
                                                                "Your request header section exceeds the maximum allowed size."),
                                                   request_id),
                        request_id);
    } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
               ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
               buffer.size() > 0) {
      co_await WriteRaw(stream, RenderRestXmlError(MakeApiError("InvalidRequest", "Malformed HTTP request: " + ec.message()),
                                                   request_id),
                        request_id);
    }
    co_return false;
  }
}

// Serves one request; returns whether the connection may be reused.
template <class Stream>
Task<bool> HttpServer::Impl::ServeOne(Stream& stream, beast::flat_buffer& buffer, const std::string& remote, bool tls,
                                      bool over_cap) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
  if (!co_await ReadHead(stream, buffer, parser, over_cap)) co_return false;
  Request request;
  auto& msg = parser.get();
  request.method = std::string(msg.method_string());
  request.remote_address = remote;
  request.tls = tls;
  request.request_id = NewRequestId();
  request.headers.Reserve(16);
  for (const auto& f : msg) request.headers.Add(f.name_string(), f.value());
  if (msg.has_content_length() || !msg.chunked()) request.content_length = parser.content_length().value_or(0);
  Status target = ParseTarget(msg.target(), request);
  if (!target.ok()) {
    co_await WriteRaw(stream, RenderRestXmlError(ApiErrorFromStatus(target), request.request_id), request.request_id);
    co_return false;
  }
  bool exempt = Exempt(request);
  bool has_body = msg.chunked() || request.content_length.value_or(0) > 0;
  Slot upload = has_body && !exempt ? Slot::TryTake(uploads, options.max_uploads) : Slot();
  if ((over_cap && !exempt) || (has_body && !exempt && !upload)) {
    co_await WriteRaw(stream, SlowDown(request.request_id), request.request_id);
    co_return false;
  }

  ExchangeImpl<Stream> exchange(stream, buffer, parser, std::move(request), options);
  active.fetch_add(1, std::memory_order_relaxed);
  uint64_t key = Track(stream.get_executor(), [&exchange] { exchange.Abandon(); });
  bool threw = !co_await ServeGuarded(exchange);
  Untrack(key);
  active.fetch_sub(1, std::memory_order_relaxed);
  if (threw) {
    // Whatever state the handler left behind, the connection cannot be trusted with another request.
    if (!exchange.head_sent()) {
      const std::string& id = exchange.request().request_id;
      Status sent = co_await exchange.Send(RenderRestXmlError(MakeApiError("InternalError"), id));
      sent.IgnoreError();  // the connection closes either way
    }
    co_return false;
  }
  if (!exchange.head_sent() && (exchange.body_timed_out() || exchange.abandoned())) {
    // The handler gave up without answering; the client is still owed one.
    const std::string& id = exchange.request().request_id;
    Status why = exchange.abandoned() ? ShuttingDownStatus() : RequestTimeoutStatus();
    Status sent = co_await exchange.Send(RenderRestXmlError(ApiErrorFromStatus(why), id));
    sent.IgnoreError();
    co_return false;
  }
  if (!exchange.head_sent()) co_return false;  // handler gave up on a broken connection
  Status flushed = co_await exchange.Flush();
  if (!flushed.ok()) co_return false;

  // Skip a small unread body so the connection survives; otherwise close.
  if (exchange.keep_alive() && exchange.HasUnreadBody()) co_await DrainBody(exchange.body());
  co_return exchange.Reusable() && !stopping.load(std::memory_order_relaxed) && !over_cap;
}

template <class Stream>
Task<void> HttpServer::Impl::ServeConnection(Stream stream, std::string remote, bool tls, Slot slot, bool over_cap) {
  if constexpr (!std::is_same_v<Stream, PlainStream>) {
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(over_cap ? std::min(options.header_timeout, kOverCapWait)
                                                          : options.header_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_task, ec));
    if (ec) co_return;
  }
  beast::flat_buffer buffer;
  buffer.reserve(16 * 1024);  // Beast reads at most the free capacity per syscall
  while (co_await ServeOne(stream, buffer, remote, tls, over_cap)) {
  }
  beast::error_code ec;
  if constexpr (!std::is_same_v<Stream, PlainStream>) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(asio::redirect_error(use_task, ec));
  }
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
}

Task<void> HttpServer::Impl::AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor, asio::ssl::context* tls) {
  while (!stopping.load()) {
    beast::error_code ec;
    // Round-robin: the connection lives on one context (one thread) for good.
    asio::io_context& home = *contexts[next_context.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
    Socket socket = co_await acceptor->async_accept(home, asio::redirect_error(use_task, ec));
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) co_return;
      if (!co_await AcceptFailed(*acceptor, ec, tls != nullptr)) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    Slot slot = Slot::TryTake(connections, options.max_connections);
    bool over = !slot;
    if (over) slot = Slot::TryTake(over_cap, options.over_cap_slots);
    if (!slot && !tls) {
      // Past the cap and its headroom: a health check is still answered.
      // Its head may not have arrived yet (the client was just accepted),
      // so a bounded number of connections get one readability wait.
      if (Slot triage = Slot::TryTake(triaging, kTriageSlots)) {
        asio::co_spawn(socket.get_executor(), Triage(std::move(socket), std::move(triage)), LogEscaped{"triage"});
      } else if (AskedForExemptPath(socket)) {
        Dispatch(std::move(socket), Slot(), true, tls);
      } else {
        RefuseOverCap(socket);
      }
      continue;
    }
    if (!slot) continue;  // TLS: a client cannot be answered before a handshake
    Dispatch(std::move(socket), std::move(slot), over, tls);
  }
}

// Waits for the first bytes of an over-cap connection's head — one socket
// wait raced against one timer, no polling — then serves it if it asks for
// an exempt path and refuses it otherwise.
Task<void> HttpServer::Impl::Triage(Socket socket, Slot slot) {
  auto shared = std::make_shared<Socket>(std::move(socket));
  asio::steady_timer timer(shared->get_executor(), kOverCapWait);
  // The handler may run after this frame is gone: it owns the socket too.
  timer.async_wait([shared](const beast::error_code& ec) {
    beast::error_code ignored;
    if (!ec) shared->cancel(ignored);
  });
  beast::error_code ec;
  co_await shared->async_wait(tcp::socket::wait_read, asio::redirect_error(use_task, ec));
  timer.cancel();
  if (!ec && AskedForExemptPath(*shared)) {
    Dispatch(std::move(*shared), Slot(), true, nullptr);
  } else {
    RefuseOverCap(*shared);
    beast::error_code ignored;
    shared->close(ignored);
  }
}

// Answers 503 SlowDown without reading (best effort) and leaves the socket to close.
void HttpServer::Impl::RefuseOverCap(Socket& socket) {
  beast::error_code ec;
  std::string id = NewRequestId();
  Response r = SlowDown(id);
  std::string bytes = SerializeHead(r.status, r.headers, r.body.size(), false, id, options) + r.body;
  socket.non_blocking(true, ec);
  socket.send(asio::buffer(bytes), 0, ec);  // Asio sends with MSG_NOSIGNAL
}

void HttpServer::Impl::Dispatch(Socket socket, Slot slot, bool over, asio::ssl::context* tls) {
  beast::error_code ec;
  std::string remote;
  auto ep = socket.remote_endpoint(ec);
  if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
  auto executor = socket.get_executor();
  if (tls) {
    TlsStream stream(PlainStream(std::move(socket)), *tls);
    asio::co_spawn(executor, ServeConnection(std::move(stream), std::move(remote), true, std::move(slot), over),
                   LogEscaped{"connection"});
  } else {
    asio::co_spawn(executor,
                   ServeConnection(PlainStream(std::move(socket)), std::move(remote), false, std::move(slot), over),
                   LogEscaped{"connection"});
  }
}

// Out of descriptors (EMFILE/ENFILE), accept fails while the connection
// stays queued and the listener stays readable: retrying at once spins a
// core and floods the log. Take the reserve descriptor back to accept the
// oldest pending connection and close it, then pause before accepting
// again. Other failures (a connection reset before it was accepted) just
// pause briefly. Returns false if the loop should end.
Task<bool> HttpServer::Impl::AcceptFailed(tcp::acceptor& acceptor, const beast::error_code& ec, bool tls) {
  bool exhausted = ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
                   ec == asio::error::no_memory;
  std::chrono::milliseconds pause = options.accept_backoff;
  if (exhausted) {
    log::Warn("accept failed: out of descriptors; shedding connections",
              {{"error", ec.message()}, {"connections", std::to_string(connections->load())}});
    if (reserve.Release()) {
      int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        if (!tls) {
          std::string id = NewRequestId();
          Response r = SlowDown(id);
          std::string bytes = SerializeHead(r.status, r.headers, r.body.size(), false, id, options) + r.body;
          ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          (void)sent;  // best effort
        }
        ::close(fd);
      }
      reserve.Restore();
    }
  } else if (ec == asio::error::connection_aborted) {
    co_return true;  // the client gave up while queued
  } else {
    log::Warn("accept failed", {{"error", ec.message()}});
    pause = std::min(pause, std::chrono::milliseconds(10));
  }
  asio::steady_timer timer(acceptor.get_executor(), pause);
  beast::error_code wait_ec;
  co_await timer.async_wait(asio::redirect_error(use_task, wait_ec));
  co_return !stopping.load();
}

HttpServer::HttpServer(std::vector<asio::io_context*> contexts, RequestHandler& handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(contexts), handler, std::move(options))) {}

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
  auto acceptor = std::make_shared<tcp::acceptor>(*impl_->contexts.front());
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen on " + host_port + ": " + ec.message());
  uint16_t port = acceptor->local_endpoint().port();
  impl_->acceptors.push_back(acceptor);
  asio::co_spawn(*impl_->contexts.front(), impl_->AcceptLoop(acceptor, tls), LogEscaped{"accept loop"});
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

size_t HttpServer::open_connections() const { return impl_->connections->load(); }

size_t HttpServer::AbandonRequests() { return impl_->AbandonAll(); }

size_t HttpServer::Impl::AbandonAll() {
  std::vector<std::pair<uint64_t, TaskExecutor>> targets;
  {
    std::lock_guard<std::mutex> lock(tracked_mu);
    for (const auto& [key, entry] : tracked) targets.emplace_back(key, entry.executor);
  }
  for (const auto& [key, executor] : targets) {
    // On the request's own thread, where it cannot end while we look it up.
    asio::post(executor, [this, key = key] {
      std::function<void()> abandon;
      {
        std::lock_guard<std::mutex> lock(tracked_mu);
        auto it = tracked.find(key);
        if (it != tracked.end()) abandon = it->second.abandon;
      }
      if (abandon) abandon();
    });
  }
  return targets.size();
}

}  // namespace annex::http
