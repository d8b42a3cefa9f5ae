#include "appliance/http/exchange.h"

#include <algorithm>

#include "appliance/http/api_error.h"

namespace annex::http {

Task<Result<std::string>> ReadSmallBody(BodyReader& body, size_t limit) {
  // Reads straight into the result, in steps that grow with the body: a
  // 1 MiB request takes a few reads (each a syscall) instead of 64 of 16 KiB
  // plus a copy of each.
  std::string out;
  size_t step = 16 * 1024;
  while (true) {
    size_t used = out.size();
    size_t room = std::min(step, limit + 1 - used);  // one byte past the limit tells "too big"
    out.resize(used + room);
    Result<size_t> n = co_await body.Read(std::span<char>(out.data() + used, room));
    if (!n.ok()) co_return n.status();
    out.resize(used + *n);
    if (*n == 0) break;
    if (out.size() > limit) co_return ApiStatus("MaxMessageLengthExceeded", "Your request was too big.");
    step = std::min<size_t>(step * 2, 1024 * 1024);
  }
  co_return out;
}

}  // namespace annex::http
