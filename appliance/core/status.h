#pragma once
// Status: the outcome of an operation that can fail, passed across module
// boundaries instead of exceptions. OK carries nothing; an error carries a
// code that callers branch on and a message meant for logs and API errors.
//
// Thread safety: a Status is a value; distinct objects need no locking.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace annex {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kFailedPrecondition,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,  // disk full, quota, too large
  kOutOfRange,
  kAborted,            // retryable conflict
  kUnavailable,        // shutting down, dependency down
  kIOError,
  kCorruption,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : Status(code, std::move(message), std::string()) {}
  // An error that carries the wire protocol's own error code (e.g. "BadDigest")
  // so the edge can answer with it; see http/api_error.h for the table.
  Status(StatusCode code, std::string message, std::string subcode)
      : rep_(code == StatusCode::kOk ? nullptr
                                     : std::make_unique<Rep>(Rep{code, std::move(message), std::move(subcode)})) {}
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  // An errno-carrying I/O failure; ENOSPC/EDQUOT map to kResourceExhausted.
  static Status FromErrno(int err, std::string_view context);
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const { return rep_ ? rep_->message : Empty(); }
  // The protocol error code, or empty.
  const std::string& subcode() const { return rep_ ? rep_->subcode : Empty(); }
  bool IsNotFound() const { return code() == StatusCode::kNotFound; }

  // "NotFound: bucket x" — for logs.
  std::string ToString() const;

  // Marks a deliberately dropped status so the ignore is greppable.
  void IgnoreError() const {}

 private:
  // OK is a null pointer: the success path, which nearly every call takes and
  // every Result<T> carries, costs one word and no string construction.
  struct Rep {
    StatusCode code;
    std::string message;
    std::string subcode;
  };
  static const std::string& Empty();
  std::unique_ptr<Rep> rep_;
};

std::string_view StatusCodeName(StatusCode code);

}  // namespace annex

// Returns early from the enclosing function when `expr` yields an error Status.
#define ANNEX_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::annex::Status annex_status_ = (expr);  \
    if (!annex_status_.ok()) return annex_status_; \
  } while (0)
