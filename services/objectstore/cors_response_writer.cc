#include "services/objectstore/cors_response_writer.h"

namespace annex::objectstore {

void CorsResponseWriter::Decorate(http::Response& r) const {
  for (const auto& f : cors_headers_) r.headers.Set(f.name, f.value);
}

http::Task<Status> CorsResponseWriter::Send(http::Response response) {
  Decorate(response);
  co_return co_await inner_.Send(std::move(response));
}

http::Task<Status> CorsResponseWriter::SendHead(http::Response head, uint64_t content_length) {
  Decorate(head);
  co_return co_await inner_.SendHead(std::move(head), content_length);
}

}  // namespace annex::objectstore
