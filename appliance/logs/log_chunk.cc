#include "appliance/logs/log_chunk.h"

namespace annex::logs {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (size_t i = 0, shift = 0; i < in.size() && shift < 64; ++i, shift += 7) {
    auto byte = static_cast<uint8_t>(in[i]);
    v |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) {
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

Status Damaged() { return Status::Corruption("damaged log chunk"); }

}  // namespace

std::string EncodeChunk(int64_t ingestion_ms, const std::vector<const LogEvent*>& events) {
  uint64_t bytes = 0;
  for (const LogEvent* e : events) bytes += e->message.size();
  std::string out;
  out.reserve(bytes + events.size() * 4 + 24);
  PutVarint(out, static_cast<uint64_t>(ingestion_ms));
  PutVarint(out, events.size());
  PutVarint(out, bytes);
  int64_t previous = events.empty() ? 0 : events.front()->timestamp_ms;
  for (const LogEvent* e : events) {
    PutVarint(out, ZigZag(e->timestamp_ms - previous));
    previous = e->timestamp_ms;
    PutVarint(out, e->message.size());
    out.append(e->message);
  }
  return out;
}

Status ChunkTotals(std::string_view data, uint64_t& count, uint64_t& bytes) {
  uint64_t ingestion = 0;
  if (!GetVarint(data, ingestion) || !GetVarint(data, count) || !GetVarint(data, bytes)) return Damaged();
  return Status::OK();
}

Result<DecodedChunk> DecodeChunk(std::string_view data, int64_t first_ms, uint64_t first_seq) {
  DecodedChunk chunk;
  uint64_t ingestion = 0, count = 0;
  if (!GetVarint(data, ingestion) || !GetVarint(data, count) || !GetVarint(data, chunk.bytes)) return Damaged();
  if (count > data.size()) return Damaged();  // every event takes at least a byte
  chunk.ingestion_ms = static_cast<int64_t>(ingestion);
  chunk.events.reserve(count);
  int64_t t = first_ms;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t delta = 0, length = 0;
    if (!GetVarint(data, delta) || !GetVarint(data, length) || length > data.size()) return Damaged();
    t += UnZigZag(delta);
    chunk.events.push_back(ChunkEvent{t, first_seq + i, data.substr(0, length)});
    data.remove_prefix(length);
  }
  if (!data.empty()) return Damaged();
  return chunk;
}

}  // namespace annex::logs
