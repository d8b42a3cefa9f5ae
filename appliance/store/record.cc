#include "appliance/store/record.h"

namespace annex::store {

RecordWriter& RecordWriter::U64(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
  return *this;
}

RecordWriter& RecordWriter::I64(int64_t v) {
  // Zig-zag so small negative numbers stay short.
  return U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

RecordWriter& RecordWriter::Bytes(std::string_view s) {
  U64(s.size());
  out_.append(s);
  return *this;
}

RecordReader::RecordReader(std::string_view data) : data_(data) {
  if (data_.empty()) {
    valid_ = false;
    return;
  }
  version_ = static_cast<uint8_t>(data_[0]);
  data_.remove_prefix(1);
}

Result<uint64_t> RecordReader::U64() {
  if (!valid_) return Status::Corruption("empty record");
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (data_.empty()) return Status::Corruption("record truncated in varint");
    uint8_t b = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  return Status::Corruption("varint too long");
}

Result<int64_t> RecordReader::I64() {
  ANNEX_ASSIGN_OR_RETURN(uint64_t u, U64());
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

Result<bool> RecordReader::Bool() {
  ANNEX_ASSIGN_OR_RETURN(uint64_t u, U64());
  if (u > 1) return Status::Corruption("bad bool");
  return u == 1;
}

Result<std::string_view> RecordReader::BytesView() {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, U64());
  if (n > data_.size()) return Status::Corruption("record truncated in bytes field");
  std::string_view out = data_.substr(0, n);
  data_.remove_prefix(n);
  return out;
}

Result<std::string> RecordReader::Bytes() {
  ANNEX_ASSIGN_OR_RETURN(std::string_view v, BytesView());
  return std::string(v);
}

Status RecordReader::Finish() const {
  if (!valid_) return Status::Corruption("empty record");
  if (!data_.empty()) return Status::Corruption("trailing bytes in record");
  return Status::OK();
}

void AppendBigEndian64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void AppendBigEndian32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t ReadBigEndian32(std::string_view in) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < in.size(); ++i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}

uint64_t ReadBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < in.size(); ++i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace annex::store
