#pragma once
// Early-return helpers for coroutines (http::Task<…>), which must use
// co_return where ANNEX_RETURN_IF_ERROR / ANNEX_ASSIGN_OR_RETURN use return.
// Every service's handlers use them.

#include "appliance/core/result.h"

#define ANNEX_CO_RETURN_IF_ERROR(expr)                      \
  do {                                                      \
    ::annex::Status annex_co_status_ = (expr);              \
    if (!annex_co_status_.ok()) co_return annex_co_status_; \
  } while (0)

#define ANNEX_CO_ASSIGN_OR_RETURN(lhs, expr)                     \
  auto ANNEX_CONCAT(annex_co_result_, __LINE__) = (expr);        \
  if (!ANNEX_CONCAT(annex_co_result_, __LINE__).ok())            \
    co_return ANNEX_CONCAT(annex_co_result_, __LINE__).status(); \
  lhs = std::move(ANNEX_CONCAT(annex_co_result_, __LINE__)).value()
