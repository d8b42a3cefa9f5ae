#include "appliance/core/co_status.h"

#include "services/objectstore/object_source.h"
#include "services/objectstore/sealed_data.h"

#include <algorithm>
#include <vector>


namespace annex::objectstore {
namespace {
constexpr size_t kCopyBufferSize = 1 << 20;
constexpr uint64_t kChunksPerRead = 16;  // 1 MiB of sealed chunks
}  // namespace

ObjectSource::~ObjectSource() = default;

void ObjectSource::SetDecryption(std::vector<std::string> keys, os::BlockingPool& pool) {
  keys_ = std::move(keys);
  pool_ = &pool;
}

Result<std::string> ObjectSource::InlinePlaintext() {
  if (object_.sse == Sse::kNone) return object_.inline_data;
  if (keys_.empty()) return Status::Internal("encrypted object read without its key");
  std::string plain(object_.size, '\0');
  ANNEX_RETURN_IF_ERROR(OpenChunks(crypto::ThreadAes256Gcm(), keys_[0], 0, object_.inline_data, plain.data()));
  return plain;
}

http::Task<Status> ObjectSource::ReadDecrypted(uint64_t offset, uint64_t length, const Sink& sink) {
  if (keys_.size() != object_.segments.size()) co_return Status::Internal("encrypted object read without its keys");
  std::string sealed, plain;
  uint64_t local;
  for (size_t seg = SegmentAt(offset, local); length > 0 && seg < object_.segments.size(); ++seg, local = 0) {
    const uint64_t seg_size = object_.segments[seg].size;
    uint64_t remaining = std::min(length, seg_size - local);
    ANNEX_CO_ASSIGN_OR_RETURN(const os::RandomAccessFile* file, FileFor(seg));
    while (remaining > 0) {
      const uint64_t chunk = local / kPlainChunk;
      const uint64_t chunks = std::min(kChunksPerRead, (local + remaining - 1) / kPlainChunk - chunk + 1);
      const uint64_t plain_first = chunk * kPlainChunk;
      const uint64_t plain_len = std::min(chunks * kPlainChunk, seg_size - plain_first);
      Status read = co_await pool_->Run([&]() -> Status {
        sealed.resize(SealedSize(plain_len));
        ANNEX_ASSIGN_OR_RETURN(size_t got, file->ReadAt(chunk * kSealedChunk, {sealed.data(), sealed.size()}));
        if (got != sealed.size()) return Status::Corruption("encrypted data file shorter than its record");
        plain.resize(plain_len);
        return OpenChunks(crypto::ThreadAes256Gcm(), keys_[seg], chunk, sealed, plain.data());
      });
      ANNEX_CO_RETURN_IF_ERROR(read);
      const uint64_t skip = local - plain_first;
      const uint64_t n = std::min(remaining, plain_len - skip);
      ANNEX_CO_RETURN_IF_ERROR(co_await sink(std::string_view(plain).substr(skip, n)));
      local += n;
      remaining -= n;
      length -= n;
    }
  }
  if (length > 0) co_return Status::Corruption("object data shorter than its record");
  co_return Status::OK();
}

size_t ObjectSource::SegmentAt(uint64_t offset, uint64_t& local) const {
  for (size_t i = 0; i < object_.segments.size(); ++i) {
    if (offset < object_.segments[i].size) {
      local = offset;
      return i;
    }
    offset -= object_.segments[i].size;
  }
  local = 0;
  return object_.segments.size();
}

Result<const os::RandomAccessFile*> ObjectSource::FileFor(size_t segment) {
  if (segment != open_segment_) {
    open_file_.reset();
    open_segment_ = SIZE_MAX;
    ANNEX_ASSIGN_OR_RETURN(open_file_, files_.Open(object_.segments[segment].file_id));
    open_segment_ = segment;
  }
  return open_file_.get();
}

Status ObjectSource::Prepare(uint64_t offset) {
  if (object_.is_inline()) return Status::OK();
  uint64_t local;
  size_t segment = SegmentAt(offset, local);
  if (segment == object_.segments.size()) return Status::OK();
  auto file = FileFor(segment);
  return file.ok() ? Status::OK() : file.status();
}

http::Task<Status> ObjectSource::SendTo(http::ResponseWriter& out, uint64_t offset, uint64_t length) {
  if (object_.is_inline()) {
    ANNEX_CO_ASSIGN_OR_RETURN(std::string plain, InlinePlaintext());
    if (length > 0) ANNEX_CO_RETURN_IF_ERROR(co_await out.SendBody(std::string_view(plain).substr(offset, length)));
    co_return Status::OK();
  }
  if (object_.sse != Sse::kNone) {
    // A named sink: GCC 12 mishandles temporaries bound inside co_await expressions.
    const Sink send = [&](std::string_view piece) { return out.SendBody(piece); };
    co_return co_await ReadDecrypted(offset, length, send);
  }
  uint64_t local;
  for (size_t seg = SegmentAt(offset, local); length > 0 && seg < object_.segments.size(); ++seg, local = 0) {
    uint64_t n = std::min(length, object_.segments[seg].size - local);
    ANNEX_CO_ASSIGN_OR_RETURN(const os::RandomAccessFile* file, FileFor(seg));
    ANNEX_CO_RETURN_IF_ERROR(co_await out.SendFile(*file, local, n));
    length -= n;
  }
  if (length > 0) co_return Status::Corruption("object data shorter than its record");
  co_return Status::OK();
}

http::Task<Status> ObjectSource::CopyTo(DataWriter& writer, os::BlockingPool& pool, uint64_t offset,
                                        uint64_t length) {
  if (object_.is_inline()) {
    ANNEX_CO_ASSIGN_OR_RETURN(std::string plain, InlinePlaintext());
    co_return co_await writer.Append(std::string_view(plain).substr(offset, length));
  }
  if (object_.sse != Sse::kNone) {
    const Sink append = [&](std::string_view piece) { return writer.Append(piece); };
    co_return co_await ReadDecrypted(offset, length, append);
  }
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(kCopyBufferSize, std::max<uint64_t>(length, 1))));
  uint64_t local;
  for (size_t seg = SegmentAt(offset, local); length > 0 && seg < object_.segments.size(); ++seg, local = 0) {
    uint64_t remaining = std::min(length, object_.segments[seg].size - local);
    ANNEX_CO_ASSIGN_OR_RETURN(const os::RandomAccessFile* file, FileFor(seg));
    while (remaining > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
      // BlockingPool::Run needs a default-constructible result (Boost 1.74
      // co_spawn), so the count comes back through `got`.
      size_t got = 0;
      ANNEX_CO_RETURN_IF_ERROR(co_await pool.Run([&]() -> Status {
        Result<size_t> n = file->ReadAt(local, {buf.data(), want});
        if (!n.ok()) return n.status();
        got = *n;
        return Status::OK();
      }));
      if (got == 0) co_return Status::Corruption("data file shorter than its record");
      ANNEX_CO_RETURN_IF_ERROR(co_await writer.Append({buf.data(), got}));
      local += got;
      remaining -= got;
      length -= got;
    }
  }
  if (length > 0) co_return Status::Corruption("object data shorter than its record");
  co_return Status::OK();
}

}  // namespace annex::objectstore
