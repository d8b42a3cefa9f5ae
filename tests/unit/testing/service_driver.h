#pragma once
// ServiceDriver: runs one request through a service::Service the way the
// edge does (a request context on an io_context, errors rendered with the
// service's RenderError), with the principal the test chooses, at
// 1700000000 s on a manual clock. For the unit tests of small services
// (IAM, admin, Logs); the object store has its own S3Harness.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "appliance/auth/principal.h"
#include "appliance/http/api_error.h"
#include "appliance/http/exchange.h"
#include "appliance/os/blocking_pool.h"
#include "appliance/os/clock.h"
#include "appliance/service/request_context.h"
#include "appliance/service/service.h"

namespace annex::testing {

struct DriverResponse {
  int status = 0;
  std::string content_type;
  std::string body;
  Status handler_status;  // what Handle() returned
  std::string operation;
};

class ServiceDriver {
 public:
  explicit ServiceDriver(service::Service& svc) : svc_(svc) {}

  // `target` is the request-target ("/?Action=…"); `body` the raw payload;
  // `headers` beside Host (an X-Amz-Target for the JSON services).
  DriverResponse Send(const auth::Principal& principal, std::string method, std::string target, std::string body = "",
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::Request req;
    req.method = std::move(method);
    DriverResponse out;
    if (!http::ParseTarget(target, req).ok()) {  // not req.target: ParseTarget assigns it
      out.status = 400;
      out.handler_status = Status::InvalidArgument("bad target");
      return out;
    }
    req.headers.Add("host", "127.0.0.1:4566");
    for (const auto& [name, value] : headers) req.headers.Add(name, value);
    req.content_length = body.size();
    req.remote_address = "192.0.2.7:40000";
    req.request_id = "test-request";
    StringBody reader(std::move(body));
    Writer writer(out);
    http::Headers trailers;
    service::RequestContext ctx{req, writer, reader, trailers, principal, "us-east-1", clock_, pool_, "", 0, 0};
    boost::asio::io_context io;
    boost::asio::co_spawn(
        io, [&]() -> http::Task<void> { out.handler_status = co_await svc_.Handle(ctx); }, boost::asio::detached);
    io.run();
    out.operation = ctx.operation;
    if (!out.handler_status.ok() && !writer.head_sent()) {
      http::ApiError error = http::ApiErrorFromStatus(out.handler_status, svc_.descriptor().errors);
      http::Response r = svc_.RenderError(error, req.request_id);
      out.status = r.status;
      const std::string* type = r.headers.Get("content-type");
      out.content_type = type ? *type : "";
      out.body = std::move(r.body);
    }
    return out;
  }

 private:
  class StringBody final : public http::BodyReader {
   public:
    explicit StringBody(std::string data) : data_(std::move(data)) {}
    http::Task<Result<size_t>> Read(std::span<char> buf) override {
      size_t n = std::min(buf.size(), data_.size() - offset_);
      std::memcpy(buf.data(), data_.data() + offset_, n);
      offset_ += n;
      co_return n;
    }

   private:
    std::string data_;
    size_t offset_ = 0;
  };

  class Writer final : public http::ResponseWriter {
   public:
    explicit Writer(DriverResponse& out) : out_(out) {}
    http::Task<Status> Send(http::Response r) override {
      out_.status = r.status;
      const std::string* type = r.headers.Get("content-type");
      out_.content_type = type ? *type : "";
      out_.body = std::move(r.body);
      sent_ = true;
      co_return Status::OK();
    }
    http::Task<Status> SendHead(http::Response head, uint64_t) override { co_return co_await Send(std::move(head)); }
    http::Task<Status> SendBody(std::string_view chunk) override {
      out_.body.append(chunk);
      co_return Status::OK();
    }
    http::Task<Status> SendFile(const os::RandomAccessFile&, uint64_t, uint64_t) override {
      co_return Status::Internal("no files here");
    }
    bool head_sent() const override { return sent_; }

   private:
    DriverResponse& out_;
    bool sent_ = false;
  };

  service::Service& svc_;
  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  os::BlockingPool pool_{1};
};

// The <Code> of an XML error body, or "".
inline std::string XmlErrorCode(const std::string& body) {
  size_t a = body.find("<Code>"), b = body.find("</Code>");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return body.substr(a + 6, b - a - 6);
}

}  // namespace annex::testing
