#include "appliance/service/image_store.h"

#include <string>

namespace annex::service {
namespace {

constexpr std::string_view kEcrHostMarker = ".dkr.ecr.";
constexpr size_t kAccountIdLength = 12;
constexpr size_t kMaxRepositoryLength = 256;
constexpr size_t kMaxTagLength = 128;

Status Invalid(std::string_view uri, std::string_view why) {
  return Status::InvalidArgument("invalid image URI '" + std::string(uri) + "': " + std::string(why));
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

// ECR's repository name rule: components of lower-case letters and digits
// joined by single '.', '_' or '-' (or "__"), separated by '/'.
bool IsValidRepository(std::string_view name) {
  if (name.size() < 2 || name.size() > kMaxRepositoryLength) return false;
  bool need_alnum = true;  // at the start of a component or after a separator
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (IsLowerAlnum(c)) {
      need_alnum = false;
    } else if (need_alnum) {
      return false;
    } else if (c == '/' || c == '.' || c == '-') {
      need_alnum = true;
    } else if (c == '_') {
      if (i + 1 < name.size() && name[i + 1] == '_') ++i;  // "__" is one separator
      need_alnum = true;
    } else {
      return false;
    }
  }
  return !need_alnum;
}

// The distribution spec's tag rule: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool word = IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

bool IsValidSha256Digest(std::string_view d) {
  constexpr std::string_view kPrefix = "sha256:";
  if (d.size() != kPrefix.size() + 64 || d.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : d.substr(kPrefix.size())) {
    if (!IsHex(c)) return false;
  }
  return true;
}

// "<12 digits>.dkr.ecr.<region>.<domain>[:port]" → the account.
Result<std::string> AccountOfHost(std::string_view uri, std::string_view host) {
  size_t marker = host.find(kEcrHostMarker);
  if (marker != kAccountIdLength) return Invalid(uri, "the registry is not an appliance (ECR) registry");
  std::string_view account = host.substr(0, marker);
  for (char c : account) {
    if (!IsDigit(c)) return Invalid(uri, "the registry host does not start with an account id");
  }
  if (host.size() == marker + kEcrHostMarker.size()) return Invalid(uri, "the registry host has no region");
  return std::string(account);
}

}  // namespace

Result<ImageReference> ParseImageUri(std::string_view uri, std::string_view default_account) {
  ImageReference ref;
  std::string_view rest = uri;
  // A first component with a '.' or ':' is a registry host, as docker reads it.
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && rest.substr(0, slash).find_first_of(".:") != std::string_view::npos) {
    ANNEX_ASSIGN_OR_RETURN(ref.account, AccountOfHost(uri, rest.substr(0, slash)));
    rest.remove_prefix(slash + 1);
  } else {
    if (default_account.empty()) return Invalid(uri, "no account");
    ref.account = std::string(default_account);
  }
  std::string_view reference;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    reference = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!IsValidSha256Digest(reference)) return Invalid(uri, "the digest is not sha256:<64 hex digits>");
  }
  // A tag before a digest ("repo:tag@sha256:…") is allowed; the digest wins.
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsValidTag(tag)) return Invalid(uri, "invalid tag");
    if (reference.empty()) reference = tag;
    rest = rest.substr(0, colon);
  }
  if (!IsValidRepository(rest)) return Invalid(uri, "invalid repository name");
  ref.repository = std::string(rest);
  ref.reference = reference.empty() ? std::string("latest") : std::string(reference);
  return ref;
}

}  // namespace annex::service
