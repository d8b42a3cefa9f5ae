#include "tests/unit/services/objectstore/s3_test_harness.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"
#include "appliance/service/request_context.h"

namespace annex::objectstore::testing {

namespace {

class FakeBody final : public http::BodyReader {
 public:
  FakeBody(std::string data, size_t piece) : data_(std::move(data)), piece_(piece) {}
  http::Task<Result<size_t>> Read(std::span<char> buf) override {
    size_t n = std::min({buf.size(), piece_, data_.size() - offset_});
    std::memcpy(buf.data(), data_.data() + offset_, n);
    offset_ += n;
    co_return n;
  }

 private:
  std::string data_;
  size_t piece_;
  size_t offset_ = 0;
};

class FakeWriter final : public http::ResponseWriter {
 public:
  explicit FakeWriter(TestResponse& out) : out_(out) {}
  http::Task<Status> Send(http::Response r) override {
    out_.status = r.status;
    out_.headers = std::move(r.headers);
    out_.body = std::move(r.body);
    // As the server does: Content-Length from the body, except where none is allowed.
    bool no_body = r.status == 204 || r.status == 304 || r.status < 200;
    if (!no_body) out_.headers.Set("content-length", std::to_string(out_.body.size()));
    sent_ = true;
    co_return Status::OK();
  }
  http::Task<Status> SendHead(http::Response head, uint64_t length) override {
    out_.status = head.status;
    out_.headers = std::move(head.headers);
    out_.headers.Set("content-length", std::to_string(length));
    sent_ = true;
    co_return Status::OK();
  }
  http::Task<Status> SendBody(std::string_view chunk) override {
    out_.body.append(chunk);
    co_return Status::OK();
  }
  http::Task<Status> SendFile(const os::RandomAccessFile& file, uint64_t offset, uint64_t length) override {
    std::string buf(length, '\0');
    uint64_t done = 0;
    while (done < length) {
      auto n = file.ReadAt(offset + done, {buf.data() + done, length - done});
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return Status::IOError("short file");
      done += *n;
    }
    out_.body.append(buf);
    co_return Status::OK();
  }
  bool head_sent() const override { return sent_; }

 private:
  TestResponse& out_;
  bool sent_ = false;
};

}  // namespace

std::vector<std::string> ListFilesRecursive(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(std::filesystem::relative(it->path(), dir).string());
  }
  return out;
}

const std::string& TestResponse::Header(std::string_view name) const {
  static const std::string kEmpty;
  const std::string* v = headers.Get(name);
  return v ? *v : kEmpty;
}

std::string TestResponse::ErrorCode() const {
  size_t a = body.find("<Code>");
  size_t b = body.find("</Code>");
  if (a == std::string::npos || b == std::string::npos) return "";
  return body.substr(a + 6, b - a - 6);
}

policy::Verdict TestAuthorizer::Check(const service::RequestContext& ctx, service::AccessRequest& request,
                                     policy::AuthorizationRequest* evaluated) const {
  const auth::Principal& p = ctx.principal;
  policy::AuthorizationRequest r;
  if (!p.anonymous) {
    r.caller.type = p.is_root() ? policy::CallerType::kRoot : policy::CallerType::kUser;
    r.caller.account_id = p.account_id;
    r.caller.arn = p.arn;
  }
  r.action = std::move(request.action);
  r.resource = std::move(request.resource);
  r.resource_account = std::move(request.resource_account);
  r.context = std::move(request.context);
  policy::PolicySet set;
  set.resource = request.resource_policy;
  std::lock_guard lock(mu_);
  auto it = users_.find(p.account_id + "/" + p.user_name);
  if (!p.anonymous && !p.is_root() && it != users_.end()) set.identity.push_back(&it->second);
  policy::Verdict v = policy::Evaluate(r, set);
  if (evaluated) *evaluated = std::move(r);
  return v;
}

void TestAuthorizer::SetUserPolicy(const std::string& account, const std::string& name, const std::string& document) {
  auto parsed = policy::ParsePolicy(document, policy::PolicyKind::kIdentity);
  if (!parsed.ok()) {
    std::fprintf(stderr, "bad identity policy: %s\n", parsed.status().ToString().c_str());
    std::abort();
  }
  std::lock_guard lock(mu_);
  users_[account + "/" + name] = std::move(*parsed);
}

S3Harness::S3Harness(const std::string& dir, os::FileSystem* fs, size_t inline_threshold)
    : dir_(dir), fs_(fs), inline_threshold_(inline_threshold),
      clock_(os::SystemTime(std::chrono::seconds(1700000000))) {
  ActAs("111111111111", "alice");
  Reopen();
}

S3Harness::~S3Harness() { Close(); }

void S3Harness::Close() {
  if (service_) service_->Stop();
  control_.reset();
  service_.reset();
}

void S3Harness::Reopen() {
  Close();
  ObjectStoreOptions options;
  options.data_dir = data_dir();
  options.fs = fs_;
  options.clock = &clock_;
  options.region = "us-east-1";
  options.virtual_host_suffixes = {"s3.localhost", "localhost"};
  options.inline_threshold = inline_threshold_;
  options.authorizer = &authorizer_;
  auto svc = NewObjectStoreService(options, &control_);
  if (!svc.ok()) {
    std::fprintf(stderr, "open failed: %s\n", svc.status().ToString().c_str());
    std::abort();
  }
  service_ = std::move(svc).value();
}

void S3Harness::ActAs(std::string account_id, std::string account_name) {
  principal_ = auth::Principal{};
  principal_.anonymous = false;
  principal_.account_id = std::move(account_id);
  principal_.account_name = std::move(account_name);
  principal_.arn = "arn:aws:iam::" + principal_.account_id + ":root";
}

void S3Harness::ActAsUser(std::string account_id, std::string user_name) {
  principal_ = auth::Principal{};
  principal_.anonymous = false;
  principal_.account_id = std::move(account_id);
  principal_.account_name = "account-" + principal_.account_id;
  principal_.user_name = std::move(user_name);
  principal_.arn = "arn:aws:iam::" + principal_.account_id + ":user/" + principal_.user_name;
  principal_.user_id = "AIDA" + principal_.user_name;
}

void S3Harness::ActAnonymous() { principal_ = auth::Principal{}; }

TestResponse S3Harness::Send(std::string method, std::string target, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers) {
  TestRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return Send(r);
}

namespace {

// One request's state, alive until its handler finishes.
struct InFlight {
  http::Request request;
  TestResponse response;
  std::unique_ptr<FakeBody> body;
  std::unique_ptr<FakeWriter> writer;
  std::unique_ptr<service::RequestContext> ctx;
};

std::unique_ptr<InFlight> Prepare(const TestRequest& tr, const auth::Principal& principal, os::Clock& clock,
                                  os::BlockingPool& pool) {
  auto f = std::make_unique<InFlight>();
  http::Request& req = f->request;
  req.method = tr.method;
  req.target = tr.target;
  if (!http::ParseTarget(tr.target, req).ok()) std::abort();
  bool has_host = false;
  for (const auto& [k, v] : tr.headers) {
    req.headers.Add(k, v);
    has_host = has_host || EqualsIgnoreCase(k, "host");
  }
  if (!has_host) req.headers.Add("host", "127.0.0.1:4566");
  if (!tr.body.empty() || tr.method == "PUT" || tr.method == "POST") req.content_length = tr.body.size();
  req.request_id = "test-request";
  f->body = std::make_unique<FakeBody>(tr.body, tr.body_piece);
  f->writer = std::make_unique<FakeWriter>(f->response);
  f->ctx.reset(new service::RequestContext{req, *f->writer, *f->body, tr.trailers, principal, "us-east-1", clock, pool,
                                           "", 0, 0});
  return f;
}

// What the edge does once a handler returns.
void Finish(InFlight& f, service::Service& svc) {
  TestResponse& out = f.response;
  out.operation = f.ctx->operation;
  if (!out.handler_status.ok() && !f.writer->head_sent()) {
    http::ApiError error = http::ApiErrorFromStatus(out.handler_status, svc.descriptor().errors);
    http::Response r = svc.RenderError(error, f.request.request_id);
    out.status = r.status;
    out.headers = std::move(r.headers);
    out.body = std::move(r.body);
  }
  if (f.request.method == "HEAD") out.body.clear();
}

}  // namespace

TestResponse S3Harness::SendWithMd5(std::string method, std::string target, std::string body,
                                    std::vector<std::pair<std::string, std::string>> headers) {
  headers.emplace_back("content-md5", Base64Encode(crypto::Md5Raw(body)));
  return Send(std::move(method), std::move(target), std::move(body), std::move(headers));
}

TestResponse S3Harness::Send(const TestRequest& tr) { return SendConcurrently({tr})[0]; }

std::vector<TestResponse> S3Harness::SendConcurrently(const std::vector<TestRequest>& requests) {
  std::vector<std::unique_ptr<InFlight>> flights;
  for (const auto& tr : requests) flights.push_back(Prepare(tr, principal_, clock_, pool_));
  boost::asio::io_context io(2);
  for (auto& f : flights) {
    InFlight* raw = f.get();
    boost::asio::co_spawn(
        io, [this, raw]() -> http::Task<void> { raw->response.handler_status = co_await service_->Handle(*raw->ctx); },
        boost::asio::detached);
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  std::vector<TestResponse> out;
  for (auto& f : flights) {
    Finish(*f, *service_);
    out.push_back(std::move(f->response));
  }
  return out;
}

std::string Payload(size_t size, char seed) {
  std::string out(size, '\0');
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace annex::objectstore::testing
