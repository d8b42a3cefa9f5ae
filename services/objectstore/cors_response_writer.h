#pragma once
// CorsResponseWriter: decorates a ResponseWriter so that the response to a
// cross-origin request (one with an Origin header) carries the
// Access-Control-* headers of the bucket's matching CORS rule.

#include "appliance/http/exchange.h"

namespace annex::objectstore {

class CorsResponseWriter final : public http::ResponseWriter {
 public:
  // `cors_headers` are added to whichever head goes out.
  CorsResponseWriter(http::ResponseWriter& inner, http::Headers cors_headers)
      : inner_(inner), cors_headers_(std::move(cors_headers)) {}

  http::Task<Status> Send(http::Response response) override;
  http::Task<Status> SendHead(http::Response head, uint64_t content_length) override;
  http::Task<Status> SendBody(std::string_view chunk) override { return inner_.SendBody(chunk); }
  http::Task<Status> SendFile(const os::RandomAccessFile& file, uint64_t offset, uint64_t length) override {
    return inner_.SendFile(file, offset, length);
  }
  bool head_sent() const override { return inner_.head_sent(); }

 private:
  void Decorate(http::Response& r) const;

  http::ResponseWriter& inner_;
  http::Headers cors_headers_;
};

}  // namespace annex::objectstore
