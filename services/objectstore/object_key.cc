#include "services/objectstore/object_key.h"

#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"

namespace annex::objectstore {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t j = 1; j < len; ++j) {
      auto cc = static_cast<unsigned char>(s[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

Status ValidateObjectKey(std::string_view key) {
  if (key.empty()) return http::ApiStatus("InvalidArgument", "Object key must not be empty.");
  if (key.size() > kMaxKeyBytes) {
    return http::ApiStatus("KeyTooLongError", "Your key is too long");
  }
  if (key.find('\0') != std::string_view::npos || !IsValidUtf8(key)) {
    return http::ApiStatus("InvalidArgument", "Object key contains an invalid character.");
  }
  return Status::OK();
}

std::string BucketKeyPrefix(std::string_view bucket) {
  std::string out(bucket);
  out.push_back('\0');
  return out;
}

std::string EncodeObjectKey(std::string_view bucket, std::string_view key) {
  std::string out = BucketKeyPrefix(bucket);
  if (key.size() <= kMaxInlineKeyBytes) {
    out.append(key);
    return out;
  }
  out.append(key.substr(0, kMaxInlineKeyBytes));
  crypto::Hasher h(crypto::HashKind::kSha256);
  h.Update(key);
  out.append(h.Final().substr(0, kKeyHashBytes));
  return out;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xFF) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace annex::objectstore
