#pragma once
// Helpers for the auth tests: a fake body stream that hands out data in
// awkward pieces, a synchronous coroutine runner, and request builders.

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "appliance/auth/credentials.h"
#include "appliance/http/exchange.h"
#include "appliance/http/request.h"

namespace annex::auth::testing {

// Runs `task` to completion on a private io_context.
template <typename T>
T RunTask(http::Task<T> task) {
  boost::asio::io_context ctx;
  std::optional<T> out;
  boost::asio::co_spawn(
      ctx, [&]() -> http::Task<void> { out.emplace(co_await std::move(task)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ctx.run();
  return std::move(*out);
}

// Returns `data` in pieces whose sizes cycle through `pieces`, so chunk
// headers, CRLFs and signatures straddle Read() boundaries.
class FakeBodyReader final : public http::BodyReader {
 public:
  explicit FakeBodyReader(std::string data, std::vector<size_t> pieces = {1 << 20})
      : data_(std::move(data)), pieces_(std::move(pieces)) {}

  http::Task<Result<size_t>> Read(std::span<char> buf) override {
    size_t piece = pieces_[next_++ % pieces_.size()];
    size_t n = std::min({buf.size(), piece, data_.size() - offset_});
    std::memcpy(buf.data(), data_.data() + offset_, n);
    offset_ += n;
    co_return n;
  }

 private:
  std::string data_;
  std::vector<size_t> pieces_;
  size_t next_ = 0;
  size_t offset_ = 0;
};

// Reads `reader` to the end with reads of `read_size` bytes.
inline http::Task<Result<std::string>> ReadAllTask(http::BodyReader& reader, size_t read_size) {
  std::string out;
  std::vector<char> buf(read_size);
  while (true) {
    Result<size_t> n = co_await reader.Read(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.append(buf.data(), *n);
  }
}

inline Result<std::string> ReadAll(http::BodyReader& reader, size_t read_size = 4096) {
  return RunTask(ReadAllTask(reader, read_size));
}

// A request as the server would parse it from `method target` + headers.
inline http::Request MakeRequest(std::string method, std::string_view target,
                                 std::initializer_list<std::pair<std::string, std::string>> headers) {
  http::Request r;
  r.method = std::move(method);
  http::ParseTarget(target, r).IgnoreError();
  for (const auto& [name, value] : headers) {
    r.headers.Add(name, value);
    if (name == "Content-Length" || name == "content-length") r.content_length = std::stoull(value);
  }
  return r;
}

class MapCredentials final : public CredentialLookup {
 public:
  void Put(std::string akid, std::string secret) {
    Credential c;
    c.access_key_id = akid;
    c.secret_access_key = std::move(secret);
    c.principal.anonymous = false;
    c.principal.account_id = "123456789012";
    c.principal.access_key_id = akid;
    map_[akid] = std::move(c);
  }
  // Temporary credentials: valid with `token` until `expiration`.
  void PutSession(std::string akid, std::string secret, std::string token,
                  std::chrono::system_clock::time_point expiration) {
    Put(akid, std::move(secret));
    auto session = std::make_shared<Session>();
    session->token = std::move(token);
    session->expiration = expiration;
    map_[akid].principal.session = std::move(session);
  }
  std::optional<Credential> Find(std::string_view access_key_id) const override {
    auto it = map_.find(std::string(access_key_id));
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Credential> map_;
};

}  // namespace annex::auth::testing
