#pragma once
// The registry store's keys and record encodings (private to the store;
// exposed for its tests).

#include <initializer_list>
#include <string>
#include <string_view>

#include "services/registry/registry_store.h"

namespace annex::registry {

// How many repository links a published blob has; 0 makes it the
// collector's to remove.
struct BlobRecord {
  uint64_t size = 0;
  uint64_t refs = 0;
};

// The parts joined by NUL: names cannot contain one, so keys of one
// repository sort together and never run into another's.
std::string JoinKey(std::initializer_list<std::string_view> parts);

std::string EncodeRepoBlob(const RepoBlobRecord& b);
Result<RepoBlobRecord> DecodeRepoBlob(std::string_view data);
std::string EncodeBlob(const BlobRecord& b);
Result<BlobRecord> DecodeBlob(std::string_view data);
std::string EncodeUpload(const UploadRecord& u);
Result<UploadRecord> DecodeUpload(std::string_view uuid, std::string_view data);

}  // namespace annex::registry
