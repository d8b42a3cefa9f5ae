#pragma once
// Record encoding for values stored in LMDB: a version byte followed by
// fields in a fixed order — varints for integers, length-prefixed bytes for
// strings. Compact, fast, and a reader rejects truncated or trailing bytes
// (Corruption) instead of misreading them. Add new fields at the end and bump
// the version; readers of an older version stop at its last field.
//
// Key helpers build composite keys that sort correctly as raw bytes.

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::store {

class RecordWriter {
 public:
  explicit RecordWriter(uint8_t version) { out_.push_back(static_cast<char>(version)); }
  RecordWriter& U64(uint64_t v);
  RecordWriter& I64(int64_t v);
  RecordWriter& Bool(bool v) { return U64(v ? 1 : 0); }
  RecordWriter& Bytes(std::string_view s);
  std::string Finish() { return std::move(out_); }
  const std::string& data() const { return out_; }

 private:
  std::string out_;
};

class RecordReader {
 public:
  // Fails with Corruption on an empty record.
  explicit RecordReader(std::string_view data);
  uint8_t version() const { return version_; }
  // Each getter returns Corruption if the record ends early or is malformed.
  Result<uint64_t> U64();
  Result<int64_t> I64();
  Result<bool> Bool();
  Result<std::string> Bytes();
  Result<std::string_view> BytesView();
  bool AtEnd() const { return data_.empty(); }
  // OK if every byte was consumed.
  Status Finish() const;

 private:
  std::string_view data_;
  uint8_t version_ = 0;
  bool valid_ = true;
};

// Appends `v` as 8 big-endian bytes, so numeric order equals byte order.
void AppendBigEndian64(std::string& out, uint64_t v);
// The same as a key of its own: sequence-numbered tables (logs, feeds, outboxes).
inline std::string SeqKey(uint64_t seq) {
  std::string key;
  AppendBigEndian64(key, seq);
  return key;
}
void AppendBigEndian32(std::string& out, uint32_t v);
uint32_t ReadBigEndian32(std::string_view in);
uint64_t ReadBigEndian64(std::string_view in);

}  // namespace annex::store
