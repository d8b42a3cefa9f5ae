#pragma once
// Object keys: validation of S3 key text and its encoding into LMDB keys.
//
// Objects live in one table keyed by `bucket + '\0' + key`, so a bucket's
// objects form one contiguous range sorted by the key's UTF-8 bytes and a
// listing is a cursor range scan. LMDB caps keys at 511 bytes while S3 keys
// reach 1024, so a key longer than kMaxInlineKeyBytes is stored as its first
// kMaxInlineKeyBytes bytes plus a 16-byte hash of the whole key. Such
// "truncated" entries of one prefix sit next to each other but are ordered
// by hash; BucketKeyScanner (bucket_key_scanner.h) re-sorts them by the full
// key, which every record also stores.

#include <cstddef>
#include <string>
#include <string_view>

#include "appliance/core/status.h"

namespace annex::objectstore {

inline constexpr size_t kMaxKeyBytes = 1024;
// Leaves room for bucket (63) + '\0' + hash (16) + '\0' + upload id (32) under 511.
inline constexpr size_t kMaxInlineKeyBytes = 384;
inline constexpr size_t kKeyHashBytes = 16;

// KeyTooLongError past 1024 bytes; InvalidArgument for an empty key, a key
// that is not valid UTF-8, or one containing NUL (XML listings cannot carry it).
Status ValidateObjectKey(std::string_view key);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);

// "bucket\0": the start of the bucket's range in every per-bucket table.
std::string BucketKeyPrefix(std::string_view bucket);

// The LMDB key of object `key` in `bucket`.
std::string EncodeObjectKey(std::string_view bucket, std::string_view key);

// The smallest string greater than every string starting with `prefix`, or
// "" when there is none (prefix all 0xFF). Used to skip a common prefix.
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace annex::objectstore
