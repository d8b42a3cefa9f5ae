#include "sync/controlplane/operator_api.h"

#include <array>
#include <chrono>
#include <utility>

#include "appliance/auth/sigv4_verifier.h"
#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "sync/controlplane/ec2_api.h"
#include "sync/controlplane/json_api.h"

namespace annex::sync {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;

// HTTP statuses of the codes this API adds to http/api_error.cc's table.
struct CodeStatus {
  std::string_view code;
  int status;
};
constexpr std::array kOperatorCodes = std::to_array<CodeStatus>({
    {"AuthFailure", 403},
    {"Conflict", 409},
    {"DryRunOperation", 412},
    {"MissingAuthenticationToken", 403},
});

// The admin key is the only credential.
class AdminLookup final : public auth::CredentialLookup {
 public:
  explicit AdminLookup(auth::Credential admin) : admin_(std::move(admin)) {}
  std::optional<auth::Credential> Find(std::string_view access_key_id) const override {
    if (access_key_id != admin_.access_key_id) return std::nullopt;
    return admin_;
  }

 private:
  auth::Credential admin_;
};

http::ApiError WithCode(std::string_view code, std::string message) {
  http::ApiError e = http::MakeApiError(code, std::move(message));
  for (const auto& known : kOperatorCodes) {
    if (known.code == code) e.http_status = known.status;
  }
  return e;
}

// Maps a Status to what the client sees. Internal details stay in the log.
http::ApiError ToApiError(const Status& s, bool ec2) {
  if (!s.subcode().empty()) {
    // EC2 calls every credential failure AuthFailure.
    if (ec2 && (s.subcode() == "InvalidAccessKeyId" || s.subcode() == "InvalidClientTokenId")) {
      return WithCode("AuthFailure", "AWS was not able to validate the provided access credentials");
    }
    return WithCode(s.subcode(), s.message());
  }
  switch (s.code()) {
    case StatusCode::kNotFound:
      return WithCode("NotFound", s.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return WithCode("Conflict", s.message());
    case StatusCode::kInvalidArgument:
      return WithCode(ec2 ? "InvalidParameterValue" : "ValidationError", s.message());
    default:
      return http::ApiErrorFromStatus(s);
  }
}

http::Response TextResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.Set("content-type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

}  // namespace

struct OperatorApi::Outcome {
  std::string operation = "Unknown";
  std::string error;
};

OperatorApi::OperatorApi(OperatorApiOptions options)
    : options_(std::move(options)),
      credentials_(std::make_unique<AdminLookup>(options_.admin)),
      verifier_(std::make_unique<auth::SigV4Verifier>(*credentials_, *options_.clock)) {}

OperatorApi::~OperatorApi() = default;

int64_t OperatorApi::NowUnixMs() const {
  auto since_epoch = options_.clock->Now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

http::Task<void> OperatorApi::Serve(http::Exchange& exchange) {
  auto start = options_.clock->MonotonicNow();
  const http::Request& request = exchange.request();
  Outcome outcome;
  http::Response response = co_await Handle(exchange, outcome);
  response.headers.Set("x-amz-request-id", request.request_id);
  response.headers.Set("x-amzn-requestid", request.request_id);
  response.headers.Set("date", FormatHttpDate(options_.clock->Now()));
  response.headers.Set("server", "annex-control");
  std::string status = std::to_string(response.status);
  Status sent = co_await exchange.response().Send(std::move(response));
  if (!sent.ok() && outcome.error.empty()) outcome.error = "send: " + sent.ToString();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.clock->MonotonicNow() - start).count();
  std::string ms_text = std::to_string(ms);
  log::Info("request", {{"id", request.request_id},
                        {"remote", request.remote_address},
                        {"op", outcome.operation},
                        {"method", request.method},
                        {"path", request.raw_path},
                        {"status", status},
                        {"ms", ms_text},
                        {"error", outcome.error}});
}

http::Task<http::Response> OperatorApi::Handle(http::Exchange& exchange, Outcome& outcome) {
  const http::Request& request = exchange.request();
  Dialect dialect = request.path == "/health" ? Dialect::kHealth : request.path == "/" ? Dialect::kEc2 : Dialect::kJson;
  if (dialect == Dialect::kHealth) {
    outcome.operation = "Health";
    co_return request.method == "GET" || request.method == "HEAD" ? TextResponse(200, "ok\n")
                                                                  : TextResponse(405, "GET only\n");
  }
  Result<std::string> body = co_await http::ReadSmallBody(exchange.body(), kMaxBodyBytes);
  if (!body.ok()) co_return RenderError(dialect, body.status(), request, outcome);
  Result<http::Response> response = Process(dialect, request, *body, outcome);
  if (response.ok()) co_return std::move(*response);
  co_return RenderError(dialect, response.status(), request, outcome);
}

Result<http::Response> OperatorApi::Process(Dialect dialect, const http::Request& request, std::string_view body,
                                            Outcome& outcome) {
  ANNEX_RETURN_IF_ERROR(Authenticate(request, body));
  OperatorCall call{request, body, NowUnixMs()};
  Result<http::Response> response = dialect == Dialect::kEc2
                                        ? ServeEc2Query(*options_.registry, call)
                                        : ServeJsonApi(*options_.registry, options_.ca_sha256, call);
  outcome.operation = call.operation;
  return response;
}

Status OperatorApi::Authenticate(const http::Request& request, std::string_view body) const {
  if (!auth::IsSigV4Signed(request)) {
    return http::ApiStatus("MissingAuthenticationToken", "Request is missing Authentication Token");
  }
  ANNEX_ASSIGN_OR_RETURN(auth::AuthResult result, verifier_->Verify(request, body));
  if (result.payload_mode != auth::PayloadMode::kSha256 && result.payload_mode != auth::PayloadMode::kUnsigned) {
    return http::ApiStatus("InvalidRequest", "aws-chunked request bodies are not supported by this API");
  }
  return Status::OK();
}

http::Response OperatorApi::RenderError(Dialect dialect, const Status& status, const http::Request& request,
                                        Outcome& outcome) const {
  bool ec2 = dialect == Dialect::kEc2;
  http::ApiError error = ToApiError(status, ec2);
  outcome.error = error.code + ": " + status.message();
  if (error.http_status >= 500) {
    log::Error("operator request failed", {{"id", request.request_id}, {"error", status.ToString()}});
  }
  if (ec2) return RenderEc2Error(error, request.request_id);
  http::Response r = http::RenderJsonError(error, request.request_id);
  r.headers.Set("content-type", "application/json");
  return r;
}

}  // namespace annex::sync
