// HttpServer against raw sockets: framing, keep-alive, pipelining,
// 100-continue, bounded headers, streamed bodies and HEAD.

#include <utility>

#include "appliance/http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"

namespace annex::http {
namespace {

// A sparse in-memory file with a descriptor, so SendFile takes the sendfile(2) path.
class MemFile final : public os::RandomAccessFile {
 public:
  explicit MemFile(uint64_t size) : fd_(::memfd_create("server_test", MFD_CLOEXEC)), size_(size) {
    EXPECT_EQ(::ftruncate(fd_, static_cast<off_t>(size)), 0);
  }
  ~MemFile() override { ::close(fd_); }
  Result<size_t> ReadAt(uint64_t offset, std::span<char> buf) const override {
    ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0) return Status::FromErrno(errno, "pread");
    return static_cast<size_t>(n);
  }
  uint64_t Size() const override { return size_; }
  int NativeHandle() const override { return fd_; }

 private:
  int fd_;
  uint64_t size_;
};

// Echoes the body length and a digest-free summary; /stream answers in chunks,
// /big with 32 MiB from a file, /throw with an exception.
class EchoHandler final : public RequestHandler {
 public:
  Task<void> Serve(Exchange& ex) override {
    const Request& r = ex.request();
    if (r.path == "/throw") throw std::runtime_error("handler bug");
    if (r.path == "/big") {
      static const MemFile file(32 << 20);
      Response head;
      if (!(co_await ex.response().SendHead(std::move(head), file.Size())).ok()) co_return;
      (co_await ex.response().SendFile(file, 0, file.Size())).IgnoreError();
      co_return;
    }
    if (r.path == "/spoof") {  // sets fields the server owns
      Response resp;
      resp.headers.Set("date", "yesterday");
      resp.headers.Set("server", "spoofed");
      resp.headers.Set("x-id-a", "spoofed");
      resp.body = "ok";
      (co_await ex.response().Send(std::move(resp))).IgnoreError();
      co_return;
    }
    if (r.path == "/early") {  // answers without reading the body
      Response resp;
      resp.status = 403;
      resp.body = "denied";
      (co_await ex.response().Send(std::move(resp))).IgnoreError();
      co_return;
    }
    uint64_t total = 0;
    char buf[1000];
    while (true) {
      Result<size_t> n = co_await ex.body().Read(buf);
      if (!n.ok()) {
        Response resp;
        resp.status = 400;
        resp.body = n.status().subcode();
        (co_await ex.response().Send(std::move(resp))).IgnoreError();
        co_return;
      }
      if (*n == 0) break;
      total += *n;
    }
    if (r.path == "/stream") {
      Response head;
      head.headers.Set("x-total", std::to_string(total));
      if (const std::string* v = r.query.Get("v")) head.headers.Set("x-echo", *v);
      if (!(co_await ex.response().SendHead(std::move(head), 10)).ok()) co_return;
      (co_await ex.response().SendBody("01234")).IgnoreError();
      (co_await ex.response().SendBody("56789")).IgnoreError();
      co_return;
    }
    Response resp;
    resp.body = r.method + " " + r.path + " " + std::to_string(total);
    (co_await ex.response().Send(std::move(resp))).IgnoreError();
  }
};

class ServerTest : public ::testing::Test {
 protected:
  virtual ServerOptions Options() { return {}; }
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(io_, handler_, Options());
    auto port = server_->Listen("127.0.0.1:0", nullptr);
    ASSERT_TRUE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    thread_.join();
  }

  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static void SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads until `count` complete responses (by Content-Length) or EOF.
  static std::string ReadResponses(int fd, int count) {
    std::string out;
    char buf[4096];
    while (Complete(out) < count) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  static int Complete(const std::string& s) {
    int done = 0;
    size_t pos = 0;
    while (true) {
      size_t end = s.find("\r\n\r\n", pos);
      if (end == std::string::npos) return done;
      std::string head = ToLower(s.substr(pos, end - pos));
      size_t cl = head.find("content-length: ");
      uint64_t len = cl == std::string::npos ? 0 : std::stoull(head.substr(cl + 16));
      if (head.rfind("http/1.1 100", 0) == 0) len = 0;
      else if (head.find("\nhead-marker") != std::string::npos) len = 0;
      if (s.size() < end + 4 + len) return done;
      if (head.rfind("http/1.1 100", 0) != 0) ++done;
      pos = end + 4 + len;
    }
  }

  boost::asio::io_context io_;
  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ServerTest, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  int fd = Connect();
  SendAll(fd,
          "PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
          "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
          "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  std::string out = ReadResponses(fd, 3);
  size_t a = out.find("PUT /a 5"), b = out.find("GET /b 0"), c = out.find("POST /c 3");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  ::close(fd);
}

TEST_F(ServerTest, ExpectContinueIsAnsweredWhenTheBodyIsRead) {
  int fd = Connect();
  SendAll(fd, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue", 0), 0u);
  SendAll(fd, "abc");
  EXPECT_NE(ReadResponses(fd, 1).find("PUT /x 3"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, EmptyBodyWithExpectStillGetsContinueFirst) {
  int fd = Connect();
  SendAll(fd, "PUT /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n");
  std::string out = ReadResponses(fd, 1);
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", 0), 0u) << out;
  // The connection stays usable.
  SendAll(fd, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(ReadResponses(fd, 1).find("GET /next 0"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, EarlyAnswerWithoutContinueClosesTheConnection) {
  int fd = Connect();
  SendAll(fd, "PUT /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
  std::string out = ReadResponses(fd, 1);
  EXPECT_EQ(out.rfind("HTTP/1.1 403", 0), 0u) << out;
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
  EXPECT_NE(ToLower(out).find("connection: close"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, OversizeHeadersAreRejected) {
  int fd = Connect();
  std::string big(70 * 1024, 'a');
  SendAll(fd, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
  std::string out = ReadResponses(fd, 1);
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_NE(out.find("RequestHeaderSectionTooLarge"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, TruncatedBodyIsReportedToTheHandler) {
  int fd = Connect();
  SendAll(fd, "PUT /t HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-some");
  ::shutdown(fd, SHUT_WR);
  std::string out = ReadResponses(fd, 1);
  // The handler saw IncompleteBody; nothing claims 100 bytes arrived.
  EXPECT_EQ(out.find("PUT /t 100"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, StreamedResponseAndHead) {
  int fd = Connect();
  SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = ReadResponses(fd, 1);
  EXPECT_NE(ToLower(out).find("content-length: 10"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\n\r\n0123456789"), std::string::npos);
  SendAll(fd, "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  char buf[1024];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  std::string head(buf, static_cast<size_t>(std::max<ssize_t>(n, 0)));
  EXPECT_NE(ToLower(head).find("content-length: 10"), std::string::npos);
  EXPECT_EQ(head.find("0123456789"), std::string::npos);  // HEAD carries no body
  ::close(fd);
}

TEST_F(ServerTest, HeaderValuesCannotSplitTheResponse) {
  int fd = Connect();
  SendAll(fd, "GET /stream?v=a%0D%0AInjected:%20yes%0D%0A%0D%0Abody HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = ReadResponses(fd, 1);
  EXPECT_EQ(out.find("\r\nInjected: yes"), std::string::npos) << out;
  EXPECT_EQ(out.find("\r\n\r\n"), out.find("\r\n\r\n0123456789"));  // exactly one head/body boundary
  ::close(fd);
}

// Regression: a client that stops reading a download made sendfile(2) raise
// SIGPIPE, which ended the process (this test binary keeps SIGPIPE's default).
TEST_F(ServerTest, ClientsAbandoningAZeroCopyDownloadDoNotKillTheServer) {
  for (int i = 0; i < 12; ++i) {
    int fd = Connect();
    SendAll(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    char buf[4096];
    ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
    if (i % 2 == 1) {  // RST instead of FIN
      linger hard{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    ::close(fd);
  }
  int fd = Connect();
  SendAll(fd, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = ReadResponses(fd, 1);
  ::close(fd);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
}

TEST_F(ServerTest, AHandlerThatThrowsGetsA500AndTheServerGoesOn) {
  int fd = Connect();
  SendAll(fd, "GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = ReadResponses(fd, 1);
  ::close(fd);
  EXPECT_EQ(r.rfind("HTTP/1.1 500", 0), 0u) << r;
  EXPECT_NE(r.find("<Code>InternalError</Code>"), std::string::npos) << r;
  EXPECT_EQ(server_->active_requests(), 0u);
  fd = Connect();
  SendAll(fd, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  r = ReadResponses(fd, 1);
  ::close(fd);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
}

// The server appends Date, Server and the request-id headers itself.
class StampingServerTest : public ServerTest {
 protected:
  ServerOptions Options() override {
    ServerOptions o;
    o.request_id_headers = {"x-id-a", "x-id-b"};
    o.server_name = "Tester";
    return o;
  }
  // The values of every `name:` field of the first response head.
  static std::vector<std::string> Fields(const std::string& response, const std::string& name) {
    std::vector<std::string> out;
    std::string head = response.substr(0, response.find("\r\n\r\n"));
    for (std::string_view line : Split(head, '\n')) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (StartsWith(line, name + ": ")) out.emplace_back(line.substr(name.size() + 2));
    }
    return out;
  }
};

TEST_F(StampingServerTest, ServerOwnedHeadersWinOverTheHandlers) {
  int fd = Connect();
  SendAll(fd, "GET /spoof HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = ReadResponses(fd, 1);
  ::close(fd);
  ASSERT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  auto a = Fields(r, "x-id-a"), b = Fields(r, "x-id-b"), date = Fields(r, "date"), server = Fields(r, "server");
  ASSERT_EQ(a.size(), 1u) << r;
  ASSERT_EQ(b.size(), 1u) << r;
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[0].size(), 16u);
  ASSERT_EQ(date.size(), 1u) << r;
  EXPECT_TRUE(ParseHttpDate(date[0])) << date[0];
  EXPECT_EQ(server, std::vector<std::string>{"Tester"});
}

TEST_F(StampingServerTest, MalformedRequestsCarryARequestIdToo) {
  int fd = Connect();
  SendAll(fd, "GET /x HTTP/1.1\r\nHost x\r\n\r\n");  // no colon
  std::string r = ReadResponses(fd, 1);
  ::close(fd);
  ASSERT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
  auto a = Fields(r, "x-id-a");
  ASSERT_EQ(a.size(), 1u) << r;
  EXPECT_NE(r.find("<RequestId>" + a[0] + "</RequestId>"), std::string::npos) << r;
}

// Small limits and short timeouts, so the flood and stall cases run in milliseconds.
class LimitsServerTest : public ServerTest {
 protected:
  ServerOptions Options() override {
    ServerOptions o;
    o.header_timeout = std::chrono::milliseconds(300);
    o.io_timeout = std::chrono::milliseconds(300);
    o.max_connections = 2;
    o.over_cap_slots = 1;
    o.max_uploads = 1;
    o.exempt_paths = {"/health"};
    return o;
  }
  // Milliseconds until the server closes `fd` (recv returns 0 or fails), reading whatever it sends.
  static int64_t MillisUntilClosed(int fd, std::string* got) {
    auto start = std::chrono::steady_clock::now();
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got->append(buf, static_cast<size_t>(n));
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  }
};

TEST_F(LimitsServerTest, AHeadTricklingInIsCutOffAtTheHeaderTimeout) {
  int fd = Connect();
  SendAll(fd, "GET /x HTTP/1.1\r\n");
  auto start = std::chrono::steady_clock::now();
  // One byte every 50 ms would keep a per-read timeout from ever firing.
  std::thread trickle([fd] {
    for (int i = 0; i < 40; ++i) {
      if (::send(fd, "x", 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::string got;
  MillisUntilClosed(fd, &got);
  auto took = std::chrono::steady_clock::now() - start;
  trickle.join();
  ::close(fd);
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  EXPECT_EQ(got, "");
}

TEST_F(LimitsServerTest, ABodyThatStallsIsAnsweredRequestTimeout) {
  int fd = Connect();
  SendAll(fd, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  std::string got;
  int64_t ms = MillisUntilClosed(fd, &got);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
  EXPECT_NE(got.find("RequestTimeout"), std::string::npos) << got;
  EXPECT_LT(ms, 2000);
}

TEST_F(LimitsServerTest, ConnectionsPastTheCapGetSlowDownButHealthIsAnswered) {
  int idle1 = Connect(), idle2 = Connect();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both accepted
  int fd = Connect();
  SendAll(fd, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  MillisUntilClosed(fd, &got);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
  EXPECT_NE(got.find("<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"), std::string::npos)
      << got;
  fd = Connect();
  SendAll(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  got.clear();
  MillisUntilClosed(fd, &got);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  ::close(idle1);
  ::close(idle2);
}

TEST_F(LimitsServerTest, UploadsPastTheCapGetSlowDown) {
  int uploading = Connect();
  SendAll(uploading, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n01234");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int fd = Connect();
  SendAll(fd, "PUT /y HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n01234");
  std::string got;
  MillisUntilClosed(fd, &got);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
  EXPECT_NE(got.find("<Code>SlowDown</Code>"), std::string::npos) << got;
  SendAll(uploading, std::string(95, 'z'));
  std::string r = ReadResponses(uploading, 1);
  ::close(uploading);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
}

TEST_F(ServerTest, AbandonedRequestsAreToldTheServerIsShuttingDown) {
  int fd = Connect();
  SendAll(fd, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  for (int i = 0; i < 100 && server_->active_requests() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server_->StopAccepting();
  EXPECT_EQ(server_->AbandonRequests(), 1u);
  std::string r = ReadResponses(fd, 1);
  ::close(fd);
  // EchoHandler answers a failed body read with its subcode.
  EXPECT_NE(r.find("\r\n\r\nServiceUnavailable"), std::string::npos) << r;
  for (int i = 0; i < 100 && server_->active_requests() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->active_requests(), 0u);
}

TEST(ParseHostPort, Forms) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:4566")->second, 4566);
  EXPECT_EQ(ParseHostPort("[::1]:80")->first, "::1");
  EXPECT_EQ(ParseHostPort(":9000")->first, "0.0.0.0");
  EXPECT_FALSE(ParseHostPort("nohost").ok());
  EXPECT_FALSE(ParseHostPort("h:99999").ok());
}

}  // namespace
}  // namespace annex::http
