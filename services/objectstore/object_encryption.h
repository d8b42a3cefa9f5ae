#pragma once
// Server-side encryption as S3 requests and reports it: SSE-S3 (every new
// object, as S3 does by default; data keys wrapped by the store's master
// key, key_ring.h) and SSE-C (the customer sends a 256-bit key with every
// request; it wraps the data keys and only its MD5 is stored). The bytes
// themselves are sealed chunks (sealed_data.h).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http/headers.h"
#include "services/objectstore/key_ring.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

// A customer-provided key (SSE-C), checked against its MD5.
struct CustomerKey {
  std::string key;  // 32 raw bytes
  std::string md5;  // base64, as sent
};

// What a write asks for: SSE-S3 unless SSE-C headers are present.
struct EncryptionRequest {
  Sse sse = Sse::kS3;  // kNone: stored in plaintext (a store configured so)
  std::optional<CustomerKey> customer;
};

// The SSE-C headers with `prefix` ("x-amz-" or "x-amz-copy-source-"), if
// any, with S3's checks (algorithm AES256, a 32-byte key, its MD5) and its
// refusal over plain HTTP.
Result<std::optional<CustomerKey>> ParseCustomerKey(const http::Headers& headers, bool tls,
                                                   std::string_view prefix = "x-amz-");

// x-amz-server-side-encryption (AES256; KMS is not on the appliance) and
// the SSE-C headers of a write; with neither, SSE-S3 when `by_default`.
Result<EncryptionRequest> ParseEncryptionRequest(const http::Headers& headers, bool tls, bool by_default = true);

// The request of a write by an S3 call (its headers, its connection, the
// store's default).
struct S3Call;
Result<EncryptionRequest> ParseEncryptionRequest(const S3Call& call);

// A fresh data key for one file (or one inline record), and the form a
// record keeps: wrapped by the master key, or by the customer's key.
struct DataKey {
  std::string raw;
  std::string wrapped;
};
// Empty when the request stores plaintext.
DataKey NewDataKey(const KeyRing& ring, const EncryptionRequest& request);

// Marks `record` as written under `request`, its inline bytes or its one
// segment sealed with `key`.
void SetEncryption(ObjectRecord& record, const EncryptionRequest& request, const DataKey& key);

// The raw data keys of an object (one per segment, or one for inline
// bytes), for a reader presenting `customer` (the SSE-C key, if any):
// InvalidRequest when an SSE-C object is read without its key or a key is
// sent for another kind, AccessDenied for the wrong key.
Result<std::vector<std::string>> DataKeysOf(const ObjectRecord& object, const KeyRing& ring,
                                            const std::optional<CustomerKey>& customer);

// The same check of a presented key against an upload or object written
// with SSE-C (UploadPart, reads): `md5` is the stored one.
Status CheckCustomerKey(Sse sse, std::string_view md5, const std::optional<CustomerKey>& customer);

// x-amz-server-side-encryption, or the SSE-C algorithm and key MD5.
void AddEncryptionHeaders(Sse sse, std::string_view customer_key_md5, http::Headers& headers);

}  // namespace annex::objectstore
