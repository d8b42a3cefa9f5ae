#include "appliance/http/exchange.h"

#include "appliance/http/api_error.h"

namespace annex::http {

Task<Result<std::string>> ReadSmallBody(BodyReader& body, size_t limit) {
  std::string out;
  char buf[16 * 1024];
  while (true) {
    Result<size_t> n = co_await body.Read(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    if (out.size() + *n > limit) {
      co_return ApiStatus("MaxMessageLengthExceeded", "Your request was too big.");
    }
    out.append(buf, *n);
  }
  co_return out;
}

}  // namespace annex::http
