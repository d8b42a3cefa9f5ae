#pragma once
// Keys and ids of the identity store's tables, shared by its parts
// (identity_store*.cc).

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/store/lmdb_env.h"

namespace annex::iam::internal {

// The parts joined by '\0', which no IAM name contains: "A\0B\0C".
inline std::string JoinKey(std::initializer_list<std::string_view> parts) {
  std::string k;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) k.push_back('\0');
    k.append(p);
    first = false;
  }
  return k;
}

// Every record under `prefix`, decoded by `decode` (string_view → Result<T>).
template <typename T, typename Decode>
Result<std::vector<T>> DecodeAll(const store::ReadTxn& txn, store::Table table, std::string_view prefix,
                                 Decode decode) {
  ANNEX_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(table));
  std::vector<T> out;
  ANNEX_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.Valid() && cursor.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(T item, decode(cursor.value()));
    out.push_back(std::move(item));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

// The alphabet of IAM's unique ids (AIDA…, AGPA…, AROA…) and key ids.
constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

}  // namespace annex::iam::internal
