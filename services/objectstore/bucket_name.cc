#include "services/objectstore/bucket_name.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::objectstore {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool LooksLikeIpv4(std::string_view name) {
  auto parts = Split(name, '.');
  if (parts.size() != 4) return false;
  for (auto p : parts) {
    if (p.empty() || p.size() > 3) return false;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Status ValidateBucketName(std::string_view name) {
  auto invalid = [] { return http::ApiStatus("InvalidBucketName", "The specified bucket is not valid."); };
  if (name.size() < 3 || name.size() > 63) return invalid();
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '.' && c != '-') return invalid();
  }
  if (!IsLowerAlnum(name.front()) || !IsLowerAlnum(name.back())) return invalid();
  if (name.find("..") != std::string_view::npos) return invalid();
  if (LooksLikeIpv4(name)) return invalid();
  if (StartsWith(name, "xn--") || StartsWith(name, "sthree-")) return invalid();
  if (EndsWith(name, "-s3alias") || EndsWith(name, "--ol-s3")) return invalid();
  return Status::OK();
}

}  // namespace annex::objectstore
