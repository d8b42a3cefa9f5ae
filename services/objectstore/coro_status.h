#pragma once
// Early-return helpers for coroutines (http::Task<…>), which must use
// co_return where ANNEX_RETURN_IF_ERROR / ANNEX_ASSIGN_OR_RETURN use return.

#include "appliance/core/result.h"

#define OS_CO_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::annex::Status os_co_status_ = (expr);         \
    if (!os_co_status_.ok()) co_return os_co_status_; \
  } while (0)

#define OS_CO_ASSIGN_OR_RETURN(lhs, expr)                       \
  auto ANNEX_CONCAT(os_co_result_, __LINE__) = (expr);          \
  if (!ANNEX_CONCAT(os_co_result_, __LINE__).ok())              \
    co_return ANNEX_CONCAT(os_co_result_, __LINE__).status();   \
  lhs = std::move(ANNEX_CONCAT(os_co_result_, __LINE__)).value()
