#include "appliance/daemon/edge.h"

#include "appliance/core/log.h"
#include "appliance/daemon/body_spool.h"
#include "appliance/core/strings.h"
#include "appliance/daemon/router.h"
#include "appliance/http/api_error.h"

namespace annex::daemon {
namespace {

constexpr size_t kMaxSignedBodyBytes = 1 << 20;  // Query/JSON bodies up to this are hashed in memory

// Serves a body that the edge already read (to verify its signature).
class StringBodyReader final : public http::BodyReader {
 public:
  explicit StringBodyReader(std::string data) : data_(std::move(data)) {}
  http::Task<Result<size_t>> Read(std::span<char> buf) override {
    size_t n = std::min(buf.size(), data_.size() - offset_);
    std::copy_n(data_.data() + offset_, n, buf.data());
    offset_ += n;
    co_return n;
  }

 private:
  std::string data_;
  size_t offset_ = 0;
};

// Remembers the status a handler answered with, for metrics and the log.
class StatusRecordingWriter final : public http::ResponseWriter {
 public:
  explicit StatusRecordingWriter(http::ResponseWriter& inner) : inner_(inner) {}

  // Plain functions handing back the inner writer's task: no coroutine frame
  // of their own (the task owns its arguments once created).
  http::Task<Status> Send(http::Response r) override {
    status_ = r.status;
    return inner_.Send(std::move(r));
  }
  http::Task<Status> SendHead(http::Response head, uint64_t length) override {
    status_ = head.status;
    return inner_.SendHead(std::move(head), length);
  }
  http::Task<Status> SendBody(std::string_view chunk) override { return inner_.SendBody(chunk); }
  http::Task<Status> SendFile(const os::RandomAccessFile& f, uint64_t off, uint64_t len) override {
    return inner_.SendFile(f, off, len);
  }
  bool head_sent() const override { return inner_.head_sent(); }
  int status() const { return status_; }

 private:
  http::ResponseWriter& inner_;
  int status_ = 0;
};

// Each protocol has its own names for an unknown access key, a bad session
// token and an expired one; the verifier speaks S3's.
Status RemapAuthError(Status status, service::Protocol protocol) {
  if (protocol == service::Protocol::kRestXml) return status;
  std::string_view code = status.subcode();
  if (code == "InvalidAccessKeyId" || code == "InvalidToken") {
    return http::ApiStatus(service::UnknownAccessKeyCode(protocol),
                           "The security token included in the request is invalid.");
  }
  if (code == "ExpiredToken") {
    return http::ApiStatus(protocol == service::Protocol::kQuery ? "ExpiredToken" : "ExpiredTokenException",
                           "The security token included in the request is expired");
  }
  return status;
}

// A service that throws (a library's exception, bad_alloc, a bug) fails
// its request with InternalError in the service's own format, instead of
// taking the connection down without an answer.
http::Task<Status> HandleGuarded(service::Service& svc, service::RequestContext& ctx) {
  std::string what;
  try {
    co_return co_await svc.Handle(ctx);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  co_return Status::Internal("unexpected exception in " + std::string(svc.name()) + ": " + what);
}

}  // namespace

struct Edge::Outcome {
  std::string service = "annex";
  std::string operation = "Unknown";
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::string error;
};

http::ServerOptions Edge::ServerOptions() {
  http::ServerOptions options;
  options.request_id_headers = {"x-amz-request-id", "x-amz-id-2", "x-amzn-requestid"};
  options.server_name = "Annex";
  options.exempt_paths = {"/_annex/health"};  // a load balancer must see the appliance alive under a flood
  return options;
}

http::Task<void> Edge::Serve(http::Exchange& exchange) {
  auto start = options_.clock->MonotonicNow();
  const http::Request& request = exchange.request();
  StatusRecordingWriter writer(exchange.response());
  Outcome outcome;
  co_await Dispatch(exchange, writer, outcome);
  double seconds = std::chrono::duration<double>(options_.clock->MonotonicNow() - start).count();
  int status = writer.head_sent() ? writer.status() : 0;
  options_.metrics->RecordRequest(outcome.service, outcome.operation, status, seconds, outcome.bytes_in,
                                  outcome.bytes_out);
  if (log::GetLevel() <= log::Level::kInfo) {
    std::string status_text = std::to_string(status), ms = std::to_string(static_cast<int64_t>(seconds * 1000));
    log::Info("request", {{"id", request.request_id}, {"remote", request.remote_address},
                          {"service", outcome.service}, {"op", outcome.operation}, {"method", request.method},
                          {"path", request.raw_path}, {"status", status_text}, {"ms", ms}, {"error", outcome.error}});
  }
}

http::Task<void> Edge::ServeInternal(const http::Request& request, http::ResponseWriter& writer, Outcome& outcome) {
  http::Response r;
  r.headers.Set("content-type", "text/plain; charset=utf-8");
  if (request.path == "/_annex/health") {
    // "ok" and 200 once annexd is up and every service is ready; then one
    // line per service: "<name> ready" or "<name> not-ready <detail>".
    outcome.operation = "Health";
    bool ready = ready_.load();
    std::string lines;
    for (const auto* svc : router_.services()) {
      service::Health h = svc->health();
      ready = ready && h.ready;
      lines.append(svc->name()).append(h.ready ? " ready" : " not-ready");
      if (!h.detail.empty()) lines.append(" ").append(h.detail);
      lines.push_back('\n');
    }
    for (const auto& note : health_notes_) lines.append(note).push_back('\n');
    r.status = ready ? 200 : 503;
    r.body = (ready ? "ok\n" : ready_.load() ? "degraded\n" : "starting\n") + lines;
  } else if (request.path == "/_annex/metrics") {
    outcome.operation = "Metrics";
    r.headers.Set("content-type", "text/plain; version=0.0.4");
    options_.metrics->Render(r.body);
    for (const auto* svc : router_.services()) svc->AppendMetrics(r.body);
  } else if (request.path == "/_annex/ca.pem" && !ca_pem_.empty()) {
    outcome.operation = "CaCertificate";
    r.headers.Set("content-type", "application/x-pem-file");
    r.body = ca_pem_;
  } else {
    r.status = 404;
    r.body = "not found\n";
  }
  (co_await writer.Send(std::move(r))).IgnoreError();
}

http::Task<void> Edge::Dispatch(http::Exchange& exchange, http::ResponseWriter& writer, Outcome& outcome) {
  const http::Request& request = exchange.request();
  if (StartsWith(request.path, "/_annex/") && !StartsWith(request.path, "/_annex/api/")) {
    co_await ServeInternal(request, writer, outcome);
    co_return;
  }
  Unrouted unrouted;
  service::Service* svc = router_.Route(request, &unrouted);
  if (!svc) {
    // Answered in the protocol the client spoke, so it can parse the refusal.
    bool by_target = request.headers.Has("x-amz-target");
    http::ApiError e = by_target ? http::MakeApiError("UnknownOperationException",
                                                      "No service on this appliance answers X-Amz-Target '" +
                                                          unrouted.wanted + "'.")
                                 : http::MakeApiError("NotImplemented", "The service '" + unrouted.wanted +
                                                                            "' is not available on this appliance.");
    outcome.error = e.code;
    (co_await writer.Send(service::RenderError(unrouted.protocol, e, request.request_id))).IgnoreError();
    co_return;
  }
  const service::Descriptor& described = svc->descriptor();
  outcome.service = described.name;

  Status status;
  auth::AuthResult auth;
  std::optional<std::string> small_body;
  http::Headers trailers;
  std::unique_ptr<http::BodyReader> wrapped;
  http::BodyReader* body = &exchange.body();
  // A service with a check of its own (the registry's bearer and basic
  // tokens) gets any Authorization that is not an AWS signature unverified.
  const std::string* authorization = request.headers.Get("authorization");
  bool own_check = described.auth == service::AuthMode::kOwnCheck && authorization &&
                   !StartsWith(*authorization, "AWS4-HMAC-SHA256 ") && !StartsWith(*authorization, "AWS ");
  if (own_check) {
    // The principal stays anonymous; the service decides.
  } else if (auth::IsSigV4Signed(request)) {
    // Services without x-amz-content-sha256 sign sha256(body): read it first.
    bool v2 = described.accepts_sigv2 && auth::IsSigV2Signed(request);
    bool hash_body = !v2 && !request.headers.Has("x-amz-content-sha256") && request.content_length.value_or(0) > 0 &&
                     !request.query.Has("X-Amz-Signature");
    // Small bodies are read into memory; larger ones are spooled to an
    // unnamed file and hashed as they stream (a Lambda zip is tens of MB).
    std::optional<std::string> body_sha256;
    const uint64_t body_limit =
        described.max_request_body_bytes ? described.max_request_body_bytes : options_.max_signed_body_bytes;
    if (hash_body && request.content_length.value_or(0) > body_limit) {
      status = http::ApiStatus("RequestEntityTooLarge",
                               "Request must be smaller than " + std::to_string(body_limit) + " bytes");
    } else if (hash_body && request.content_length.value_or(0) <= kMaxSignedBodyBytes) {
      Result<std::string> b = co_await http::ReadSmallBody(exchange.body(), kMaxSignedBodyBytes);
      if (!b.ok()) status = b.status();
      else small_body = std::move(*b);
    } else if (hash_body) {
      // Refuse what cannot be signed by a known key before writing its body to disk.
      status = RemapAuthError(options_.verifier->VerifyHead(request), described.protocol);
    }
    if (hash_body && status.ok() && !small_body) {
      Result<SpooledBody> spooled =
          co_await SpoolBody(exchange.body(), options_.spool_dir, body_limit, *options_.blocking);
      if (!spooled.ok()) {
        status = spooled.status();
      } else {
        body_sha256 = std::move(spooled->sha256_hex);
        wrapped = std::move(spooled->reader);
        body = wrapped.get();
      }
    }
    if (status.ok()) {
      Result<auth::AuthResult> verified =
          v2 ? options_.v2_verifier->Verify(request)
          : body_sha256 ? options_.verifier->VerifyBodyDigest(request, body_sha256)
                        : options_.verifier->Verify(request, small_body ? std::optional<std::string_view>(*small_body)
                                                                        : std::nullopt);
      if (verified.ok()) auth = std::move(*verified);
      else status = RemapAuthError(verified.status(), described.protocol);
    }
    if (status.ok() && !small_body && !body_sha256) {
      wrapped = options_.verifier->WrapBody(exchange.body(), auth, &trailers);
      body = wrapped.get();
    }
  } else if (described.auth == service::AuthMode::kSigV4) {  // the other modes let the service decide
    status = http::ApiStatus("AccessDenied", "Request is missing Authentication Token");
  }
  if (small_body) {
    wrapped = std::make_unique<StringBodyReader>(std::move(*small_body));
    body = wrapped.get();
  }

  if (status.ok()) {
    service::RequestContext ctx{request, writer, *body, trailers, auth.principal, options_.region,
                                *options_.clock, *options_.blocking, {}, 0, 0};
    status = co_await HandleGuarded(*svc, ctx);
    outcome.operation = ctx.operation.empty() ? outcome.operation : ctx.operation;
    outcome.bytes_in = ctx.bytes_in;
    outcome.bytes_out = ctx.bytes_out;
  }
  if (status.ok()) co_return;
  outcome.error = status.ToString();
  if (writer.head_sent()) {
    log::Warn("response failed after it started", {{"id", request.request_id}, {"error", outcome.error}});
    co_return;
  }
  http::ApiError error = http::ApiErrorFromStatus(status, described.errors);
  if (error.http_status >= 500 && error.http_status != 501) {
    log::Error("request failed", {{"id", request.request_id}, {"code", error.code}, {"error", outcome.error}});
  }
  if (!status.subcode().empty()) outcome.error = status.subcode() + ": " + status.message();
  (co_await writer.Send(svc->RenderError(error, request.request_id))).IgnoreError();
}

}  // namespace annex::daemon
