#include "appliance/core/co_status.h"

#include "services/objectstore/object_source.h"

#include <algorithm>
#include <vector>


namespace annex::objectstore {
namespace {
constexpr size_t kCopyBufferSize = 1 << 20;
}  // namespace

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
    if (length > 0) ANNEX_CO_RETURN_IF_ERROR(co_await out.SendBody(std::string_view(object_.inline_data).substr(offset, length)));
    co_return Status::OK();
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
    co_return co_await writer.Append(std::string_view(object_.inline_data).substr(offset, length));
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
