#pragma once
// Result<T>: either a value or an error Status (a small std::expected).
// Accessing value() of an error Result is a programming error and aborts.

#include <cstdlib>
#include <optional>
#include <utility>

#include "appliance/core/status.h"

namespace annex {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                       // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {                 // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result built from OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { Check(); return *value_; }
  const T& value() const& { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void Check() const {
    if (!value_) std::abort();
  }
  std::optional<T> value_;
  Status status_;
};

}  // namespace annex

#define ANNEX_CONCAT_INNER(a, b) a##b
#define ANNEX_CONCAT(a, b) ANNEX_CONCAT_INNER(a, b)
// ANNEX_ASSIGN_OR_RETURN(auto x, Foo()); — returns the Status on error.
#define ANNEX_ASSIGN_OR_RETURN(lhs, expr)                               \
  auto ANNEX_CONCAT(annex_result_, __LINE__) = (expr);                  \
  if (!ANNEX_CONCAT(annex_result_, __LINE__).ok())                      \
    return ANNEX_CONCAT(annex_result_, __LINE__).status();              \
  lhs = std::move(ANNEX_CONCAT(annex_result_, __LINE__)).value()
