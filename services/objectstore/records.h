#pragma once
// The records the object store keeps in LMDB, and their binary codecs
// (store/record.h: a version byte, then varints and length-prefixed bytes).
// Decoders reject truncated or trailing bytes with Corruption.
//
// Tables (see metadata_store.h):
//   buckets  name                                  → BucketRecord
//   objects  EncodeObjectKey(bucket, key)          → ObjectRecord (the current version)
//   versions EncodeObjectKey(bucket, key)\0<BE64(~seq)> → ObjectRecord (noncurrent versions, versions.h)
//   uploads  EncodeObjectKey(bucket, key)\0<id>    → UploadRecord
//   parts    <upload id><part number, BE32>        → PartRecord
//
// Object data is either inline (the last field of ObjectRecord) or a list
// of segments, each one data file named by a random id (data_files.h). A
// single PUT has one segment; a completed multipart upload keeps its part
// files as segments, so completion moves no data.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/core/result.h"

namespace annex::objectstore {

// The ACL field of records before version 3 (objects) / 4 (buckets): what
// they could hold besides the owner's FULL_CONTROL. Still written there, so
// old readers see the nearest approximation.
enum class CannedAcl : uint8_t { kPrivate = 0, kPublicRead = 1 };

// One grant of an S3 access control list (acl.h gives its meaning).
enum class Permission : uint8_t { kFullControl = 0, kRead = 1, kWrite = 2, kReadAcp = 3, kWriteAcp = 4 };
enum class GranteeType : uint8_t { kCanonicalUser = 0, kGroup = 1 };
struct Grant {
  GranteeType type = GranteeType::kCanonicalUser;
  std::string grantee;  // the canonical user id (64 hex) or the group's URI
  Permission permission = Permission::kFullControl;

  bool operator==(const Grant&) const = default;
};
using AccessControlList = std::vector<Grant>;

// S3 Object Ownership (PutBucketOwnershipControls). kBucketOwnerEnforced
// disables ACLs.
enum class ObjectOwnership : uint8_t { kBucketOwnerEnforced = 0, kBucketOwnerPreferred = 1, kObjectWriter = 2 };
// How an object's data is encrypted at rest (sealed_data.h): SSE-S3 (data
// keys wrapped by the store's master key, key_ring.h) or SSE-C (wrapped by
// the customer's key, which is never stored). kNone: objects stored before
// encryption existed.
enum class Sse : uint8_t { kNone = 0, kS3 = 1, kCustomer = 2 };

// A bucket's versioning state (PutBucketVersioning). A bucket never returns
// to kOff once versioning was enabled; it can only be suspended.
enum class Versioning : uint8_t { kOff = 0, kEnabled = 1, kSuspended = 2 };

// S3 Object Lock retention mode (object_lock.h).
enum class LockMode : uint8_t { kNone = 0, kGovernance = 1, kCompliance = 2 };

// A bucket's Object Lock configuration (PutObjectLockConfiguration).
struct BucketObjectLock {
  bool enabled = false;                      // ObjectLockEnabled; never turned off again
  LockMode default_mode = LockMode::kNone;   // Rule.DefaultRetention; kNone: no default
  uint32_t default_days = 0;                 // exactly one of days and years when a mode is set
  uint32_t default_years = 0;
};

// One version's Object Lock state: its retention and legal hold.
struct ObjectLockState {
  LockMode mode = LockMode::kNone;
  int64_t retain_until_ms = 0;  // unix milliseconds; meaningful with a mode
  bool legal_hold = false;
  bool legal_hold_set = false;  // a hold was ever put (ON or OFF); S3 answers "none" otherwise
};

// S3 tags (object or bucket): key → value, in the order given.
using TagSet = std::vector<std::pair<std::string, std::string>>;

struct CorsRule {
  std::string id;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_methods;
  std::vector<std::string> allowed_headers;
  std::vector<std::string> expose_headers;
  int64_t max_age_seconds = -1;  // -1: not set
};

// S3 Block Public Access, as set on one bucket (PutPublicAccessBlock).
struct PublicAccessBlock {
  bool block_public_acls = false;        // refuse requests that set a public ACL
  bool ignore_public_acls = false;       // public ACLs grant nothing
  bool block_public_policy = false;      // refuse PutBucketPolicy of a public policy
  bool restrict_public_buckets = false;  // a public policy grants only to the owner's account

  bool operator==(const PublicAccessBlock&) const = default;
};

struct BucketRecord {
  std::string owner_id;    // account id
  std::string owner_name;  // account name (S3 DisplayName)
  int64_t created_ms = 0;  // unix milliseconds
  std::string region;
  std::vector<CorsRule> cors;  // empty: no CORS configuration
  std::string policy;          // the bucket policy as PutBucketPolicy stored it; empty: none
  // A random id given to each stored policy: the key its compiled form is
  // cached under (bucket_policy_cache.h), so a request never re-parses it.
  uint64_t policy_id = 0;
  std::optional<PublicAccessBlock> public_access_block;  // nullopt: none configured
  Versioning versioning = Versioning::kOff;
  TagSet tags;            // PutBucketTagging
  std::string lifecycle;  // the lifecycle configuration, rendered (lifecycle_config.h); empty: none
  // Since version 4: the full ACL (version 3 and older: derived from their
  // canned ACL), the ownership controls (nullopt: none, which S3 treats as
  // ObjectWriter; what records before version 4 read as) and the website
  // configuration, rendered (website_config.h; empty: none).
  AccessControlList acl;
  std::optional<ObjectOwnership> ownership = ObjectOwnership::kBucketOwnerEnforced;
  std::string website;
  BucketObjectLock object_lock;  // since version 4

  bool has_policy() const { return !policy.empty(); }
};

// The representation headers S3 stores with an object and returns on GET.
struct ObjectMetadata {
  std::string content_type;
  std::string content_encoding;
  std::string content_disposition;
  std::string content_language;
  std::string cache_control;
  std::string expires;
  // x-amz-meta-* fields: lower-case name without the prefix, value.
  std::vector<std::pair<std::string, std::string>> user;
};

// One data file holding a contiguous run of an object's bytes.
struct Segment {
  std::string file_id;
  uint64_t size = 0;     // plaintext bytes
  std::string checksum;  // base64 of the part's checksum (multipart), may be empty
  std::string wrapped_key;  // the file's data key, wrapped; empty when not encrypted
};

// Where a key's noncurrent null version is, as the key's current record
// knows it (versions.h), so a write or read of the null version need not
// scan the key's history; a noncurrent record keeps what it knew while it
// was current.
struct NullVersionHint {
  enum class Kind : uint8_t { kUnknown = 0, kNone = 1, kAt = 2 };
  Kind kind = Kind::kUnknown;  // kUnknown: written before version 4, or not by versions.h
  uint64_t seq = 0;            // kAt: its sequence number (it may have been removed since)
};

struct ObjectRecord {
  std::string key;
  // The version (versions.h): its id ("" is the null version), its place
  // among the key's versions (larger is newer), and whether it is a delete
  // marker (no data, no metadata).
  std::string version_id;
  uint64_t version_seq = 0;
  bool delete_marker = false;
  uint64_t size = 0;
  int64_t modified_ms = 0;
  std::string etag;  // hex, unquoted; "<hex>-N" for multipart
  std::string owner_id;
  std::string owner_name;
  ObjectMetadata meta;
  std::string checksum_algorithm;  // "CRC32" … or empty
  std::string checksum_value;      // base64; "<base64>-N" when composite
  uint32_t parts_count = 0;        // 0 unless created by multipart upload
  TagSet tags;
  // Since version 3 the full ACL (older versions: derived from their canned
  // ACL) and x-amz-website-redirect-location (empty: none).
  AccessControlList acl;
  std::string website_redirect;
  ObjectLockState lock;            // since version 3
  // Encryption at rest (version 3): the kind, the wrapped data key of the
  // inline bytes (which are then sealed chunks), and for SSE-C the base64
  // MD5 of the customer's key, to check the key a reader presents.
  Sse sse = Sse::kNone;
  std::string inline_key;
  std::string sse_customer_key_md5;
  NullVersionHint noncurrent_null;  // since version 4
  std::vector<Segment> segments;   // empty when the data is inline
  std::string inline_data;

  bool is_inline() const { return segments.empty(); }
};

struct UploadRecord {
  std::string key;
  std::string upload_id;
  int64_t initiated_ms = 0;
  std::string owner_id;
  std::string owner_name;
  ObjectMetadata meta;
  std::string checksum_algorithm;  // "CRC32" … or empty
  // "COMPOSITE" or "FULL_OBJECT" (x-amz-checksum-type) when there is an
  // algorithm, else empty. Since version 2; version 1 uploads were COMPOSITE.
  std::string checksum_type;
  TagSet tags;  // x-amz-tagging, given to the object (version 2)
  AccessControlList acl;  // given to the object (version 3; older: derived from the canned ACL)
  ObjectLockState lock;  // x-amz-object-lock-* headers, given to the object (version 3)
  Sse sse = Sse::kNone;  // (version 2) what every part is encrypted with
  std::string sse_customer_key_md5;
  std::string website_redirect;  // x-amz-website-redirect-location, given to the object (version 4)
};

struct PartRecord {
  uint32_t number = 0;
  uint64_t size = 0;
  std::string etag;  // hex MD5, unquoted
  int64_t modified_ms = 0;
  std::string file_id;
  std::string checksum_value;  // base64, empty when the upload has no algorithm
  std::string wrapped_key;     // the part file's data key, wrapped (version 2); empty: not encrypted
};

std::string EncodeBucket(const BucketRecord& r);
Result<BucketRecord> DecodeBucket(std::string_view data);

std::string EncodeObject(const ObjectRecord& r);
// With `with_data` false the inline bytes are skipped (listings).
Result<ObjectRecord> DecodeObject(std::string_view data, bool with_data = true);
// The same into `o` (every field is assigned), sparing the hot read path the
// moves of a large record through Result and optional.
Status DecodeObjectInto(std::string_view data, bool with_data, ObjectRecord& o);

std::string EncodeUpload(const UploadRecord& r);
Result<UploadRecord> DecodeUpload(std::string_view data);

std::string EncodePart(const PartRecord& r);
Result<PartRecord> DecodePart(std::string_view data);

// Keys of the uploads and parts tables.
inline constexpr size_t kUploadIdLength = 32;

// The resource kind buckets have in the zone's inventory.
inline constexpr std::string_view kBucketResource = "bucket";
std::string EncodeUploadKey(std::string_view bucket, std::string_view key, std::string_view upload_id);
std::string EncodePartKey(std::string_view upload_id, uint32_t part_number);

}  // namespace annex::objectstore
