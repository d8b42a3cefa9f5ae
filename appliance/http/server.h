#pragma once
// HttpServer: the appliance's one HTTP/1.1 listener (plain and TLS), built on
// Boost.Beast with C++20 coroutines. It parses requests with bounded header
// sizes, streams bodies both ways, keeps connections alive, answers
// pipelined requests in order, and closes connections from clients that stall.
//
// Everything protocol-specific happens in the RequestHandler; the server
// only moves bytes. Beast stays inside server.cc.
//
// Threads: one io_context per core, each run by one thread. The acceptor
// deals connections out round-robin and a connection stays on its context,
// so a request is served start to finish without a thread hand-off or a
// cross-thread wakeup. Listen/StopAccepting may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "appliance/core/result.h"
#include "appliance/http/exchange.h"

namespace boost::asio::ssl {
class context;
}

namespace annex::http {

// The edge: serves one exchange. Must send a response unless the connection failed.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual Task<void> Serve(Exchange& exchange) = 0;
};

struct ServerOptions {
  size_t max_header_bytes = 64 * 1024;
  uint64_t max_body_bytes = uint64_t{6} << 30;  // 5 GiB objects plus aws-chunked framing
  // A request head must be complete this long after its first byte arrives
  // (a client trickling a head byte by byte is closed then).
  std::chrono::milliseconds header_timeout{30'000};
  // Per read/write while a request is in flight. A body that stalls this
  // long is answered 400 RequestTimeout.
  std::chrono::milliseconds io_timeout{120'000};
  std::chrono::milliseconds idle_timeout{75'000};  // keep-alive: waiting for a request's first byte

  // Connections served at once. Past it a connection gets one short chance
  // (a quarter second, `over_cap_slots` at a time) to ask for an
  // `exempt_paths` path, and is otherwise answered 503 SlowDown and closed.
  size_t max_connections = 4096;
  size_t over_cap_slots = 64;
  // Requests with a body being received at once; past it, 503 SlowDown.
  size_t max_uploads = 256;
  // Paths answered even past the caps (the health check must stay
  // answerable under a flood).
  std::vector<std::string> exempt_paths;
  // How long the accept loop pauses when the process is out of descriptors.
  std::chrono::milliseconds accept_backoff{100};
  // Every response carries Date, and these headers echoing the request id
  // (the edge names AWS's x-amz-request-id family) and Server when set.
  // The server writes them itself: a handler's fields of the same names are
  // dropped.
  std::vector<std::string> request_id_headers;
  std::string server_name;
};

class HttpServer {
 public:
  // Connections are spread over `contexts` (non-empty; all must outlive the server).
  HttpServer(std::vector<boost::asio::io_context*> contexts, RequestHandler& handler, ServerOptions options);
  HttpServer(boost::asio::io_context& io, RequestHandler& handler, ServerOptions options)
      : HttpServer(std::vector<boost::asio::io_context*>{&io}, handler, options) {}
  ~HttpServer();

  // Binds "host:port" (port 0 picks a free one) and starts accepting.
  // With `tls`, connections are TLS (the context must outlive the server).
  Result<uint16_t> Listen(const std::string& host_port, boost::asio::ssl::context* tls);
  // Stops accepting; in-flight requests finish, idle connections close.
  void StopAccepting();
  // Number of requests currently being served (for draining on shutdown).
  size_t active_requests() const;
  // Number of connections open, counted against max_connections.
  size_t open_connections() const;
  // For shutdown once the drain has waited long enough: every request still
  // being served is abandoned. One whose response has not started is
  // answered 503 ServiceUnavailable (through its handler, which sees its
  // body read fail, or by the server); one mid-response is cut off. Returns
  // how many were abandoned. Call after StopAccepting; the io_contexts must
  // keep running a moment for the answers to go out.
  size_t AbandonRequests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" / "[v6]:port"; InvalidArgument if malformed.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& host_port);

}  // namespace annex::http
