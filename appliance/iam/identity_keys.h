#pragma once
// Keys and ids of the identity store's tables, shared by its parts
// (identity_store*.cc).

#include <initializer_list>
#include <string>
#include <string_view>

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

// The alphabet of IAM's unique ids (AIDA…, AGPA…, AROA…) and key ids.
constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

}  // namespace annex::iam::internal
